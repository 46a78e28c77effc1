"""The 2023 server's runtime (TensorFlow 2.14, Keras 2) for the tests, and 2023-style zips.

The virtualenv is the one `harness profile runtime --profile an2dl-2023-hw1` builds, in
the user cache (`harness.scoring.runtime`), once per machine: `.ci/run` builds it before
`make test`, so its pip minutes are not the suite's. A test that needs it and finds it
missing skips, saying how to build it.

`make_2023_submissions` writes what a 2023 team uploaded, made in that runtime: the
course template's model.py (`class model`, `__init__(self, path)` loading from the
path, `predict` returning `tf.argmax(...)`, a tensor), the empty `metadata`, and a tiny
Keras 2 model saved as a SavedModel folder or a `.keras` file.

Build it:  .venv/bin/harness profile runtime --profile an2dl-2023-hw1
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.profile import get_profile
from harness.scoring.runtime import runtime_python

PROFILE = "an2dl-2023-hw1"

# The course's template, as teams kept it (their model file's name varied).
MODEL_PY = """import os
import tensorflow as tf


class model:
    def __init__(self, path):
        self.model = tf.keras.models.load_model(os.path.join(path, {name!r}))

    def predict(self, X):
        # Note: this is just an example.
        # Here the model.predict is called, followed by the argmax
        out = self.model.predict(X)
        out = tf.argmax(out, axis=-1)  # Shape [BS]

        return out
"""

# Run in the 2.14 virtualenv: a tiny network whose label is the image's brightness
# (dark: healthy, bright: unhealthy), its weights set rather than trained.
BUILD_PY = """import sys

import numpy as np
import tensorflow as tf

tfk, tfkl = tf.keras, tf.keras.layers
inputs = tfk.Input(shape=(96, 96, 3))
x = tfkl.Rescaling(1 / 255.0)(inputs)
conv = tfkl.Conv2D(3, 1, use_bias=False)
x = tfkl.GlobalAveragePooling2D()(conv(x))
head = tfkl.Dense(2, activation="softmax")
net = tfk.Model(inputs, head(x))
conv.set_weights([np.eye(3, dtype="float32").reshape(1, 1, 3, 3)])
head.set_weights([np.array([[-10.0, 10.0]] * 3, "float32"), np.array([15.0, -15.0], "float32")])
net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
for folder, name in zip(sys.argv[1::2], sys.argv[2::2]):
    net.save(f"{folder}/{name}")
"""


def runtime_2023() -> Path:
    """The 2023 runtime's interpreter; skip when it is not built on this machine."""
    try:
        return runtime_python(get_profile(PROFILE))
    except HarnessError as e:
        pytest.skip(f"{e.message[:160]}; build it once: {e.hint.split(': ', 1)[-1]} "
                    f"(.ci/run does)")


def make_2023_submissions(root: Path, names: list[str]) -> list[Path]:
    """2023 teams' submission folders under `root`, one per model name, the same tiny
    model saved by Keras 2.14 as each `name`: a SavedModel folder, or a `.keras` file
    when the name ends so. One process builds them all (TensorFlow starts once)."""
    folders = [root / name.replace(".", "_") for name in names]
    for folder, name in zip(folders, names):
        folder.mkdir(parents=True)
        (folder / "model.py").write_text(MODEL_PY.format(name=name))
        (folder / "metadata").touch()
    (root / "build_2023.py").write_text(BUILD_PY)
    args = [a for folder, name in zip(folders, names) for a in (str(folder), name)]
    done = subprocess.run([str(runtime_2023()), str(root / "build_2023.py"), *args], cwd=root,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return folders
