"""Byte and perceptual hashing, and Hamming pairing, against slow references."""

from __future__ import annotations

import numpy as np
import pytest

from harness.data.duplicates import (
    exact_duplicate_groups,
    hamming,
    near_duplicate_pairs,
    perceptual_hashes,
    popcount64,
)


def _cell_like(n, seed=0):
    """Smooth blobs plus noise: hash bits that are neither trivial nor random."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:96, :96]
    out = np.empty((n, 96, 96, 3), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(30, 66, 2).tolist() + [rng.uniform(10, 30)]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
        base = rng.uniform(120, 230, 3) - blob[..., None] * rng.uniform(40, 120, 3)
        out[i] = np.clip(base + rng.normal(0, 12, (96, 96, 3)), 0, 255)
    return out


@pytest.mark.parametrize("kind", ["phash", "dhash"])
def test_perceptual_hashes_equal_imagehash(kind):
    import imagehash
    from PIL import Image

    images = np.concatenate([_cell_like(24), np.random.default_rng(1).integers(
        0, 256, (8, 96, 96, 3), dtype=np.uint8), np.full((2, 96, 96, 3), 255, np.uint8)])
    fn = getattr(imagehash, kind)
    expected = np.array([int(str(fn(Image.fromarray(im))), 16) for im in images], np.uint64)
    np.testing.assert_array_equal(perceptual_hashes(images, kind), expected)


def test_perceptual_hashes_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind='ahash'"):
        perceptual_hashes(_cell_like(1), "ahash")


def test_popcount_and_hamming():
    values = np.array([0, 1, 2**64 - 1, 0xF0F0, 2**63], np.uint64)
    assert popcount64(values).tolist() == [0, 1, 64, 8, 1]
    assert hamming(np.uint64(0b1011), np.uint64(0b0110)).item() == 3


@pytest.mark.parametrize("max_distance", [0, 1, 3, 6, 10])
def test_near_duplicate_pairs_equal_brute_force(max_distance):
    rng = np.random.default_rng(max_distance)
    base = rng.integers(0, 2**63, 200, dtype=np.uint64) << np.uint64(1)
    flips = np.uint64(1) << rng.integers(0, 64, (200, 4)).astype(np.uint64)
    hashes = np.concatenate([base, base ^ flips[:, 0], base ^ flips[:, 1] ^ flips[:, 2]
                             ^ flips[:, 3], base[:30]])
    d = hamming(hashes[:, None], hashes[None, :])
    i, j = np.nonzero(np.triu(d <= max_distance, 1))
    np.testing.assert_array_equal(near_duplicate_pairs(hashes, max_distance), np.stack([i, j], 1))


def test_near_duplicate_pairs_empty_and_bad_distance():
    assert near_duplicate_pairs(np.zeros(0, np.uint64), 3).shape == (0, 2)
    with pytest.raises(ValueError, match="max_distance=65"):
        near_duplicate_pairs(np.zeros(3, np.uint64), 65)


def test_exact_duplicate_groups():
    images = _cell_like(10)
    images[7] = images[2]
    images[9] = images[2]
    images[8] = images[4]
    images[5] = images[6].copy()
    images[5, 0, 0, 0] ^= 1  # one bit off: not a copy
    groups = exact_duplicate_groups(images)
    assert [g.tolist() for g in groups] == [[2, 7, 9], [4, 8]]
    assert exact_duplicate_groups(images[:1]) == []


def test_aligned_correlation_sees_through_brightness_and_small_shifts():
    from harness.data.duplicates import aligned_correlation, grey_thumbnails

    images = _cell_like(3, seed=4)
    shifted = np.clip(np.roll(images[0].astype(int), 3, axis=1) + 9, 0, 255).astype(np.uint8)
    thumbs = grey_thumbnails(np.concatenate([images, shifted[None]]))
    corr = aligned_correlation(thumbs[[0, 0]], thumbs[[3, 1]])
    assert corr[0] > 0.97 > corr[1]


def test_thumbnails_and_hashes_by_index_equal_the_plain_functions():
    from harness.data.duplicates import grey_thumbnails, thumbnails_and_hashes

    images = _cell_like(12, seed=5)
    index = np.array([3, 0, 7])
    thumbs, phash, dhash = thumbnails_and_hashes(images, index=index)
    np.testing.assert_array_equal(thumbs, grey_thumbnails(images[index]))
    np.testing.assert_array_equal(phash, perceptual_hashes(images[index]))
    np.testing.assert_array_equal(dhash, perceptual_hashes(images[index], "dhash"))
