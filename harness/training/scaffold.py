"""Scaffolding a new experiment package (`harness new`).

A new experiment is a copy of another's `config.py` and `build.py` (`--from`), or a
commented template: a small CNN that trains on a CPU, every CONFIG key explained.

Examples:
    >>> new_experiment("my_cnn")                        # from the template
    >>> new_experiment("my_convnext", source="convnext_tiny")
"""

from __future__ import annotations

import keyword
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.experiments import experiments_root, get_experiment

TEMPLATE_CONFIG = '''"""{name}: describe the idea here (what it tries, where it comes from)."""

CONFIG = {{
    "epochs": 20,             # an upper bound when early stopping is on
    "batch_size": 64,
    "optimizer": "adam",      # adam | adamw | nadam | lion
    "learning_rate": 1e-3,
    "lr_schedule": "constant",  # constant | cosine (to 0 over the run; needs reduce_lr=0)
    "warmup_epochs": 0,       # cosine only: epochs of linear warm-up from 0
    "weight_decay": 0.0,      # decoupled weight decay (all four optimizers take it)
    "label_smoothing": 0.0,
    "class_weights": False,   # True: weight the loss by inverse class frequency
    # harness.training.augmentation names, applied in order to each batch; a dict sets
    # parameters, e.g. {{"name": "randaugment", "magnitude": 0.3, "ops": 3}}
    "augment": ["flip", "noise"],
    "filters": [32, 64, 128],  # one conv block per entry, each halving the resolution
    "dense": 128,
    "dropout": 0.3,
    "early_stopping": 5,      # patience in epochs on val accuracy; 0 turns it off
    "reduce_lr": 3,           # ReduceLROnPlateau patience on val loss; 0 turns it off
    "validation_split": 0.15,
    "folds": 1,               # K > 1: K models on stratified folds, one ensemble
    "ensemble": "mean",       # how the fold models combine: mean | vote
    "seed": 42,
}}

# harness tune samples these with Optuna: (low, high) floats (log scale when high/low
# >= 10), (low, high) ints, or a list of choices.
SEARCH_SPACE = {{
    "learning_rate": (3e-4, 3e-3),
    "dropout": [0.1, 0.3, 0.5],
}}
'''

TEMPLATE_BUILD = '''\
"""{name}: the model. It takes float32 pixels 0-255 and returns class probabilities."""

import keras
from keras import layers


def build_model(config, profile):
    """Build the network for `profile.input_shape` and `profile.num_classes`.

    Keep preprocessing inside the model (the submission feeds raw 0-255 pixels) and
    use only Keras layers: the scoring server has no keras_cv.
    """
    inputs = keras.Input(shape=profile.input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in config["filters"]:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(config["dense"], activation="relu")(x)
    x = layers.Dropout(config["dropout"])(x)
    outputs = layers.Dense(profile.num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="{name}")
'''


@dataclass
class NewResult:
    """What `new_experiment` made."""

    name: str
    path: str
    source: str | None
    files: list[str]


def new_experiment(name: str, source: str | None = None,
                   root: str | os.PathLike | None = None) -> NewResult:
    """Create `experiments/NAME/` from another experiment or the commented template.

    Args:
        name: the new experiment's name: a Python identifier, not taken yet.
        source: an experiment to copy `config.py`, `build.py` and `submission/` from.
        root: the experiments folder (default: `experiments_root()`).

    Raises:
        HarnessError: a bad or taken name, or an unknown source.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise HarnessError(f"an experiment name must be a Python identifier. Received: {name!r}",
                           hint="use letters, digits and underscores, e.g. my_cnn_v2")
    root = Path(root) if root else experiments_root()
    dest = root / name
    if dest.exists():
        raise HarnessError(f"experiment {name!r} already exists. Received: {dest}",
                           hint="pick another name, or edit the existing package")
    src = get_experiment(source, root) if source else None
    staging = root / f".{name}.part"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if src:
            for item in ("config.py", "build.py", "submission"):
                path = src.path / item
                if path.is_dir():
                    shutil.copytree(path, staging / item,
                                    ignore=shutil.ignore_patterns("__pycache__"))
                elif path.is_file():
                    shutil.copy2(path, staging / item)
        else:
            (staging / "config.py").write_text(TEMPLATE_CONFIG.format(name=name))
            (staging / "build.py").write_text(TEMPLATE_BUILD.format(name=name))
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    return NewResult(name=name, path=str(dest), source=src.name if src else None, files=files)
