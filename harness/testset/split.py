"""The holdout: a stratified split of cleaned data, and the guards that keep it unseen.

A near copy of a holdout image left in the training split would let a model memorise
its test answer; the guard drops training images within `GUARD_DISTANCE` bits (phash)
of any holdout image. After the build, `holdout_overlap` tells whether some other
training data (a run trained on the whole training set) holds holdout images.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from harness.data.duplicates import near_duplicate_pairs, perceptual_hashes
from harness.errors import HarnessError

# Largest phash Hamming distance at which a training image counts as a copy of a
# holdout image; hygiene uses 6 to find candidates it then confirms, the guard does not
# confirm, so it takes the tighter 4.
GUARD_DISTANCE = 4


def stratified_split(labels: np.ndarray, fraction: float, seed: int,
                     class_names) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) indices, sorted: `fraction` of each class held out, at least one.

    Raises:
        HarnessError: a class present in `labels` with too few images to split (named).
    """
    rng = np.random.default_rng([seed, zlib.crc32(b"holdout")])
    train, hold = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise HarnessError(
                f"class {class_names[c]!r} (label {c}) has {len(idx)} image: too few to split "
                f"into training and holdout. Received: holdout={fraction}",
                hint="add images of that class, or drop it from the data")
        k = min(max(int(round(fraction * len(idx))), 1), len(idx) - 1)
        idx = rng.permutation(idx)
        hold.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(hold))


def leakage_guard(images: np.ndarray, train: np.ndarray, hold: np.ndarray,
                  max_distance: int = GUARD_DISTANCE) -> np.ndarray:
    """Training indices that are near copies (phash) of some holdout image."""
    hashes = perceptual_hashes(images)
    pairs = near_duplicate_pairs(hashes, max_distance)
    in_hold = np.zeros(len(images), bool)
    in_hold[hold] = True
    a, b = pairs[:, 0], pairs[:, 1]
    cross = in_hold[a] != in_hold[b]
    leaked = np.where(in_hold[a[cross]], b[cross], a[cross])
    return np.intersect1d(np.unique(leaked), train)


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest()


def image_digests(images: np.ndarray) -> set[bytes]:
    """A short hash of each image's bytes: equal for exact copies only."""
    return {_digest(image) for image in images}


def holdout_overlap(train: np.ndarray | set[bytes], holdout_images: np.ndarray) -> int:
    """How many holdout images are, byte for byte, also among the training images
    (`train`: the images, or their `image_digests` when several holdouts are compared).

    The mistake it catches is training on the data the holdout was split from: every
    holdout image is then an exact copy of a training image. Near copies are the build's
    guard's business.

    Examples:
        >>> holdout_overlap(images, images[:10])
        10
    """
    seen = train if isinstance(train, set) else image_digests(train)
    return sum(_digest(image) in seen for image in holdout_images)
