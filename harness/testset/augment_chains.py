"""RandAugment- and AugMix-style chains, vectorised and byte-deterministic.

The seed teams validated with test-time-augmentation views: RandAugment and AugMix
chains at several magnitudes (course material). keras-cv 0.9 has both layers, but here
they are neither fast nor reproducible enough for a test set: eagerly they run at
9-22 images/s on this 2-core machine (deterministic only after global seeding), and
under `tf.function` they reach 50-130 images/s but give different bytes run to run
(the map over images updates one stateful seed in parallel). So the chains are built
here from the same operations (Cubuk et al. 2020; Hendrycks et al. 2020; keras-cv's
parameterisation: magnitude in [0, 1], 3 chains of depth 1-3, Dirichlet/Beta mixing).

Each chain has `sample(n, magnitude, rng)` -> parameters and `apply(x, params)` -> x.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 256, (4, 96, 96, 3)).astype(np.float32)
    >>> randaugment_apply(x, randaugment_sample(4, 0.5, 2, rng)).shape
    (4, 96, 96, 3)
"""

from __future__ import annotations

import numpy as np

from harness import imageops as ops


def _affine(**kw):
    def op(x, mag, sign):
        h, w = x.shape[1:3]
        args = {k: f(mag * sign, h, w) for k, f in kw.items()}
        return ops.warp(x, ops.affine_matrices(len(x), **args))
    return op


# name -> fn(x float (n,H,W,C), magnitude (n,) in [0,1], sign (n,) of +-1) -> x
OPS = {
    "auto_contrast": lambda x, m, s: ops.autocontrast(x),
    "equalize": lambda x, m, s: ops.equalize(x),
    "solarize": lambda x, m, s: ops.solarize(x, 256.0 * (1 - m)),
    "posterize": lambda x, m, s: ops.posterize(x, 8 - np.rint(4 * m).astype(np.int64)),
    "color": lambda x, m, s: ops.adjust_saturation(x, 1 + 0.9 * m * s),
    "contrast": lambda x, m, s: ops.adjust_contrast(x, 1 + 0.9 * m * s),
    "brightness": lambda x, m, s: ops.adjust_brightness(x, 1 + 0.9 * m * s),
    "rotate": _affine(angle=lambda v, h, w: np.deg2rad(30 * v)),
    "shear_x": _affine(shear_x=lambda v, h, w: 0.3 * v),
    "shear_y": _affine(shear_y=lambda v, h, w: 0.3 * v),
    "translate_x": _affine(tx=lambda v, h, w: 0.3 * w * v),
    "translate_y": _affine(ty=lambda v, h, w: 0.3 * h * v),
}
RANDAUGMENT_OPS = ("auto_contrast", "equalize", "solarize", "posterize", "color", "contrast",
                   "brightness", "rotate", "shear_x", "shear_y", "translate_x", "translate_y")
# AugMix leaves out the colour/contrast/brightness operations (they overlap ImageNet-C).
AUGMIX_OPS = ("auto_contrast", "equalize", "posterize", "rotate", "solarize",
              "shear_x", "shear_y", "translate_x", "translate_y")


def _sample_steps(n: int, depth: int, names: tuple, magnitude, rng) -> dict:
    return {
        "op": rng.integers(0, len(names), (depth, n)),
        "magnitude": np.clip(np.broadcast_to(magnitude, (depth, n)), 0, 1).astype(np.float32),
        "sign": rng.choice(np.array([-1.0, 1.0], np.float32), (depth, n)),
    }


def _apply_steps(x: np.ndarray, steps: dict, names: tuple, active: np.ndarray) -> np.ndarray:
    x = x.copy()
    for d in range(len(steps["op"])):
        for k, name in enumerate(names):
            idx = np.flatnonzero((steps["op"][d] == k) & active[d])
            if len(idx):
                out = OPS[name](x[idx], steps["magnitude"][d, idx], steps["sign"][d, idx])
                # Each step lands on uint8, as PIL-based implementations do.
                x[idx] = np.rint(np.clip(out, 0, 255))
    return x


def randaugment_sample(n: int, magnitude: float, layers: int, rng: np.random.Generator,
                       magnitude_stddev: float = 0.15, rate: float = 10 / 11) -> dict:
    """Draw `layers` operations per image with magnitudes around `magnitude`.

    Args:
        n: number of images.
        magnitude: mean operation strength in [0, 1] (keras-cv's scale).
        layers: operations per image (keras-cv's `augmentations_per_image`).
        rng: the generator.
        magnitude_stddev: spread of the magnitude per operation.
        rate: probability that each drawn operation is applied.
    """
    mags = magnitude + magnitude_stddev * rng.standard_normal((layers, n))
    steps = _sample_steps(n, layers, RANDAUGMENT_OPS, mags, rng)
    steps["active"] = rng.random((layers, n)) < rate
    return steps


def randaugment_apply(x: np.ndarray, params: dict) -> np.ndarray:
    """Apply sampled RandAugment steps to float32 images."""
    return _apply_steps(x, params, RANDAUGMENT_OPS, params["active"])


def augmix_sample(n: int, severity: float, rng: np.random.Generator, chains: int = 3,
                  max_depth: int = 3, alpha: float = 1.0) -> dict:
    """Draw AugMix chains: `chains` chains of depth 1..max_depth, Dirichlet/Beta weights.

    Args:
        n: number of images.
        severity: operation strength in [0, 1] (keras-cv's `severity`).
        rng: the generator.
        chains: chains mixed per image.
        max_depth: longest chain.
        alpha: Dirichlet and Beta concentration.
    """
    return {
        "chains": [_sample_steps(n, max_depth, AUGMIX_OPS,
                                 severity * rng.uniform(0.5, 1.0, (max_depth, n)), rng)
                   for _ in range(chains)],
        "depth": rng.integers(1, max_depth + 1, (chains, n)),
        "weights": rng.dirichlet([alpha] * chains, n).astype(np.float32),
        "mix": rng.beta(alpha, alpha, n).astype(np.float32),
    }


def augmix_apply(x: np.ndarray, params: dict) -> np.ndarray:
    """Mix the sampled chains of float32 images with the originals."""
    mixed = np.zeros_like(x)
    for c, steps in enumerate(params["chains"]):
        active = np.arange(len(steps["op"]))[:, None] < params["depth"][c][None, :]
        mixed += ops.per_image(params["weights"][:, c], len(x)) * _apply_steps(
            x, steps, AUGMIX_OPS, active)
    m = ops.per_image(params["mix"], len(x))
    return (1 - m) * x + m * mixed
