"""harness.training.optim and the schedule keys of harness.training.config."""

from __future__ import annotations

import math

import keras
import pytest

from harness.errors import HarnessError
from harness.experiments import get_experiment
from harness.training import resolve_config
from harness.training.optim import make_optimizer


def _rates(config: dict, steps_per_epoch: int, at: list[int]) -> list[float]:
    optimizer = make_optimizer(config, steps_per_epoch)
    rates = []
    for step in at:
        optimizer.iterations.assign(step)
        rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
    return rates


def test_constant_is_the_default_and_keeps_the_rate_at_every_step():
    config = resolve_config(get_experiment("baseline_cnn"))
    assert config["lr_schedule"] == "constant" and config["warmup_epochs"] == 0
    assert _rates(config, 10, [0, 50, 119]) == pytest.approx([2e-3] * 3)


def test_cosine_warms_up_linearly_then_decays_to_zero_over_the_run():
    config = resolve_config(get_experiment("baseline_cnn"), {
        "lr_schedule": "cosine", "warmup_epochs": 1, "reduce_lr": 0, "epochs": 5,
        "learning_rate": 1e-3})
    # 10 steps an epoch: warm-up over steps 0-10, cosine over the 40 after.
    rates = _rates(config, 10, [0, 5, 10, 30, 50])
    assert rates == pytest.approx([0.0, 5e-4, 1e-3, 5e-4, 0.0], abs=1e-9)


def test_cosine_without_warmup_starts_at_the_rate():
    config = resolve_config(get_experiment("baseline_cnn"), {
        "lr_schedule": "cosine", "reduce_lr": 0, "epochs": 4, "learning_rate": 1e-3})
    rates = _rates(config, 10, [0, 10, 40])
    assert rates == pytest.approx([1e-3, 1e-3 * (1 + math.cos(math.pi / 4)) / 2, 0.0],
                                  abs=1e-9)


@pytest.mark.parametrize("overrides, message", [
    ({"lr_schedule": "linear"},
     "lr_schedule must be one of constant, cosine. Received: lr_schedule='linear'"),
    # baseline_cnn's CONFIG turns ReduceLROnPlateau on (reduce_lr=3).
    ({"lr_schedule": "cosine"}, "cannot be combined with reduce_lr=3"),
    ({"warmup_epochs": 1}, "lr_schedule is 'constant'. Received: warmup_epochs=1"),
    ({"lr_schedule": "cosine", "reduce_lr": 0, "epochs": 3, "warmup_epochs": 3},
     "fewer than epochs (3). Received: warmup_epochs=3"),
    ({"lr_schedule": "cosine", "reduce_lr": 0, "warmup_epochs": -1},
     "at least 0"),
])
def test_bad_schedule_settings_are_rejected(overrides, message):
    with pytest.raises(HarnessError) as info:
        resolve_config(get_experiment("baseline_cnn"), overrides)
    assert message in str(info.value)
