"""Check a bundle as Codabench would: its unpacker on upload, its compute worker at run time.

`check_bundle(path)` reads the bundle (`spec.read_bundle`: what the unpacker refuses)
and then checks what the worker needs to run each task: every program folder holds
`metadata.yaml` (or `metadata`) at its root with a `command`. The worker fails an
ingestion program without one ("Program directory missing 'metadata.yaml/metadata'",
"... missing 'command' in metadata"), and a scoring program without one is copied or
skipped, so the scoring run ends with "Could not find scores file": both are problems
here. A task without an ingestion program takes result submissions; that is said, not
refused. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.bundles.model import Bundle, Problem, Task
from harness.bundles.spec import read_bundle

METADATA_NAMES = ("metadata.yaml", "metadata")  # the worker's order


@dataclass(frozen=True)
class Program:
    """A task's program as the worker will start it."""

    task: int
    kind: str  # "ingestion" or "scoring"
    path: Path
    command: str | None


@dataclass
class BundleCheck:
    """What checking a bundle found.

    `ok` is true when nothing stops Codabench or its worker; `bundle` is the competition
    then (None otherwise). `warnings` never fail a check.
    """

    source: str
    ok: bool
    bundle: Bundle | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    programs: list[Program] = field(default_factory=list)


def check_bundle(path: str | Path) -> BundleCheck:
    """Every problem Codabench's unpacker or worker would meet in the bundle at `path`.

    Examples:
        >>> result = check_bundle("wheat_seeds/code_submission_bundle.zip")
        >>> result.ok, [c.key for c in result.bundle.leaderboards[0].columns]
        (True, ['accuracy', 'duration'])
    """
    reading = read_bundle(path)
    problems, warnings = list(reading.problems), list(reading.warnings)
    bundle = reading.bundle or reading.draft
    programs = _programs(bundle, problems, warnings) if bundle is not None else []
    ok = not problems
    return BundleCheck(str(path), ok, bundle if ok else None, problems, warnings, programs)


def _programs(bundle: Bundle, problems: list[Problem],
              warnings: list[Problem]) -> list[Program]:
    """Each task's programs with their commands; a folder several tasks share is checked
    (and reported) once."""
    users: dict[tuple[str, Path], list[Task]] = {}
    for task in bundle.tasks:
        if task.key is not None:
            continue  # a task on a Codabench server: the reader warned already
        where = f"task {task.index} {task.name!r}"
        if task.scoring_program is None and bundle.version != "2":
            # A v2 task without one is refused by the unpacker (the reader said so); a
            # v1 phase is accepted without one, and its scoring run can only fail.
            problems.append(Problem(where, "no scoring_program: the scoring run cannot "
                                    "produce scores", "add `scoring_program: program.zip` "
                                    "to the phase"))
        if task.reference_data is None and task.scoring_program is not None:
            warnings.append(Problem(where, "no reference_data: the scoring program sees an "
                                    "empty /app/input/ref", "add `reference_data:` if it "
                                    "compares with ground truth"))
        for kind, folder in (("ingestion", task.ingestion_program),
                             ("scoring", task.scoring_program)):
            if folder is not None:
                users.setdefault((kind, folder), []).append(task)
    programs = []
    for (kind, folder), tasks in users.items():
        where = (f"task {tasks[0].index} {tasks[0].name!r}" if len(tasks) == 1 else
                 f"tasks {', '.join(str(t.index) for t in tasks)}")
        command = _command(bundle, where, kind, folder, problems)
        programs += [Program(t.index, kind, folder, command) for t in tasks]
    return programs


def _command(bundle: Bundle, where: str, kind: str, folder: Path,
             problems: list[Problem]) -> str | None:
    """The program's metadata command, or None with the problem the worker would meet."""
    shown = _shown(bundle, folder)
    metadata = next((folder / n for n in METADATA_NAMES if (folder / n).is_file()), None)
    if metadata is None:
        nested = sorted(p.parent.name for n in METADATA_NAMES for p in folder.glob(f"*/{n}"))
        deeper = (f"; it is one folder down, in {nested[0]}/, where the worker does not "
                  "look" if nested else "")
        outcome = ("Program directory missing 'metadata.yaml/metadata'" if kind == "ingestion"
                   else "the worker copies a scoring program without metadata to the "
                   "output and the run ends 'Could not find scores file'")
        problems.append(Problem(f"{where}: {shown}", f"no metadata.yaml or metadata: "
                                f"{outcome}{deeper}",
                                f"add {shown}/metadata.yaml holding `command: python3 "
                                f"{'ingestion' if kind == 'ingestion' else 'score'}.py`"
                                + (" at the folder's root" if nested else "")))
        return None
    try:
        parsed = yaml.safe_load(metadata.read_text(errors="replace"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        problems.append(Problem(f"{where}: {shown}/{metadata.name}{line}",
                                "bad YAML: the worker reads no command from it",
                                "write it as `command: python3 program.py`"))
        return None
    command = parsed.get("command") if isinstance(parsed, dict) else None
    if not command:
        outcome = ("Program directory missing 'command' in metadata" if kind == "ingestion"
                   else "the worker skips a scoring program without a command and the run "
                   "ends 'Could not find scores file'")
        problems.append(Problem(f"{where}: {shown}/{metadata.name}", f"no `command`: {outcome}",
                                f"add `command: python3 {kind}.py` (the program to start, "
                                "run in /app/program)"))
        return None
    return str(command)


def _shown(bundle: Bundle, folder: Path) -> str:
    """A program folder as the user knows it: relative to the bundle where it is inside."""
    try:
        return folder.relative_to(bundle.root).as_posix()
    except ValueError:
        return str(folder)  # a v1 program zip, extracted in the cache
