"""Calibration: fit the compound recipe's strength to what Codabench really said.

The hidden set's recipe is unknown; how hard it is, is not: every `harness record`
stores one real (submission, leaderboard score) pair. `calibrate_on` re-runs each recorded
submission on the holdout at every chain length 0..max_links (`compound.levels`), reads
off its exact accuracy at any strength s (each image at its own length, `Plan.lengths`),
and picks the s whose accuracies land nearest the recorded scores (least squares). One
parameter: more would need more real points than any team has.

The forecast error `sd` that widens every interval: with three or more points, the
fit's residual standard deviation; with fewer, `PRIOR_SD`, measured on the fidelity
zoo (bench/RESULTS.md, "How far a one-point calibration can be off").

Where a calibration comes from: `data/calibration.json` (written by `calibrate`) when it
exists for the profile, else the profile's default, fitted on the one public pair
(a real course submission that Codabench scored 0.37).

Examples:
    >>> result = calibrate_on({"my_cnn": 0.41}, predict, "default", get_profile())
    >>> result.calibration.strength, result.calibration.points
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from harness import paths
from harness.data.datasets import load_dataset
from harness.errors import HarnessError
from harness.fsutil import read_json, write_text_atomic
from harness.interrupt import checkpoint
from harness.profile import Profile
from harness.progress import progress_bar
from harness.stamps import now_iso
from harness.testset import compound
from harness.testset.recipes import get_recipe
from harness.testset.store import testset_path

CALIBRATION_FILE = "calibration.json"
# The forecast error of a one-point calibration when the hidden set leans on other
# corruptions than pp@2's equal weights: the largest rms over three such variants, on
# the 13 models of bench/fidelity.py (bench/RESULTS.md).
PRIOR_SD = 0.063
STRENGTH_STEP = 0.01


@dataclass(frozen=True)
class ForecastCalibration:
    """A fitted strength, the real points it rests on, and its forecast error.

    Args:
        id: printed beside every calibrated score; changes with the fit.
        profile: the competition.
        recipe: the recipe version it was fitted for (`pp@2.0`).
        strength: the chain strength.
        sd: the forecast's standard error (see the module docstring).
        points: {experiment, codabench, forecast} per recorded result used.
        source: "profile default" or the file it was read from.
        testset: the test set it was fitted on; `fitted_at`: when.
    """

    id: str
    profile: str
    recipe: str
    strength: float
    sd: float
    points: tuple = ()
    source: str = "profile default"
    testset: str | None = None
    fitted_at: str | None = None

    @property
    def n_points(self) -> int:
        return len(self.points)

    def as_dict(self) -> dict:
        return {**asdict(self), "points": [dict(p) for p in self.points]}

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None) -> "ForecastCalibration":
        keys = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in d.items() if k in keys}
        values["points"] = tuple(dict(p) for p in d.get("points", ()))
        if source is not None:
            values["source"] = source
        return cls(**values)


def calibration_path(data_dir: str | os.PathLike | None = None) -> Path:
    """calibration.json in `data_dir` (default: the data folder)."""
    return Path(data_dir or paths.data_dir()) / CALIBRATION_FILE


def load_calibration(profile: Profile,
                     data_dir: str | os.PathLike | None = None) -> ForecastCalibration | None:
    """The team's calibration for this profile when one was fitted, else the profile's
    default (None when the profile has none)."""
    path = calibration_path(data_dir)
    if path.is_file():
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise HarnessError(f"{path}: not a calibration file ({e})",
                               hint=f"refit it with harness calibrate, or delete {path} to "
                                    "use the profile's default") from None
        if doc.get("profile") == profile.name:
            return ForecastCalibration.from_dict(doc, source=str(path))
    return ForecastCalibration.from_dict(profile.calibration) if profile.calibration else None


def forecast_error(residuals: np.ndarray) -> float:
    """The sd of a forecast: the residuals' with three or more points, else the prior."""
    if len(residuals) < 3:
        return PRIOR_SD
    return float(np.sqrt(np.sum(np.square(residuals)) / (len(residuals) - 1)))


def fit_strength(correct: dict[str, np.ndarray], scores: dict[str, float],
                 plans: list[compound.Plan]) -> tuple[float, dict[str, float]]:
    """The strength whose accuracies best match the recorded scores (least squares).

    Args:
        correct: experiment -> bool array (copies, levels, n): whether each image was
            classified right at each chain length.
        scores: experiment -> the recorded Codabench accuracy.
        plans: the chain plan of each copy.

    Returns:
        (strength, experiment -> its accuracy at that strength).
    """
    levels = next(iter(correct.values())).shape[1]
    grid = np.round(np.arange(0, levels - 1 + 1e-9, STRENGTH_STEP), 6)
    n = plans[0].draw.shape[0]

    def accuracy(hits: np.ndarray, s: float) -> float:
        return float(np.mean([hits[c, plan.lengths(s), np.arange(n)]
                              for c, plan in enumerate(plans)]))

    curves = {e: np.array([accuracy(hits, s) for s in grid]) for e, hits in correct.items()}
    loss = sum((curves[e] - scores[e]) ** 2 for e in curves)
    best = float(grid[int(np.argmin(loss))])
    return best, {e: float(curves[e][int(np.argmin(loss))]) for e in curves}


@dataclass
class CalibrateResult:
    """What `calibrate` fitted, on what, and where it wrote it."""

    calibration: ForecastCalibration
    path: str
    previous: dict | None
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    replaced_damaged: bool = False


def _level_images(holdout, plans: list[compound.Plan]) -> np.ndarray:
    """Every copy of the holdout at every chain length, copy-major then level-major."""
    return np.concatenate([np.stack(list(compound.levels(holdout.images, plan)))
                           for plan in plans]).reshape(-1, *holdout.images.shape[1:])


def calibrate_on(points: Mapping[str, float], predict: Callable[[str, np.ndarray], np.ndarray],
                 testset: str | os.PathLike | None, profile: Profile,
                 data_dir: str | os.PathLike | None = None,
                 progress: bool = False) -> CalibrateResult:
    """Fit the compound strength to real scores; write `data/calibration.json`.

    The scores and the submissions behind them come from the caller, so this stage
    runs nothing itself: `harness.results.calibrate` hands it the leaderboard's
    Codabench records and a `predict` that runs each recorded submission as scoring does.

    Args:
        points: {experiment: the score Codabench gave it}.
        predict: `predict(experiment, images)` -> predicted labels of the submission
            Codabench scored, for uint8 images; raises `HarnessError` (said as the
            reason it is skipped) when that submission cannot run here.
        testset: the test set whose holdout and seed to use (name or folder; default
            "default").
        profile: the competition profile.
        data_dir: where calibration.json goes (default: the data folder).
        progress: a tqdm bar (stderr) over the submissions re-run, minutes each.

    Raises:
        HarnessError: no point whose submission ran, or a test set without a holdout.
    """
    started = time.perf_counter()
    try:
        previous = load_calibration(profile, data_dir)
        damaged = False
    except HarnessError:  # a damaged calibration.json is what this command rewrites
        previous, damaged = None, True
    npz, name = testset_path(testset)
    folder = npz.parent
    if not (folder / "manifest.json").is_file() or not (folder / "holdout.npz").is_file():
        raise HarnessError(f"{folder}: not a test set built by harness testset build "
                           "(no manifest.json or holdout.npz)",
                           hint="calibrate on a built test set: harness testset build")
    manifest = read_json(folder / "manifest.json", "the test set's manifest",
                         hint=f"rebuild it: harness testset build --name {folder.name} --force")
    spec = manifest["recipe_spec"]
    recipe = get_recipe(f"{spec['name']}@{spec['version']}")
    if recipe.compound is None:
        raise HarnessError(f"recipe {recipe.id} has no compound views to calibrate",
                           hint="rebuild the test set with a compound recipe: "
                                "harness testset build --recipe pp")
    holdout = load_dataset(folder / "holdout.npz", profile)
    spec = recipe.compound
    plans = [compound.sample_plan(len(holdout), spec, compound.copy_seed(manifest["seed"], c))
             for c in range(int(spec.get("copies", 1)))]
    correct, skipped = {}, {}
    images = None
    rescore = progress_bar("calibrate", disable=not progress, unit="submission")
    for experiment in rescore(points):
        if images is None:
            images = _level_images(holdout, plans)
        try:
            predictions = predict(experiment, images)
        except HarnessError as e:
            skipped[experiment] = str(e)
            continue
        labels = np.tile(holdout.labels, len(plans) * (spec["max_links"] + 1))
        hits = np.asarray(predictions).reshape(-1) == labels
        correct[experiment] = hits.reshape(len(plans), spec["max_links"] + 1, len(holdout))
    if not correct:
        raise HarnessError("no recorded Codabench result to calibrate on"
                           + (f" ({'; '.join(f'{k}: {v}' for k, v in skipped.items())})"
                              if skipped else ""),
                           hint="score a submission, then harness record NAME --codabench "
                                "SCORE with what Codabench said")
    strength, forecasts = fit_strength(correct, {e: points[e] for e in correct}, plans)
    fitted = tuple({"experiment": e, "codabench": points[e], "forecast": round(forecasts[e], 4)}
                   for e in sorted(correct))
    residuals = np.array([p["forecast"] - p["codabench"] for p in fitted])
    body = {"profile": profile.name, "recipe": f"{recipe.name}@{recipe.version}",
            "strength": strength, "sd": forecast_error(residuals), "points": list(fitted),
            "testset": name}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    path = calibration_path(data_dir)
    cal = ForecastCalibration.from_dict(
        {**body, "id": f"team-{len(fitted)}pt-{digest}", "fitted_at": now_iso()},
        source=str(path))
    checkpoint("calibrate:fitted")
    write_text_atomic(path, json.dumps(cal.as_dict(), indent=2))
    return CalibrateResult(cal, str(path), previous and previous.as_dict(), skipped,
                           time.perf_counter() - started, replaced_damaged=damaged)
