"""Does the `chains` augmentation keep the model fed? The input pipeline's images/s
against the model's, on this machine.

The test set's families are numpy (and PIL), so `chains` runs as a `tf.numpy_function`
step of the tf.data pipeline (`harness.training.augmentation`), mapped on batches in
parallel threads. Two figures per augmentation list, same images and batch size:

- pipeline: `harness.training.make_dataset` with the augmentation, iterated to the
  end with no model (what the input side can deliver);
- model: `model.fit` on the same batches already in memory, no augmentation (what
  the training step consumes), two epochs timed after a first that compiles.

The pipeline keeps up when its images/s is at least the model's. Random pixels: the
families' cost does not depend on them.

    PYTHONPATH=. python bench/chains_throughput.py [--n 1024] [--batch-size 64]
        [--experiments baseline_cnn resnet_cnn]
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

from harness.experiments import get_experiment  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.training import make_dataset, make_optimizer, resolve_config  # noqa: E402
from harness.training.augmentation import build_augmenter  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "chains_throughput.json"
EPOCHS = 2  # timed epochs of the model, after the first
AUGMENTS = {"flip": ["flip"], "flip+chains": ["flip", "chains"]}


def pipeline_rate(images, labels, classes, batch, specs) -> float:
    """Images/s of the input pipeline alone, with `specs` as augmentation."""
    ds = make_dataset(images, labels, classes, batch, build_augmenter(specs, seed=0), seed=0)
    for _ in ds.take(1):  # the first batch traces the map functions
        pass
    start = time.perf_counter()
    n = sum(int(x.shape[0]) for x, _ in ds)
    return n / (time.perf_counter() - start)


def model_rate(name: str, images, labels, classes, batch, profile) -> float:
    """Images/s of the training step alone: batches already in memory."""
    exp = get_experiment(name)
    config = resolve_config(exp, {"batch_size": batch})
    model = exp.builder().build_model(config, profile)
    model.compile(optimizer=make_optimizer(config, -(-len(images) // batch)),
                  loss="categorical_crossentropy")
    # The same batches the pipeline makes, already in memory: the step alone.
    x, y = map(np.concatenate, zip(*make_dataset(images, labels, classes, batch, seed=0)))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).cache()
    model.fit(ds, epochs=1, verbose=0)  # traces and compiles
    start = time.perf_counter()
    model.fit(ds, epochs=EPOCHS, verbose=0)
    return EPOCHS * len(images) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1024, help="images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--experiments", nargs="*", default=["baseline_cnn", "resnet_cnn"])
    args = parser.parse_args()
    profile = get_profile()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, *profile.input_shape), dtype=np.uint8)
    labels = np.arange(args.n) % profile.num_classes
    keras.utils.set_random_seed(0)
    classes = profile.num_classes
    pipeline = {k: pipeline_rate(images, labels, classes, args.batch_size, v)
                for k, v in AUGMENTS.items()}
    models = {name: model_rate(name, images, labels, classes, args.batch_size, profile)
              for name in args.experiments}
    gpus = tf.config.list_logical_devices("GPU")
    result = {
        "n_images": args.n, "batch_size": args.batch_size,
        "pipeline_images_per_s": {k: round(v, 1) for k, v in pipeline.items()},
        "model_images_per_s": {k: round(v, 1) for k, v in models.items()},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"{len(gpus)} GPU(s), load {os.getloadavg()[0]:.1f} at the end",
        "tensorflow": tf.__version__,
    }
    print(f"{'what':<26}{'images/s':>10}")
    for k, v in pipeline.items():
        print(f"{'pipeline ' + k:<26}{v:>10.1f}")
    for k, v in models.items():
        print(f"{'model ' + k:<26}{v:>10.1f}")
    print(result["machine"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
