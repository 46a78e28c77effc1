"""Shared fixtures: small generated data, a CLI runner, a quiet TensorFlow."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from click.testing import CliRunner

from harness.datasets import save_dataset
from harness.profile import get_profile


@pytest.fixture
def profile():
    return get_profile()


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def tiny_arrays():
    """24 random 96x96 images, 3 per class: for format tests, not for learning."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 96, 96, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(8), 3).astype(np.uint8)
    return images, labels


@pytest.fixture
def tiny_npz(tmp_path, tiny_arrays):
    return save_dataset(tmp_path / "tiny.npz", *tiny_arrays)


# A numpy-only model.py: label = first pixel's red value mod 8 (fast, deterministic).
GOOD_MODEL_PY = """
import numpy as np


class Model:
    def __init__(self):
        pass

    def predict(self, X):
        return (X[:, 0, 0, 0].astype(np.int64) % 8)
"""


@pytest.fixture
def make_submission(tmp_path):
    """Write a submission folder: `make_submission(model_py, name="sub", **extra_files)`."""

    def make(model_py: str = GOOD_MODEL_PY, name: str = "sub", **files: str):
        folder = tmp_path / name
        folder.mkdir(parents=True)
        if model_py is not None:
            (folder / "model.py").write_text(model_py)
        for filename, text in files.items():
            (folder / filename).write_text(text)
        return folder

    return make


@pytest.fixture
def small_arrays():
    """32 random 96x96 images, 4 per class: enough for folds and a stratified holdout."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(32, 96, 96, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(8), 4).astype(np.int64)
    return images, labels


@pytest.fixture
def tmp_experiments(tmp_path, monkeypatch):
    """A private experiments/ holding a copy of baseline_cnn, so runs stay out of the repo."""
    import shutil

    from harness.experiments import REPO_ROOT

    root = tmp_path / "experiments"
    shutil.copytree(REPO_ROOT / "experiments" / "baseline_cnn", root / "baseline_cnn",
                    ignore=shutil.ignore_patterns("runs", "__pycache__"))
    monkeypatch.setenv("HARNESS_EXPERIMENTS", str(root))
    return root


def load_submission(folder):
    """Import a staged submission's model.py in this process, as the server would (its
    folder on sys.path), under a fresh module name so several submissions can load."""
    import importlib.util
    import sys

    sys.modules.pop("harness_runtime", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"model_{id(folder)}", folder / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.Model()
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("harness_runtime", None)


@pytest.fixture
def submission_model():
    """`load(folder) -> Model`: a staged submission's Model, loaded in this process."""
    return load_submission
