"""CPU speed of what is packed: grouped convolutions rewritten as depthwise ones.

Keras' ConvNeXt builds its 7x7 depthwise convolutions as `Conv2D(groups=channels)`.
TensorFlow's CPU path runs those far slower than the equivalent `DepthwiseConv2D`
(about 200x per layer, course material), and a CPU scoring server pays that on every
image. `optimize_model` clones a model with each such layer swapped for a
`DepthwiseConv2D` carrying the same weights (kernel (kh, kw, 1, C) -> (kh, kw, C, 1));
`optimize_file` does it to a `.keras` file and keeps the result only when its
probabilities match the original's on a sample.

The clone uses only built-in layers, so it saves and loads as `.keras` with no custom
objects, on the server's Keras too.

`packed_rewrite` is what `score`, `timecheck`, `explain` and `verify` hand to staging
(`Experiment.stage`'s `prepare`), so the model they run is the one `pack` ships: each
run's rewrite is made once and kept in the run folder (`packed/`), keyed by the weights'
hash and `REWRITE_VERSION`.

Examples:
    >>> new_model, report = optimize_model(keras.applications.ConvNeXtTiny(weights=None))
    >>> report.rewritten
    18
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.fsutil import atomic_path, sha256_file, write_text_atomic
from harness.profile import Profile
from harness.scoring.kerasfiles import WAY_OUT, mismatch, newer, root_exception, saved_keras_version
from harness.shipping.samples import sample_images

# Bump when the rewrite changes what it writes: the rewrites kept in run folders are
# keyed by it, so an older one is never taken for the current one.
REWRITE_VERSION = 1
# The sample the rewrite is checked on when scoring stages it: as many seeded random
# images as `pack` checks it on without --data (SMOKE_IMAGES there).
CHECK_IMAGES = 32
# Largest absolute difference of probabilities at which a rewrite counts as equal.
MAX_ABS_DIFF = 1e-4
# The earliest time a zip entry can carry: the stamp of entries with no source stamp.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class OptimizeReport:
    """What `optimize_model` / `optimize_file` did.

    Args:
        rewritten: number of grouped Conv2D layers replaced by DepthwiseConv2D.
        layers: names of the replaced layers.
        max_abs_diff: largest |p_new - p_old| over the sample (None if not checked).
        kept: whether the rewrite was kept (False: the original was kept unchanged).
        reason: one line saying why, for people.
    """

    rewritten: int = 0
    layers: list[str] = field(default_factory=list)
    max_abs_diff: float | None = None
    kept: bool = False
    reason: str = ""


def is_depthwise_conv2d(layer) -> bool:
    """A Conv2D whose groups == input channels == filters: a depthwise conv in disguise."""
    import keras

    if type(layer) is not keras.layers.Conv2D or layer.groups <= 1:
        return False
    in_channels = layer.kernel.shape[2] * layer.groups
    return layer.groups == in_channels == layer.filters


def _as_depthwise(layer):
    import keras

    return keras.layers.DepthwiseConv2D(
        kernel_size=layer.kernel_size, strides=layer.strides, padding=layer.padding,
        depth_multiplier=1, data_format=layer.data_format, dilation_rate=layer.dilation_rate,
        activation=layer.activation, use_bias=layer.use_bias, name=layer.name,
        dtype=layer.dtype_policy)


def _copy_weights(old, new, rewritten: list[str]) -> None:
    """Copy weights layer by layer, by index (a rewrite keeps the order, not the type)."""
    old_layers, new_layers = getattr(old, "layers", None), getattr(new, "layers", None)
    if old_layers is not None and new_layers is not None:
        for a, b in zip(old_layers, new_layers, strict=True):
            _copy_weights(a, b, rewritten)
        return
    weights = old.get_weights()
    if is_depthwise_conv2d(old):
        weights[0] = np.transpose(weights[0], (0, 1, 3, 2))
        rewritten.append(old.name)
    new.set_weights(weights)


def optimize_model(model):
    """Clone `model` with every depthwise-like grouped Conv2D as a DepthwiseConv2D.

    Args:
        model: a Functional or Sequential keras model (nested models are rewritten too).

    Returns:
        (new_model, OptimizeReport). When nothing needs rewriting, `new_model` is
        `model` itself and `report.rewritten` is 0.

    Examples:
        >>> fast, report = optimize_model(model)
        >>> report.rewritten, report.layers[:1]
        (18, ['convnext_tiny_stage_0_block_0_depthwise_conv'])
    """
    import keras

    def clone(layer):
        if is_depthwise_conv2d(layer):
            return _as_depthwise(layer)
        return layer.__class__.from_config(layer.get_config())

    if not any(is_depthwise_conv2d(layer) for layer in _all_layers(model)):
        return model, OptimizeReport(reason="no grouped Conv2D to rewrite")
    new_model = keras.models.clone_model(model, clone_function=clone, recursive=True)
    rewritten: list[str] = []
    _copy_weights(model, new_model, rewritten)
    return new_model, OptimizeReport(rewritten=len(rewritten), layers=rewritten, kept=True,
                                     reason=f"{len(rewritten)} grouped Conv2D -> DepthwiseConv2D")


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


def _restamp_like(src: Path, path: Path) -> None:
    """Give a saved .keras file `src`'s save date and entry timestamps.

    Keras writes the save time into metadata.json and the weights entry, so without
    this the same source would optimize to different bytes, and pack to a different
    sha256, every time.
    """
    with zipfile.ZipFile(src) as z:
        meta = json.loads(z.read("metadata.json"))
        stamps = {i.filename: i.date_time for i in z.infolist()}
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w") as out:
        for info, data in entries:
            if info.filename == "metadata.json":
                fresh = json.loads(data)
                fresh["date_saved"] = meta.get("date_saved", fresh.get("date_saved"))
                data = json.dumps(fresh).encode()
            stamped = zipfile.ZipInfo(info.filename, stamps.get(info.filename, ZIP_EPOCH))
            stamped.compress_type = info.compress_type
            stamped.external_attr = info.external_attr
            out.writestr(stamped, data)


def _probabilities(model, sample: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(np.asarray(sample, np.float32), batch_size=64, verbose=0))


def optimize_file(src: str | os.PathLike, dst: str | os.PathLike,
                  sample: np.ndarray, atol: float = MAX_ABS_DIFF) -> OptimizeReport:
    """Rewrite a `.keras` file's grouped convolutions; keep it only if predictions match.

    `dst` always ends up holding a loadable model: the rewritten one when its
    probabilities on `sample` are within `atol` of the original's (and it reloads from
    disk), else a copy of the original. `src` is never modified.

    Args:
        src: the original `.keras` file.
        dst: where to write the result (may equal `src`'s copy in a staging folder).
        sample: images (n, H, W, C) the model takes, e.g. a few dozen uint8 images.
        atol: largest allowed absolute difference of probabilities.

    Returns:
        OptimizeReport: layers rewritten, the largest difference, and whether it was kept.
    """
    import keras

    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        model = keras.models.load_model(src, compile=False)
    except Exception as e:  # a file keras cannot read is the user's to fix
        saved = saved_keras_version(src)
        if newer(saved, keras.__version__):
            raise HarnessError(mismatch([(src.name, saved)], keras.__version__,
                                        root_exception(e)), hint=WAY_OUT) from None
        raise HarnessError(f"{src}: cannot load this .keras file ({type(e).__name__}: {e})",
                           hint="save it with model.save('weights.keras') on Keras 3") from None
    new_model, report = optimize_model(model)
    if report.rewritten == 0:
        if src.resolve() != dst.resolve():
            with atomic_path(dst) as tmp:
                tmp.write_bytes(src.read_bytes())
        return report
    # Keras insists on the .keras suffix, so the temporary file gets one too.
    fd, name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".keras", dir=dst.parent)
    os.close(fd)
    tmp_keras = Path(name)
    try:
        new_model.save(tmp_keras)
        _restamp_like(src, tmp_keras)
        reloaded = keras.models.load_model(tmp_keras, compile=False)
        diff = float(np.max(np.abs(_probabilities(reloaded, sample)
                                   - _probabilities(model, sample))))
        report.max_abs_diff = diff
        report.kept = diff < atol
        if report.kept:
            os.replace(tmp_keras, dst)
            report.reason += f"; max |diff| {diff:.1e} < {atol:.0e}"
        else:
            report.reason = (f"rewrite of {report.rewritten} layers discarded: max |diff| "
                             f"{diff:.1e} >= {atol:.0e}; original kept")
            if src.resolve() != dst.resolve():
                with atomic_path(dst) as tmp:
                    tmp.write_bytes(src.read_bytes())
    finally:
        tmp_keras.unlink(missing_ok=True)
    return report


def scored_as(report: OptimizeReport) -> str:
    """What a staged model is, in words, after the rewrite: the `scored:` line."""
    if report.kept and report.rewritten:
        return "the packed model (CPU rewrite)"
    if report.rewritten:
        return "the packed model (rewrite discarded, as pack would: the stock weights)"
    return "the packed model (nothing to rewrite: the stock weights)"


def _kept_report(record: Path) -> OptimizeReport | None:
    """The report of a rewrite kept in a run folder; None when missing or unreadable (it
    is then made again)."""
    try:
        return OptimizeReport(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def packed_rewrite(folder: Path, run: Path, profile: Profile) -> str:
    """Replace each `.keras` file staged in `folder` by what `pack` ships for it.

    The rewrite of run `run`'s weights is made once (checked on `CHECK_IMAGES` seeded
    random images, as `pack` checks it without --data) and kept in `run/packed/` as
    `SHA16-rREWRITE_VERSION.keras` with its report beside it; later stagings copy it.

    Returns:
        What was staged, in words ("the packed model (CPU rewrite)").
    """
    reports = []
    for weights in sorted(Path(folder).glob("*.keras")):
        key = Path(run) / "packed" / f"{sha256_file(weights)[:16]}-r{REWRITE_VERSION}"
        kept, record = key.with_suffix(".keras"), key.with_suffix(".json")
        report = _kept_report(record)
        if report is None or (report.kept and not kept.is_file()):
            report = optimize_file(weights, kept, sample_images(profile, CHECK_IMAGES))
            if not report.kept:
                kept.unlink()  # a copy of the stock weights: the staged file already is one
            write_text_atomic(record, json.dumps(report.__dict__, sort_keys=True))
        if report.kept:
            shutil.copyfile(kept, weights)
        reports.append(report)
    if not reports:
        return "the packed model (no .keras file to rewrite)"
    return scored_as(max(reports, key=lambda r: (r.kept, r.rewritten)))
