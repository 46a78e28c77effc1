"""convnext_base: ConvNeXtBase backbone, partly unfrozen, under a three-layer dense head."""

import keras
from keras import layers


def build_model(config, profile):
    """ConvNeXtBase (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities.

    The backbone's last `trainable_layers` layers train; the rest stay frozen.
    """
    size = int(config["image_size"])
    inputs = keras.Input(shape=profile.input_shape)
    x = inputs
    if (size, size) != tuple(profile.input_shape[:2]):
        x = layers.Resizing(size, size)(x)
    backbone = keras.applications.ConvNeXtBase(
        include_top=False, weights=config["weights"], input_shape=(size, size, 3),
        include_preprocessing=True, pooling="avg")
    for layer in backbone.layers[:-int(config["trainable_layers"])]:
        layer.trainable = False
    x = backbone(x)
    for units, rate in zip(config["dense"], config["dropout"]):
        x = layers.Dense(units, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(rate)(x)
    # float32 softmax: stable probabilities under mixed precision on a GPU.
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="convnext_base")
