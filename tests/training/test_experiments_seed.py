"""The seed teams' experiments: each trains an epoch, packs, and scores as the server would.

Offline and fast: ImageNet weights off (weights=None, never a download), the model's
internal resize shrunk to 32 px, 16 images. The experiment's own optimizer, head and
augmentation run unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.datasets import save_dataset
from harness.experiments import get_experiment
from harness.scoring.scorer import score
from harness.shipping.packing import pack
from harness.testset.store import load_testset
from harness.training.fit import train

SEED_EXPERIMENTS = ["convnext_base", "efficientnetv2b0_5fold", "vgg16", "convnext_tiny"]
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
def test_seed_experiment_trains_packs_and_scores(name, tmp_path, sixteen_images, profile):
    config = get_experiment(name).config()
    assert config["weights"] == "imagenet" and "image_size" in config
    result = trained_run(name, sixteen_images, tmp_path / "run")
    assert result.epochs == [1] * len(result.weights)
    data = save_dataset(tmp_path / "sixteen.npz", *sixteen_images)
    packed = pack(name, profile, out=tmp_path / "dist", run=result.run_dir, data=data, n_smoke=4)
    weights = sorted(f["name"] for f in packed.files if f["name"].endswith(".keras"))
    assert len(weights) == len(result.weights)
    if len(weights) > 1:
        assert packed.settings["ensemble"] == "vote"
    scored = score(packed.zip, load_testset(data, profile), profile,
                   experiment_name=name).raise_for_failure()
    assert scored.ok and scored.testset["n"] == 16 and 0.0 <= scored.metrics.accuracy <= 1.0


def test_convnext_base_nadam_builds_under_its_own_config(profile):
    """ConvNeXtBase again, under another head and optimizer: training, packing and
    scoring that backbone is convnext_base's test (minutes of 350 MB models on a CPU);
    here its own config builds a model that trains whole and predicts probabilities,
    under NAdam."""
    from harness.training.config import resolve_config
    from harness.training.optim import make_optimizer

    exp = get_experiment("convnext_base_nadam")
    config = resolve_config(exp, {"weights": None, "image_size": 32})
    model = exp.builder().build_model(config, profile)
    assert all(layer.trainable for layer in model.layers)
    probs = model.predict(np.zeros((4, 96, 96, 3), np.float32), verbose=0)
    assert probs.shape == (4, 8) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert type(make_optimizer(config, 10)).__name__ == "Nadam"
