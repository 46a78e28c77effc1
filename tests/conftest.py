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
