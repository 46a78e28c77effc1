"""Ingestion: run a submission exactly as Codabench's ingestion program does.

The submission is copied into a fresh temporary folder and run by a separate Python
process (`harness/scoring/ingestion_child.py`, a standalone script) with that folder
first on sys.path and, as the profile's contract says, its working directory (or a
run folder beside it, as on CodaLab): `from model import Model`, `Model()` (or the
contract's class and arguments: `model(path)`), then `predict(X)` on X in the
profile's dtype: one call when X is no larger than the hidden set, as on the server, else
consecutive calls of the hidden set's size, so a submission needs the memory it would
need there, not a multiple of it. X reaches the child through a private copy in
a temporary folder, read-only there; the user's test set file is never handed over.
The harness times loading and predicting, reads the child's peak memory from the
kernel (`os.wait4`), and at the time limit kills the whole process group with the
server's own words. This one path serves `score`, `pack`'s smoke run, `verify` and
`timecheck`.

Examples:
    >>> result = run_submission("my_submission", images, get_profile(), time_limit_s=600)
    >>> result.raise_for_failure().predictions[:5]
    array([3, 1, 6, 6, 0])
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import numpy as np

from harness.data.datasets import images_header
from harness.procs import end_group, kill_group, tail, time_limit_message, wait_for
from harness.profile import Profile
from harness.scoring.contract import Failure, SubmissionError, check_predictions, missing_required
from harness.scoring.kerasfiles import explain_failure
from harness.scoring.runtime import runtime_python
from harness.scoring.weightfiles import explain_missing

CHILD_SCRIPT = Path(__file__).with_name("ingestion_child.py")
STDERR_TAIL_CHARS = 3000
# What `predict` gets: the array itself, or an .npz / .npy file that holds it.
Images = Union[np.ndarray, str, os.PathLike]
# Environment variables that cap a process's CPU threads (TensorFlow, OpenMP, BLAS).
THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
               "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class IngestionResult:
    """What one run of a submission produced.

    Args:
        ok: True when the run finished and the predictions passed the contract.
        predictions: (n,) int64 labels, or None on failure.
        load_s: seconds for `from model import Model` and `Model()`, or None.
        predict_s: seconds for all `predict` calls together, or None.
        total_s: wall seconds of the whole process, start to exit.
        peak_rss_mb: the process's peak resident memory, MiB.
        failure: what went wrong, or None.
        n_images: how many images were passed to `predict`.
        versions: python, numpy, tensorflow, keras versions the process ran with.
        exit_code: the process's exit status (negative: killed by that signal).
        stderr_tail: the end of the process's stderr (its logs), for a failure report.
        calls: one record per `predict` call: images, seconds, and the process's peak
            memory (MiB) so far.
    """

    ok: bool
    predictions: np.ndarray | None
    load_s: float | None
    predict_s: float | None
    total_s: float
    peak_rss_mb: float
    failure: Failure | None
    n_images: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    stderr_tail: str = ""
    calls: list[dict] = field(default_factory=list)

    def raise_for_failure(self) -> "IngestionResult":
        """Raise the failure as a `SubmissionError`; return self when the run was ok."""
        if self.failure is not None:
            raise self.failure.error()
        return self


def _child_env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    # The server has no harness on its path: the submission must not find it here either.
    env.pop("PYTHONPATH", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if threads:
        env.update({var: str(threads) for var in THREAD_VARS})
    return env


def _crash_failure(exit_code: int, stderr: str) -> Failure:
    if exit_code < 0:
        name = signal.Signals(-exit_code).name
        message = f"the ingestion process was killed by signal {name}"
        hint = ("SIGKILL without a time limit is usually the kernel's out-of-memory killer: "
                "predict in chunks, fewer TTA copies at once"
                if name == "SIGKILL" else "see the process's output below")
    else:
        message = f"the ingestion process exited with code {exit_code} before finishing"
        hint = "model.py or a library called exit(); see the process's output below"
    return Failure("crashed", message, hint, stderr.strip() or None)


def _child_failure(record: dict, call: str = "Model()") -> Failure:
    here_call = call.replace("(path)", '(".")')
    hints = {
        "import_error": "the server imports model.py from the submission's root; every "
                        "module it imports must be on the server or in the submission",
        "forbidden_import": "the scoring server lacks this package: remove the import or "
                            "ship the code inside the submission",
        "init_error": "the traceback is the submission's own; reproduce it in its folder: "
                      f"python -c 'from model import {call.split('(')[0]}; {here_call}'",
        "predict_error": "the traceback is the submission's own; predict gets every test "
                         "image at once, (n, H, W, C), pixels 0-255",
        "bad_output": "predict must return a numpy array of integer labels",
    }
    stage = {"import": "importing model.py", "init": call, "predict": "predict(X)",
             "output": "reading predict's output"}.get(record.get("stage"), "the run")
    return Failure(record["kind"], f"{stage} failed: {record['message']}",
                   hints.get(record["kind"]), record.get("traceback"))


def _elsewhere(failure: Failure, profile: Profile) -> Failure:
    """A file not found by a model.py that the server runs from another folder: say so."""
    if (profile.contract.working_dir != "run" or failure.kind not in ("init_error",
                                                                       "import_error")
            or not re.search(r"No such file|No file or directory|not found|FileNotFound",
                             failure.message + (failure.traceback or ""), re.IGNORECASE)):
        return failure
    return dataclasses.replace(failure, hint=(
        f"this server runs model.py from another folder than the submission's: open "
        f"every file with os.path.join(path, NAME), path being what {profile.contract.call} "
        f"receives"))


class IngestionRun:
    """A submission running in its own process; `wait()` gives its `IngestionResult`.

    Made by `start_submission`. Use it as a context manager: leaving the block kills
    the process group if it still runs and removes the temporary folders. The caller
    may do its own work between starting and waiting (the child's TensorFlow import
    leaves a core idle); the time limit runs from the start.
    """

    def __init__(self, submission_dir: str | os.PathLike, images: Images, profile: Profile,
                 time_limit_s: float | None, python: str | None, threads: int | None,
                 chunk_size: int | None = None):
        self.profile = profile
        self.limit = profile.time_limit_s if time_limit_s is None else time_limit_s
        if isinstance(images, (str, os.PathLike)):
            source = Path(images)
            self.n_images = images_header(source)[0][0]
        else:
            images = np.asarray(images)
            self.n_images = len(images)
        # Resolved first: a runtime that is not built stops the run before anything is copied.
        python = python or runtime_python(profile) or sys.executable
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-ingest-")
        tmp = Path(self._tmp.name)
        # The worker's run folder (`working_dir = "run"`): the submission lies inside it.
        self.private, self.work, run_dir = tmp / "private", tmp / "submission", tmp / "run"
        self.private.mkdir(mode=0o700)
        run_dir.mkdir()
        shutil.copytree(submission_dir, self.work, symlinks=False,
                        ignore=shutil.ignore_patterns("__pycache__"))
        self.proc = None
        self._result: IngestionResult | None = None
        missing = missing_required(self.work, profile)
        if missing is not None:
            # The server would not run it at all (CodaLab takes it for a results zip).
            self.start = time.monotonic()
            self._result = IngestionResult(False, None, None, None, 0.0, 0.0,
                                           failure=missing.to_failure(),
                                           n_images=self.n_images)
            return
        if isinstance(images, np.ndarray):
            x_path = self.private / "X.npy"
            np.save(x_path, images, allow_pickle=False)
        else:
            # The child decompresses it, as a bare script loading the npz would.
            x_path = self.private / f"X{source.suffix}"
            shutil.copyfile(source, x_path)
        x_path.chmod(0o400)
        shutil.copy2(CHILD_SCRIPT, self.private / "ingestion_child.py")
        contract = profile.contract
        spec = {"submission_dir": str(self.work), "x_path": str(x_path),
                "out_dir": str(self.private), "allowed_modules": sorted(profile.server_modules),
                "chunk_size": int(chunk_size or profile.hidden_test_size),
                "class_name": contract.class_name, "init_args": list(contract.init_args),
                "cwd": str(self.work if contract.working_dir == "submission" else run_dir),
                "input_dtype": profile.input_dtype,
                "tensors": "tensor" in contract.predict_returns}
        (self.private / "spec.json").write_text(json.dumps(spec))
        self._stderr = self.private / "stderr.txt"
        with open(self.private / "stdout.txt", "wb") as out, open(self._stderr, "wb") as err:
            self.start = time.monotonic()
            self.proc = subprocess.Popen(
                [str(python), str(self.private / "ingestion_child.py"),
                 str(self.private / "spec.json")],
                cwd=spec["cwd"], env=_child_env(threads), stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, start_new_session=True)

    def __enter__(self) -> "IngestionRun":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.returncode is None:
            kill_group(self.proc)
        self._tmp.cleanup()

    def wait(self, on_progress: Callable[[int], None] | None = None) -> IngestionResult:
        """Wait for the process (killing its group at the time limit) and read its result;
        `on_progress` hears the images predicted so far after each `predict` call."""
        if self._result is None:
            self._result = self._collect(on_progress)
        return self._result

    def _collect(self, on_progress) -> IngestionResult:
        proc, said = self.proc, [0]

        def tick():
            mark = self.private / "progress"  # replaced whole by the child: never torn
            done = int(mark.read_text() or 0) if on_progress and mark.exists() else 0
            if done > said[0]:
                said[0] = done
                on_progress(done)
        try:
            waited = wait_for(proc, self.start + self.limit if self.limit else None, tick)
        except BaseException:
            kill_group(proc)
            raise
        timed_out = waited is None
        if timed_out:
            waited = kill_group(proc)
        else:
            # Whatever the submission left running in its group goes with it.
            end_group(proc)
        total_s = time.monotonic() - self.start
        _, rusage = waited
        common = dict(total_s=total_s, peak_rss_mb=rusage.ru_maxrss / 1024,
                      n_images=self.n_images, exit_code=proc.returncode,
                      stderr_tail=tail(self._stderr, STDERR_TAIL_CHARS))

        def failed(failure: Failure, record: dict | None = None) -> IngestionResult:
            record = record or {}
            return IngestionResult(False, None, record.get("load_s"), record.get("predict_s"),
                                   failure=failure, versions=record.get("versions", {}),
                                   calls=record.get("calls", []), **common)

        if timed_out:
            return failed(Failure("time_limit", time_limit_message(self.limit),
                                  "make predict faster (fewer TTA passes, a smaller model) "
                                  "or check the estimate with `harness timecheck`"))
        result_path = self.private / "result.json"
        if not result_path.exists():
            return failed(_crash_failure(proc.returncode, common["stderr_tail"]))
        record = json.loads(result_path.read_text())
        if record["failure"]:
            failure = explain_failure(_child_failure(record["failure"],
                                                     self.profile.contract.call),
                                      self.work, record["versions"].get("keras"))
            # A weight file that is not there: name the one that is (after _elsewhere,
            # whose hint is for a file that is there but opened from another folder).
            failure = explain_missing(_elsewhere(failure, self.profile), self.work)
            return failed(failure, record)
        if record["returned"] == "None":
            pred = None
        else:
            pred = np.load(self.private / "predictions.npy", allow_pickle=False)
            pred = pred.tolist() if record.get("as_list") else pred
        try:
            labels = check_predictions(pred, self.n_images, self.profile)
        except SubmissionError as e:
            return failed(e.to_failure(), record)
        return IngestionResult(True, labels, record["load_s"], record["predict_s"],
                               failure=None, versions=record["versions"],
                               calls=record.get("calls", []), **common)


def start_submission(submission_dir: str | os.PathLike, images: Images, profile: Profile,
                     time_limit_s: float | None = None, python: str | None = None,
                     threads: int | None = None, chunk_size: int | None = None) -> IngestionRun:
    """Start a submission in its own process and return at once; see `run_submission`.

    Examples:
        >>> with start_submission("sub", images, profile) as run:
        ...     other_work()
        ...     result = run.wait()
    """
    return IngestionRun(submission_dir, images, profile, time_limit_s, python, threads,
                        chunk_size)


def run_submission(submission_dir: str | os.PathLike, images: Images, profile: Profile,
                   time_limit_s: float | None = None, python: str | None = None,
                   threads: int | None = None, chunk_size: int | None = None) -> IngestionResult:
    """Run a submission folder on `images` in a fresh process, as the server would.

    Args:
        submission_dir: the folder that would be the zip's root (it is copied, not used).
        images: (n, H, W, C) uint8, passed to `predict` in consecutive calls of at most
            `chunk_size` images (default the profile's hidden-set size); or the path of
            an .npz holding them under 'images' (the child loads it: the harness
            need not decompress the images itself), or of an .npy.
        profile: the competition profile (time limit, modules the server has, classes).
        time_limit_s: limit over the whole run; default `profile.time_limit_s`.
        python: the interpreter to run with (default: `runtime.runtime_python`: this
            one, or the profile's server-runtime virtualenv when this interpreter's Keras
            is of another major version).
        threads: cap on CPU threads (intra- and inter-op) for the child, or None.
        chunk_size: the most images one `predict` call gets.

    Returns:
        An `IngestionResult`; a failed run has `ok=False` and a `failure` record (call
        `raise_for_failure()` to raise it).
    """
    with start_submission(submission_dir, images, profile, time_limit_s, python,
                          threads, chunk_size) as run:
        return run.wait()
