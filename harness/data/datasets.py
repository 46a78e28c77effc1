"""Datasets in and out: the competition's npz format, validated, and folder import.

The format is the course's `training_set.npz`: `images` (N, H, W, C) uint8 and
`labels` (N, 1) or (N,) integers in 0..num_classes-1. Test sets built by the harness
add per-image tags as extra keys of length N (`groups`: the corruption family,
`severity`: its strength); `load_dataset` keeps every extra key.

Every problem with a file becomes one `HarnessError` that names the file, what is
wrong, and the expected form. Writes are atomic.

Examples:
    >>> ds = load_dataset("data/training_set.npz")
    >>> ds.images.shape, ds.labels.shape
    ((13759, 96, 96, 3), (13759,))
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from harness.errors import HarnessError
from harness.fsutil import atomic_path, sha256_arrays
from harness.interrupt import checkpoint
from harness.profile import Profile, get_profile

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass
class Dataset:
    """Images, integer labels, and optional per-image tags.

    Args:
        images: (N, H, W, C) uint8.
        labels: (N,) int64, or None for an unlabelled set.
        extras: other arrays of length N kept from the file (e.g. `groups`, `severity`).
        path: where it was loaded from, if anywhere.
    """

    images: np.ndarray
    labels: np.ndarray | None
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """sha256 of the pixels, labels and tags: the identity of the data, not the file."""
        arrays = [self.images] + ([self.labels] if self.labels is not None else [])
        arrays += [self.extras[k] for k in sorted(self.extras)]
        return sha256_arrays(*arrays)

    def subset(self, index: np.ndarray) -> "Dataset":
        """The images at `index` (an integer or boolean array), tags included."""
        return Dataset(
            images=self.images[index],
            labels=None if self.labels is None else self.labels[index],
            extras={k: v[index] for k, v in self.extras.items()},
        )


def _expected(profile: Profile) -> str:
    h, w, c = profile.input_shape
    return (f"expected an .npz with 'images' (N, {h}, {w}, {c}) uint8 and 'labels' (N, 1) "
            f"or (N,) integers 0..{profile.num_classes - 1}")


def validate_arrays(images, labels, profile: Profile,
                    source: str = "data") -> tuple[np.ndarray, np.ndarray | None]:
    """Check images and labels against the profile; return them normalised.

    Labels come back as (N,) int64. Raises `HarnessError` naming `source` on any problem.
    """
    expected = _expected(profile)

    def fail(problem: str) -> HarnessError:
        return HarnessError(f"{source}: {problem}", hint=expected)

    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(profile.input_shape):
        raise fail(f"'images' has the wrong shape. Received: shape={images.shape}")
    if images.dtype != np.uint8:
        raise fail(f"'images' must be uint8 pixels 0-255. Received: dtype={images.dtype}")
    if len(images) == 0:
        raise fail("'images' holds no images. Received: shape=" + str(images.shape))
    if labels is None:
        return images, None
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise fail(f"'labels' must be (N, 1) or (N,). Received: shape={labels.shape}")
    if len(labels) != len(images):
        raise fail(f"'images' and 'labels' differ in length. "
                   f"Received: {len(images)} images, {len(labels)} labels")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise fail(f"'labels' must be whole numbers. Received: dtype={labels.dtype}")
    elif labels.dtype.kind not in "iu":
        raise fail(f"'labels' must be integers. Received: dtype={labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or labels.max() >= profile.num_classes:
        raise fail(f"'labels' out of range 0..{profile.num_classes - 1}. "
                   f"Received: min={labels.min()}, max={labels.max()}")
    return images, labels


# What numpy and zipfile raise on a damaged npz: truncated, bit-flipped, misdeclared.
UNREADABLE = (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, struct.error,
              NotImplementedError, MemoryError, KeyError)


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
                  (2, 0): np.lib.format.read_array_header_2_0}


def _read_header(f) -> tuple[tuple, np.dtype] | None:
    """(shape, dtype) from an open .npy stream, or None for a format version numpy's own
    load must judge (its header readers are public for 1.0 and 2.0 only)."""
    read = _HEADER_READERS.get(np.lib.format.read_magic(f))
    if read is None:
        return None
    shape, _, dtype = read(f)
    return shape, dtype


def images_header(path: str | os.PathLike, key: str = "images") -> tuple[tuple, np.dtype]:
    """(shape, dtype) of an array in an .npy, or under `key` in an .npz, without reading it.

    The one npy-header reader: the dataset loader's size check, the test set loaded
    for scoring (`harness.testset.store`) and the ingestion's image count use it.

    Raises:
        KeyError: the npz holds no such array.
        ValueError: the array is in a format version this reader does not know.
    """
    path = Path(path)
    if path.suffix == ".npy":
        with open(path, "rb") as f:
            header = _read_header(f)
    else:
        with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
            header = _read_header(f)
    if header is None:
        raise ValueError(f"{path}: {key} is in an npy format version this reader does not know")
    return header


def _check_declared_sizes(path: Path) -> None:
    """Refuse an npz whose arrays declare more bytes than the file holds, before numpy
    allocates them (a header saying (10**12, 96, 96, 3) over a few bytes)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                header = _read_header(f)
            if header is None:
                continue  # a format version numpy's own load judges
            shape, dtype = header
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > info.file_size:
                raise ValueError(f"{info.filename} declares shape {shape} ({declared:,} "
                                 f"bytes) but holds {info.file_size:,}")


def check_intact(path: str | os.PathLike, hint: str) -> None:
    """Raise a `HarnessError` naming the member of an npz whose bytes fail its checksum.

    Reads the whole file without building an array: for a caller that hands the file to
    another process (the ingestion), so that a damaged file is not blamed on that process.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except UNREADABLE as e:
        bad = f"the archive ({e.__class__.__name__}: {str(e)[:120]})"
    if bad is not None:
        raise HarnessError(f"{path}: damaged: {bad} fails its checksum", hint=hint)


def load_dataset(path: str | os.PathLike, profile: Profile | str | None = None,
                 require_labels: bool = True) -> Dataset:
    """Load and validate an npz in the competition's format.

    Args:
        path: the .npz file.
        profile: the competition profile (default: the default profile).
        require_labels: if False, a file without 'labels' loads with `labels=None`.

    Raises:
        HarnessError: the file is missing, not an npz, lacks a key, or fails a check.
    """
    profile = get_profile(profile)
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"{path}: no such file", hint=_expected(profile))
    if path.is_dir():
        raise HarnessError(f"{path}: is a folder, not an .npz file",
                           hint="to turn a folder of class subfolders into an npz, "
                                "use `harness data import`")
    try:
        _check_declared_sizes(path)
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            arrays = {k: z[k] for k in keys}
    except UNREADABLE as e:
        raise HarnessError(f"{path}: not a readable .npz file ({e.__class__.__name__}: {e})",
                           hint=_expected(profile)) from None
    if "images" not in keys:
        raise HarnessError(f"{path}: no 'images' key. Received: keys={sorted(keys)}",
                           hint=_expected(profile))
    if "labels" not in keys and require_labels:
        raise HarnessError(f"{path}: no 'labels' key. Received: keys={sorted(keys)}",
                           hint=_expected(profile))
    images, labels = validate_arrays(arrays.pop("images"), arrays.pop("labels", None),
                                     profile, source=str(path))
    for key, value in arrays.items():
        if value.ndim == 0 or len(value) != len(images):
            raise HarnessError(f"{path}: extra key {key!r} is not one value per image. "
                               f"Received: shape={value.shape}, {len(images)} images",
                               hint="tags such as 'groups' need one entry per image")
    return Dataset(images=images, labels=labels, extras=arrays, path=path)


def save_dataset(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray | None,
                 compress: bool = True, **extras: np.ndarray) -> Path:
    """Write an npz in the competition's format, atomically.

    Labels are written as (N, 1) uint8, exactly like the course's file.
    """
    arrays = {"images": np.ascontiguousarray(images, dtype=np.uint8)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels).reshape(-1, 1).astype(np.uint8)
    arrays.update(extras)
    return save_npz(path, compress, **arrays)


def save_npz(path: str | os.PathLike, compress: bool = True, **arrays: np.ndarray) -> Path:
    """Write arrays as an .npz, atomically, whose bytes depend only on the arrays.

    Not `np.savez`: it stamps each member with the current time, and when interrupted
    mid-write it leaves its zip open, for Python to close at exit on a file already
    gone, printing a traceback. Level-1 deflate: fast, and pixels barely compress harder.
    """
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", method, compresslevel=1,
                                                   allowZip64=True) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            info.compress_type = method
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            checkpoint(f"writing:{Path(path).name}")
    return Path(path)


@dataclass
class ImportResult:
    """What `import_folder` (or `importing.import_npz`) wrote.

    Args:
        out: the npz written.
        n_images: images in it.
        per_class: images per class name.
        folders: images per class folder read (a folder import).
        notes: what was converted on the way (string labels, float pixels, keys left out).
    """

    out: str
    n_images: int
    per_class: dict[str, int]
    folders: dict[str, int]
    notes: list[str] = field(default_factory=list)


def to_square(img, profile: Profile):
    """Centre-crop a PIL image to the profile's square and resize it to the input size."""
    from PIL import Image

    h, w, _ = profile.input_shape
    width, height = img.size
    side = min(width, height) * profile.crop_fraction
    left, top = (width - side) / 2, (height - side) / 2
    return img.convert("RGB").resize((w, h), Image.BILINEAR,
                                     box=(left, top, left + side, top + side))


def import_folder(root: str | os.PathLike, out: str | os.PathLike,
                  profile: Profile | str | None = None,
                  progress: Callable | None = None) -> ImportResult:
    """Turn a folder of class subfolders of images into the competition's npz.

    Subfolders map to labels by name: a profile class name or alias, case-insensitive
    (`Profile.label_for_folder`). Each image is centre-cropped (`profile.crop_fraction`
    of its shorter side) and resized to the profile's input shape.

    Args:
        root: the folder holding one subfolder per class.
        out: the .npz to write (atomically).
        profile: the competition profile.
        progress: optional wrapper for an iterable (e.g. tqdm) to show progress.

    Raises:
        HarnessError: a subfolder matches no class, an image cannot be read, or no images.
    """
    from PIL import Image, UnidentifiedImageError

    profile = get_profile(profile)
    root = Path(root)
    if not root.is_dir():
        raise HarnessError(f"{root}: not a folder",
                           hint="give a folder with one subfolder of images per class")
    items: list[tuple[Path, int]] = []
    folders: dict[str, int] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = profile.label_for_folder(sub.name)
        if label is None:
            names = ", ".join(n.lower() for n in profile.class_names)
            raise HarnessError(
                f"{sub}: folder name matches no class. Received: {sub.name!r}",
                hint=f"name class folders after the classes ({names}) or an alias "
                     f"({', '.join(sorted(profile.class_aliases))})")
        files = sorted(f for f in sub.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        folders[sub.name] = len(files)
        items += [(f, label) for f in files]
    if not items:
        raise HarnessError(f"{root}: no images found in class subfolders",
                           hint=f"put JPEG or PNG files under {root}/<class>/")
    images = np.empty((len(items), *profile.input_shape), np.uint8)
    labels = np.empty(len(items), np.int64)
    iterator = progress(items) if progress else items
    for i, (file, label) in enumerate(iterator):
        try:
            with Image.open(file) as img:
                images[i] = np.asarray(to_square(img, profile))
        except (UnidentifiedImageError, OSError) as e:
            raise HarnessError(f"{file}: cannot read this image ({e})",
                               hint="remove or replace the file and import again") from None
        labels[i] = label
    save_dataset(out, images, labels)
    counts = np.bincount(labels, minlength=profile.num_classes)
    return ImportResult(out=str(out), n_images=len(items),
                        per_class={n: int(c) for n, c in zip(profile.class_names, counts)},
                        folders=folders)
