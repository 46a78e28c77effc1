"""The compute worker's two runs of a submission, as codalab/codabench does them.

From `compute_worker/compute_worker.py` (the `Run` class; digest in the shared
`codabench_worker.md`). A submission is run twice:

- the **prediction run**: `program/` is the submission, `ingestion_program/` the
  task's ingestion program (unless it runs during scoring), `input_data/` the task's
  input data; its output is the prediction result;
- the **scoring run**: `program/` is the scoring program, `input/ref` the reference
  data, `input/res` the prediction result, `shared/` a folder both containers see;
  with `ingestion_only_during_scoring` the ingestion program runs here, with the
  submission (copied through the prediction run) at `input/res`.

In each run both program folders start AT ONCE under one time limit over both
(the worker's `asyncio.gather` under `signal.alarm`); at the limit both are killed
and the run fails with `Execution Time Limit exceeded. Limit was N seconds`. A folder
runs its `metadata.yaml` (or `metadata`) `command`, after the worker's legacy
substitutions (`replace_legacy_metadata_command`), split as docker-py splits it (no
shell), in `/app/program`, with `PYTHONUNBUFFERED=1`. A submission folder without
metadata is a result submission: its files are copied to the output. After the run
the worker writes `output/metadata` (exit codes and elapsed times), failing when a
program wrote one. Scores: `scores.json`, else `scores.txt` as YAML.

As on the worker, only the scoring program's exit code fails a run; a program that
exited non-zero before it is a warning, and the cause named when the scoring fails.
What is stricter here, said in docs/usage.md: the bundle's program folders, the
submission and the data are mounted read-only (the worker's are scratch copies, so a
program writing there goes unnoticed on Codabench and fails here).
"""

from __future__ import annotations

import json
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.bundles.failures import BundleFailure
from harness.bundles.sandbox import Mount, Sandbox
from harness.procs import tail, time_limit_message

EROFS_NOTE = ("a program may not write into the bundle, the submission or the data "
              "(mounted read-only here: stricter than Codabench, whose copies are scratch)")
_HINTS = {
    "submission_error": "the traceback above is the submission's: fix it and run again",
    "ingestion_error": "the ingestion program failed in its own code: read its log above "
                       "(a bundle bug, or what the submission handed it)",
    "scoring_error": "the scoring program failed: read its log above and what the "
                     "prediction run left in {prediction}",
}
METADATA_TAKEN = ("Error, the output directory already contains a metadata file. This file "
                  "is used to store exitCode and other data, do not write to this file "
                  "manually.")


def replace_legacy_metadata_command(command: str, kind: str, is_scoring: bool,
                                    ingestion_only_during_scoring: bool = False) -> str:
    """The worker's substitutions of older bundles' placeholders, in its order."""
    pairs = [
        ("$input", "/app/input_data" if kind == "ingestion" else "/app/input"),
        ("$output", "/app/output"),
        ("$program", "/app/ingestion_program"
         if ingestion_only_during_scoring and is_scoring else "/app/program"),
        ("$ingestion_program", "/app/program"),
        ("$hidden", "/app/input/ref"),
        ("$shared", "/app/shared"),
        ("$submission_program", "/app/ingested_program"),
        ("$tmp", "/app/output"),
        ("$predictions", "/app/input/res" if is_scoring else "/app/output"),
    ]
    for placeholder, path in pairs:
        command = command.replace(placeholder, path)
    return command


def read_command(program_dir: Path) -> tuple[str | None, str | None]:
    """(the metadata file's name or None when there is none, its command or None).

    As the worker: `metadata.yaml` before `metadata`; YAML that does not parse, or is
    not a mapping, has no command."""
    for name in ("metadata.yaml", "metadata"):
        path = program_dir / name
        if path.exists():
            try:
                metadata = yaml.safe_load(path.read_text(errors="replace"))
            except yaml.YAMLError:
                return name, None
            command = metadata.get("command") if isinstance(metadata, dict) else None
            if isinstance(command, list):  # docker-py takes a list as the argv itself
                command = shlex.join(str(part) for part in command)
            return name, str(command) if command else None
    return None, None


@dataclass
class RunPlan:
    """What one run gets (the worker's `run_args`, as local folders).

    Args:
        name: "prediction" or "scoring".
        folder: where the run's output, shared and input folders are made.
        logs: where its stdout and stderr files are kept (the worker's names).
        program: the submission (prediction) or the scoring program (scoring).
        ingestion: the ingestion program when it runs in this run, else None.
        input_data: the task's input data when this run gets it, else None.
        reference: the reference data (scoring run), else None.
        prediction: the prediction run's output (scoring run), else None.
        ingestion_only_during_scoring: the task's flag (it changes `$program`).
        time_limit: seconds, over both programs together.
    """

    name: str
    folder: Path
    logs: Path
    program: Path | None
    ingestion: Path | None = None
    input_data: Path | None = None
    reference: Path | None = None
    prediction: Path | None = None
    ingestion_only_during_scoring: bool = False
    time_limit: float = 600

    @property
    def is_scoring(self) -> bool:
        return self.name == "scoring"


@dataclass
class ProgramRun:
    """One program of a run: what ran, how it ended, where its logs are."""

    run: str
    kind: str
    label: str
    folder: str
    command: str | None = None
    exit_code: int | None = None
    elapsed_s: float | None = None
    stdout: str | None = None
    stderr: str | None = None
    note: str = ""

    def log_tail(self) -> tuple[str | None, str]:
        """(the log, its end): its stderr, else its stdout when stderr is empty
        ((its stderr, "") when it printed nothing)."""
        for log in (self.stderr, self.stdout):
            if log and tail(Path(log)).strip():
                return log, tail(Path(log))
        return self.stderr, ""


@dataclass
class RunRecord:
    """A finished run: its output folder and its programs."""

    name: str
    output: Path
    programs: dict[str, ProgramRun] = field(default_factory=dict)
    elapsed_s: float = 0.0


def _mounts(plan: RunPlan, kind: str, program_dir: Path, output: Path) -> list[Mount]:
    """The /app layout the worker gives a container of this kind in this run."""
    data = plan.folder / "data"
    data.mkdir(exist_ok=True)
    mounts = [Mount(program_dir, "/app/program"), Mount(output, "/app/output", True),
              Mount(data, "/app/data")]
    if kind == "ingestion":
        ingested = (plan.folder / "input" / "res" if plan.is_scoring
                    and plan.ingestion_only_during_scoring else plan.program)
        mounts.append(Mount(ingested, "/app/ingested_program", plan.is_scoring))
    if plan.is_scoring:
        mounts += [Mount(plan.folder / "shared", "/app/shared", True),
                   Mount(plan.folder / "input", "/app/input", True)]
        if plan.reference is not None:
            mounts.append(Mount(plan.reference, "/app/input/ref"))
    if plan.input_data is not None:
        mounts.append(Mount(plan.input_data, "/app/input_data"))
    return mounts


def _prepare(plan: RunPlan) -> Path:
    output = plan.folder / "output"
    output.mkdir(parents=True, exist_ok=True)
    if plan.is_scoring:
        (plan.folder / "shared").mkdir(exist_ok=True)
        (plan.folder / "input" / "ref").mkdir(parents=True, exist_ok=True)
        shutil.copytree(plan.prediction, plan.folder / "input" / "res", dirs_exist_ok=True)
    return output


def _label(kind: str, plan: RunPlan) -> str:
    if kind == "ingestion":
        return "the ingestion program"
    return "the scoring program" if plan.is_scoring else "the submission"


def execute(plan: RunPlan, sandbox: Sandbox, record: RunRecord) -> RunRecord:
    """Run both program folders of `plan` at once under its time limit, filling
    `record` as they start (so a failed run still lists what ran).

    Raises:
        BundleFailure: time_limit, or ingestion_error for an ingestion program
            without metadata or command (the worker's words).
    """
    output = _prepare(plan)
    writable = [output, *([plan.folder / "shared", plan.folder / "input"]
                          if plan.is_scoring else [])]
    sandbox.open_up(writable)
    prefix = f"{plan.name}_"
    started = []
    start = time.monotonic()
    deadline = start + plan.time_limit
    try:
        for kind, folder in (("program", plan.program), ("ingestion", plan.ingestion)):
            if folder is None:
                continue
            run = ProgramRun(plan.name, kind, _label(kind, plan), str(folder))
            record.programs[kind] = run
            metadata, command = read_command(folder)
            if metadata is None and kind == "program":
                shutil.copytree(folder, output, dirs_exist_ok=True)
                run.note = "no metadata: its files are copied to the output (a result submission)"
                continue
            if metadata is None or command is None:
                missing = ("'metadata.yaml/metadata'" if metadata is None
                           else "'command' in metadata")
                if kind == "ingestion":
                    raise BundleFailure(
                        "ingestion_error", f"{plan.name} run: the ingestion program "
                        f"({folder}): Program directory missing {missing}",
                        hint="give the ingestion program a metadata.yaml with a command")
                run.note = f"{folder} has no command in metadata, continuing anyway"
                continue
            run.command = replace_legacy_metadata_command(
                command, kind, plan.is_scoring, plan.ingestion_only_during_scoring)
            base = prefix + ("" if kind == "program" else "ingestion_")
            run.stdout = str(plan.logs / f"{base}stdout")
            run.stderr = str(plan.logs / f"{base}stderr")
            with open(run.stdout, "wb") as out, open(run.stderr, "wb") as err:
                program = sandbox.start(_mounts(plan, kind, folder, output),
                                        shlex.split(run.command), out, err)
            started.append((run, program, time.monotonic()))
        _wait_all(started, deadline, plan)
    finally:
        for _, program, _ in started:
            program.stop()
        sandbox.reclaim(writable)
    record.elapsed_s = time.monotonic() - start
    return record


def _wait_all(started, deadline: float, plan: RunPlan) -> None:
    """Poll the programs until all have exited; at the deadline, stop them all."""
    running = list(started)
    while running:
        for item in list(running):
            run, program, began = item
            if program.proc.poll() is not None:
                run.exit_code = program.proc.returncode
                run.elapsed_s = time.monotonic() - began
                running.remove(item)
        if running and time.monotonic() >= deadline:
            for run, program, began in running:
                program.stop()
                run.elapsed_s = time.monotonic() - began
            still = running[0][0]
            log, text = still.log_tail()
            raise BundleFailure(
                "time_limit", f"{time_limit_message(plan.time_limit)} ({plan.name} run: "
                f"{still.label} was still running)",
                hint="make it faster, or check the phase's execution_time_limit",
                log_tail=text, log=log)
        time.sleep(0.02)


def write_metadata(record: RunRecord) -> None:
    """The worker's `output/metadata` (YAML); a program that wrote one fails the run."""
    path = record.output / "metadata"
    if path.exists():
        kind = "scoring_error" if record.name == "scoring" else "submission_error"
        raise BundleFailure(kind, f"{record.name} run: {METADATA_TAKEN}",
                            hint="write any other file name to /app/output")
    none = ProgramRun(record.name, "", "", "")
    program = record.programs.get("program", none)
    ingestion = record.programs.get("ingestion", none)
    status = {"exitCode": program.exit_code,
              "elapsedTime": program.elapsed_s or ingestion.elapsed_s,
              "ingestionExitCode": ingestion.exit_code,
              "ingestionElapsedTime": ingestion.elapsed_s}
    path.write_text(yaml.dump(status, default_flow_style=False))


def _last_line(run: ProgramRun) -> str:
    """` (the last line its log printed)`: a traceback's exception, with the note when
    it was a write into a read-only mount; "" when it printed nothing."""
    lines = [line for line in run.log_tail()[1].splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1].strip()[:300]
    return f" ({last}" + (f": {EROFS_NOTE})" if "Read-only file system" in last else ")")


def check_exits(record: RunRecord, plan: RunPlan, earlier: list[ProgramRun]) -> list[str]:
    """Fail the run as the worker does, on the scoring program's exit code alone;
    return a warning for every other program that exited non-zero.

    The worker goes on from a prediction run whatever its programs' exit codes (a
    result submission with a bundle's ingestion program that cannot run it still
    scores). When the scoring program then fails, the failure names the first program
    that failed before it, in this run or the prediction run (`earlier`): the cause,
    whose log tail is the one to read; the submission when its own code is in the
    ingestion's traceback."""
    failed = [r for r in record.programs.values() if r.exit_code not in (None, 0)]
    scoring = record.programs.get("program") if plan.is_scoring else None
    if scoring is None or scoring.exit_code in (None, 0):
        return [f"{r.run} run: {r.label} exited {r.exit_code}{_last_line(r)}"
                + ("" if plan.is_scoring else "; the worker goes on to the scoring run")
                for r in failed]
    causes = [r for r in [*earlier, *failed] if r.exit_code not in (None, 0)]
    first = next((r for r in causes if r is not scoring), scoring)
    path, log = first.log_tail()
    if first is scoring:
        kind = "scoring_error"
    elif first.kind == "ingestion":
        kind = "submission_error" if "/app/ingested_program/" in log else "ingestion_error"
    else:
        kind = "submission_error"
    why = f"exited with code {first.exit_code}"
    if "Read-only file system" in log:
        why += f": {EROFS_NOTE}"
    then = "" if first is scoring else f"; then the scoring program exited {scoring.exit_code}"
    hint = _HINTS[kind].format(prediction=plan.prediction or plan.folder)
    raise BundleFailure(kind, f"{first.run} run: {first.label} ({first.folder}) {why}{then}",
                        hint=hint, log_tail=log, log=path)


def read_scores(output: Path, record: RunRecord) -> dict:
    """The scores as the scoring program wrote them: scores.json, else scores.txt (YAML)."""
    log, text = record.programs.get("program", ProgramRun(record.name, "", "", "")).log_tail()
    where = dict(log_tail=text, log=log)
    if (output / "scores.json").exists():
        try:
            scores = json.loads((output / "scores.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            reason = getattr(e, "msg", str(e))
            raise BundleFailure("bad_scores", "Could not decode scores json properly, it "
                                f"contains an error. {reason} ({output / 'scores.json'})",
                                hint="the scoring program must write valid JSON",
                                **where) from None
    elif (output / "scores.txt").exists():
        try:
            scores = yaml.safe_load((output / "scores.txt").read_text())
        except yaml.YAMLError as e:
            raise BundleFailure("bad_scores", f"{output / 'scores.txt'} is not YAML: "
                                f"{str(e).splitlines()[0]}", **where) from None
    else:
        raise BundleFailure("no_scores", "Could not find scores file, did the scoring program "
                            "output it?", hint="the scoring program must write "
                            "/app/output/scores.json (or scores.txt)", **where)
    if not isinstance(scores, dict):
        raise BundleFailure("bad_scores", f"the scores file holds a {type(scores).__name__}, "
                            "not a mapping of column keys to numbers", **where)
    return scores


def detailed_results(output: Path) -> Path | None:
    """`detailed_results.html`, else the first *.html of the output, as the worker."""
    page = output / "detailed_results.html"
    if page.exists():
        return page
    pages = sorted(output.glob("*.html"))
    return pages[0] if pages else None
