"""`harness timecheck`: will the full hidden-set run fit in the server's time limit?

The server runs one process: start, `from model import Model`, `Model()`, one
`predict(X)` on every hidden image, all under one limit. `measure` runs a submission
through the ingestion twice, on a small and a larger sample, under the profile's
thread budget, and fits predict time as a per-call overhead plus a cost per image
and TTA pass; everything else in the process (start, imports, loading) is a fixed
cost. `estimate_s` extrapolates that to the hidden test size and any number of TTA
passes (the template's passes cost alike, so time scales with their number).

What the fit leaves out, modelled from the submission's settings (`predict_plan`): a
Keras model compiles predict once per batch shape (full chunks, each call's shorter
last chunk; `harness score` calls predict on slices of at most the hidden set's size),
while the TFLite runtime is sized once and pads its last batch, computing a few images
more than it returns. The machine's load average is kept with the measurement: on a
busy machine the speed drifts from one minute to the next, and a note says so.

Calibration: this machine is not the server. When the leaderboard holds a Codabench
record with a duration (`harness record EXP --codabench S --duration SECONDS`) for the
experiment being checked, the server-speed factor is that duration over the local
estimate of the same submission; it is saved (`calibration_path()`) and multiplies
every later estimate, of any submission, until a newer record replaces it.

Examples:
    >>> report = timecheck(["baseline_cnn"], get_profile(), tta=3)
    >>> report.results[0].verdict, report.results[0].max_tta
    ('PASS', 8)
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError
from harness.fsutil import read_json, write_text_atomic
from harness.interrupt import checkpoint
from harness.paths import data_dir
from harness.profile import Profile
from harness.progress import progress_bar
from harness.scoring.ingestion import run_submission
from harness.scoring.targets import resolve_target
from harness.shipping.optimize import packed_rewrite
from harness.shipping.samples import sample_images
from harness.stamps import now_iso, slug

# Where the server-speed factor is kept; $HARNESS_CALIBRATION overrides.
CALIBRATION_ENV = "HARNESS_CALIBRATION"
# The template's test-time views (harness_runtime.VIEWS): the most passes there are.
MAX_TTA = 8
# Three of the template's default chunks: the small run is one chunk, the large three.
DEFAULT_SAMPLE = 768


def timecheck_dir() -> Path:
    """Each checked submission's latest verdict, NAME.json, for `harness report`'s margin
    column: the data folder's timechecks/."""
    return data_dir() / "timechecks"


def calibration_path() -> Path:
    return Path(os.environ.get(CALIBRATION_ENV) or data_dir() / "timing_calibration.json")


@dataclass
class Measurement:
    """A submission's cost on this machine, fitted from two runs.

    Args:
        fixed_s: process start, imports and `Model()`: the run's total minus predict.
        call_s: predict's overhead per call (tracing, the first chunk), seconds.
        per_image_s: seconds per image at the submission's own TTA passes.
        passes: the TTA passes the submission ran with (its submission.json; 1 without).
        threads: the CPU thread cap the runs had.
        chunk_size: images per `predict_on_batch` call (the template's setting), or None
            for a model.py of its own.
        sizes: the two sample sizes.
        predict_s: predict seconds measured at each size.
        runtime: the template's runtime, "keras" or "tflite" (its submission.json).
        batch_size: images per TFLite invoke (the tflite runtime), else None.
        load_avg: this machine's 1-minute load average after the runs (None: unknown).
    """

    fixed_s: float
    call_s: float
    per_image_s: float
    passes: int
    threads: int
    chunk_size: int | None = None
    sizes: tuple[int, int] = (0, 0)
    predict_s: tuple[float, float] = (0.0, 0.0)
    runtime: str = "keras"
    batch_size: int | None = None
    load_avg: float | None = None


def predict_plan(m: Measurement, test_size: int, call_size: int | None = None) -> tuple[int, int]:
    """(one-off overheads, images computed) for predict on `test_size` images.

    `predict` is called on consecutive slices of at most `call_size` images (default:
    all at once, as on the server); the template cuts each into chunks of `chunk_size`.
    Keras compiles once per distinct chunk shape; the TFLite runtime was sized in
    `Model()` and pays one first-invoke warm-up, but runs every chunk in whole batches
    of `batch_size`, the last one padded.

    Examples:
        >>> m = Measurement(0, 1, 0.01, 1, 2, chunk_size=256)
        >>> predict_plan(m, 5133), predict_plan(m, 6120, call_size=5133)
        ((2, 5133), (3, 6120))
    """
    call_size = call_size or test_size
    calls = [min(call_size, test_size - i) for i in range(0, test_size, call_size)]
    if not m.chunk_size:
        return 1, test_size
    chunks = [c for n in calls for c in [m.chunk_size] * (n // m.chunk_size)
              + ([n % m.chunk_size] if n % m.chunk_size else [])]
    if m.runtime == "tflite" and m.batch_size:
        return 1, sum(-(-c // m.batch_size) * m.batch_size for c in chunks)
    return len(set(chunks)), test_size


def estimate_s(m: Measurement, test_size: int, tta: int | None = None,
               factor: float = 1.0, call_size: int | None = None) -> float:
    """Seconds for the whole run on `test_size` images with `tta` passes, times `factor`.

    Examples:
        >>> m = Measurement(fixed_s=5, call_s=1, per_image_s=0.01, passes=1, threads=2)
        >>> estimate_s(m, 1000, tta=3)
        36.0
    """
    passes = tta or m.passes
    overheads, images = predict_plan(m, test_size, call_size)
    return factor * (m.fixed_s + overheads * m.call_s
                     + m.per_image_s * images * passes / m.passes)


def max_tta_within(m: Measurement, test_size: int, limit_s: float, factor: float = 1.0,
                   most: int = MAX_TTA) -> int:
    """The most TTA passes (0..most) whose estimate stays within `limit_s`."""
    fits = [n for n in range(1, most + 1) if estimate_s(m, test_size, n, factor) <= limit_s]
    return max(fits, default=0)


def _settings(folder: Path) -> dict:
    """The template settings timing depends on; a model.py of its own has none of them."""
    path = folder / "submission.json"
    if not path.exists():
        return {"passes": 1, "chunk_size": None}
    settings = read_json(path, "submission settings",
                         hint='fix or delete it; it holds a JSON object such as {"tta": 2}')
    # The template's defaults (submission_template/harness_runtime.py DEFAULTS) for what is not set.
    runtime = settings.get("runtime", "keras")
    return {"passes": int(settings.get("tta", 1)),
            "chunk_size": int(settings.get("chunk_size", 256)), "runtime": runtime,
            "batch_size": int(settings.get("batch_size", 32)) if runtime == "tflite" else None}


def sample_sizes(sample: int, chunk_size: int | None) -> tuple[int, int]:
    """The two run sizes: whole chunks when they fit, so both runs compile the same shape."""
    if chunk_size and sample >= 2 * chunk_size:
        return chunk_size, sample - sample % chunk_size
    return max(1, sample // 4), sample


def measure(submission_dir: str | os.PathLike, profile: Profile, sample: int = DEFAULT_SAMPLE,
            data: str | os.PathLike | None = None, threads: int | None = None,
            progress: Callable | None = None) -> Measurement:
    """Time a submission on a small and a larger sample; fit the predict cost.

    The larger run has `sample` images; the smaller one chunk of the template's
    `chunk_size` (or a quarter of `sample`). The slope between them is the cost per
    image; what is left of predict is a per-call overhead (tracing, XLA compiling).
    `progress`: an optional wrapper for the iterable of the two runs (e.g. a tqdm bar).

    Raises:
        SubmissionError: the submission fails on the sample.
    """
    threads = threads or profile.server_threads
    settings = _settings(Path(submission_dir))
    sizes = sample_sizes(sample, settings["chunk_size"])
    images = sample_images(profile, sizes[1], data)
    runs = [run_submission(submission_dir, images[:n], profile, threads=threads)
            .raise_for_failure() for n in (progress(sizes) if progress else sizes)]
    small, large = runs
    # A shared machine can make the small run the slower one; a cost is never negative.
    per_image = max(large.predict_s - small.predict_s, 0.0) / (sizes[1] - sizes[0])
    if per_image == 0.0:
        per_image = large.predict_s / sizes[1]
    call = max(large.predict_s - per_image * sizes[1], 0.0)
    return Measurement(fixed_s=large.total_s - large.predict_s, call_s=call,
                       per_image_s=per_image, threads=threads, sizes=sizes,
                       predict_s=(small.predict_s, large.predict_s),
                       load_avg=os.getloadavg()[0], **settings)


@dataclass
class Calibration:
    """The server-speed factor and where it came from."""

    factor: float = 1.0
    experiment: str | None = None
    duration_s: float | None = None
    local_estimate_s: float | None = None
    recorded_at: str | None = None

    def describe(self) -> str:
        if self.experiment is None:
            return ("none: this machine's speed (record a Codabench run's duration with "
                    "`harness record EXP --codabench S --duration SECONDS` to calibrate)")
        return (f"x{self.factor:.2f} from {self.experiment}'s Codabench run "
                f"({self.duration_s:.0f} s there vs {self.local_estimate_s:.0f} s estimated here, "
                f"recorded {self.recorded_at})")


def latest_duration(records: list[dict], experiment: str) -> dict | None:
    """The newest Codabench record of `experiment` that carries a duration."""
    timed = [r for r in records if r["experiment"] == experiment and r.get("duration_s")]
    return timed[-1] if timed else None


def load_calibration(path: Path | None = None) -> Calibration:
    path = path or calibration_path()
    if not path.exists():
        return Calibration()
    try:
        return Calibration(**json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise HarnessError(f"{path}: unreadable calibration ({e})",
                           hint="delete it; the next timecheck of an experiment with a "
                                "recorded duration writes it again") from None


def calibrate(experiment: str, m: Measurement, profile: Profile, records: list[dict],
              path: Path | None = None) -> Calibration:
    """The factor to use: from this experiment's record (saved), else the saved one."""
    record = latest_duration(records, experiment)
    if record is None:
        return load_calibration(path)
    local = estimate_s(m, profile.hidden_test_size)
    calibration = Calibration(factor=record["duration_s"] / local, experiment=experiment,
                              duration_s=record["duration_s"], local_estimate_s=local,
                              recorded_at=record.get("created_at"))
    write_text_atomic(path or calibration_path(), json.dumps(asdict(calibration), indent=2))
    return calibration


@dataclass
class TimecheckResult:
    """One target's verdict.

    Args:
        target, name, sha256: what was measured.
        test_size, tta, limit_s: what the estimate is for.
        estimate_s: the calibrated estimate of the whole run, seconds.
        local_estimate_s: the same on this machine, before calibration.
        verdict: "PASS" (estimate within the limit) or "FAIL".
        margin_s: limit minus estimate (negative: over by that much).
        max_tta: the most TTA passes that fit (0: not even one).
        calibration: which calibration was used, in words; factor: its value.
        measurement: the fitted costs.
        note: a caveat, or "".
    """

    target: str
    name: str
    sha256: str
    test_size: int
    tta: int
    limit_s: float
    estimate_s: float
    local_estimate_s: float
    verdict: str
    margin_s: float
    max_tta: int
    calibration: str
    factor: float
    measurement: Measurement
    note: str = ""


@dataclass
class TimecheckReport:
    results: list[TimecheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.verdict == "PASS" for r in self.results)


def check_measurement(m: Measurement, profile: Profile, calibration: Calibration,
                      test_size: int | None = None, limit_s: float | None = None,
                      tta: int | None = None) -> dict:
    """The verdict fields for a measurement: estimate, PASS/FAIL, margin, max TTA."""
    size = test_size or profile.hidden_test_size
    limit = limit_s or profile.time_limit_s
    passes = tta or m.passes
    est = estimate_s(m, size, passes, calibration.factor)
    return dict(test_size=size, tta=passes, limit_s=limit, estimate_s=est,
                local_estimate_s=estimate_s(m, size, passes),
                verdict="PASS" if est <= limit else "FAIL", margin_s=limit - est,
                max_tta=max_tta_within(m, size, limit, calibration.factor),
                calibration=calibration.describe(), factor=calibration.factor)


def timecheck(targets: list[str], profile: Profile, test_size: int | None = None,
              limit_s: float | None = None, tta: int | None = None,
              sample: int = DEFAULT_SAMPLE, data: str | os.PathLike | None = None,
              records: list[dict] | None = None,
              measure_fn: Callable[..., Measurement] = measure,
              keep_dir: str | os.PathLike | None = None,
              names: list[str] | None = None, progress: bool = False,
              optimize: bool = True) -> TimecheckReport:
    """Estimate each target's full hidden-set run against the limit.

    Args:
        targets: zips, submission folders or experiments.
        profile: the competition profile (limit, hidden size, thread budget).
        test_size: images in the hidden set (default `profile.hidden_test_size`).
        limit_s: the time limit (default `profile.time_limit_s`).
        tta: TTA passes to estimate for (default: each submission's own setting).
        sample: images in the larger timing run (the smaller is one chunk, see `measure`).
        data: an npz to sample from (default: random pixels).
        records: the Codabench records, whose durations calibrate the estimate (`harness
            timecheck` reads them from its `--db`); none: an uncalibrated estimate.
        measure_fn: `measure`, or a stand-in with its signature.
        keep_dir: write each verdict to keep_dir/NAME.json (the CLI: `timecheck_dir()`).
        names: the name each target's verdict is kept and shown under (default: the
            target's own, e.g. a zip's stem); the demo names its zip's experiment.
        progress: a tqdm bar (stderr) over each target's two timing runs.
        optimize: time an experiment as `pack` ships it (the CPU rewrite); False: its
            stock model.

    Returns:
        TimecheckReport, one result per target, in order.
    """
    if tta is not None and not 1 <= tta <= MAX_TTA:
        raise HarnessError(f"--tta must be 1..{MAX_TTA}. Received: tta={tta}")
    if sample < 8:
        raise HarnessError(f"--sample must be at least 8 images. Received: sample={sample}")
    records = records or []
    if names is not None and len(names) != len(targets):
        raise HarnessError(f"one name per target. Received: {len(names)} names, "
                           f"{len(targets)} targets")
    report = TimecheckReport()
    for i, target in enumerate(targets):
        with tempfile.TemporaryDirectory(prefix="harness-timecheck-") as tmp:
            staged = resolve_target(target, Path(tmp) / "submission", profile,
                                    prepare=packed_rewrite if optimize else None)
            m = measure_fn(staged.path, profile, sample=sample, data=data,
                           progress=progress_bar(f"timing {staged.name}", disable=not progress,
                                                 unit="run"))
            own_settings = (staged.path / "submission.json").exists()
        checkpoint("timecheck:measured")
        calibration = calibrate(staged.name, m, profile, records)
        notes = [] if tta is None or own_settings else [
            "no submission.json: the TTA scaling assumes every pass costs the same"]
        cores = os.cpu_count() or 1
        if m.load_avg is not None and m.load_avg > cores:
            notes.append(f"this machine was busy (load {m.load_avg:.1f} on {cores} cores): "
                         "its speed drifts with the load, so the estimate may be off by "
                         "as much; time it again on a quiet machine")
        note = "; ".join(notes)
        report.results.append(TimecheckResult(
            target=str(target), name=names[i] if names else staged.name, sha256=staged.sha256,
            measurement=m, note=note,
            **check_measurement(m, profile, calibration, test_size, limit_s, tta)))
        if keep_dir is not None:
            kept = dict(asdict(report.results[-1]), checked_at=now_iso())
            write_text_atomic(Path(keep_dir) / f"{slug(kept['name'])}.json",
                              json.dumps(kept, indent=2, sort_keys=True))
    return report


