"""Calibration: the strength fit, where a calibration comes from, and the whole loop."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.testset import calibration, compound

SPEC = {"families": {"gaussian_noise": 1.0, "overlay": 1.0, "rotate_flip": 1.0,
                     "jpeg": 1.0}, "severities": [2, 4], "max_links": 4}


def test_fit_strength_recovers_the_strength_that_made_a_score():
    n = 600
    plan = compound.sample_plan(n, SPEC, seed=0)
    survives = np.random.default_rng(1).integers(0, 5, n)  # image i breaks at link t_i
    hits = (np.arange(5)[:, None] < survives[None, :])[None]  # (copies, levels, n)
    target = float(hits[0, plan.lengths(2.3), np.arange(n)].mean())
    strength, forecasts = calibration.fit_strength({"x": hits}, {"x": target}, [plan])
    assert forecasts["x"] == pytest.approx(target)
    assert abs(strength - 2.3) < 0.1


def test_two_points_are_fitted_by_least_squares():
    n = 400
    plan = compound.sample_plan(n, SPEC, seed=2)
    rng = np.random.default_rng(3)
    hard = (np.arange(5)[:, None] < rng.integers(0, 3, n))[None]
    easy = (np.arange(5)[:, None] < rng.integers(2, 6, n))[None]
    at = {name: float(h[0, plan.lengths(3.0), np.arange(n)].mean())
          for name, h in (("hard", hard), ("easy", easy))}
    strength, forecasts = calibration.fit_strength({"hard": hard, "easy": easy}, at, [plan])
    assert abs(strength - 3.0) < 0.15
    assert forecasts == pytest.approx(at, abs=0.02)


def test_forecast_error_is_the_prior_until_three_points():
    assert calibration.forecast_error(np.array([0.0])) == calibration.PRIOR_SD
    assert calibration.forecast_error(np.array([0.01, -0.02])) == calibration.PRIOR_SD
    assert calibration.forecast_error(np.array([0.01, -0.02, 0.03])) == \
        pytest.approx(np.sqrt((0.01 ** 2 + 0.02 ** 2 + 0.03 ** 2) / 2))


def test_the_profile_default_until_a_team_fits_its_own(tmp_path, profile):
    default = calibration.load_calibration(profile, tmp_path)
    assert default.source == "profile default" and default.n_points >= 1
    assert default.recipe == "pp@2.0" and 0 < default.strength <= 8
    other = {**default.as_dict(), "profile": "another-competition", "strength": 1.0}
    (tmp_path / "calibration.json").write_text(json.dumps(other))
    assert calibration.load_calibration(profile, tmp_path).strength == default.strength
    mine = {**default.as_dict(), "id": "team-x", "strength": 2.5}
    (tmp_path / "calibration.json").write_text(json.dumps(mine))
    loaded = calibration.load_calibration(profile, tmp_path)
    assert (loaded.id, loaded.strength, loaded.source) == \
        ("team-x", 2.5, str(tmp_path / "calibration.json"))
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(HarnessError, match="calibration.json: not a calibration file"):
        calibration.load_calibration(profile, tmp_path)


# label = first red pixel mod 8, exactly as the submission predicts: perfect on clean
# images, worse the more a chain changes them.
PIXEL_MODEL_PY = """
import numpy as np


class Model:
    def __init__(self):
        pass

    def predict(self, X):
        return X[:, 0, 0, 0].astype(np.int64) % 8
"""


def test_calibrate_then_rebuild_then_score_lands_on_the_fitted_forecast(
        tmp_path, monkeypatch, make_submission, runner, tty_runner):
    from rich.console import Console

    from harness.cli.score import show_score
    from harness.results.keeping import score_and_keep
    from harness.results.recording import record_submission
    from harness.testset.builder import build

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (160, 96, 96, 3), dtype=np.uint8)
    labels = (images[:, 0, 0, 0] % 8).astype(np.uint8)
    save_dataset("clean.npz", images, labels)
    build("clean.npz", holdout=0.5, name="t", recipe="pp-small", progress=False)
    sub = make_submission(PIXEL_MODEL_PY)
    first = score_and_keep(sub, testset="t", time_limit_s=120, experiment_name="pixel")
    assert first.pseudo_private.calibration is None  # the profile's fit is for pp@2.0

    nothing = runner.invoke(main, ["calibrate", "--testset", "t"])
    assert nothing.exit_code == 2 and "no recorded Codabench result" in nothing.output

    record_submission(sub, 0.55)  # the folder that was zipped and uploaded
    # A damaged calibration.json is no reason to fail: calibrate is what rewrites it.
    (tmp_path / "data/calibration.json").write_text("{not json")
    out = tty_runner.invoke(main, ["calibrate", "--testset", "t", "--json"])
    assert out.exit_code == 0, out.output
    assert "calibrate:" not in out.output  # no bar under --json, even at a terminal
    assert json.loads(out.stdout)["replaced_damaged"] is True
    cal = json.loads(out.stdout)["calibration"]
    assert cal["recipe"] == "pp-small@2.0" and cal["points"][0]["experiment"] == "pixel"
    assert 0 <= cal["strength"] <= 3 and abs(cal["points"][0]["forecast"] - 0.55) < 0.1
    assert cal["sd"] == calibration.PRIOR_SD and (tmp_path / "data/calibration.json").is_file()
    # For a person, the re-scoring (minutes each submission) shows a bar on stderr.
    shown = tty_runner.invoke(main, ["calibrate", "--testset", "t"])
    assert shown.exit_code == 0 and "calibrate:" in shown.stderr and "0/1" in shown.stderr
    assert "calibrate:" not in shown.stdout and "strength" in shown.stdout

    rebuilt = build("clean.npz", holdout=0.5, name="t", recipe="pp-small", progress=False)
    assert rebuilt.recipe == f"pp-small@2.0+s{cal['strength']:.2f}" and not rebuilt.cached
    rescored = score_and_keep(sub, testset="t", time_limit_s=120, experiment_name="pixel")
    # Scored again, the submission the calibration was fitted on says so.
    assert rescored.fitted_on == cal["id"]
    shown = io.StringIO()
    show_score(Console(file=shown, width=300), rescored)
    assert "its agreement with Codabench is the calibration itself, not evidence" in \
        shown.getvalue()
    again = rescored.pseudo_private
    assert again.accuracy == pytest.approx(cal["points"][0]["forecast"], abs=1e-4)
    assert again.calibration == cal["id"] and again.calibration_points == 1
    assert again.low < again.sampling_low <= again.accuracy <= again.sampling_high < again.high
