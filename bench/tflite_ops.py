"""Why the TFLite twin of a ConvNeXt is slower than its Keras model on TF 2.17's XNNPACK.

XNNPACK runs the parts of a TFLite graph it supports as "delegate" partitions; every
operator it does not support splits the graph and runs on TFLite's own kernels. For
ConvNeXtTiny (rewritten as `harness pack` ships it, weights=None, the profile's input)
this converts four variants, counts the partitions and each operator, and times each
at 1 and at the profile's thread count with the template's `TFLiteModel`:

- `as_packed`: the twin `pack --runtime tflite` ships (Keras' LayerNormalization is
  MEAN over channels, which XNNPACK does not take; GELU is exact, via erf);
- `ln_as_fc`: LayerNormalization's two means written as matmuls with a constant
  (C, 1) vector of 1/C, which the converter makes FULLY_CONNECTED;
- `gelu_tanh`: as `ln_as_fc`, with GELU's tanh approximation (a different function:
  outputs move, by how much is printed);
- `relu_bound`: as `ln_as_fc`, with ReLU in place of GELU (wrong outputs; a bound:
  the speed with every activation fused into XNNPACK's kernels).

    PYTHONPATH=. python bench/tflite_ops.py [--batch-size 32] [--repeats 3]
        [--out bench/results/tflite_ops.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.shipping.optimize import optimize_model  # noqa: E402
from harness.shipping.tflite import template_runtime  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "tflite_ops.json"


class MatmulLayerNorm(keras.layers.Layer):
    """LayerNormalization over the last axis whose means are matmuls with 1/C."""

    def __init__(self, epsilon, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, shape):
        channels = shape[-1]
        self.average = self.add_weight(shape=(channels, 1), trainable=False, name="average",
                                       initializer=keras.initializers.Constant(1 / channels))
        self.gamma = self.add_weight(shape=(channels,), name="gamma")
        self.beta = self.add_weight(shape=(channels,), name="beta")

    def call(self, x):
        centred = x - ops.matmul(x, self.average)
        variance = ops.matmul(centred * centred, self.average)
        return centred * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta


def variant(model, activation: str | None):
    """`model` with LayerNormalization as `MatmulLayerNorm` and, if given, GELU swapped."""
    def swap(layer):
        if isinstance(layer, keras.layers.LayerNormalization):
            return MatmulLayerNorm(layer.epsilon, name=layer.name)
        if activation and isinstance(layer, keras.layers.Activation) and \
                layer.get_config()["activation"] == "gelu":
            return keras.layers.Activation(activation, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=swap)
    for old, new in zip(model.layers, clone.layers):
        if isinstance(new, MatmulLayerNorm):
            new.gamma.assign(old.gamma)
            new.beta.assign(old.beta)
        else:
            new.set_weights(old.get_weights())
    return clone


def gelu_tanh(x):
    return keras.activations.gelu(x, approximate=True)


def images_per_s(model, x: np.ndarray, repeats: int) -> float:
    model.predict_on_batch(x)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(x)
        best = min(best, time.perf_counter() - start)
    return len(x) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the json to write")
    args = parser.parse_args()
    profile = get_profile()
    tf.config.threading.set_intra_op_parallelism_threads(profile.server_threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    runtime = template_runtime()
    stock = keras.applications.ConvNeXtTiny(weights=None, input_shape=profile.input_shape,
                                            classes=profile.num_classes,
                                            classifier_activation="softmax")
    packed, _ = optimize_model(stock)
    x = np.random.default_rng(0).integers(
        0, 256, (args.batch_size, *profile.input_shape)).astype(np.float32)
    reference = np.asarray(packed.predict_on_batch(x))
    models = {"as_packed": packed, "ln_as_fc": variant(packed, None),
              "gelu_tanh": variant(packed, gelu_tanh), "relu_bound": variant(packed, "relu")}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-tflite-ops-") as tmp:
        for name, model in models.items():
            path = Path(tmp) / f"{name}.tflite"
            path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
            row = {"variant": name}
            for threads in sorted({1, profile.server_threads}):
                lite = runtime.TFLiteModel(str(path), args.batch_size, threads)
                row[f"img_s_t{threads}"] = round(images_per_s(lite, x, args.repeats), 1)
            counts = Counter(op["op_name"] for op in lite.interpreter._get_ops_details())
            row["partitions"] = counts.pop("DELEGATE", 0)
            row["ops"] = dict(sorted(counts.items()))
            row["max_abs_diff"] = float(np.max(np.abs(lite.predict_on_batch(x) - reference)))
            rows.append(row)
            print(f"{name:11s} partitions {row['partitions']:3d}  " + "  ".join(
                f"{k} {v}" for k, v in row.items() if k.startswith("img_s")) +
                f"  max |diff| vs Keras {row['max_abs_diff']:.1e}", flush=True)
    keras_rate = images_per_s(packed, x, args.repeats)
    print(f"the rewritten Keras model itself: {keras_rate:.1f} img/s", flush=True)
    write_text_atomic(args.out, json.dumps({
        "model": "ConvNeXtTiny", "input_shape": list(profile.input_shape),
        "batch_size": args.batch_size, "keras_img_s": round(keras_rate, 1),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "load_avg": round(os.getloadavg()[0], 1), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
