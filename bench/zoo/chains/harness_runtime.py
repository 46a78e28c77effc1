"""Inference helpers that ship inside every submission zip.

Imports only what the scoring server has (numpy, tensorflow, keras). Loads the models
in the submission folder: every `.keras` file and SavedModel folder, or with
`"runtime": "tflite"` every `.tflite` file (their TensorFlow Lite twins, run by XNNPACK
on the CPU; on a machine with a GPU the Keras models are used instead, since Keras is
the faster path there). Feeds uint8 images to the models as float32 0-255 (every
model built by the harness carries its own preprocessing), predicts in chunks so
memory stays bounded on the whole hidden set, averages optional test-time
augmentation views (flips and
90-degree rotations), and combines an ensemble by averaging probabilities or by
majority vote.
"""

import glob
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

# runtime: "keras" or "tflite"; threads: the TFLite interpreter's CPU threads (None:
# TFLite's own default); batch_size: the images per TFLite invoke, allocated once.
DEFAULTS = {"tta": 1, "ensemble": "mean", "chunk_size": 256,
            "runtime": "keras", "threads": None, "batch_size": 32}
# XNNPACK in TensorFlow 2.17 (the server's) answers a batch of 256 or more images with
# the batch size modulo 256 rows, or corrupts memory: TFLite batches stay below that.
MAX_TFLITE_BATCH = 255


def _positive_int(config, key, optional=False):
    value = config[key]
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{key} must be a positive integer. Received: {key}={value!r}")


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
    _positive_int(config, "chunk_size")
    _positive_int(config, "batch_size")
    if config["batch_size"] > MAX_TFLITE_BATCH:
        raise ValueError(f"batch_size must be at most {MAX_TFLITE_BATCH} (XNNPACK on "
                         f"TensorFlow 2.17 miscounts larger batches). "
                         f"Received: batch_size={config['batch_size']}")
    _positive_int(config, "threads", optional=True)
    if not isinstance(config["tta"], int) or not 1 <= config["tta"] <= len(VIEWS):
        raise ValueError(f"tta must be 1..{len(VIEWS)}. Received: tta={config['tta']}")
    if config["ensemble"] not in ("mean", "vote"):
        raise ValueError(f"ensemble must be 'mean' or 'vote'. Received: {config['ensemble']!r}")
    if config["runtime"] not in ("keras", "tflite"):
        raise ValueError(f"runtime must be 'keras' or 'tflite'. Received: {config['runtime']!r}")
    return config


class TFLiteModel:
    """A `.tflite` file behind `predict_on_batch`, the one call `predict_proba` makes.

    The interpreter is sized for `batch_size` images once; every call runs in slices of
    that size and pads the last one, so no call re-allocates (a resize re-plans the
    whole graph and its XNNPACK kernels).
    """

    def __init__(self, path, batch_size=32, threads=None):
        import tensorflow as tf

        self.interpreter = tf.lite.Interpreter(model_path=path, num_threads=threads)
        source = self.interpreter.get_input_details()[0]
        self.input = source["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.batch_size = batch_size
        self.interpreter.resize_tensor_input(self.input, [batch_size, *source["shape"][1:]])
        self.interpreter.allocate_tensors()

    def predict_on_batch(self, x):
        out = []
        for start in range(0, len(x), self.batch_size):
            part = x[start:start + self.batch_size]
            n = len(part)
            if n < self.batch_size:
                part = np.concatenate([part, np.zeros((self.batch_size - n, *part.shape[1:]),
                                                      part.dtype)])
            self.interpreter.set_tensor(self.input, part)
            self.interpreter.invoke()
            probs = self.interpreter.get_tensor(self.output)
            if len(probs) != self.batch_size:  # never trust a short answer (see MAX_TFLITE_BATCH)
                raise RuntimeError(f"the TFLite model answered {len(probs)} rows for a batch "
                                   f"of {self.batch_size} images; use a smaller batch_size")
            out.append(probs[:n])
        return np.concatenate(out)


class ServedModel:
    """A SavedModel (`saved_model.pb` in a folder) behind the one method predictions use.

    `harness pack` ships one instead of a .keras file when it packs under a Keras newer
    than the server's: TensorFlow graphs load across those versions, .keras files do not.
    Keras 3 serves it through keras.layers.TFSMLayer; Keras 2 (TensorFlow 2.14 and
    older), which has no TFSMLayer, through TensorFlow's own loader.
    """

    def __init__(self, path):
        import keras

        if hasattr(keras.layers, "TFSMLayer"):
            self.layer = keras.layers.TFSMLayer(path, call_endpoint="serve")
        else:
            import tensorflow as tf

            # The loaded object owns the variables: keep it, not only its function.
            self.loaded = tf.saved_model.load(path)
            self.layer = self.loaded.serve

    def predict_on_batch(self, x):
        return np.asarray(self.layer(x))


def has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def load_models(folder, runtime="keras", threads=None, batch_size=32):
    """The submission's models, sorted by name: the `.tflite` files when `runtime` is
    "tflite" and there is no GPU; else `.keras` files loaded without compiling and
    SavedModel folders (`ServedModel`)."""
    if runtime == "tflite" and not has_gpu():
        paths = sorted(glob.glob(os.path.join(folder, "*.tflite")))
        if not paths:
            raise FileNotFoundError(f"runtime 'tflite' but no .tflite model next to model.py "
                                    f"in {folder}")
        return [TFLiteModel(p, batch_size, threads) for p in paths]
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
