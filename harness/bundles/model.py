"""What a competition bundle is once read: the competition as Codabench's unpacker leaves it.

Frozen dataclasses, the same for a v2 `competition.yaml` and an older CodaLab (v1, 1.5,
1.8) one: `Bundle` (the competition), its `Phase`s, `Task`s, `Leaderboard`s of
`Column`s and `Page`s, and `Problem`, one thing wrong with a bundle with where it is and
how to fix it. Every path is absolute and names a folder (a program or data given as a
zip inside the bundle is extracted to the cache first), so a runner never unzips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a bundle.

    Args:
        where: the place: `competition.yaml line 12`, `phases[1] 'Final'`, a folder.
        message: what is wrong, quoting Codabench's own message where it has one.
        fix: how to fix it.
    """

    where: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.where}: {self.message} (fix: {self.fix})"


@dataclass(frozen=True)
class Column:
    """A leaderboard column: `key` is the score's name in the scoring program's output."""

    key: str
    title: str
    index: int
    sorting: str = "desc"
    precision: int = 2
    hidden: bool = False


@dataclass(frozen=True)
class Leaderboard:
    key: str
    title: str
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Page:
    title: str
    path: Path


@dataclass(frozen=True)
class Task:
    """A task: its programs and data as folders, None where the bundle gives none.

    A task without an ingestion program takes result submissions (the worker copies the
    submission to the prediction output). `key` is set for a v2 task that names a task
    already on a Codabench server instead of shipping files: it cannot run here.
    """

    index: int
    name: str
    ingestion_program: Path | None
    scoring_program: Path | None
    input_data: Path | None
    reference_data: Path | None
    ingestion_only_during_scoring: bool = False
    key: str | None = None

    @property
    def takes_result_submissions(self) -> bool:
        return self.key is None and self.ingestion_program is None


@dataclass(frozen=True)
class Phase:
    """A phase, numbered 0.. in the order Codabench sorts them (its own renumbering).

    `time_limit_from` says where `execution_time_limit_s` came from:
    `execution_time_limit` (seconds), `execution_time_limit_ms` (milliseconds, the name
    a later unpacker reads) or `default` (Codabench's model default, 600 s).
    """

    index: int
    name: str
    start: dt.datetime | None
    end: dt.datetime | None
    execution_time_limit_s: float
    time_limit_from: str
    max_submissions_per_day: int | None
    max_submissions: int | None
    task_indexes: tuple[int, ...]


@dataclass(frozen=True)
class Bundle:
    """A competition bundle, read.

    `root` is the folder holding `competition.yaml` (the bundle folder itself, or the
    zip's extraction in the cache: never written). `source` is what the user named.
    `sha256` is the zip's, or a stable hash of the folder's files. `version` is the
    yaml's (`2`, or `1`/`1.5`/`1.8` for CodaLab bundles). `warnings` are what Codabench
    accepts but a person should know (a missing logo, the yaml one folder deep).
    """

    root: Path
    source: Path
    sha256: str
    version: str
    title: str
    docker_image: str
    docker_image_default: bool
    phases: tuple[Phase, ...]
    tasks: tuple[Task, ...]
    leaderboards: tuple[Leaderboard, ...]
    pages: tuple[Page, ...]
    terms: Path | None
    logo: Path | None
    warnings: tuple[Problem, ...] = ()

    def task(self, index: int) -> Task:
        """The task of that index (phases name tasks by index)."""
        for task in self.tasks:
            if task.index == index:
                return task
        raise HarnessError(f"{self.title}: no task of index {index}. Received: {index}",
                           hint=f"tasks: {', '.join(str(t.index) for t in self.tasks)}")

    def phase(self, selector: int | str | None = None) -> Phase:
        """A phase by index (0.., as Codabench numbers them) or by name (any case).

        None picks the phase Codabench calls current (the first begun and not ended),
        else the first phase.

        Examples:
            >>> bundle.phase("Development Phase").index
            0
        """
        if selector is None:
            now = dt.datetime.now(dt.timezone.utc)
            for phase in self.phases:
                if phase.start and phase.start < now and (phase.end is None or phase.end > now):
                    return phase
            return self.phases[0]
        text = str(selector).strip()
        for phase in self.phases:
            if text.isdigit() and int(text) == phase.index:
                return phase
        for phase in self.phases:
            if phase.name and phase.name.casefold() == text.casefold():
                return phase
        listed = "; ".join(f"{p.index} {p.name!r}" for p in self.phases)
        raise HarnessError(f"{self.title}: no phase {selector!r}. Received: {selector!r}",
                           hint=f"name a phase by index or name: {listed}")

    def tasks_of(self, phase: Phase) -> tuple[Task, ...]:
        """The phase's tasks in the order Codabench runs them: the order of the yaml's
        `tasks:`, in which its unpacker creates them (`_run_submission` orders by pk)."""
        listed = {self.task(i).index for i in phase.task_indexes}
        return tuple(task for task in self.tasks if task.index in listed)
