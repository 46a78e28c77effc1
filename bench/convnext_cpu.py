"""ConvNeXtTiny predict speed on the CPU, before and after `harness.optimize`.

Builds keras.applications.ConvNeXtTiny(weights=None) at the profile's input size,
rewrites its grouped convolutions with `optimize_model`, and times `predict_on_batch`
(what the submission template calls) for both in one process, interleaved and
repeated, so a machine shared with other work slows both alike. Reports images/s,
the speed-up and the largest difference of probabilities.

    PYTHONPATH=. python bench/convnext_cpu.py [--batch-size 32] [--images 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.optimize import optimize_model  # noqa: E402
from harness.profile import get_profile  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "convnext_cpu.json"


def images_per_s(model, x: np.ndarray, batch_size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        model.predict_on_batch(x[i:i + batch_size])
    return len(x) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="TF intra-op threads (default: the profile's server_threads)")
    args = parser.parse_args()
    profile = get_profile()
    threads = args.threads or profile.server_threads
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    stock = keras.applications.ConvNeXtTiny(
        weights=None, input_shape=profile.input_shape, classes=profile.num_classes,
        classifier_activation="softmax")
    fast, report = optimize_model(stock)
    x = np.random.default_rng(0).integers(
        0, 256, (args.images, *profile.input_shape)).astype(np.float32)
    diff = float(np.max(np.abs(stock.predict_on_batch(x[:args.batch_size])
                               - fast.predict_on_batch(x[:args.batch_size]))))
    rates = {"stock": [], "optimized": []}
    for _ in range(args.repeats):
        for name, model in (("stock", stock), ("optimized", fast)):
            rates[name].append(images_per_s(model, x, args.batch_size))
    best = {k: max(v) for k, v in rates.items()}
    result = {
        "model": "ConvNeXtTiny(weights=None)",
        "input_shape": list(profile.input_shape),
        "batch_size": args.batch_size, "images": args.images, "repeats": args.repeats,
        "threads": threads, "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "machine": platform.processor() or platform.machine(),
        "rewritten_layers": report.rewritten,
        "max_abs_diff": diff,
        "stock_img_s": round(best["stock"], 2),
        "optimized_img_s": round(best["optimized"], 2),
        "speedup": round(best["optimized"] / best["stock"], 2),
        "all_img_s": {k: [round(r, 2) for r in v] for k, v in rates.items()},
    }
    print(f"{'':12}{'img/s':>10}")
    print(f"{'stock':12}{result['stock_img_s']:>10}")
    print(f"{'optimized':12}{result['optimized_img_s']:>10}")
    print(f"speed-up {result['speedup']}x, {report.rewritten} layers rewritten, "
          f"max |diff| {diff:.1e}")
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
