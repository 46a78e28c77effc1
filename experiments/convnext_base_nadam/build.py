"""convnext_base_nadam: ConvNeXtBase under one dense layer."""

import keras
from keras import layers


def build_model(config, profile):
    """ConvNeXtBase (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities.

    `trainable_layers` > 0 freezes all but the backbone's last that many layers.
    """
    size = int(config["image_size"])
    inputs = keras.Input(shape=profile.input_shape)
    x = inputs
    if (size, size) != tuple(profile.input_shape[:2]):
        x = layers.Resizing(size, size)(x)
    backbone = keras.applications.ConvNeXtBase(
        include_top=False, weights=config["weights"], input_shape=(size, size, 3),
        include_preprocessing=True, pooling="avg")
    if config["trainable_layers"]:
        for layer in backbone.layers[:-int(config["trainable_layers"])]:
            layer.trainable = False
    x = backbone(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="convnext_base_nadam")
