"""convnext_base: ConvNeXtBase backbone, partly unfrozen, under a three-layer dense head."""

import keras

from harness.training.backbones import backbone_classifier


def build_model(config, profile):
    """ConvNeXtBase (its own ImageNet normalisation inside) on 0-255 pixels -> probabilities.

    The backbone's last `trainable_layers` layers train; the head's dense layers carry
    batch normalisation, as the report describes.
    """
    return backbone_classifier(keras.applications.ConvNeXtBase, config, profile,
                               name="convnext_base", head_batch_norm=True,
                               include_preprocessing=True)
