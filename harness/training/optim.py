"""The optimizer a run trains with.

Owns turning the config's `optimizer`, `learning_rate` and `weight_decay` into one Keras
optimizer.
"""

from __future__ import annotations


def make_optimizer(config: dict):
    """The configured Keras optimizer (Adam, AdamW, NAdam or Lion), decoupled weight decay."""
    import keras

    cls = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
           "nadam": keras.optimizers.Nadam, "lion": keras.optimizers.Lion}[config["optimizer"]]
    decay = float(config["weight_decay"]) or None
    if cls is keras.optimizers.AdamW:
        decay = decay or 0.0
    return cls(learning_rate=float(config["learning_rate"]), weight_decay=decay)
