"""convnext_tiny: ConvNeXtTiny, fully fine-tuned, under one dense layer."""

import keras

from harness.training.backbones import backbone_classifier


def build_model(config, profile):
    """ConvNeXtTiny (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities."""
    return backbone_classifier(keras.applications.ConvNeXtTiny, config, profile,
                               name="convnext_tiny", include_preprocessing=True)
