"""Training throughput: `harness train`'s tf.data pipeline against a plain `model.fit`.

Same model (baseline_cnn), same augmentation, same data, batch size and epochs, in
one process, on this CPU:

- harness: `harness.training.train` (tf.data: cache, shuffle, batch, augmentation
  mapped on batches in parallel, prefetch);
- plain: `model.fit(x, y)` on numpy arrays (float32 pixels, one-hot labels), the
  augmentation as a layer in front of the model, run inside each training step.

Images/s counts the epochs after the first (which traces and compiles), timed by a
callback at epoch boundaries. The data are random images: speed does not depend on
the pixels.

    PYTHONPATH=. python bench/train_throughput.py [--n 2048] [--epochs 4]
        [--augment flip noise] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.training import make_optimizer, resolve_config, train  # noqa: E402
from harness.training.augmentation import build_augmenter  # noqa: E402
from harness.training.experiments import get_experiment  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "train_throughput.json"


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


class Augment(keras.layers.Layer):
    """The harness augmenter as a layer, for the plain `model.fit` path (training only)."""

    def __init__(self, specs, seed, **kwargs):
        super().__init__(**kwargs)
        self.augment = build_augmenter(specs, seed=seed)

    def call(self, images, training=False):
        if not training:
            return images
        return self.augment(images, None)[0]


def images_per_s(timer: EpochTimer, n: int) -> float:
    later = timer.seconds[1:]
    return n * len(later) / sum(later)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2048, help="training images")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--augment", nargs="*", default=["flip", "noise"])
    args = parser.parse_args()
    profile = get_profile()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, *profile.input_shape), dtype=np.uint8)
    labels = np.arange(args.n) % profile.num_classes
    overrides = {"augment": args.augment, "batch_size": args.batch_size,
                 "validation_split": 0.0, "early_stopping": 0, "reduce_lr": 0}

    exp = get_experiment("baseline_cnn")
    config = resolve_config(exp, {**overrides, "epochs": args.epochs, "seed": 0})
    rows = {}

    keras.utils.set_random_seed(0)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp:
        train(exp, data=(images, labels), epochs=args.epochs, seed=0, overrides=overrides,
              run_dir=Path(tmp) / "run", progress=False, callbacks=[timer])
    rows["harness"] = images_per_s(timer, args.n)

    keras.utils.set_random_seed(0)
    net = exp.builder().build_model(config, profile)
    inputs = keras.Input(profile.input_shape)
    model = keras.Model(inputs, net(Augment(args.augment, seed=0)(inputs)))
    model.compile(optimizer=make_optimizer(config, -(-args.n // args.batch_size)),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x = images.astype(np.float32)
    y = keras.utils.to_categorical(labels, profile.num_classes)
    timer = EpochTimer()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, shuffle=True, verbose=0,
              callbacks=[timer])
    rows["plain_fit"] = images_per_s(timer, args.n)

    result = {
        "model": "baseline_cnn", "augment": args.augment, "n_images": args.n,
        "epochs": args.epochs, "batch_size": args.batch_size,
        "images_per_s": {k: round(v, 1) for k, v in rows.items()},
        "speedup": round(rows["harness"] / rows["plain_fit"], 2),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   "shared with other jobs",
        "keras": keras.__version__,
    }
    print(f"{'pipeline':<12}{'images/s':>10}")
    for name, value in rows.items():
        print(f"{name:<12}{value:>10.1f}")
    print(f"harness / plain: {result['speedup']}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
