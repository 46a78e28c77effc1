"""efficientnetv2b0_5fold: EfficientNetV2B0 under one dense layer (one fold's model)."""

import keras
from keras import layers


def build_model(config, profile):
    """EfficientNetV2B0 (its own rescaling inside) on 0-255 pixels -> probabilities."""
    size = int(config["image_size"])
    inputs = keras.Input(shape=profile.input_shape)
    x = inputs
    if (size, size) != tuple(profile.input_shape[:2]):
        x = layers.Resizing(size, size)(x)
    backbone = keras.applications.EfficientNetV2B0(
        include_top=False, weights=config["weights"], input_shape=(size, size, 3),
        include_preprocessing=True, pooling="avg")
    x = backbone(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="efficientnetv2b0")
