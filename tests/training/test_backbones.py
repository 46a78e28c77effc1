"""The shared transfer-learning classifier: resize, freezing, head, float32 softmax."""

from __future__ import annotations

import keras
import numpy as np

from harness.training.backbones import backbone_classifier

CONFIG = {"weights": None, "image_size": 32, "dense": [16, 8], "dropout": [0.1, 0.2],
          "trainable_layers": 3}


def test_resizes_freezes_and_ends_in_probabilities(profile):
    model = backbone_classifier(keras.applications.MobileNetV3Small, CONFIG, profile,
                                name="m", head_batch_norm=True, include_preprocessing=True)
    resize = [layer for layer in model.layers if isinstance(layer, keras.layers.Resizing)]
    assert len(resize) == 1 and resize[0].height == 32
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert [layer.trainable for layer in base.layers[-3:]] == [True] * 3
    assert not any(layer.trainable for layer in base.layers[:-3])
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 2
    probs = model.predict(np.zeros((2, 96, 96, 3), np.float32), verbose=0)
    assert probs.shape == (2, 8) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert model.layers[-1].dtype_policy.name == "float32"


def test_zero_trainable_layers_trains_the_whole_backbone(profile):
    config = dict(CONFIG, trainable_layers=0, dense=16, dropout=0.1, image_size=96)
    model = backbone_classifier(keras.applications.MobileNetV3Small, config, profile,
                                name="m", include_preprocessing=True)
    assert not any(isinstance(layer, keras.layers.Resizing) for layer in model.layers)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    assert all(layer.trainable for layer in base.layers)
