"""What a model trains on: the tf.data pipeline (cache, shuffle, batch, batched
augmentation, prefetch) and the class weights of its loss. `fit` builds both for every
model it trains."""

from __future__ import annotations

from typing import Callable

import numpy as np


def make_dataset(images: np.ndarray, labels: np.ndarray, num_classes: int, batch_size: int,
                 augment: Callable | None = None, shuffle: bool = True,
                 seed: int | None = None):
    """The tf.data pipeline: cache, shuffle, batch, augment (batched), prefetch.

    Images stay uint8 until batched (a quarter of the memory of float32 in the cache),
    then become float32 0-255, which every harness model expects. Labels are one-hot,
    so MixUp and CutMix can mix them.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32))).cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(
        lambda x, y: (tf.cast(x, tf.float32), tf.one_hot(y, num_classes)),
        num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = ds.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def class_weights(config: dict, labels: np.ndarray, num_classes: int) -> dict | None:
    """Keras class_weight: inverse frequency (mean 1 over images) when True, a given dict,
    or None."""
    setting = config["class_weights"]
    if not setting:
        return None
    if isinstance(setting, dict):
        return {int(k): float(v) for k, v in setting.items()}
    counts = np.bincount(labels, minlength=num_classes).astype(float)
    return {k: (len(labels) / (num_classes * c) if c else 1.0) for k, c in enumerate(counts)}
