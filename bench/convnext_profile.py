"""Where a packed ConvNeXt's CPU time goes, layer kind by layer kind, and what is left.

Issue 30's item 5 asks whether a change to the rewrite (a fused layer norm, the
channels-last dense layers as 1x1 convolutions, oneDNN settings) can bring the packed
ConvNeXt near 15x the stock model on the server's runtime, and if nothing can, for the
profile that shows why. This script builds the model `pack` ships
(`keras.applications.ConvNeXtTiny/Base`, weights=None, at the profile's input size,
after `harness.shipping.optimize`), then in one process:

- times the whole model (a `tf.function` of batches of `--batch-size`, no XLA: the
  template's path measured the same with and without it, see RESULTS);
- times every layer alone on its real input (the activations of the same batch), best
  of `--repeats`, and sums them by kind: the pointwise dense layers (the matmuls), the
  depthwise 7x7 convolutions, LayerNorm, GELU, the layer scales, the residual adds, the
  stem and downsampling, the head. Dense and convolution kinds also get their GFLOP/s,
  set against the machine's float32 matmul ceiling (`convnext_cpu.matmul_ceiling`);
- times the alternatives the issue names on the same activations: every block's
  LayerNorm as `tf.nn.fused_batch_norm` (the fused kernel Keras 2 used, over the
  channels of each position), every pointwise dense layer as a 1x1 `Conv2D`
  (oneDNN's convolution instead of the matmul), and every block's MLP (dense, GELU,
  dense) on the rows of its activations, as the raw ops oneDNN fuses (the GELU inside
  the matmul's kernel), against the three Keras layers alone;
- says the bound: how fast the model could be were every kind but the dense layers
  free, and were the dense layers at the ceiling.

The stock model is profiled too (`--stock`), to show the grouped convolution that the
rewrite removes. oneDNN's switch (`TF_ENABLE_ONEDNN_OPTS`) is read when TensorFlow is
imported: run the script twice, once with `TF_ENABLE_ONEDNN_OPTS=0`, to compare.

    PYTHONPATH=. python bench/convnext_profile.py [--model base] [--batch-size 32]
        [--repeats 5] [--stock] [--out bench/results/convnext_profile.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from convnext_cpu import BUILDERS, fused_mlp, matmul_ceiling  # noqa: E402

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.shipping.optimize import optimize_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "convnext_profile.json"


def kind(layer) -> str:
    """The layer's role in a ConvNeXt, by its class and the name keras.applications gives."""
    name, cls = layer.name, type(layer).__name__
    if isinstance(layer, keras.Sequential):
        return "stem" if name.endswith("_stem") else "downsampling (LN + 2x2 conv)"
    if "pointwise_conv" in name:
        return "pointwise dense (matmul)"
    if "depthwise_conv" in name:
        return "depthwise 7x7" if cls == "DepthwiseConv2D" else "grouped Conv2D 7x7 (stock)"
    if name.endswith("_layernorm"):
        return "LayerNorm"
    if name.endswith("_gelu"):
        return "GELU"
    if name.endswith("_layer_scale"):
        return "layer scale"
    if cls == "Add":
        return "residual add"
    if cls in ("Normalization", "Rescaling"):
        return "input preprocessing"
    return "head and the rest"


def best_time(fn, args, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls, after two warm-up calls (trace, allocate)."""
    for _ in range(2):
        _block(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _block(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def _block(value):
    """Wait for the result: read one element of every output back to the host."""
    for t in tf.nest.flatten(value):
        t.numpy().flat[0]


def layer_inputs(model, x: np.ndarray) -> dict[str, list]:
    """Each layer's real inputs on `x`, by layer name (one functional pass)."""
    wanted, where = [], {}
    for layer in model.layers[1:]:
        inputs = tf.nest.flatten(layer.input)
        where[layer.name] = [len(wanted) + i for i in range(len(inputs))]
        wanted.extend(inputs)
    values = keras.Model(model.inputs, wanted)(x, training=False)
    return {name: [values[i] for i in idx] for name, idx in where.items()}


def macs(layer, inputs) -> int:
    """Multiply-adds per image of a Dense or convolution layer (0 for other layers)."""
    if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D,
                              keras.layers.DepthwiseConv2D)):
        return 0
    outputs = int(np.prod(layer.compute_output_shape(inputs[0].shape)[1:]))
    kernel = layer.kernel.shape
    fan_in = kernel[:2] if isinstance(layer, keras.layers.DepthwiseConv2D) else kernel[:-1]
    return outputs * int(np.prod(fan_in))


def fused_layer_norm(layer):
    """`layer` (LayerNormalization over the last axis) as one fused kernel: each
    position's channels become a "channel" of an NCHW batch norm in training mode."""
    gamma, beta = layer.gamma, layer.beta

    def call(x):
        shape = tf.shape(x)
        flat = tf.reshape(x, [1, -1, shape[-1], 1])
        ones = tf.ones([tf.shape(flat)[1]])
        out, _, _ = tf.compat.v1.nn.fused_batch_norm(
            flat, ones, tf.zeros_like(ones), epsilon=layer.epsilon, data_format="NCHW")
        return tf.reshape(out, shape) * gamma + beta
    return call


def dense_as_conv(layer):
    """`layer` (a Dense on NHWC activations) as a 1x1 convolution with the same weights."""
    kernel = tf.reshape(layer.kernel, [1, 1, *layer.kernel.shape])

    def call(x):
        return tf.nn.bias_add(tf.nn.conv2d(x, kernel, 1, "VALID"), layer.bias)
    return call


def largest_difference(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def profile_model(model, x: np.ndarray, repeats: int, ceiling: float) -> dict:
    """The whole model's time, every layer's by kind, and the alternatives'."""
    n = len(x)
    whole = best_time(tf.function(lambda v: model(v, training=False)), (x,), repeats)
    inputs = layer_inputs(model, x)
    per_kind, kind_macs = defaultdict(float), defaultdict(int)
    alternatives = {"LayerNorm as fused_batch_norm": [0.0, 0.0, 0.0],
                    "pointwise dense as 1x1 conv": [0.0, 0.0, 0.0],
                    "MLP (dense, GELU, dense) fused on rows": [0.0, 0.0, 0.0]}
    seconds_of = {}
    for layer in model.layers[1:]:
        args = inputs[layer.name]
        arg = args if len(args) > 1 else args[0]
        fn = tf.function(lambda v, layer=layer: layer(v, training=False))
        seconds = seconds_of[layer.name] = best_time(fn, (arg,), repeats)
        k = kind(layer)
        per_kind[k] += seconds
        kind_macs[k] += macs(layer, args)
        if k == "LayerNorm":
            other, label = fused_layer_norm(layer), "LayerNorm as fused_batch_norm"
        elif k == "pointwise dense (matmul)":
            other, label = dense_as_conv(layer), "pointwise dense as 1x1 conv"
        else:
            continue
        other = tf.function(other)
        alt = alternatives[label]
        alt[0] += seconds
        alt[1] += best_time(other, (arg,), repeats)
        alt[2] = max(alt[2], largest_difference(fn(arg), other(arg)))
    for layer in model.layers[1:]:
        if not layer.name.endswith("_pointwise_conv_1"):
            continue
        block = layer.name[:-len("_pointwise_conv_1")]
        second = model.get_layer(block + "_pointwise_conv_2")
        gelu = model.get_layer(block + "_gelu")
        keras_mlp = tf.function(lambda v, a=layer, b=second, g=gelu: b(g(a(v))))
        other = tf.function(fused_mlp(layer, second))
        arg = inputs[layer.name][0]
        alt = alternatives["MLP (dense, GELU, dense) fused on rows"]
        alt[0] += sum(seconds_of[block + suffix]
                      for suffix in ("_pointwise_conv_1", "_gelu", "_pointwise_conv_2"))
        alt[1] += best_time(other, (arg,), repeats)
        alt[2] = max(alt[2], largest_difference(keras_mlp(arg), other(arg)))
    layers_s = sum(per_kind.values())
    total_macs = sum(kind_macs.values())
    kinds = {k: {"ms_per_image": round(1000 * s / n, 3), "share": round(s / layers_s, 3),
                 **({"gflop_s": round(2 * kind_macs[k] * n / s / 1e9, 1),
                     "of_ceiling": round(2 * kind_macs[k] * n / s / 1e9 / ceiling, 3)}
                    if kind_macs[k] > total_macs / 100 else {})}
             for k, s in sorted(per_kind.items(), key=lambda kv: -kv[1])}
    dense_s = per_kind.get("pointwise dense (matmul)", 0.0)
    dense_at_ceiling_s = 2 * kind_macs["pointwise dense (matmul)"] * n / 1e9 / ceiling
    return {
        "whole_ms_per_image": round(1000 * whole / n, 3),
        "layers_ms_per_image": round(1000 * layers_s / n, 3),
        "kinds": kinds,
        "alternatives": {label: {"now_ms_per_image": round(1000 * a / n, 3),
                                 "alternative_ms_per_image": round(1000 * b / n, 3),
                                 "speedup": round(a / b, 2) if b else None,
                                 "model_speedup_at_most": round(layers_s / (layers_s - a + b), 3),
                                 "max_abs_diff": d}
                         for label, (a, b, d) in alternatives.items() if a},
        # Every kind but the dense layers free: the dense layers' own time is the floor;
        # the dense layers at the matmul ceiling too: the floor of any float32 path.
        "bound_if_only_dense_s": round(layers_s / dense_s, 2) if dense_s else None,
        "bound_if_dense_at_ceiling": (round(layers_s / dense_at_ceiling_s, 2)
                                      if dense_at_ceiling_s else None),
        "dense_at_ceiling_ms_per_image": round(1000 * dense_at_ceiling_s / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(BUILDERS), default="base")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stock", action="store_true", help="profile the stock model too")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the json to write")
    args = parser.parse_args()
    profile = get_profile()
    tf.config.threading.set_intra_op_parallelism_threads(profile.server_threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    x = tf.constant(np.random.default_rng(0).integers(
        0, 256, (args.batch_size, *profile.input_shape)).astype(np.float32))
    load_before = os.getloadavg()[0]
    ceiling = matmul_ceiling()
    stock = BUILDERS[args.model](weights=None, input_shape=profile.input_shape,
                                 classes=profile.num_classes, classifier_activation="softmax")
    packed, _ = optimize_model(stock)
    models = {"packed": packed, **({"stock": stock} if args.stock else {})}
    rows = {}
    for label, model in models.items():
        rows[label] = r = profile_model(model, x, args.repeats, ceiling)
        print(f"ConvNeXt{args.model.title()} {label}: {r['whole_ms_per_image']} ms/image whole, "
              f"{r['layers_ms_per_image']} layer by layer", flush=True)
        for k, v in r["kinds"].items():
            rate = (f", {v['gflop_s']} GFLOP/s ({v['of_ceiling']:.0%} of the ceiling)"
                    if "gflop_s" in v else "")
            print(f"  {k:32s} {v['ms_per_image']:8.3f} ms/image {v['share']:6.1%}{rate}",
                  flush=True)
        for label_alt, a in r["alternatives"].items():
            print(f"  {label_alt}: {a['now_ms_per_image']} -> {a['alternative_ms_per_image']} "
                  f"ms/image ({a['speedup']}x; the model at most {a['model_speedup_at_most']}x; "
                  f"largest difference {a['max_abs_diff']:.1e})", flush=True)
        print(f"  bound were all but the dense layers free: {r['bound_if_only_dense_s']}x; "
              f"and the dense layers at the ceiling: {r['bound_if_dense_at_ceiling']}x",
              flush=True)
    result = {"model": f"ConvNeXt{args.model.title()}", "batch_size": args.batch_size,
              "repeats": args.repeats, "threads": profile.server_threads,
              "matmul_ceiling_gflop_s": round(ceiling, 1),
              "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
              "load_avg_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
              "tensorflow": tf.__version__, "keras": keras.__version__,
              "machine": platform.processor() or platform.machine(), "rows": rows}
    if args.stock:
        stock_ms = rows["stock"]["whole_ms_per_image"]
        result["packed_over_stock_whole"] = round(
            stock_ms / rows["packed"]["whole_ms_per_image"], 2)
        # No float32 path beats the dense layers' own multiply-adds at the ceiling.
        result["any_float32_path_over_stock_at_most"] = round(
            stock_ms / rows["packed"]["dense_at_ceiling_ms_per_image"], 2)
        print(f"packed {result['packed_over_stock_whole']}x stock; any float32 path at most "
              f"{result['any_float32_path_over_stock_at_most']}x", flush=True)
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
