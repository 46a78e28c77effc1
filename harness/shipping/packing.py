"""`harness pack`: an experiment's trained run made into the zip a team uploads.

`pack` stages the experiment (template model.py and helpers, the experiment's own
overrides, the run's weights, `submission.json` with the settings), rewrites slow
grouped convolutions (`harness.shipping.optimize`), with `runtime="tflite"` adds each
model's TensorFlow Lite twin (`harness.shipping.tflite`; all of them or none, the Keras
weights stay beside them), under a Keras newer than the server's exports each model as
a SavedModel the server's Keras loads (`harness.shipping.crossversion`, which says
why), checks the code against the contract, writes the zip, then extracts it into a
fresh folder and runs it through the same ingestion as `score` on a small sample. Only
a zip that passed lands in the output folder, atomically; a failing one is never left
behind.

The zip holds the submission's root-level files (and SavedModel folders) and nothing
else, at its root, in sorted order, with fixed timestamps and permissions: the same run
and settings pack to the same sha256 (as .keras files; a SavedModel's export carries
names TensorFlow generates, so its bytes differ from pack to pack, its outputs do not).

Examples:
    >>> result = pack("baseline_cnn", get_profile(), out="dist", tta=3)
    >>> result.zip.name, len(result.sha256)
    ('submission_250101_120000.zip', 64)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError
from harness.experiments import WEIGHT_SUFFIX, get_experiment, record_pack
from harness.fsutil import atomic_path, sha256_file
from harness.interrupt import checkpoint
from harness.profile import Profile
from harness.progress import progress_bar
from harness.scoring.contract import check_source
from harness.scoring.ingestion import run_submission
from harness.scoring.kerasfiles import to_savedmodel
from harness.scoring.targets import resolve_target
from harness.shipping.crossversion import choose_format
from harness.shipping.optimize import ZIP_EPOCH, optimize_file
from harness.shipping.samples import sample_images
from harness.shipping.tflite import convert_file
from harness.stamps import local_stamp, now_iso

# How a model can ship (an experiment's config `runtime`): as Keras saved it, or as a
# TensorFlow Lite twin kept only when it agrees with Keras on the sample.
RUNTIMES = ("keras", "tflite")
DEFAULT_RUNTIME = "keras"
# Images the smoke run predicts, and the sample the optimizer compares outputs on.
SMOKE_IMAGES = 32
# Files at the submission's root that never go into a zip.
EXCLUDED_SUFFIXES = (".pyc", ".ipynb", ".npz", ".npy", ".zip", ".log")


@dataclass
class PackResult:
    """A packed submission.

    Args:
        zip: the zip written.
        sha256: its sha256 (recorded in the run's packs.json, `harness.experiments.record_pack`).
        content_sha256: the sha256 of what it holds, as a score of it stores it.
        size_bytes: its size.
        files: every entry: {"name", "size", "sha256"}.
        experiment: the experiment's name.
        run: the run folder whose weights were packed.
        settings: the zip's submission.json.
        optimized: one record per .keras file: {"file", "rewritten", "max_abs_diff",
            "kept", "reason"}; empty with --no-optimize.
        warnings: the contract's non-fatal warnings.
        smoke: the smoke run: {"n_images", "load_s", "predict_s", "peak_rss_mb"}.
        format: what the models ship as: "keras" files or "savedmodel" folders.
        format_why: why that format, in words (`crossversion.choose_format`).
        runtime: what the zip runs on the server's CPU: "keras" or "tflite".
        converted: one record per .keras file when TFLite was asked for: {"file",
            "kept", "max_abs_diff", "same_labels", "reason"}.
    """

    zip: Path
    sha256: str
    size_bytes: int
    files: list[dict]
    experiment: str
    run: str
    settings: dict
    optimized: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    smoke: dict = field(default_factory=dict)
    format: str = "keras"
    format_why: str = ""
    runtime: str = "keras"
    converted: list[dict] = field(default_factory=list)
    content_sha256: str | None = None


def submission_files(folder: Path) -> list[Path]:
    """The files of a staged submission that belong in its zip, sorted by path: those at
    its root, and every file of a SavedModel folder there (`crossversion`)."""
    files = [p for p in folder.iterdir()
             if p.is_file() and not p.name.startswith(".")
             and not p.name.endswith(EXCLUDED_SUFFIXES)]
    for sub in folder.iterdir():
        if (sub / "saved_model.pb").is_file():
            files += [p for p in sub.rglob("*") if p.is_file()]
    return sorted(files)


def write_zip(folder: Path, dest: Path) -> list[dict]:
    """Zip `folder`'s submission files under their paths from its root, reproducibly.

    Returns:
        {"name", "size", "sha256"} of every entry, in zip order.
    """
    entries = []
    with zipfile.ZipFile(dest, "w") as z:
        for path in submission_files(folder):
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the machine, for the same bytes
            z.writestr(info, path.read_bytes())
            entries.append({"name": name, "size": path.stat().st_size,
                            "sha256": sha256_file(path)})
    return entries


def zip_name(now: _dt.datetime | None = None) -> str:
    """`submission_YYMMDD_HHMMSS.zip` for `now` (default: the current time)."""
    return f"submission_{local_stamp(now)}.zip"


def add_tflite(stage: Path, sample, profile: Profile,
               status: Callable[[str], None] = lambda msg: None) -> tuple[str, list[dict]]:
    """Give every .keras file in `stage` its .tflite twin, and say so in submission.json.

    All or nothing: an ensemble whose members ran on different runtimes would be hard
    to reason about, so one twin that disagrees leaves the whole zip on Keras.

    Returns:
        (the runtime written to submission.json, one record per .keras file).
    """
    settings_path = stage / "submission.json"
    settings = json.loads(settings_path.read_text())
    records = []
    for weights in sorted(stage.glob(f"*{WEIGHT_SUFFIX}")):
        status(f"converting {weights.name} to TensorFlow Lite")
        report = convert_file(weights, weights.with_suffix(".tflite"), sample,
                              batch_size=settings.get("batch_size"))
        records.append({"file": weights.name, "kept": report.kept,
                        "max_abs_diff": report.max_abs_diff,
                        "same_labels": report.same_labels, "reason": report.reason})
    runtime = "tflite" if records and all(r["kept"] for r in records) else "keras"
    if runtime == "tflite":
        # The interpreter does not read TensorFlow's thread variables: it is told.
        settings.update(runtime="tflite", threads=profile.server_threads)
    else:
        for twin in stage.glob("*.tflite"):
            twin.unlink()
        settings["runtime"] = "keras"
    settings_path.write_text(json.dumps(settings, indent=2, sort_keys=True))
    return runtime, records


@dataclass
class FolderResult:
    """A submission folder written by `pack_folder`: what went into it and why.

    Args:
        path: the folder.
        experiment: the experiment's name.
        run: the run folder whose weights it holds.
        settings: its submission.json.
        optimized, warnings, format, format_why, runtime, converted: as in `PackResult`.
    """

    path: Path
    experiment: str
    run: Path
    settings: dict
    optimized: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    format: str = "keras"
    format_why: str = ""
    runtime: str = "keras"
    converted: list[dict] = field(default_factory=list)


def pack_folder(experiment: str | os.PathLike, profile: Profile, dest: str | os.PathLike,
                sample, run: str | os.PathLike | None = None, tta: int | None = None,
                optimize: bool = True, format: str = "auto", runtime: str | None = None,
                status: Callable[[str], None] = lambda msg: None) -> FolderResult:
    """Write the submission folder `pack` zips: the experiment staged with a run's
    weights, its grouped convolutions rewritten, TFLite twins or SavedModel exports where
    asked for, and its code checked against the contract.

    The one way a submission folder is made from a run: `pack` zips this folder, the
    fidelity zoo ships it as it is.

    Args:
        experiment: an experiment name or folder.
        profile: the competition profile.
        dest: the folder to fill (created; must be empty or absent).
        sample: images (n, H, W, C) uint8 the optimizer and the TFLite converter compare
            outputs on (`samples.sample_images`).
        run, tta, optimize, format, runtime, status: as in `pack`.

    Returns:
        FolderResult.

    Raises:
        SubmissionError: the code breaks the contract.
        HarnessError: unknown experiment, no trained run, an unknown format or runtime.
    """
    exp = get_experiment(experiment)
    runtime = runtime or exp.config().get("runtime", DEFAULT_RUNTIME)
    if runtime not in RUNTIMES:
        raise HarnessError(f"runtime must be one of {', '.join(RUNTIMES)}. "
                           f"Received: runtime={runtime!r}")
    choice = choose_format(profile, format)
    run_dir = Path(run) if run else exp.latest_run()
    stage = exp.stage(dest, run=run_dir, profile=profile, tta=tta)
    optimized = []
    if optimize:
        for weights in sorted(stage.glob(f"*{WEIGHT_SUFFIX}")):
            status(f"optimizing {weights.name}")
            report = optimize_file(weights, weights, sample)
            optimized.append({"file": weights.name, "rewritten": report.rewritten,
                              "max_abs_diff": report.max_abs_diff, "kept": report.kept,
                              "reason": report.reason})
    converted = []
    if runtime == "tflite":
        # Before any SavedModel export: the converter reads the .keras files.
        runtime, converted = add_tflite(stage, sample, profile, status)
    if choice.format == "savedmodel":
        for weights in sorted(stage.glob(f"*{WEIGHT_SUFFIX}")):
            status(f"exporting {weights.name} as a SavedModel: {choice.why}")
            to_savedmodel(weights)
    warnings = check_source(stage, profile)
    return FolderResult(
        path=stage, experiment=exp.name, run=run_dir,
        settings=json.loads((stage / "submission.json").read_text()), optimized=optimized,
        warnings=warnings, format=choice.format, format_why=choice.why, runtime=runtime,
        converted=converted)


def pack(experiment: str | os.PathLike, profile: Profile, out: str | os.PathLike = ".",
         run: str | os.PathLike | None = None, tta: int | None = None, optimize: bool = True,
         data: str | os.PathLike | None = None, n_smoke: int = SMOKE_IMAGES,
         name: str | None = None, format: str = "auto", runtime: str | None = None,
         status: Callable[[str], None] = lambda msg: None,
         progress: bool = False) -> PackResult:
    """Pack an experiment's run into a checked, smoke-tested submission zip.

    Args:
        experiment: an experiment name or folder.
        profile: the competition profile.
        out: the folder the zip goes to (created).
        run: the run whose weights to pack (default: the latest).
        tta: test-time augmentation passes written to submission.json (default: the
            run's or the template's setting).
        optimize: rewrite grouped Conv2D layers as DepthwiseConv2D where outputs match.
        data: an npz for the smoke run and the optimizer's check (default: random pixels).
        n_smoke: images in the smoke run.
        name: the zip's file name (default `zip_name()`).
        format: "auto" ships .keras files, or SavedModel folders when the Keras here is
            newer than the server's; "keras" or "savedmodel" forces one
            (`crossversion.choose_format`).
        runtime: "keras", or "tflite" to add TensorFlow Lite twins of the models (kept
            only when they agree with Keras on the sample); default the experiment's
            config `runtime`.
        status: called with progress lines for people.
        progress: a tqdm bar (stderr) over the steps: stage and optimize, zip, smoke run.

    Returns:
        PackResult.

    Raises:
        SubmissionError: the code breaks the contract, or the smoke run failed (no zip
            is written).
        HarnessError: unknown experiment, no trained run, the zip already exists, an
            unknown format.
    """
    dest = Path(out) / (name or zip_name())
    if dest.exists():
        raise HarnessError(f"{dest} already exists", hint="pass another --out, or wait a second")
    sample = sample_images(profile, n_smoke, data)
    steps = progress_bar("pack", disable=not progress, total=3, unit="step")
    with tempfile.TemporaryDirectory(prefix="harness-pack-") as tmp, steps() as bar:
        bar.set_postfix_str("stage and optimize")
        folder = pack_folder(experiment, profile, Path(tmp) / "stage", sample, run=run,
                             tta=tta, optimize=optimize, format=format, runtime=runtime,
                             status=status)
        bar.update()
        bar.set_postfix_str("zip")
        built = Path(tmp) / dest.name
        files = write_zip(folder.path, built)
        bar.update()
        bar.set_postfix_str("smoke run")
        status(f"smoke run: {len(sample)} images through the ingestion")
        extracted = resolve_target(built, Path(tmp) / "extracted", profile)
        smoke = run_submission(extracted.path, sample, profile).raise_for_failure()
        bar.update()
        checkpoint("pack:smoke-ran")
        with atomic_path(dest) as part:
            shutil.copyfile(built, part)
    sha256 = sha256_file(dest)
    # What `harness record ZIP` finds the run by: the zip's bytes and its content's hash
    # (a score of that zip, extracted, has it as its submission_sha256).
    record_pack(folder.run, {"zip": dest.name, "path": str(dest.resolve()), "sha256": sha256,
                             "content_sha256": extracted.sha256, "packed_at": now_iso(),
                             "profile": profile.name})
    return PackResult(
        zip=dest, sha256=sha256, content_sha256=extracted.sha256,
        size_bytes=dest.stat().st_size, files=files,
        experiment=folder.experiment, run=str(folder.run), settings=folder.settings,
        optimized=folder.optimized, warnings=folder.warnings,
        smoke={"n_images": smoke.n_images, "load_s": smoke.load_s,
               "predict_s": smoke.predict_s, "peak_rss_mb": smoke.peak_rss_mb},
        format=folder.format, format_why=folder.format_why, runtime=folder.runtime,
        converted=folder.converted)
