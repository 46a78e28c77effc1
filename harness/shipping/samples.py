"""The small image samples that `pack`, `verify` and `timecheck` run a submission on.

From a given npz (the first images after a seeded shuffle) or, without one, seeded
random pixels of the profile's shape: enough to load a model, call `predict` and time
it, not to measure accuracy.

Examples:
    >>> sample_images(get_profile(), 32).shape
    (32, 96, 96, 3)
"""

from __future__ import annotations

import os

import numpy as np

from harness.data.datasets import load_dataset
from harness.errors import HarnessError
from harness.profile import Profile


def sample_images(profile: Profile, n: int, data: str | os.PathLike | None = None,
                  seed: int = 0) -> np.ndarray:
    """`n` uint8 images of the profile's shape: from `data` (an npz) or seeded noise.

    Args:
        profile: the competition profile (image shape).
        n: how many images; with `data`, at most as many as it holds.
        data: an npz in the competition's format, or None for random pixels.
        seed: picks the images (or draws the pixels); the same seed, the same sample.

    Returns:
        (n, H, W, C) uint8.
    """
    if n < 1:
        raise HarnessError(f"a sample needs at least one image. Received: n={n}")
    rng = np.random.default_rng(seed)
    if data is None:
        return rng.integers(0, 256, (n, *profile.input_shape), dtype=np.uint8)
    images = load_dataset(data, profile, require_labels=False).images
    index = np.sort(rng.permutation(len(images))[:n])
    return images[index]
