"""Inference helpers that ship inside every submission zip.

Imports only what the scoring server has (numpy, keras). Loads every `.keras` file and
SavedModel folder in the submission folder, feeds uint8 images to the models as float32
0-255 (every model built by the harness carries its own preprocessing), predicts in
chunks so memory stays bounded on the whole hidden set, averages optional test-time
augmentation views (flips and 90-degree rotations), and combines an ensemble by
averaging probabilities or by majority vote.
"""

import json
import os

import numpy as np

# The dihedral views of a square image, in the order TTA passes use them.
VIEWS = (
    lambda x: x,
    lambda x: x[:, :, ::-1],                  # horizontal flip
    lambda x: x[:, ::-1, :],                  # vertical flip
    lambda x: np.rot90(x, 1, axes=(1, 2)),
    lambda x: np.rot90(x, 2, axes=(1, 2)),
    lambda x: np.rot90(x, 3, axes=(1, 2)),
    lambda x: np.swapaxes(x, 1, 2),           # transpose
    lambda x: np.rot90(x, 2, axes=(1, 2)).swapaxes(1, 2),
)

DEFAULTS = {"tta": 1, "ensemble": "mean", "chunk_size": 256}


def read_config(folder):
    """Settings from `submission.json` beside model.py, over DEFAULTS."""
    config = dict(DEFAULTS)
    path = os.path.join(folder, "submission.json")
    if os.path.exists(path):
        with open(path) as f:
            config.update(json.load(f))
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"submission.json: unknown settings {unknown}; known: {sorted(DEFAULTS)}")
    if not isinstance(config["chunk_size"], int) or config["chunk_size"] < 1:
        raise ValueError(f"chunk_size must be a positive integer. "
                         f"Received: chunk_size={config['chunk_size']!r}")
    if not isinstance(config["tta"], int) or not 1 <= config["tta"] <= len(VIEWS):
        raise ValueError(f"tta must be 1..{len(VIEWS)}. Received: tta={config['tta']}")
    if config["ensemble"] not in ("mean", "vote"):
        raise ValueError(f"ensemble must be 'mean' or 'vote'. Received: {config['ensemble']!r}")
    return config


class ServedModel:
    """A SavedModel (`saved_model.pb` in a folder) behind the one method predictions use.

    `harness pack` ships one instead of a .keras file when it packs under a Keras newer
    than the server's: TensorFlow graphs load across those versions, .keras files do not.
    """

    def __init__(self, path):
        import keras

        self.layer = keras.layers.TFSMLayer(path, call_endpoint="serve")

    def predict_on_batch(self, x):
        return np.asarray(self.layer(x))


def load_models(folder):
    """Every model in `folder`, sorted by name: `.keras` files loaded without compiling,
    SavedModel folders served through keras.layers.TFSMLayer."""
    import keras

    models = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".keras") and os.path.isfile(path):
            models.append(keras.models.load_model(path, compile=False))
        elif os.path.isfile(os.path.join(path, "saved_model.pb")):
            models.append(ServedModel(path))
    if not models:
        raise FileNotFoundError(f"no .keras weights or SavedModel next to model.py in {folder}")
    return models


def predict_proba(model, X, tta=1, chunk_size=256):
    """Class probabilities of one model, TTA views averaged, computed chunk by chunk."""
    out = None
    for start in range(0, len(X), chunk_size):
        chunk = np.asarray(X[start:start + chunk_size])
        probs = sum(np.asarray(model.predict_on_batch(
            np.ascontiguousarray(view(chunk), dtype=np.float32))) for view in VIEWS[:tta]) / tta
        if out is None:
            out = np.empty((len(X), probs.shape[1]), np.float32)
        out[start:start + len(chunk)] = probs
    return out


def predict_labels(models, X, tta=1, ensemble="mean", chunk_size=256):
    """Integer labels (n,) from one model or an ensemble."""
    probs = [predict_proba(m, X, tta, chunk_size) for m in models]
    mean = np.mean(probs, axis=0)
    if ensemble == "vote" and len(models) > 1:
        votes = np.zeros_like(mean)
        for p in probs:
            votes[np.arange(len(p)), p.argmax(axis=1)] += 1
        # Ties go to the class with the higher mean probability.
        return np.argmax(votes + mean / (len(models) + 1), axis=1).astype(np.int64)
    return np.argmax(mean, axis=1).astype(np.int64)
