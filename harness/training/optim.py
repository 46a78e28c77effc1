"""The optimizer a run trains with, and its learning rate over the run.

Owns turning the config's `optimizer`, `learning_rate`, `weight_decay`, `lr_schedule`
and `warmup_epochs` into one Keras optimizer. A schedule is a function of the
optimizer's iteration count, which BackupAndRestore saves with the optimizer's other
variables, so a resumed run continues its schedule rather than restarting it.

Examples:
    >>> make_optimizer({"optimizer": "adam", "learning_rate": 1e-3, "weight_decay": 0.0,
    ...                 "lr_schedule": "cosine", "warmup_epochs": 1, "epochs": 10}, 50)
    <keras.src.optimizers.adam.Adam object at ...>
"""

from __future__ import annotations

from harness.registry import Registry

# The optimizers a config may name, each a Keras class by its name in keras.optimizers
# (looked up when a run starts, so this module imports no Keras).
OPTIMIZERS: Registry[str] = Registry("optimizer", entries={
    "adam": "Adam", "adamw": "AdamW", "nadam": "Nadam", "lion": "Lion"})


def learning_rate(config: dict, steps_per_epoch: int):
    """The config's learning rate: a float ("constant"), or Keras' CosineDecay over the
    run's `epochs * steps_per_epoch` steps, the first `warmup_epochs` of them a linear
    warm-up from 0."""
    import keras

    rate = float(config["learning_rate"])
    if config["lr_schedule"] == "constant":
        return rate
    total = int(config["epochs"]) * steps_per_epoch
    # A fractional warmup_epochs just short of epochs must leave cosine a step to decay.
    warmup = min(round(float(config["warmup_epochs"]) * steps_per_epoch), total - 1)
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(rate, total)
    return keras.optimizers.schedules.CosineDecay(0.0, total - warmup, warmup_target=rate,
                                                  warmup_steps=warmup)


def make_optimizer(config: dict, steps_per_epoch: int):
    """The configured Keras optimizer (Adam, AdamW, NAdam or Lion), decoupled weight decay,
    on the config's learning-rate schedule."""
    import keras

    cls = getattr(keras.optimizers, OPTIMIZERS.get(config["optimizer"]))
    decay = float(config["weight_decay"]) or None
    if cls is keras.optimizers.AdamW:
        decay = decay or 0.0
    return cls(learning_rate=learning_rate(config, steps_per_epoch), weight_decay=decay)
