"""Planted pictures: large, tight clusters of near-identical images that are not cells.

The course's training file held 1,800 copies of two unrelated pictures blended with
cells, with random labels. Such copies form a cluster unlike any group of look-alike
cells: they all correlate highly with one picture, and almost nothing correlates a
little less. `planted_sets` finds these clusters around candidate centres (copy groups
and evenly spaced probe images) in two steps, a cheap screen and a close look; the
thresholds live in `hygiene.HygieneSettings`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from harness.data.duplicates import aligned_correlation
from harness.data.findings import HygieneSettings


def standardised(thumbs: np.ndarray) -> np.ndarray:
    """16x16 mean-pooled thumbnails as zero-mean unit vectors: dot product = correlation."""
    n = len(thumbs)
    small = thumbs.reshape(n, 16, 2, 16, 2).mean(axis=(2, 4), dtype=np.float32).reshape(n, 256)
    small -= small.mean(axis=1, keepdims=True)
    small /= np.linalg.norm(small, axis=1, keepdims=True) + 1e-6
    return small


def _tight_set(corr: np.ndarray, weights: np.ndarray, threshold: float,
               s: HygieneSettings) -> np.ndarray | None:
    """Items at or above `threshold` if few images sit in the shell just below it.

    Copies of one picture sit at the top of the similarity ranking with an empty shell
    under them; a look-alike cell's neighbours thin out smoothly, so its shell is
    crowded. None when the core is too small or the shell too full.
    """
    core = corr >= threshold
    shell = (corr >= threshold - s.planted_gap) & ~core
    n_core = weights[core].sum()
    if n_core < s.planted_min_size or weights[shell].sum() > s.planted_shell * n_core:
        return None
    return np.flatnonzero(core)


def _trim_edge(members: np.ndarray, corr: np.ndarray, s: HygieneSettings) -> np.ndarray:
    """Drop the members below the widest break in the ranking, if it is a clear break.

    Copies of a picture rank in one tight run; an image hanging below it by a clear
    break is something else that resembles the picture, typically the very cell the
    picture was pasted over. It stays in the data.
    """
    order = np.argsort(-corr)
    drops = -np.diff(corr[order])
    if len(drops) == 0 or drops.max() < s.planted_gap / 2:
        return members
    return members[order[:int(np.argmax(drops)) + 1]]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def planted_sets(vectors: np.ndarray, thumbs: np.ndarray, weights: np.ndarray,
                  mixed: Callable, centres: list[np.ndarray],
                  s: HygieneSettings) -> list[np.ndarray]:
    """Sets of contents that pass the planted test around any of the candidate centres.

    A cheap screen (plain correlation of every content with up to 64 centres at once,
    one matrix product) picks the centres worth a closer look; the close look takes the
    mean thumbnail of the screened core and ranks every content by shift-tolerant
    correlation with it.
    """
    found: list[np.ndarray] = []
    covered = np.zeros(len(vectors), bool)
    for lo in range(0, len(centres), 64):
        batch = centres[lo:lo + 64]
        means = np.stack([vectors[m].mean(axis=0) for m in batch])
        corr = vectors @ (means / (np.linalg.norm(means, axis=1, keepdims=True) + 1e-6)).T
        for j, members in enumerate(batch):
            if covered[members].all():
                continue
            members = _tight_set(corr[:, j], weights, s.planted_min_corr, s)
            if members is None or not mixed(members):
                continue
            # Weighted by copies: the picture itself, not a blur of its shifted variants.
            centre = np.average(thumbs[members].astype(np.float32), axis=0,
                                weights=weights[members])
            close = aligned_correlation(centre, thumbs)
            members = _tight_set(close, weights, s.planted_min_corr, s)
            if members is not None:
                members = _trim_edge(members, close[members], s)
            # Copies are near-identical to their picture; a core that swallowed
            # look-alike cells is not, so its typical member sits far lower.
            if members is not None and weights[members].sum() >= s.planted_min_size \
                    and _weighted_median(close[members], weights[members]) >= s.planted_median \
                    and mixed(members):
                found.append(members)
                covered[members] = True
    return found
