"""The seed teams' experiments under their own configuration: what each trains, packs
and runs as the server would, and what each builds.

Offline and fast: ImageNet weights off (weights=None, never a download), the model's
internal resize shrunk to 32 px, 16 images. The experiment's own optimizer, head and
augmentation run unchanged.

Which backbone takes which path, and why (a ConvNeXtBase costs minutes on a CPU):
vgg16, efficientnetv2b0_5fold and convnext_tiny train an epoch and pack, and pack's
smoke run loads the zip's model.py and weights in a fresh process through the
server's ingestion, which checks the labels it returns. vgg16, the cheapest, goes on
through `score`: that runs the same ingestion and adds metrics, which do not depend on
the model, so one representative keeps the whole train-pack-score path.
efficientnetv2b0_5fold trains one fold's model: K folds are the same code for every
experiment (K models, their vote in submission.json, the template voting), trained and
staged in tests/training/test_fit.py; here its config must still ask for five and a vote.
The two ConvNeXtBase experiments build under their own config and predict: ConvNeXtBase
is keras.applications' ConvNeXt code at another depth and width, the code convnext_tiny
trains, rewrites and ships; Lion, class weights and mixup train in
tests/training/test_fit.py, and every augmentation runs there too.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from harness.data.datasets import save_dataset
from harness.experiments import get_experiment
from harness.scoring.scorer import score
from harness.shipping.packing import pack
from harness.testset.store import load_testset
from harness.training.augmentation import build_augmenter
from harness.training.config import resolve_config
from harness.training.fit import class_weights, train
from harness.training.optim import make_optimizer

OFFLINE_SMALL = {"weights": None, "image_size": 32, "batch_size": 16, "validation_split": 0.0}


@pytest.fixture(scope="module")
def sixteen_images():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(16, 96, 96, 3), dtype=np.uint8)
    return images, np.repeat(np.arange(8), 2)


@pytest.mark.parametrize("name", ["efficientnetv2b0_5fold", "convnext_tiny", "vgg16"])
def test_seed_experiment_trains_packs_and_runs_in_the_ingestion(name, tmp_path,
                                                                 sixteen_images, profile):
    """Each trains under its own config (one model), its weights reload in a fresh
    process from the packed zip and predict valid labels (pack's smoke run).
    ConvNeXt's grouped convolutions go through pack's rewrite, which keeps it (outputs
    unchanged). vgg16's zip is scored."""
    config = get_experiment(name).config()
    assert config["weights"] == "imagenet" and "image_size" in config
    if name == "efficientnetv2b0_5fold":
        assert config["folds"] == 5 and config["ensemble"] == "vote"
    result = train(name, data=sixteen_images, epochs=1, folds=1, overrides=OFFLINE_SMALL,
                   run_dir=tmp_path / "run", progress=False)
    assert result.epochs == [1] and len(result.weights) == 1
    data = save_dataset(tmp_path / "sixteen.npz", *sixteen_images)
    packed = pack(name, profile, out=tmp_path / "dist", run=result.run_dir, data=data, n_smoke=4)
    assert packed.smoke["n_images"] == 4
    assert [f["name"] for f in packed.files if f["name"].endswith(".keras")] == ["weights.keras"]
    if name.startswith("convnext"):
        assert packed.optimized[0]["kept"] and packed.optimized[0]["rewritten"] > 0
    if name == "vgg16":
        scored = score(packed.zip, load_testset(data, profile), profile,
                       experiment_name=name).raise_for_failure()
        assert scored.ok and scored.testset["n"] == 16 and 0.0 <= scored.metrics.accuracy <= 1.0


@pytest.mark.parametrize("name, optimizer, head_batch_norms", [
    ("convnext_base", "Lion", 3),
    ("convnext_base_nadam", "Nadam", 0),
])
def test_convnext_base_experiment_builds_under_its_own_config(name, optimizer,
                                                              head_batch_norms, profile,
                                                              sixteen_images):
    """The experiment's own config builds a ConvNeXtBase with its head (batch-normalised
    dense layers where the report says so), exactly its last `trainable_layers`
    backbone layers trainable (all for 0), that predicts probabilities; its optimizer,
    class weights and augmentation are the configured ones and run on its images."""
    exp = get_experiment(name)
    assert exp.config()["weights"] == "imagenet"
    config = resolve_config(exp, {"weights": None, "image_size": 32})
    model = exp.builder().build_model(config, profile)
    base = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    n = int(config["trainable_layers"]) or len(base.layers)
    assert [layer.trainable for layer in base.layers] == \
        [False] * (len(base.layers) - n) + [True] * n
    assert sum(isinstance(layer, keras.layers.BatchNormalization)
               for layer in model.layers) == head_batch_norms
    images, labels = sixteen_images
    probs = model.predict(images[:4].astype(np.float32), verbose=0)
    assert probs.shape == (4, 8) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert type(make_optimizer(config, 10)).__name__ == optimizer
    assert (class_weights(config, labels, 8) is not None) == bool(exp.config().get(
        "class_weights", False))
    augment = build_augmenter(config["augment"], seed=0)
    out, _ = augment(images.astype(np.float32), np.eye(8, dtype=np.float32)[labels])
    assert tuple(out.shape) == images.shape
