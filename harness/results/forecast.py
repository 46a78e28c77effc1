"""`harness calibrate`: the forecast fitted to what Codabench really said.

The leaderboard holds the real points (each `harness record`, bound to the zip it
scored: exact pairs only, of the profile's competition), scoring runs each recorded
submission again, and the test-set stage fits the
strength (`harness.testset.calibration.calibrate_on`); this module joins the three, so
the test-set stage never imports the two above it. `calibration_view` gives the report's
calibration plot its points: every exact pair and the calibration's own.

Examples:
    >>> result = calibrate(testset="default")
    >>> result.calibration.strength, result.calibration.points
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.experiments import get_experiment
from harness.fsutil import sha256_file
from harness.profile import Profile, get_profile
from harness.results import competitions
from harness.results.leaderboard import Leaderboard
from harness.scoring.ingestion import run_submission
from harness.scoring.targets import resolve_target
from harness.testset.calibration import CalibrateResult, calibrate_on
from harness.words import plural


def exact_pairs(db: Leaderboard, competition: str, phase: int | None = None
                ) -> tuple[dict[str, dict], dict[str, str]]:
    """({label: a bound Codabench result and what can run its exact model again},
    {label: why a result is left out}) of one competition.

    A result is paired only with its own zip (`harness.results.competitions.pairs`):
    a result recorded by name before v4 never is. What runs again is a score row's
    target of that exact model (the zip or folder it scored, or the experiment's run),
    else the zip where `harness pack` wrote it, if it is still there with that sha256.
    The latest result per zip (of `phase` only, if given) counts.
    """
    scores = [s for s in db.scores() if s["status"] == "ok" and s.get("target")]
    by_zip: dict[str, dict] = {}
    left_out: dict[str, str] = {}
    for r in db.codabench_records():
        if phase is not None and r.get("phase") != phase:
            continue
        if competitions.record_competition(r, db.scores()) != competition:
            continue
        if not competitions.bound(r):
            left_out[r["experiment"]] = competitions.UNBOUND + ": not paired with any model"
            continue
        by_zip[r.get("zip_sha256") or r["content_sha256"]] = r
    # A point is named by its experiment, and by its zip too where one experiment has
    # several zips recorded.
    names = [r["experiment"] for r in by_zip.values()]
    latest = {r["experiment"] if names.count(r["experiment"]) == 1 else
              f"{r['experiment']} ({r.get('zip_name') or key[:12]})": r
              for key, r in by_zip.items()}
    pairs = {}
    for label, r in latest.items():
        mine = [s for s in scores if competitions.pairs(r, s)]
        if mine:
            pairs[label] = {"record": r, "target": mine[-1]["target"]}
            continue
        pack = next((p for p in _packs(r["experiment"]) if p.get("sha256") == r["zip_sha256"]
                     and Path(p.get("path", "")).is_file()), None)
        if pack and sha256_file(pack["path"]) == r["zip_sha256"]:
            pairs[label] = {"record": r, "target": pack["path"]}
        else:
            left_out[label] = ("no score of its exact zip here and the zip is gone: score "
                               "the zip you uploaded (harness score dist/ZIP)")
    return pairs, left_out


def _packs(experiment: str) -> list[dict]:
    try:
        return get_experiment(experiment).packs()
    except HarnessError:
        return []


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
    pairs, left_out = exact_pairs(db, profile.name, phase)

    def predict(label: str, images: np.ndarray) -> np.ndarray:
        target = pairs[label]["target"]
        with tempfile.TemporaryDirectory(prefix="harness-calibrate-") as tmp:
            try:
                staged = resolve_target(target, Path(tmp) / "sub", profile)
            except HarnessError as e:
                raise HarnessError(f"{target}: {e}") from None
            run = run_submission(staged.path, images, profile)
        if not run.ok:
            raise HarnessError(f"its submission failed ({run.failure.kind})")
        return run.predictions

    if not pairs:
        why = "; ".join(f"{k}: {v}" for k, v in left_out.items())
        raise HarnessError(f"no recorded Codabench result of competition {profile.name} is "
                           f"bound to a zip whose model can run here"
                           + (f" ({why})" if why else ""),
                           hint="record the zip you uploaded: harness record "
                                "dist/submission_X.zip --codabench S")
    result = calibrate_on({k: float(v["record"]["score"]) for k, v in pairs.items()},
                          predict, testset=testset, profile=profile, data_dir=data_dir,
                          progress=progress)
    result.skipped.update(left_out)
    return result


def calibration_view(entries: list[dict], profile: Profile,
                     data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The points to plot (experiment, forecast, codabench, source) and the fitted line.

    Two sources: the forecast calibration's own real points (`harness calibrate`, else
    the profile's default), and every leaderboard row with a recorded Codabench score;
    an experiment in both shows once, with its current forecast.
    """
    from harness.testset.calibration import load_calibration

    try:
        calibration = load_calibration(profile, data_dir)
    except HarnessError as e:  # a broken file: say so on the page rather than fail it
        calibration, note = None, e.message
    else:
        note = None
    # Every exact pair (a row's Codabench score is that of its own zip, `standings`).
    points = {e["label"]: {"experiment": e["label"], "source": "leaderboard",
                           "forecast": e["forecast"]["value"], "codabench": e["row"]["codabench"]}
              for e in entries
              if e["row"]["codabench"] is not None and e["forecast"]["value"] is not None}
    shown = {e["row"]["experiment"] for e in entries if e["label"] in points}
    fitted = []
    for p in (calibration.points if calibration else ()):
        if p.get("forecast") is not None and p.get("codabench") is not None:
            fitted.append(str(p["experiment"]))
            if str(p["experiment"]).split(" (")[0] not in shown:
                points.setdefault(p["experiment"], {**p, "source": "calibration"})
    points = sorted(points.values(), key=lambda p: (str(p["experiment"]), p["forecast"]))
    xs = np.array([p["forecast"] for p in points], float)
    line = None
    if len(points) >= 2 and np.ptp(xs) > 1e-9:
        slope, intercept = np.polyfit(xs, [p["codabench"] for p in points], 1)
        line = (float(slope), float(intercept))
    about = None
    if calibration is not None:
        about = (f"{calibration.id}: strength {calibration.strength:g}, forecast error "
                 f"{calibration.sd:.3f}, {plural(calibration.n_points, 'real point')}, "
                 f"{calibration.recipe} ({calibration.source})")
    return {"points": points, "line": line, "about": about, "note": note,
            "n_points": plural(len(points), "real point"),
            "fitted": ", ".join(fitted) if fitted else None}
