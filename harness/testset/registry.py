"""How corruption families are registered, looked up and applied; the families
themselves are defined in `harness.testset.corruptions` (import that module: it is what
fills the registry).

A family turns a batch of clean images into corrupted ones at an integer severity (0 for
`clean`, 1..5 for the others). Each keeps two steps apart, as Keras layers do:
`sample(n, severity, rng, shape)` draws every random parameter, `apply(x, params)` uses
them, vectorised over the batch. `corrupt(images, name, severity, seed)` seeds a
generator from (seed, family, severity), so the same call gives the same bytes in any
process. `REGISTRY_VERSION` changes whenever any family's output does.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness import imageops as ops
from harness.errors import HarnessError
from harness.registry import Registry

REGISTRY_VERSION = "1"
MAX_SEVERITY = 5


@dataclass(frozen=True)
class Family:
    """One corruption family.

    Args:
        name: registry key, stored in a test set's `groups`.
        kind: clean | noise | augment | stain | optics | digital | overlay | geometric.
        description: one line for people.
        sample: fn(n, severity, rng, shape) -> dict of per-image parameters.
        apply: fn(float32 images, params) -> float32 images.
        severities: the severities it accepts.
    """

    name: str
    kind: str
    description: str
    sample: Callable
    apply: Callable
    severities: tuple[int, ...] = tuple(range(1, MAX_SEVERITY + 1))

    def __call__(self, images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
        """Corrupt uint8 images (n, H, W, C) at `severity` with `rng`; returns uint8."""
        check_severity(self, severity)
        params = self.sample(len(images), severity, rng, images.shape[1:])
        return ops.to_uint8(self.apply(images.astype(np.float32), params))


FAMILIES: Registry[Family] = Registry("corruption family")


def family(name: str, kind: str, severities=None):
    """Register a class with static `sample` and `apply` as a family; its docstring describes it."""
    def wrap(cls):
        FAMILIES.register(name, Family(name, kind, (cls.__doc__ or "").strip().splitlines()[0],
                                       cls.sample, cls.apply,
                                       tuple(severities or range(1, MAX_SEVERITY + 1))))
        return cls
    return wrap


def get_family(name: str) -> Family:
    """Look a family up by name; an unknown name raises with the closest known one."""
    return FAMILIES.get(name)


def check_severity(fam: Family, severity: int) -> None:
    if severity not in fam.severities:
        raise HarnessError(f"family {fam.name!r} has no severity {severity}. "
                           f"Received: severity={severity!r}",
                           hint=f"use one of {list(fam.severities)}")


def family_rng(seed: int, name: str, severity: int) -> np.random.Generator:
    """The generator for (seed, family, severity): stable across processes and platforms."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode()), int(severity)])


def corrupt(images: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """Corrupt uint8 images with family `name` at `severity`, seeded by (seed, name, severity)."""
    return get_family(name)(images, severity, family_rng(seed, name, severity))


def level(table, severity: int):
    """The entry of a five-level parameter table for `severity` (1-5)."""
    return table[severity - 1]


def signs(n, rng):
    """n random signs, -1 or +1."""
    return rng.choice(np.array([-1.0, 1.0], np.float32), n)
