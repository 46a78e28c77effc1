"""The seed teams' experiments: each trains an epoch and stages a working submission.

Offline and fast: ImageNet weights off (weights=None, never a download), the model's
internal resize shrunk to 32 px, 16 images. The experiment's own optimizer, head and
augmentation run unchanged.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.experiments import get_experiment
from harness.training import train

SEED_EXPERIMENTS = ["convnext_base", "convnext_base_nadam", "efficientnetv2b0_5fold", "vgg16",
                    "convnext_tiny"]
OFFLINE_SMALL = {"weights": None, "image_size": 32, "batch_size": 16, "validation_split": 0.0}


@pytest.fixture(scope="module")
def sixteen_images():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(16, 96, 96, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(8), 2)


def trained_run(name, data, run_dir):
    """One epoch of `name` on `data`, K-fold experiments cut to 2 folds."""
    folds = 2 if get_experiment(name).config().get("folds", 1) > 1 else None
    return train(name, data=data, epochs=1, folds=folds, overrides=OFFLINE_SMALL,
                 run_dir=run_dir, progress=False)


@pytest.mark.parametrize("name", SEED_EXPERIMENTS)
def test_seed_experiment_trains_and_stages(name, tmp_path, sixteen_images, submission_model):
    config = get_experiment(name).config()
    assert config["weights"] == "imagenet" and "image_size" in config
    result = trained_run(name, sixteen_images, tmp_path / "run")
    assert result.epochs == [1] * len(result.weights)
    staged = get_experiment(name).stage(tmp_path / "sub", run=result.run_dir)
    if len(result.weights) > 1:
        assert json.loads((staged / "submission.json").read_text())["ensemble"] == "vote"
    predicted = submission_model(staged).predict(sixteen_images[0][:3])
    assert predicted.shape == (3,) and predicted.dtype == np.int64
    assert set(predicted) <= set(range(8))
