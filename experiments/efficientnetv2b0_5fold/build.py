"""efficientnetv2b0_5fold: EfficientNetV2B0 under one dense layer (one fold's model)."""

import keras

from harness.training.backbones import backbone_classifier


def build_model(config, profile):
    """EfficientNetV2B0 (its own rescaling inside) on 0-255 pixels -> probabilities."""
    return backbone_classifier(keras.applications.EfficientNetV2B0, config, profile,
                               name="efficientnetv2b0", include_preprocessing=True)
