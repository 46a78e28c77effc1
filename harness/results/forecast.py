"""`harness calibrate`: the forecast fitted to what Codabench really said.

The leaderboard holds the real points (each `harness record`, and the submission it
scored), scoring runs each recorded submission again, and the test-set stage fits the
strength (`harness.testset.calibration.calibrate_on`); this module joins the three, so
the test-set stage never imports the two above it.

Examples:
    >>> result = calibrate(testset="default")
    >>> result.calibration.strength, result.calibration.points
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.profile import Profile, get_profile
from harness.results.leaderboard import Leaderboard
from harness.scoring.ingestion import run_submission
from harness.scoring.targets import resolve_target
from harness.testset.calibration import CalibrateResult, calibrate_on


def codabench_points(db: Leaderboard, phase: int | None = None) -> dict[str, float]:
    """{experiment: its latest recorded Codabench score} (of `phase` only, if given)."""
    latest = {}
    for r in db.codabench_records():
        if phase is None or r.get("phase") == phase:
            latest[r["experiment"]] = float(r["score"])
    return latest


def scored_target(db: Leaderboard, experiment: str) -> str | None:
    """What the experiment's latest successful score ran (a zip, folder or experiment)."""
    ok = [r for r in db.scores(experiment) if r["status"] == "ok" and r["target"]]
    return ok[-1]["target"] if ok else None


def calibrate(testset: str | os.PathLike | None = None, db_url: str | None = None,
              profile: Profile | str | None = None, phase: int | None = None,
              data_dir: str | os.PathLike | None = None,
              progress: bool = False) -> CalibrateResult:
    """Fit the compound strength to the recorded Codabench scores; write `data/calibration.json`.

    Args:
        testset: the test set whose holdout and seed to use (name or folder; default
            "default").
        db_url: the leaderboard database holding the records and the scored targets.
        profile: the competition profile.
        phase: only records of this Codabench phase (default: the latest per experiment).
        data_dir: where calibration.json goes (default: the data folder).
        progress: a tqdm bar (stderr) over the submissions re-run, minutes each.

    Raises:
        HarnessError: no recorded result whose submission can be run again, or a test
            set without a holdout.
    """
    profile = get_profile(profile)
    db = Leaderboard(db_url, create=False)

    def predict(experiment: str, images: np.ndarray) -> np.ndarray:
        target = scored_target(db, experiment)
        if target is None:
            raise HarnessError("no scored submission to run again: harness score it first")
        with tempfile.TemporaryDirectory(prefix="harness-calibrate-") as tmp:
            try:
                staged = resolve_target(target, Path(tmp) / "sub", profile)
            except HarnessError as e:
                raise HarnessError(f"{target}: {e}") from None
            run = run_submission(staged.path, images, profile)
        if not run.ok:
            raise HarnessError(f"its submission failed ({run.failure.kind})")
        return run.predictions

    return calibrate_on(codabench_points(db, phase), predict, testset=testset,
                        profile=profile, data_dir=data_dir, progress=progress)
