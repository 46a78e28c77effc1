"""resnet_cnn: stem, residual basic blocks, global pooling, dense (see config.py)."""

import keras
from keras import layers


def _block(x, filters, stride, momentum):
    """conv-BN-ReLU, conv-BN, plus the shortcut (projected when the shape changes), ReLU."""
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization(momentum=momentum)(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=momentum)(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization(momentum=momentum)(shortcut)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def build_model(config, profile):
    """A small ResNet over 0-255 float pixels, returning class probabilities."""
    momentum = config["bn_momentum"]
    inputs = keras.Input(shape=profile.input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(config["stem"], 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D()(x)
    for i, filters in enumerate(config["stages"]):
        x = _block(x, filters, 1 if i == 0 else 2, momentum)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    # float32 softmax: stable probabilities under mixed precision on a GPU.
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="resnet_cnn")
