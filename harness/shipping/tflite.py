"""A `.keras` model's TensorFlow Lite twin, for the CPU: what `pack --runtime tflite` ships.

After the grouped-convolution rewrite (`harness.shipping.optimize`), a ConvNeXt on
TensorFlow's CPU path is bound by its per-pixel MLPs, LayerNorm and GELU; TensorFlow
Lite runs the same float32 graph through XNNPACK's kernels, which fuse and vectorise
exactly these (bench/RESULTS.md). `convert_file` writes the `.tflite` twin of a
`.keras` file and keeps it only when it agrees with the Keras model on a sample: the
same labels and probabilities within `MAX_ABS_DIFF`, the rewrite's own threshold.

The converter runs in a child process: on TF 2.17 / Keras 3.4.1 it prints the traced
function to stdout (which would corrupt `--json`), and a graph it cannot lower aborts
the whole process from LLVM ("Failed to infer result type(s)") instead of raising.

Examples:
    >>> report = convert_file("weights.keras", "weights.tflite", sample)
    >>> report.kept, report.reason
    (True, 'float32 TFLite twin; same labels on 32 images, max |diff| 2.4e-07 < 1e-04')
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from harness.experiments import TEMPLATE_DIR
from harness.shipping.optimize import MAX_ABS_DIFF

# The conversion, as a script for a fresh interpreter: the Keras model -> float32 TFLite.
# `from_keras_model` is the path that works on TF 2.17 + Keras 3.4.1; converting a
# concrete function of the same model aborts in the MLIR lowering.
CONVERT_SCRIPT = """
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras, tensorflow as tf
model = keras.models.load_model(sys.argv[1], compile=False)
data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
with open(sys.argv[2], "wb") as f:
    f.write(data)
"""
# Lines of the converter's stderr kept to say why it failed.
ERROR_LINES = 3


@dataclass
class ConvertReport:
    """What `convert_file` did.

    Args:
        kept: whether the `.tflite` twin was kept (False: it was deleted, or never made).
        max_abs_diff: largest |p_tflite - p_keras| over the sample (None: not compared).
        same_labels: whether the argmax agreed on every sample image (None: not compared).
        size_bytes: the `.tflite` file's size (0 when not kept).
        seconds: time spent converting and comparing.
        reason: one line saying why, for people.
    """

    kept: bool = False
    max_abs_diff: float | None = None
    same_labels: bool | None = None
    size_bytes: int = 0
    seconds: float = 0.0
    reason: str = ""


def template_runtime(folder: str | os.PathLike = TEMPLATE_DIR) -> ModuleType:
    """The `harness_runtime.py` of a submission folder (default: the template), loaded."""
    spec = importlib.util.spec_from_file_location(f"_harness_runtime_{id(folder)}",
                                                  Path(folder) / "harness_runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tflite_probabilities(path: str | os.PathLike, images: np.ndarray,
                         batch_size: int | None = None) -> np.ndarray:
    """A `.tflite` model's outputs on `images`, run as the template runs it: the
    template's `TFLiteModel`, in batches of `batch_size` (default the template's)."""
    runtime = template_runtime()
    model = runtime.TFLiteModel(str(path), batch_size or runtime.DEFAULTS["batch_size"])
    return model.predict_on_batch(np.asarray(images, np.float32))


def _convert(src: Path, dst: Path) -> str | None:
    """Run the converter in a fresh interpreter; None on success, else why it failed."""
    proc = subprocess.run([sys.executable, "-c", CONVERT_SCRIPT, str(src), str(dst)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    if proc.returncode == 0 and dst.exists():
        return None
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    tail = " | ".join(lines[-ERROR_LINES:]) or f"exit status {proc.returncode}"
    return f"the TFLite converter failed: {tail}"


def convert_file(src: str | os.PathLike, dst: str | os.PathLike, sample: np.ndarray,
                 atol: float = MAX_ABS_DIFF, batch_size: int | None = None) -> ConvertReport:
    """Write `src`'s float32 TFLite twin to `dst`; keep it only if it agrees on `sample`.

    Args:
        src: a `.keras` file (never modified).
        dst: the `.tflite` file to write; removed again when the twin is not kept.
        sample: images (n, H, W, C) the model takes, e.g. the smoke run's uint8 images.
        atol: largest allowed absolute difference of probabilities.
        batch_size: images per invoke in the comparison, as the zip will run them
            (default: the template's).

    Returns:
        ConvertReport: kept or not, and why.
    """
    import keras

    start = time.perf_counter()
    src, dst = Path(src), Path(dst)
    dst.unlink(missing_ok=True)
    failure = _convert(src, dst)
    if failure is not None:
        dst.unlink(missing_ok=True)
        return ConvertReport(reason=failure, seconds=time.perf_counter() - start)
    x = np.asarray(sample, np.float32)
    model = keras.models.load_model(src, compile=False)
    expected = np.asarray(model.predict(x, batch_size=64, verbose=0))
    try:
        got = tflite_probabilities(dst, x, batch_size)
    except RuntimeError as e:  # the interpreter's own complaint is the reason
        dst.unlink()
        return ConvertReport(reason=f"TFLite twin discarded: {e}",
                             seconds=time.perf_counter() - start)
    diff = float(np.max(np.abs(got - expected)))
    same = bool(np.array_equal(got.argmax(axis=1), expected.argmax(axis=1)))
    report = ConvertReport(max_abs_diff=diff, same_labels=same, kept=same and diff < atol)
    if report.kept:
        report.size_bytes = dst.stat().st_size
        report.reason = (f"float32 TFLite twin; same labels on {len(x)} images, "
                         f"max |diff| {diff:.1e} < {atol:.0e}")
    else:
        dst.unlink()
        changed = int(np.sum(got.argmax(axis=1) != expected.argmax(axis=1)))
        report.reason = (f"TFLite twin discarded: {changed} of {len(x)} labels differ, "
                         f"max |diff| {diff:.1e} (limit {atol:.0e})")
    report.seconds = time.perf_counter() - start
    return report
