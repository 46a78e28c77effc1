"""Classifiers on a keras.applications backbone: the shape every transfer experiment shares.

0-255 pixels of the profile's shape -> an optional resize to `image_size` -> optional
preprocessing -> the backbone (global average pooled, the last `trainable_layers`
layers trainable, all when 0 or absent) -> dense head -> float32 softmax. The model is
built from plain Keras layers only, so its .keras file loads on the server's Keras
with no custom objects.

Examples:
    >>> model = backbone_classifier(keras.applications.ConvNeXtTiny, config, profile,
    ...                             name="convnext_tiny", include_preprocessing=True)
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from harness.profile import Profile


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def backbone_classifier(backbone: Callable[..., keras.Model], config: dict, profile: Profile,
                        name: str, preprocess: keras.layers.Layer | None = None,
                        head_batch_norm: bool = False, **backbone_kwargs) -> keras.Model:
    """A backbone under a dense head, configured by an experiment's CONFIG.

    Args:
        backbone: a keras.applications constructor, e.g. `keras.applications.VGG16`.
        config: reads `weights` ("imagenet" or None), `image_size`, `dense` (units, or a
            list for several layers), `dropout` (one rate per dense layer), and
            `trainable_layers` (train only the backbone's last N layers; 0 trains all).
        profile: the competition profile (input shape, number of classes).
        name: the model's name.
        preprocess: a layer applied to the 0-255 pixels before the backbone, for
            backbones without `include_preprocessing`.
        head_batch_norm: dense layers without bias, each followed by batch norm.
        **backbone_kwargs: passed to `backbone` (e.g. include_preprocessing=True).
    """
    size = int(config["image_size"])
    inputs = keras.Input(shape=profile.input_shape)
    x = inputs
    if (size, size) != tuple(profile.input_shape[:2]):
        x = layers.Resizing(size, size)(x)
    if preprocess is not None:
        x = preprocess(x)
    base = backbone(include_top=False, weights=config["weights"], input_shape=(size, size, 3),
                    pooling="avg", **backbone_kwargs)
    trainable = int(config.get("trainable_layers") or 0)
    if trainable:
        for layer in base.layers[:-trainable]:
            layer.trainable = False
    x = base(x)
    for units, rate in zip(_as_list(config["dense"]), _as_list(config["dropout"])):
        if head_batch_norm:
            x = layers.Dense(units, use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        else:
            x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(rate)(x)
    # float32 softmax: stable probabilities under mixed precision on a GPU.
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
