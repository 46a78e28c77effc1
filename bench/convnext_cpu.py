"""ConvNeXt predict speed on the CPU: stock Keras, rewritten Keras, and the TFLite twin.

For each model (keras.applications.ConvNeXtTiny / ConvNeXtBase, weights=None, at the
profile's input size) builds, in one process:

- `stock`: the Keras model as keras.applications builds it (grouped convolutions);
- `rewritten`: after `harness.shipping.optimize` (what `harness pack` ships today), with
  Keras' default XLA compilation, and `rewritten_no_xla` without it;
- `rewritten_fused_mlp`: the rewritten model with every block's MLP (dense, GELU,
  dense) run on the rows of its activations as the raw TensorFlow ops oneDNN fuses
  (`FusedMLPModel`): what a further rewrite could gain (issue 30, item 5; see
  `bench/convnext_profile.py` for where the time goes);
- `tflite_tN`: the float32 TFLite twin `harness pack --runtime tflite` adds (made by
  `harness.shipping.tflite.convert_file`), run by the template's own `TFLiteModel`
  (XNNPACK) with N interpreter threads, for N in `--tflite-threads`.

Each is timed on `predict_on_batch` calls of `--batch-size` images (the calls the
template makes), after a warm-up call; the variants are interleaved and repeated so a
machine shared with other work slows all alike, and the best repeat is kept. Reports
images/s, the ratio to stock, and for ConvNeXtBase the most TTA passes that fit the
profile's time limit for an ensemble of `--ensemble` models on the hidden test set
(`harness.shipping.timing.max_tta_within`, load time measured here).

To say how far any float32 path could still go, it also measures the machine's
ceiling, a large `tf.matmul` under the same threads (GFLOP/s), counts the model's
multiply-adds (convolutions and dense layers), and reports each variant's GFLOP/s as
a fraction of that ceiling, and the GFLOP/s that `--goal` x stock would need.

    PYTHONPATH=. python bench/convnext_cpu.py [--models tiny base] [--batch-size 32]
        [--images 64] [--repeats 3] [--tflite-threads 1 2] [--ensemble 5] [--goal 15]
        [--out bench/results/convnext_cpu.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.experiments import TEMPLATE_DIR  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.shipping.optimize import optimize_model  # noqa: E402
from harness.shipping.tflite import convert_file  # noqa: E402
from harness.shipping.timing import Measurement, max_tta_within  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "convnext_cpu.json"
BUILDERS = {"tiny": keras.applications.ConvNeXtTiny, "base": keras.applications.ConvNeXtBase}


def template_runtime():
    """The submission template's harness_runtime, as the zip runs it."""
    spec = importlib.util.spec_from_file_location("harness_runtime",
                                                  TEMPLATE_DIR / "harness_runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def images_per_s(model, x: np.ndarray, batch_size: int) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process, all threads).

    The second is what a busy machine disturbs least: other processes stretch the wall
    time of a pass, not the work it does (spin-waiting threads still count as work).
    """
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(x), batch_size):
        model.predict_on_batch(x[i:i + batch_size])
    return (len(x) / (time.perf_counter() - start), len(x) / (time.process_time() - cpu))


def model_macs(model) -> int:
    """Multiply-adds per image of the convolutions and dense layers: nearly all of a
    ConvNeXt's arithmetic (LayerNorm, GELU and the adds are a few percent)."""
    total = 0
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D,
                                  keras.layers.Dense)):
            continue
        outputs = int(np.prod(layer.output.shape[1:]))
        # Each output sums over the kernel's inputs: (kh, kw, cin / groups) for a Conv2D
        # (grouped or not), (kh, kw) for a depthwise one, cin for a dense layer.
        kernel = layer.kernel.shape
        fan_in = kernel[:2] if isinstance(layer, keras.layers.DepthwiseConv2D) else kernel[:-1]
        total += outputs * int(np.prod(fan_in))
    return total


def matmul_ceiling(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of the best of `repeats` float32 n x n matmuls under TF's thread settings:
    what the machine's vector units give a dense kernel, an upper bound for any model."""
    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    matmul = tf.function(tf.matmul)
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def fused_mlp(dense_1, dense_2):
    """A block's `Dense -> GELU -> Dense` on the rows of its NHWC activations, as raw
    TensorFlow ops grappler's remapper fuses into oneDNN's MatMul + BiasAdd + GELU
    (Keras' Dense adds its bias with a plain add on a 4-D tensor, which it does not)."""
    def call(x):
        shape = tf.shape(x)
        rows = tf.reshape(x, [-1, shape[-1]])
        hidden = tf.nn.gelu(tf.nn.bias_add(tf.matmul(rows, dense_1.kernel), dense_1.bias),
                            approximate=False)
        return tf.reshape(tf.nn.bias_add(tf.matmul(hidden, dense_2.kernel), dense_2.bias),
                          shape)
    return call


class FusedMLPModel:
    """`model` (a ConvNeXt) run with every block's MLP as `fused_mlp`: the same layers and
    weights, the rest of the graph as Keras runs it, behind `predict_on_batch`.

    Keras cannot put one function in place of three layers of a functional graph but
    through the graph walk `Functional.__call__` itself uses (`_run_through_graph`,
    private): the first dense layer computes the whole MLP and the GELU and the second
    dense layer pass their input on. A measurement of what the rewrite could gain, not
    what `pack` ships (that would need a custom layer's code in every zip)."""

    def __init__(self, model):
        swap = {}
        for layer in model.layers:
            if layer.name.endswith("_pointwise_conv_1"):
                block = layer.name[:-len("_pointwise_conv_1")]
                second = model.get_layer(block + "_pointwise_conv_2")
                swap[layer.name] = fused_mlp(layer, second)
                swap[block + "_gelu"] = swap[second.name] = tf.identity
        self.run = tf.function(lambda x: model._run_through_graph(
            x, operation_fn=lambda op: swap.get(op.name, op)))

    def predict_on_batch(self, x):
        return self.run(tf.constant(x)).numpy()


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def variants(name: str, profile, args, tmp: Path, x: np.ndarray) -> tuple[dict, dict]:
    """The models to time, by variant name, and what building them found."""
    rt = template_runtime()
    stock = BUILDERS[name](weights=None, input_shape=profile.input_shape,
                           classes=profile.num_classes, classifier_activation="softmax")
    fast, report = optimize_model(stock)
    plain = keras.models.clone_model(fast)
    plain.set_weights(fast.get_weights())
    plain.jit_compile = False
    keras_path, lite_path = tmp / f"{name}.keras", tmp / f"{name}.tflite"
    fast.save(keras_path)
    converted = convert_file(keras_path, lite_path, x[:args.batch_size].astype(np.uint8))
    _, keras_load_s = timed(lambda: keras.models.load_model(keras_path, compile=False))
    models = {"stock": stock, "rewritten": fast, "rewritten_no_xla": plain,
              "rewritten_fused_mlp": FusedMLPModel(fast)}
    lite_load_s = None
    for n in args.tflite_threads:
        models[f"tflite_t{n}"], lite_load_s = timed(
            lambda n=n: rt.TFLiteModel(str(lite_path), args.batch_size, n))
    sample = x[:args.batch_size]
    fused_diff = float(np.max(np.abs(models["rewritten_fused_mlp"].predict_on_batch(sample)
                                      - np.asarray(fast.predict_on_batch(sample)))))
    info = {"rewritten_layers": report.rewritten, "fused_mlp_max_abs_diff": fused_diff,
            "tflite_kept": converted.kept,
            "tflite_max_abs_diff": converted.max_abs_diff, "tflite_reason": converted.reason,
            "tflite_convert_s": round(converted.seconds, 1),
            "keras_file_mb": round(keras_path.stat().st_size / 2**20, 1),
            "tflite_file_mb": round(lite_path.stat().st_size / 2**20, 1),
            "keras_load_s": round(keras_load_s, 2), "tflite_load_s": round(lite_load_s, 2)}
    return models, info


def fit_passes(rate: float, load_s: float, profile, ensemble: int) -> int:
    """The most TTA passes an ensemble of `ensemble` such models fits in the limit."""
    m = Measurement(fixed_s=ensemble * load_s, call_s=0.0, per_image_s=ensemble / rate,
                    passes=1, threads=profile.server_threads)
    return max_tta_within(m, profile.hidden_test_size, profile.time_limit_s)


def bench_model(name: str, profile, args, x: np.ndarray) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-convnext-") as tmp:
        models, info = variants(name, profile, args, Path(tmp), x)
        for model in models.values():
            model.predict_on_batch(x[:args.batch_size])  # trace, compile, allocate
        rates = {key: [] for key in models}
        for _ in range(args.repeats):
            for key, model in models.items():
                rates[key].append(images_per_s(model, x, args.batch_size))
    # Best of the repeats: on a shared machine the fastest pass is the least disturbed.
    best = {key: max(r[0] for r in v) for key, v in rates.items()}
    cpu = {key: max(r[1] for r in v) for key, v in rates.items()}
    gflop = 2 * model_macs(models["stock"]) / 1e9
    row = {"model": f"ConvNeXt{name.title()}", **info, "gflop_per_image": round(gflop, 3),
           "gflop_s": {k: round(v * gflop, 1) for k, v in best.items()},
           "of_ceiling": {k: round(v * gflop / args.ceiling, 3) for k, v in best.items()},
           "goal_needs_of_ceiling": round(args.goal * best["stock"] * gflop / args.ceiling, 2),
           "img_s": {k: round(v, 2) for k, v in best.items()},
           "ratio_to_stock": {k: round(v / best["stock"], 2) for k, v in best.items()},
           "img_per_cpu_s": {k: round(v, 2) for k, v in cpu.items()},
           "cpu_ratio_to_stock": {k: round(v / cpu["stock"], 2) for k, v in cpu.items()},
           "all_img_s": {k: [round(r[0], 2) for r in v] for k, v in rates.items()}}
    if name == "base":
        row[f"max_tta_ensemble_of_{args.ensemble}"] = {
            k: fit_passes(v, info["tflite_load_s" if k.startswith("tflite") else
                                  "keras_load_s"], profile, args.ensemble)
            for k, v in best.items()}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=sorted(BUILDERS), default=["tiny", "base"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra-op threads (default: the profile's server_threads)")
    parser.add_argument("--tflite-threads", type=int, nargs="+", default=None,
                        help="TFLite interpreter threads to time [default: 1 and the "
                             "profile's server_threads]")
    parser.add_argument("--ensemble", type=int, default=5)
    parser.add_argument("--goal", type=float, default=15.0,
                        help="speed-up over stock whose GFLOP/s to set against the ceiling")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the json to write")
    args = parser.parse_args()
    profile = get_profile()
    threads = args.threads or profile.server_threads
    args.tflite_threads = args.tflite_threads or sorted({1, profile.server_threads})
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    x = np.random.default_rng(0).integers(
        0, 256, (args.images, *profile.input_shape)).astype(np.float32)
    load_before = os.getloadavg()[0]
    args.ceiling = matmul_ceiling()
    print(f"float32 matmul ceiling: {args.ceiling:.1f} GFLOP/s on {threads} threads", flush=True)
    rows = []
    for name in args.models:
        rows.append(bench_model(name, profile, args, x))
        r = rows[-1]
        print(f"{r['model']}: " + ", ".join(
            f"{k} {v:.2f} img/s ({r['ratio_to_stock'][k]}x)" for k, v in r["img_s"].items()),
              flush=True)
        print("  per CPU second: " + ", ".join(
            f"{k} {v:.2f} ({r['cpu_ratio_to_stock'][k]}x)" for k, v in r["img_per_cpu_s"].items()),
              flush=True)
        print(f"  GFLOP/s ({r['gflop_per_image']} GFLOP/image; share of the ceiling): " + ", ".join(
            f"{k} {v} ({r['of_ceiling'][k]:.0%})" for k, v in r["gflop_s"].items()), flush=True)
        print(f"  {args.goal:g}x stock would need {r['goal_needs_of_ceiling']:.0%} of the ceiling",
              flush=True)
        print(f"  {r['tflite_reason']}", flush=True)
        if name == "base":
            print(f"  most TTA passes, ensemble of {args.ensemble}: "
                  f"{r[f'max_tta_ensemble_of_{args.ensemble}']}", flush=True)
    result = {
        "input_shape": list(profile.input_shape), "batch_size": args.batch_size,
        "images": args.images, "repeats": args.repeats, "threads": threads,
        "tflite_threads": args.tflite_threads, "cpu_count": os.cpu_count(),
        "matmul_ceiling_gflop_s": round(args.ceiling, 1), "goal": args.goal,
        "load_avg_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "machine": platform.processor() or platform.machine(),
        "hidden_test_size": profile.hidden_test_size, "time_limit_s": profile.time_limit_s,
        "rows": rows,
    }
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
