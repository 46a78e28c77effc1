"""Compound corruption: every test image passes through a chain of corruption families.

The hidden set is "heavily corrupted": one corruption per image (the single-family
views) left a real submission at 0.74 where Codabench said 0.37. A compound recipe
gives each image a chain of links, each a family drawn from the recipe's weights
(without repeats) at a severity drawn from its severities. One free parameter, the
*strength*, sets how many links an image gets: `floor(s)` or `ceil(s)` links, the
image's own uniform draw deciding which, so the expected chain length is `s` and the
accuracy moves smoothly with it.

A plan (`sample_plan`) fixes every image's whole chain up to `max_links` before
anything is applied, and `levels` applies link j to every image at once, so the image
at chain length k is the same whatever the strength: a test set at strength s picks,
per image, one of these levels (`at_strength`), and calibration can score every level
once and then read the accuracy at any strength off the same predictions exactly.

Examples:
    >>> spec = {"families": {"gaussian_noise": 1, "overlay": 1}, "severities": [1, 2],
    ...         "max_links": 2}
    >>> plan = sample_plan(4, spec, seed=0)
    >>> at_strength(images[:4], plan, 1.5).shape
    (4, 96, 96, 3)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from harness.testset import corruptions

GROUP = "compound"  # the `groups` tag of compound images in a test set


@dataclass(frozen=True)
class Plan:
    """Every image's chain, drawn before any is applied.

    Args:
        families: registry names, in the order `links` indexes them.
        links: (n, max_links) index into `families` of each image's j-th link.
        severities: (n, max_links) severity of each link.
        draw: (n,) uniform draws in [0, 1): with strength s an image gets ceil(s) links
            when its draw is below frac(s), else floor(s).
        seed: the chain seed (seeds each link's corruption too).
    """

    families: tuple[str, ...]
    links: np.ndarray
    severities: np.ndarray
    draw: np.ndarray
    seed: int

    @property
    def max_links(self) -> int:
        return self.links.shape[1]

    def lengths(self, strength: float) -> np.ndarray:
        """Each image's chain length at `strength` (clipped to 0..max_links)."""
        base = np.floor(strength)
        k = base + (self.draw < strength - base)
        return np.clip(k, 0, self.max_links).astype(np.int64)

    def describe(self, i: int, k: int) -> str:
        """Image i's first k links, e.g. 'overlay:3>jpeg:1'."""
        return ">".join(f"{self.families[f]}:{s}"
                        for f, s in zip(self.links[i, :k], self.severities[i, :k]))


def sample_plan(n: int, spec: dict, seed: int, max_links: int | None = None) -> Plan:
    """Draw the chains of n images from a recipe's compound spec.

    Args:
        n: images.
        spec: {"families": {name: weight}, "severities": [...], "max_links": K}.
        seed: the chain seed; the same (n, spec, seed) always gives the same plan.
        max_links: overrides spec["max_links"] (calibration plans longer chains).
    """
    names = tuple(f for f, w in spec["families"].items() if w > 0)
    weights = np.array([spec["families"][f] for f in names], float)
    k = min(int(max_links or spec["max_links"]), len(names))
    rng = np.random.default_rng([int(seed), zlib.crc32(GROUP.encode())])
    # Weighted draws without replacement, vectorised: the top-k of log-weight + Gumbel.
    keys = np.log(weights)[None, :] + rng.gumbel(size=(n, len(names)))
    links = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    severities = rng.choice(np.asarray(spec["severities"], np.int64), size=(n, k))
    return Plan(names, links, severities, rng.random(n), int(seed))


def levels(images: np.ndarray, plan: Plan, upto: int | None = None) -> Iterator[np.ndarray]:
    """Yield every image at chain length 0 (itself), 1, ..., `upto` (default max_links).

    Link j is applied to all images that share its (family, severity) in one batch, with
    a generator seeded by (plan seed, j, family, severity): an image's result at length
    k never depends on the strength it is later used at.
    """
    upto = plan.max_links if upto is None else min(upto, plan.max_links)
    current = images
    yield current
    for j in range(upto):
        nxt = current.copy()
        for f in np.unique(plan.links[:, j]):
            name = plan.families[f]
            for s in np.unique(plan.severities[plan.links[:, j] == f, j]):
                idx = np.flatnonzero((plan.links[:, j] == f) & (plan.severities[:, j] == s))
                rng = np.random.default_rng([plan.seed, j, zlib.crc32(name.encode()), int(s)])
                nxt[idx] = corruptions.get_family(name)(current[idx], int(s), rng)
        current = nxt
        yield current


def at_strength(images: np.ndarray, plan: Plan, strength: float) -> np.ndarray:
    """The images at `strength`: each at its own chain length (`Plan.lengths`)."""
    k = plan.lengths(strength)
    out = np.empty_like(images)
    for j, level in enumerate(levels(images, plan, upto=int(k.max(initial=0)))):
        out[k == j] = level[k == j]
    return out


def expand_compound(images: np.ndarray, labels: np.ndarray, spec: dict, strength: float,
                    seed: int) -> dict[str, np.ndarray]:
    """`copies` compound views of every holdout image, tagged for the test set.

    Returns:
        images, labels, groups ("compound"), severity (each image's chain length) and
        source_index (into the holdout), as `builder.expand` writes them.
    """
    out = {k: [] for k in ("images", "labels", "severity", "source_index")}
    for copy in range(int(spec.get("copies", 1))):
        plan = sample_plan(len(images), spec, seed=copy_seed(seed, copy))
        out["images"].append(at_strength(images, plan, strength))
        out["labels"].append(labels)
        out["severity"].append(plan.lengths(strength).astype(np.int8))
        out["source_index"].append(np.arange(len(images), dtype=np.int32))
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    arrays["groups"] = np.full(len(arrays["images"]), GROUP)
    return arrays


def chain_views(images: np.ndarray, spec: dict, strength: float,
                rng: np.random.Generator) -> np.ndarray:
    """Fresh chains for a batch of uint8 images: training augmentation against a recipe.

    Each call draws a new plan with a seed of `rng`'s (never a test set's `copy_seed`
    stream), so the same families and severities as the recipe, on other draws.

    Examples:
        >>> spec = {"families": {"gaussian_noise": 1, "overlay": 1}, "severities": [1, 2],
        ...         "max_links": 2}
        >>> chain_views(images[:4], spec, 1.5, np.random.default_rng(0)).shape
        (4, 96, 96, 3)
    """
    plan = sample_plan(len(images), spec, seed=int(rng.integers(2**31)))
    return at_strength(images, plan, strength)


def copy_seed(seed: int, copy: int) -> int:
    """The chain seed of one compound copy of the holdout."""
    return int(zlib.crc32(f"{GROUP}/{int(seed)}/{int(copy)}".encode()))
