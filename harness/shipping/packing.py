"""`harness pack`: an experiment's trained run made into the zip a team uploads.

`pack` stages the experiment (template model.py and helpers, the experiment's own
overrides, the run's weights, `submission.json` with the settings), checks the code
against the contract, rewrites slow grouped convolutions (`harness.shipping.optimize`), writes
the zip, then extracts it into a fresh folder and runs it through the same ingestion
as `score` on a small sample. Only a zip that passed lands in the output folder,
atomically; a failing one is never left behind.

The zip holds the submission's root-level files and nothing else, at its root, in
sorted order, with fixed timestamps and permissions: the same run and settings pack
to the same sha256.

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
from harness.fsutil import atomic_path, sha256_file
from harness.interrupt import checkpoint
from harness.profile import Profile
from harness.scoring.contract import check_source
from harness.scoring.ingestion import run_submission
from harness.scoring.targets import resolve_target
from harness.shipping.optimize import ZIP_EPOCH, optimize_file
from harness.shipping.samples import sample_images
from harness.training.experiments import WEIGHT_SUFFIX, get_experiment

# Images the smoke run predicts, and the sample the optimizer compares outputs on.
SMOKE_IMAGES = 32
# Files at the submission's root that never go into a zip.
EXCLUDED_SUFFIXES = (".pyc", ".ipynb", ".npz", ".npy", ".zip", ".log")


@dataclass
class PackResult:
    """A packed submission.

    Args:
        zip: the zip written.
        sha256: its sha256.
        size_bytes: its size.
        files: every entry: {"name", "size", "sha256"}.
        experiment: the experiment's name.
        run: the run folder whose weights were packed.
        settings: the zip's submission.json.
        optimized: one record per .keras file: {"file", "rewritten", "max_abs_diff",
            "kept", "reason"}; empty with --no-optimize.
        warnings: the contract's non-fatal warnings.
        smoke: the smoke run: {"n_images", "load_s", "predict_s", "peak_rss_mb"}.
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


def submission_files(folder: Path) -> list[Path]:
    """The files of a staged submission that belong in its zip, sorted by name."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and not p.name.endswith(EXCLUDED_SUFFIXES))


def write_zip(folder: Path, dest: Path) -> list[dict]:
    """Zip `folder`'s submission files at the zip's root, reproducibly.

    Returns:
        {"name", "size", "sha256"} of every entry, in zip order.
    """
    entries = []
    with zipfile.ZipFile(dest, "w") as z:
        for path in submission_files(folder):
            info = zipfile.ZipInfo(path.name, ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever the machine, for the same bytes
            z.writestr(info, path.read_bytes())
            entries.append({"name": path.name, "size": path.stat().st_size,
                            "sha256": sha256_file(path)})
    return entries


def zip_name(now: _dt.datetime | None = None) -> str:
    """`submission_YYMMDD_HHMMSS.zip` for `now` (default: the current time)."""
    return f"submission_{(now or _dt.datetime.now()):%y%m%d_%H%M%S}.zip"


def pack(experiment: str | os.PathLike, profile: Profile, out: str | os.PathLike = ".",
         run: str | os.PathLike | None = None, tta: int | None = None, optimize: bool = True,
         data: str | os.PathLike | None = None, n_smoke: int = SMOKE_IMAGES,
         name: str | None = None,
         status: Callable[[str], None] = lambda msg: None) -> PackResult:
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
        status: called with progress lines for people.

    Returns:
        PackResult.

    Raises:
        SubmissionError: the code breaks the contract, or the smoke run failed (no zip
            is written).
        HarnessError: unknown experiment, no trained run, the zip already exists.
    """
    exp = get_experiment(experiment)
    run_dir = Path(run) if run else exp.latest_run()
    dest = Path(out) / (name or zip_name())
    if dest.exists():
        raise HarnessError(f"{dest} already exists", hint="pass another --out, or wait a second")
    sample = sample_images(profile, n_smoke, data)
    with tempfile.TemporaryDirectory(prefix="harness-pack-") as tmp:
        stage = exp.stage(Path(tmp) / "stage", run=run_dir, tta=tta)
        warnings = check_source(stage, profile)
        optimized = []
        if optimize:
            for weights in sorted(stage.glob(f"*{WEIGHT_SUFFIX}")):
                status(f"optimizing {weights.name}")
                report = optimize_file(weights, weights, sample)
                optimized.append({"file": weights.name, "rewritten": report.rewritten,
                                  "max_abs_diff": report.max_abs_diff, "kept": report.kept,
                                  "reason": report.reason})
        built = Path(tmp) / dest.name
        files = write_zip(stage, built)
        status(f"smoke run: {len(sample)} images through the ingestion")
        extracted = resolve_target(built, Path(tmp) / "extracted", profile)
        smoke = run_submission(extracted.path, sample, profile).raise_for_failure()
        settings = json.loads((stage / "submission.json").read_text())
        checkpoint("pack:smoke-ran")
        with atomic_path(dest) as part:
            shutil.copyfile(built, part)
    return PackResult(
        zip=dest, sha256=sha256_file(dest), size_bytes=dest.stat().st_size, files=files,
        experiment=exp.name, run=str(run_dir), settings=settings, optimized=optimized,
        warnings=warnings,
        smoke={"n_images": smoke.n_images, "load_s": smoke.load_s,
               "predict_s": smoke.predict_s, "peak_rss_mb": smoke.peak_rss_mb})
