"""harness.training.tuning: Optuna trials over SEARCH_SPACE, stored where several machines can share."""

from __future__ import annotations

import json

import optuna
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.training.tuning import suggest


def test_two_trials_run_and_the_study_accumulates(tmp_experiments, tmp_path, small_arrays,
                                                  runner, monkeypatch):
    from harness.data.datasets import save_dataset

    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))  # no pseudo-private set built here

    data = save_dataset(tmp_path / "small.npz", *small_arrays)
    storage = f"sqlite:///{tmp_path / 'study.sqlite'}"
    out = runner.invoke(main, ["tune", "baseline_cnn", "--trials", "2", "--storage", storage,
                               "--data", str(data), "--epochs", "1", "--set", "filters=[4]",
                               "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["trials_run"] == 2 and len(result["trials"]) == 2
    assert set(result["best_params"]) == {"learning_rate", "dropout", "dense"}
    assert 0 <= result["best_value"] <= 1
    assert result["objective"] == "val_accuracy"
    study = optuna.load_study(study_name="baseline_cnn", storage=storage)
    assert len(study.trials) == 2 and study.best_trial.user_attrs["run_dir"] == result["best_run"]


def test_search_space_forms():
    trial = optuna.trial.FixedTrial({"lr": 1e-3, "depth": 3, "act": "relu", "p": 0.2})
    space = {"lr": (1e-4, 1e-2), "depth": (2, 4), "act": ["relu", "gelu"],
             "p": {"low": 0.0, "high": 0.5}}
    assert suggest(trial, space) == {"lr": 1e-3, "depth": 3, "act": "relu", "p": 0.2}
    with pytest.raises(HarnessError, match="not a range"):
        suggest(trial, {"lr": "fast"})


def test_trials_are_scored_on_the_pseudo_private_set(tmp_experiments, tmp_path, small_arrays,
                                                     runner):
    from harness.data.datasets import save_dataset
    from harness.results.leaderboard import read_leaderboard
    from harness.testset.builder import build

    data = save_dataset(tmp_path / "small.npz", *small_arrays)
    built = build(data=data, holdout=0.25, recipe="pp-small", name="t",
                  out_root=tmp_path / "testsets", progress=False)
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    out = runner.invoke(main, ["tune", "baseline_cnn", "--trials", "2", "--epochs", "1",
                               "--storage", f"sqlite:///{tmp_path / 'study.sqlite'}",
                               "--data", str(data), "--set", "filters=[4]", "--db", db,
                               "--testset", str(tmp_path / "testsets" / "t" / "testset.npz"),
                               "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["objective"].startswith("pseudo-private accuracy on")
    rows = read_leaderboard(db_url=db).rows
    assert sorted(r["experiment"] for r in rows) == ["baseline_cnn@trial_000",
                                                      "baseline_cnn@trial_001"]
    assert {r["pseudo_private"] for r in rows} == {t["value"] for t in result["trials"]}
    assert built.n_testset > 0
