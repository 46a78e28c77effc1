"""baseline_cnn: conv blocks (conv, batch norm, ReLU, max-pool), global pooling, dense.

Batch-norm momentum is 0.9, not Keras' 0.99: a run of a few hundred steps (the demo's
few epochs, the zoo's 3) otherwise leaves the moving variances up to 10x the real
ones, and the model that scored 0.89 in training predicts one class in inference mode.
"""

import keras
from keras import layers


def build_model(config, profile):
    """A small CNN over 0-255 float pixels, returning class probabilities."""
    inputs = keras.Input(shape=profile.input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in config["filters"]:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=config["bn_momentum"])(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    # float32 softmax: stable probabilities under mixed precision on a GPU.
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="baseline_cnn")
