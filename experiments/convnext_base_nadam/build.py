"""convnext_base_nadam: ConvNeXtBase under one dense layer."""

import keras

from harness.training.backbones import backbone_classifier


def build_model(config, profile):
    """ConvNeXtBase (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities.

    `trainable_layers` > 0 freezes all but the backbone's last that many layers.
    """
    return backbone_classifier(keras.applications.ConvNeXtBase, config, profile,
                               name="convnext_base_nadam", include_preprocessing=True)
