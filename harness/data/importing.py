"""`harness data import`: what a course hands out, made the competition's npz.

Two shapes of source: a folder of class subfolders of images (`datasets.import_folder`),
or an npz in the course's own layout, which `import_npz` reads as the profile says
(`[data] images_key`, `labels_key`): the 2023 course's `public_data.npz` keeps its
images under `data` as float pixels and its labels as the strings `'healthy'` and
`'unhealthy'`. Labels are mapped to class indices through the profile's class names and
aliases (case-insensitive), integer labels are checked against the classes, one-hot
rows are argmaxed; float pixels become uint8 (0-1 floats scaled to 0-255 first).
A labels array stored as Python objects is a pickle, which runs code from the file
as it loads: it is read only when the user says the file is trusted.

Examples:
    >>> import_data("public_data.npz", "data/training_set.npz",
    ...             get_profile("an2dl-2023-hw1")).per_class
    {'healthy': 3199, 'unhealthy': 2001}
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from harness.data.datasets import (
    UNREADABLE,
    ImportResult,
    import_folder,
    save_dataset,
    validate_arrays,
)
from harness.errors import HarnessError
from harness.profile import Profile, get_profile


def _read_member(path: Path, key: str, allow_pickle: bool) -> np.ndarray:
    try:
        with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
            return np.lib.format.read_array(f, allow_pickle=allow_pickle)
    except ValueError as e:
        if "allow_pickle" not in str(e):
            raise
        raise HarnessError(
            f"{path}: {key!r} holds Python objects (a pickle); loading it runs code from "
            f"the file", hint="if the file is the course's own and you trust it, import "
                              "it with --allow-pickle") from None


def _pixels(images: np.ndarray, notes: list[str], source: str) -> np.ndarray:
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise HarnessError(f"{source}: the images are not numbers. Received: "
                           f"dtype={images.dtype}", hint="give pixels 0-255 (or 0-1 floats)")
    images = images.astype(np.float32, copy=False)
    if not np.all(np.isfinite(images)):
        raise HarnessError(f"{source}: the images hold NaN or infinite pixels",
                           hint="repair or drop those images first")
    low, high = float(images.min()), float(images.max())
    if low < 0 or high > 255:
        raise HarnessError(f"{source}: pixels outside 0-255. Received: min={low:g}, "
                           f"max={high:g}", hint="give pixels 0-255 (or 0-1 floats)")
    if high <= 1.0:
        images = images * 255.0
        notes.append("pixels were 0-1 floats: scaled to 0-255")
    rounded = np.rint(images)
    if not np.array_equal(rounded, images):
        notes.append("pixels were not whole numbers: rounded to uint8")
    else:
        notes.append(f"pixels were {images.dtype} whole numbers: stored as uint8")
    return rounded.astype(np.uint8)


def _labels(labels: np.ndarray, profile: Profile, notes: list[str], source: str) -> np.ndarray:
    if labels.dtype.kind in "USO":
        values = [str(v) for v in labels.reshape(-1)]
        mapped = {v: profile.label_for_folder(v) for v in set(values)}
        unknown = sorted(v for v, label in mapped.items() if label is None)
        if unknown:
            raise HarnessError(
                f"{source}: labels that name no class. Received: {unknown[:5]}",
                hint=f"the profile's classes are {', '.join(profile.class_names)} (aliases: "
                     f"{', '.join(sorted(profile.class_aliases)) or 'none'}); add the others as "
                     f"[task] class_aliases in the profile")
        notes.append("string labels mapped: " + ", ".join(
            f"{v!r}={mapped[v]}" for v in sorted(mapped, key=mapped.get)))
        return np.array([mapped[v] for v in values], np.int64)
    if labels.ndim == 2 and labels.shape[1] == profile.num_classes > 1:
        if not (np.isin(labels, (0, 1)).all() and np.all(labels.sum(axis=1) == 1)):
            raise HarnessError(f"{source}: labels of shape {labels.shape} that are not one-hot",
                               hint="give one integer or class name per image")
        notes.append("one-hot labels: argmaxed")
        return labels.argmax(axis=1)
    return labels


def import_npz(path: str | os.PathLike, out: str | os.PathLike,
               profile: Profile | str | None = None, images_key: str | None = None,
               labels_key: str | None = None, allow_pickle: bool = False) -> ImportResult:
    """Turn a course's npz (other keys, string labels, float pixels) into the competition's.

    Args:
        path: the course's .npz.
        out: the .npz to write (atomically).
        profile: the competition profile (its keys, classes and aliases).
        images_key, labels_key: override the profile's `[data]` keys.
        allow_pickle: read a labels array stored as Python objects (runs the file's code).

    Raises:
        HarnessError: a key is missing, a label names no class, pixels out of range, a
            shape that is not the profile's.
    """
    profile = get_profile(profile)
    path = Path(path)
    images_key = images_key or profile.images_key
    labels_key = labels_key or profile.labels_key
    try:
        with zipfile.ZipFile(path) as zf:
            keys = sorted(n[:-4] for n in zf.namelist() if n.endswith(".npy"))
    except UNREADABLE as e:
        raise HarnessError(f"{path}: not a readable .npz file ({e.__class__.__name__}: {e})",
                           hint="give the course's .npz, or a folder of class subfolders") \
            from None
    for key, what in ((images_key, "images"), (labels_key, "labels")):
        if key not in keys:
            raise HarnessError(f"{path}: no {key!r} key for the {what}. Received: keys={keys}",
                               hint=f"name it with --{what}-key, or set [data] {what}_key "
                                    f"in the profile")
    notes: list[str] = []
    try:
        images = _pixels(_read_member(path, images_key, False), notes, str(path))
        labels = _labels(_read_member(path, labels_key, allow_pickle), profile, notes,
                         str(path))
    except UNREADABLE as e:
        raise HarnessError(f"{path}: a damaged array ({e.__class__.__name__}: "
                           f"{str(e)[:120]})", hint="download the file again") from None
    images, labels = validate_arrays(images, labels, profile, source=str(path))
    save_dataset(out, images, labels)
    counts = np.bincount(labels, minlength=profile.num_classes)
    ignored = [k for k in keys if k not in (images_key, labels_key)]
    if ignored:
        notes.append(f"keys not imported: {', '.join(ignored)}")
    return ImportResult(out=str(out), n_images=len(images),
                        per_class={n: int(c) for n, c in zip(profile.class_names, counts)},
                        folders={}, notes=notes)


def import_data(source: str | os.PathLike, out: str | os.PathLike,
                profile: Profile | str | None = None, progress: Callable | None = None,
                **npz_options) -> ImportResult:
    """Import a folder of class subfolders (`import_folder`) or a course npz (`import_npz`)."""
    source = Path(source)
    if source.is_dir():
        if any(v for v in npz_options.values()):
            raise HarnessError(f"{source}: a folder has no npz keys or pickles",
                               hint="--images-key, --labels-key and --allow-pickle are for "
                                    "an .npz source")
        return import_folder(source, out, profile, progress=progress)
    if not source.exists():
        raise HarnessError(f"{source}: no such file or folder",
                           hint="give a folder of class subfolders or the course's .npz")
    return import_npz(source, out, profile, **npz_options)
