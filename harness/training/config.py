"""An experiment's training configuration: the defaults, the experiment's CONFIG, overrides.

`resolve_config` is the one place a configuration is assembled and checked, so a typo in
`--set` or in a config file fails before any data is loaded, with the closest known name
(`harness.registry`).

Examples:
    >>> parse_overrides(["epochs=3", "optimizer=lion"])
    {'epochs': 3, 'optimizer': 'lion'}
    >>> resolve_config(get_experiment("baseline_cnn"), {"epochs": 3})["epochs"]
    3
"""

from __future__ import annotations

import ast

from harness.errors import HarnessError
from harness.experiments import Experiment
from harness.registry import unknown
from harness.shipping.packing import DEFAULT_RUNTIME, RUNTIMES
from harness.training.augmentation import resolve
from harness.training.optim import OPTIMIZERS

# What every experiment gets unless its CONFIG says otherwise; train() rejects any
# override key that is neither here nor in the experiment's CONFIG.
DEFAULTS = {
    "epochs": 10,
    "batch_size": 64,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "lr_schedule": "constant",  # constant | cosine (decay to 0 over the run's steps)
    "warmup_epochs": 0,         # cosine only: epochs of linear warm-up from 0
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "class_weights": False,     # False | True (inverse class frequency) | {label: weight}
    "augment": [],
    "early_stopping": 0,        # patience on val accuracy in epochs; 0 = off
    "reduce_lr": 0,             # ReduceLROnPlateau patience on val loss; 0 = off
    "validation_split": 0.15,
    "seed": 42,
    "folds": 1,                 # K > 1: K models on stratified folds, an ensemble
    "ensemble": "mean",         # how a K-fold run's models combine: mean | vote
    # How `harness pack` ships the model (harness.shipping.packing.RUNTIMES). Training
    # ignores it.
    "runtime": DEFAULT_RUNTIME,
}
LR_SCHEDULES = ("constant", "cosine")


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict:
    """`key=value` strings into a dict; values are Python literals, else strings.

    Examples:
        >>> parse_overrides(["epochs=3", "optimizer=lion", "augment=['flip']"])
        {'epochs': 3, 'optimizer': 'lion', 'augment': ['flip']}
    """
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise HarnessError(f"--set takes key=value. Received: {pair!r}",
                               hint="e.g. --set learning_rate=3e-4 --set augment=\"['flip']\"")
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key.strip()] = value
    return out


def resolve_config(experiment: Experiment, overrides: dict | None = None) -> dict:
    """DEFAULTS < the experiment's CONFIG < overrides, each override checked.

    Raises:
        HarnessError: an unknown key (with the closest known one), a value of the wrong type, an
            unknown optimizer or augmentation.
    """
    config = {**DEFAULTS, **experiment.config()}
    for key, value in (overrides or {}).items():
        if key not in config:
            raise unknown(f"config key for {experiment.name}", key, config,
                          f"keys: {', '.join(sorted(config))}", received=f"{key}={value!r}")
        old = config[key]
        numeric = isinstance(old, (int, float)) and not isinstance(old, bool)
        if (numeric and (isinstance(value, bool) or not isinstance(value, (int, float)))) or \
                (isinstance(old, list) and not isinstance(value, list)):
            raise HarnessError(f"{key} must be a {type(old).__name__} like the experiment's "
                               f"{old!r}. Received: {key}={value!r}",
                               hint="values are Python literals: 3, 1e-3, True, ['flip']")
        config[key] = value
    if config["optimizer"] not in OPTIMIZERS:
        raise unknown("optimizer", config["optimizer"], OPTIMIZERS,
                      f"choose one of {', '.join(OPTIMIZERS)}",
                      received=f"optimizer={config['optimizer']!r}")
    if config["ensemble"] not in ("mean", "vote"):
        raise HarnessError(f"ensemble must be 'mean' or 'vote'. "
                           f"Received: ensemble={config['ensemble']!r}")
    if config["runtime"] not in RUNTIMES:
        raise HarnessError(f"runtime must be one of {', '.join(RUNTIMES)}. "
                           f"Received: runtime={config['runtime']!r}")
    _check_schedule(config)
    if int(config["folds"]) < 1:
        raise HarnessError(f"folds must be at least 1. Received: folds={config['folds']}")
    for spec in config["augment"]:
        resolve(spec)
    return config


def _check_schedule(config: dict) -> None:
    schedule, warmup = config["lr_schedule"], config["warmup_epochs"]
    if schedule not in LR_SCHEDULES:
        raise HarnessError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}. "
                           f"Received: lr_schedule={schedule!r}")
    if schedule != "constant" and config["reduce_lr"]:
        # ReduceLROnPlateau cannot set the rate of an optimizer driven by a schedule.
        raise HarnessError(f"lr_schedule={schedule!r} sets the learning rate itself; it "
                           f"cannot be combined with reduce_lr={config['reduce_lr']!r}",
                           hint="add --set reduce_lr=0, or keep lr_schedule='constant'")
    if warmup and schedule == "constant":
        raise HarnessError(f"warmup_epochs warms up a schedule; lr_schedule is 'constant'. "
                           f"Received: warmup_epochs={warmup!r}",
                           hint="add --set lr_schedule=cosine, or drop warmup_epochs")
    if not 0 <= warmup < int(config["epochs"]):
        raise HarnessError(f"warmup_epochs must be at least 0 and fewer than epochs "
                           f"({config['epochs']}). Received: warmup_epochs={warmup!r}")
