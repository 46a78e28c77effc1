"""convnext_tiny: ConvNeXtTiny, fully fine-tuned, under one dense layer."""

import keras
from keras import layers


def build_model(config, profile):
    """ConvNeXtTiny (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities."""
    size = int(config["image_size"])
    inputs = keras.Input(shape=profile.input_shape)
    x = inputs
    if (size, size) != tuple(profile.input_shape[:2]):
        x = layers.Resizing(size, size)(x)
    backbone = keras.applications.ConvNeXtTiny(
        include_top=False, weights=config["weights"], input_shape=(size, size, 3),
        include_preprocessing=True, pooling="avg")
    x = backbone(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="convnext_tiny")
