"""How a training run ended is said: an early stop (which epoch, out of how many), the
epoch whose weights were kept, and a validation curve too unstable to trust
(`harness.training.stopping`), in `train`'s output, its --json and the run's history.json."""

from __future__ import annotations

import json

import keras
import pytest
from rich.console import Console

from harness.cli.train import _show_train
from harness.jsonable import to_jsonable
from harness.training import stopping, train
from harness.training.stopping import SWING, WINDOW, ending

# The issue's run: 12 epochs planned, stopped after 11, validation accuracy swinging.
SWINGING = [0.30, 0.45, 0.52, 0.61, 0.70, 0.89, 0.34, 0.80, 0.41, 0.86, 0.38]


def test_the_issues_run_says_where_it_stopped_what_it_kept_and_that_it_swung():
    end = ending("weights", {"loss": [1.0] * 11, "val_accuracy": SWINGING}, planned=12,
                 stopped_epoch=10, best_epoch=5)
    assert (end.stopped_early, end.ran, end.planned, end.kept) == (True, 11, 12, 6)
    [note] = end.notes()
    assert "early stopping ended training after epoch 11 of 12" in note
    assert "the weights kept are epoch 6's (val_accuracy 0.8900, the best)" in note
    assert end.unstable and (end.low, end.high) == (0.34, 0.86)
    assert "unstable validation curve" in end.warning() and f"last {WINDOW}" in end.warning()


def test_a_steady_curve_run_to_the_end_says_nothing():
    steady = [0.50, 0.60, 0.65, 0.70, 0.72, 0.74]
    end = ending("weights", {"loss": [1.0] * 6, "val_accuracy": steady}, planned=6,
                 stopped_epoch=0, best_epoch=5)
    assert not end.stopped_early and end.kept == 6 and end.notes() == []
    assert end.swing <= SWING and end.warning() is None


def test_the_rule_reads_only_the_last_epochs_and_only_a_validation_curve():
    early_swing = [0.1, 0.9, 0.80, 0.82, 0.84, 0.85, 0.86]  # settled for the last WINDOW
    assert not ending("m", {"val_accuracy": early_swing}, planned=7).unstable
    no_val = ending("m", {"loss": [1, 1, 1], "accuracy": [0.1, 0.9, 0.1]}, planned=3)
    assert no_val.swing is None and not no_val.unstable and no_val.monitor == "accuracy"
    best_not_last = ending("m", {"val_accuracy": [0.5, 0.7, 0.6]}, planned=3,
                           stopped_epoch=0, best_epoch=1)
    assert best_not_last.notes() == [
        "m: the weights kept are epoch 2's (val_accuracy 0.7000, the best)"]


def test_an_early_stop_and_a_warning_reach_the_result_its_json_history_and_output(
        tmp_path, small_arrays, monkeypatch):
    # A learning rate of almost nothing: validation accuracy never improves, so a
    # patience of 1 stops the run after its second of 6 epochs and keeps the first. With
    # the rule's threshold below zero, any two epochs make an "unstable" curve.
    monkeypatch.setattr(stopping, "SWING", -1.0)
    result = train("baseline_cnn", data=small_arrays, epochs=6, seed=0,
                   overrides={"filters": [4], "dense": 8, "learning_rate": 1e-12,
                              "early_stopping": 1, "reduce_lr": 0},
                   run_dir=tmp_path / "run", progress=False)
    [end] = to_jsonable(result)["endings"]
    assert end["stopped_early"] and (end["ran"], end["planned"], end["kept"]) == (2, 6, 1)
    assert result.epochs == [2] and end["unstable"]
    assert any(w.startswith("weights: unstable validation curve") for w in result.warnings)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["endings"] == [end]
    console = Console(record=True, width=400)
    _show_train(console, result)
    text = console.export_text()
    assert "weights: early stopping ended training after epoch 2 of 6" in text
    assert "the weights kept are epoch 1's" in text
    assert "warning: weights: unstable validation curve" in text


class _Stop(Exception):
    pass


class _InterruptTheSecondModel(keras.callbacks.Callback):
    """Stands in for a killed process after the first fold's model finished."""

    def __init__(self):
        super().__init__()
        self.models = 0

    def on_train_begin(self, logs=None):
        self.models += 1

    def on_epoch_end(self, epoch, logs=None):
        if self.models == 2:
            raise _Stop


def test_a_fold_finished_before_an_interruption_keeps_its_ending(tmp_path, small_arrays):
    tiny = {"filters": [4], "dense": 8}
    with pytest.raises(_Stop):
        train("baseline_cnn", data=small_arrays, epochs=1, folds=2, overrides=tiny,
              run_dir=tmp_path / "run", progress=False, callbacks=[_InterruptTheSecondModel()])
    saved = tmp_path / "run" / "backup" / "fold_1.val.json"
    val, end = json.loads(saved.read_text())
    assert end["model"] == "fold_1" and end["ran"] == 1
    # As a run interrupted before endings were kept saved it: [loss, acc] alone.
    saved.write_text(json.dumps(val))
    result = train("baseline_cnn", data=small_arrays, run_dir=tmp_path / "run", progress=False)
    assert [(e.model, e.ran, e.planned) for e in result.endings] == [("fold_1", 1, 1),
                                                                    ("fold_2", 1, 1)]
