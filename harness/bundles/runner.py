"""Run a submission through a bundle's own programs, as Codabench's compute worker does.

`run_bundle` takes a bundle (`spec.load_bundle`) and a submission as uploaded (a zip,
extracted as the worker extracts it, `__MACOSX/` entries and all; or a folder), picks
the phase, the sandbox (`sandbox.choose_sandbox`), and runs each of the phase's tasks:
the prediction run, then the scoring run (`worker`), in a run folder that keeps every
program's output and stdout/stderr under the worker's names. It keeps nothing on the
leaderboard (`harness.results.keep_bundle_run` does) and returns a `BundleRunResult`:
each task's scores as its scoring program wrote them, or its typed failure with its log
tail.

A phase of several tasks runs as Codabench runs it (`_run_submission` in
`src/apps/competitions/tasks.py`): each task is a child submission of its own, in the
order the unpacker created the tasks, with its own prediction and scoring runs and its
own scores, never merged with another task's. One task's failure fails that child only:
the others still run and their scores stand, as the parent submission's do once every
child is done (`Submission.check_child_submission_statuses`).

With `pseudo_private=True` the phase's input data is replaced by the harness's
corrupted copy (`pseudo.corrupt_input_data`) and the programs run again: the result
carries both scores, the second a forecast of how the submission fares on shifted
images.

Examples:
    >>> r = run_bundle(load_bundle("Mini-MNIST-Bundle"), "mini_MNIST_code_submission.zip")
    >>> r.status, r.scores
    ('ok', {'score': 0.72})
    >>> [(t.index, t.status) for t in r.tasks]   # each task's own run and scores
    [(0, 'ok')]
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.bundles import archive, worker
from harness.bundles.failures import KINDS, BundleFailure
from harness.bundles.model import Bundle, Phase, Task
from harness.bundles.pseudo import PseudoManifest, corrupt_input_data
from harness.bundles.sandbox import Sandbox, choose_sandbox
from harness.errors import HarnessError
from harness.fsutil import sha256_file, write_text_atomic
from harness.jsonable import to_jsonable
from harness.paths import data_dir
from harness.stamps import local_stamp, slug


@dataclass(kw_only=True)
class Outcome:
    """How a run ended: "ok", or "failed" with its typed failure (`BundleFailure`'s
    kind, message, hint, the end of the failing program's log and that log's path)."""

    status: str = "ok"
    failure_kind: str | None = None
    failure_message: str | None = None
    failure_hint: str | None = None
    log_tail: str = ""
    log: str | None = None

    def fail(self, failure: BundleFailure, prefix: str = "") -> None:
        self.status = "failed"
        self.failure_kind, self.failure_message = failure.kind, prefix + failure.message
        self.failure_hint, self.log_tail, self.log = failure.hint, failure.log_tail, failure.log

    def failure(self) -> BundleFailure:
        """This outcome's failure, to fail the run it is part of."""
        return BundleFailure(self.failure_kind, self.failure_message, self.failure_hint,
                             self.log_tail, self.log)


@dataclass
class TaskRun(Outcome):
    """One task of the phase run on one set of input data: Codabench's child submission.

    Args:
        index, name: the task's.
        folder: its run folder (the run folder itself in a phase of one task).
        scores: its scores as its scoring program wrote them ({} when it failed).
        detailed_results: its scoring output's detailed results page, if any.
    """

    index: int
    name: str
    folder: str
    scores: dict = field(default_factory=dict)
    detailed_results: str | None = None


@dataclass
class BundleRunResult(Outcome):
    """One submission run through a bundle's programs (`harness bundle run`).

    Args:
        bundle: the competition (`Bundle`).
        phase: the phase run.
        submission: the zip or folder as given; `experiment` its name (the zip's stem).
        submission_sha256: the zip's sha256, or the folder's stable hash.
        run_dir: the run folder: every program's output and logs.
        backend: "docker", "podman" or "bubblewrap"; `differs`: what is not as on
            Codabench's worker.
        network: whether programs could reach the network; `network_line` says how.
        time_limit_s: the limit each run had; `time_limit_from` where it came from.
        tasks: each task of the phase run on its input data (`TaskRun`), in the order
            Codabench runs them; `pseudo_private_tasks`: those that finished, run again
            on the corrupted input data.
        columns: the leaderboard's columns [{key, title, index, sorting, precision}].
        programs: each program that ran: run, kind, folder, command, exit code,
            seconds, its stdout and stderr files, a note.
        status and the failure: "failed" when anything failed (the first failure:
            a task's, its message then naming the task in a phase of several).
        recipe: the pseudo-private recipe's id; `pseudo_manifests`: what was corrupted
            per task, and which families were left out and why (also beside the
            copies, as JSON).
        warnings: what a person should know (a program that exited non-zero while its
            run went on, as on Codabench; a task that failed while the others ran).
        total_s: the whole run, seconds.
        row_id: its leaderboard row, once the results stage stored it.
    """

    bundle: Bundle
    phase: Phase
    submission: str
    experiment: str
    submission_sha256: str
    run_dir: str
    backend: str
    differs: list[str]
    network: bool
    network_line: str
    time_limit_s: float
    time_limit_from: str
    tasks: list[TaskRun] = field(default_factory=list)
    pseudo_private_tasks: list[TaskRun] = field(default_factory=list)
    columns: list[dict] = field(default_factory=list)
    programs: list[dict] = field(default_factory=list)
    recipe: str | None = None
    pseudo_manifests: list[PseudoManifest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    total_s: float = 0.0
    row_id: int | None = None

    @property
    def several_tasks(self) -> bool:
        return len(self.phase.task_indexes) > 1

    @property
    def scores(self) -> dict | None:
        """The scores of a phase of one task; None for several (each task's: `tasks`)."""
        if self.several_tasks:
            return None
        return self.tasks[0].scores if self.tasks else {}

    @property
    def pseudo_private_scores(self) -> dict | None:
        """The one task's scores on the corrupted input data, once they ran and finished."""
        runs = self.pseudo_private_tasks
        if self.several_tasks or not runs or runs[0].status != "ok":
            return None
        return runs[0].scores

    @property
    def detailed_results(self) -> str | None:
        """The one task's detailed results page (several tasks: each task's own)."""
        return None if self.several_tasks or not self.tasks else self.tasks[0].detailed_results


def columns_of(bundle: Bundle) -> list[dict]:
    """Every leaderboard column of the bundle, in its leaderboards' order."""
    return [{"key": c.key, "title": c.title, "index": c.index, "sorting": c.sorting,
             "precision": c.precision} for board in bundle.leaderboards for c in board.columns]


def default_run_dir(bundle: Bundle, submission: Path) -> Path:
    """`<data>/bundle_runs/<competition>/<stamp>-<submission>`, never one that exists."""
    base = data_dir() / "bundle_runs" / slug(bundle.title)
    name = f"{local_stamp()}-{slug(submission.stem)}"
    path, n = base / name, 1
    while path.exists():
        n += 1
        path = base / f"{name}-{n}"
    return path


def _unpack(submission: Path, run_dir: Path) -> Path:
    """The submission as the worker sees it: a zip extracted whole, a folder as it is."""
    if submission.is_dir():
        return submission
    target = run_dir / "submission"
    try:
        with zipfile.ZipFile(submission) as z:
            z.extractall(target)
    except (zipfile.BadZipFile, OSError) as e:
        raise BundleFailure("bad_submission", f"{submission}: not a zip Codabench can open "
                            f"({e})", hint="zip the submission's files at the zip's root: "
                            "cd my_submission && zip -r ../submission.zip .") from None
    return target


def _run_task(bundle: Bundle, task: Task, submission: Path, sandbox: Sandbox, limit: float,
              input_data: Path | None, result: BundleRunResult, run: TaskRun) -> None:
    """The prediction run and the scoring run of one task, in `run.folder`; its scores
    and detailed results page into `run`."""
    folder = Path(run.folder)
    during = task.ingestion_only_during_scoring
    if task.scoring_program is None:
        raise BundleFailure("scoring_error", f"task {task.index} {task.name!r} has no "
                            "scoring program", hint=f"harness bundle check {bundle.source}")
    plans = [
        worker.RunPlan("prediction", folder / "prediction", folder, submission,
                       ingestion=None if during else task.ingestion_program,
                       input_data=None if during else input_data, time_limit=limit),
        worker.RunPlan("scoring", folder / "scoring", folder, task.scoring_program,
                       ingestion=task.ingestion_program if during else None,
                       input_data=input_data if during else None,
                       reference=task.reference_data, ingestion_only_during_scoring=during,
                       time_limit=limit),
    ]
    prediction, earlier = None, []
    for plan in plans:
        plan.prediction = prediction
        record = worker.RunRecord(plan.name, plan.folder / "output")
        try:
            worker.execute(plan, sandbox, record)
        finally:
            result.programs += [vars(p) for p in record.programs.values()]
        result.warnings += [f"task {task.index} {task.name!r}, {line}" if result.several_tasks
                            else line for line in worker.check_exits(record, plan, earlier)]
        earlier += record.programs.values()
        worker.write_metadata(record)
        prediction = record.output
    run.scores = worker.read_scores(record.output, record)
    page = worker.detailed_results(record.output)
    run.detailed_results = str(page) if page else None


def _run_phase(bundle: Bundle, tasks: tuple[Task, ...], submission: Path, run_dir: Path,
               sandbox: Sandbox, limit: float, result: BundleRunResult,
               input_data: Callable[[Task], Path | None]) -> list[TaskRun]:
    """Each task, as Codabench runs each as a child submission of its own: a task's
    failure is that task's, and the next one still runs."""
    runs = []
    for task in tasks:
        folder = run_dir / f"task-{task.index}" if result.several_tasks else run_dir
        folder.mkdir(parents=True, exist_ok=True)
        run = TaskRun(task.index, task.name, str(folder))
        try:
            _run_task(bundle, task, submission, sandbox, limit, input_data(task), result, run)
        except BundleFailure as failure:
            if failure.kind == "sandbox_unavailable":
                raise
            run.fail(failure)
        runs.append(run)
    return runs


def _report_failed_tasks(result: BundleRunResult) -> None:
    """The run fails with its first failed task's failure; in a phase of several tasks,
    naming the task, and one line saying what Codabench does with the others."""
    for stage, runs in (("", result.tasks), ("pseudo-private ", result.pseudo_private_tasks)):
        for run in runs:
            if run.status == "ok":
                continue
            task = f"task {run.index} {run.name!r}"
            if result.status == "ok":
                result.fail(run.failure(), prefix=stage + (f"{task}: " if result.several_tasks
                                                           else ""))
            if result.several_tasks:
                result.warnings.append(
                    f"{stage}{task} failed ({KINDS[run.failure_kind]}); the phase's other "
                    "tasks ran and their scores stand, as on Codabench, where each task is a "
                    "child submission of its own and the parent shows Finished once every "
                    "child is done")


def _corrupt(bundle: Bundle, phase: Phase, folder: Path) -> dict[int, PseudoManifest]:
    """Each task's input data through the harness's default recipe, in `folder`."""
    manifests = {}
    for task in bundle.tasks_of(phase):
        if task.input_data is None:
            raise HarnessError(f"task {task.index} {task.name!r} of phase {phase.name!r} has "
                               "no input data to corrupt (a result-submission task)",
                               hint="run without --pseudo-private")
        manifests[task.index] = corrupt_input_data(task.input_data,
                                                   folder / f"input_data-{task.index}")
        write_text_atomic(folder / f"input_data-{task.index}.manifest.json",
                          json.dumps(to_jsonable(manifests[task.index]), indent=2))
    return manifests


def run_bundle(bundle: Bundle, submission: str | Path, phase: int | str | None = None,
               network: bool = False, pseudo_private: bool = False,
               time_limit: float | None = None, out: str | Path | None = None,
               python: str | Path | None = None, sandbox: str = "auto",
               status: Callable[[str], None] = lambda msg: None) -> BundleRunResult:
    """Run `submission` through `bundle`'s programs for one phase.

    Args:
        bundle: the competition (`harness.bundles.load_bundle`).
        submission: a zip or folder, as uploaded to Codabench.
        phase: index or name; None for the phase Codabench calls current.
        network: let programs reach the network (off by default).
        pseudo_private: run again on the harness's corrupted copy of the input images.
        time_limit: seconds per run instead of the phase's execution_time_limit.
        out: the run folder (default `default_run_dir`).
        python: under bubblewrap, an interpreter to stand in for the image's cached
            environment (one holding what a bundle needs beyond the image's list; the
            image's own is built on first use otherwise).
        sandbox: "auto" (Docker or Podman holding the image, else bubblewrap), or the
            backend to use: "docker", "podman", "bubblewrap".
        status: called with lines of progress.

    Raises:
        HarnessError: no such submission or phase, or no sandbox on this machine.
    """
    started = time.monotonic()
    submission = Path(submission).expanduser()
    if not submission.exists():
        raise HarnessError(f"no submission at {submission}",
                           hint="name the zip (or folder) you would upload to Codabench")
    chosen = bundle.phase(phase)
    limit = float(time_limit) if time_limit is not None else chosen.execution_time_limit_s
    box = choose_sandbox(bundle.docker_image, network, python and Path(python), status,
                         backend=sandbox)
    run_dir = (Path(out) if out is not None else default_run_dir(bundle, submission)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    sha = (archive.folder_sha256(submission) if submission.is_dir()
           else sha256_file(submission))
    result = BundleRunResult(
        bundle, chosen, str(submission), submission.stem or submission.name, sha,
        str(run_dir), box.backend, box.differs, network, box.network_line(),
        limit, "--time-limit" if time_limit is not None else chosen.time_limit_from,
        columns=columns_of(bundle))
    # Corrupted first: a bundle without images says so before anything runs.
    corrupted = _corrupt(bundle, chosen, run_dir / "pseudo_private") if pseudo_private else {}
    if corrupted:
        first = next(iter(corrupted.values()))
        result.recipe = first.recipe
        result.pseudo_manifests = list(corrupted.values())
    try:
        unpacked = _unpack(submission, run_dir)
    except BundleFailure as failure:
        result.fail(failure)
    else:
        tasks = bundle.tasks_of(chosen)
        result.tasks = _run_phase(bundle, tasks, unpacked, run_dir, box, limit, result,
                                  lambda task: task.input_data)
        if corrupted:   # the tasks that finished, again on their corrupted input data
            finished = {run.index for run in result.tasks if run.status == "ok"}
            result.pseudo_private_tasks = _run_phase(
                bundle, tuple(t for t in tasks if t.index in finished), unpacked,
                run_dir / "pseudo_private", box, limit, result,
                lambda task: corrupted[task.index].target)
        _report_failed_tasks(result)
    result.total_s = time.monotonic() - started
    return result

