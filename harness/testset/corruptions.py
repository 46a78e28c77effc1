"""The corruption families a pseudo-private test set is made of, registered on import.

A family turns a batch of clean images into corrupted ones at an integer severity
(0 for `clean`, 1..5 for the others; parameter tables follow MedMNIST-C's five levels),
its parameters drawn apart from applying them (`harness.testset.registry`, whose names
this module re-exports: import this one, which fills the registry).

Kinds: clean; noise; augment (RandAugment/AugMix views, the seed teams' TTA-inspired
pseudo-validation); stain, optics and digital (the blood-smear domain shifts of
MedMNIST-C); overlay (foreign pictures blended or pasted: the hidden set was
"doctored"); geometric. `REGISTRY_VERSION` changes whenever any family's output does.

Examples:
    >>> import numpy as np
    >>> x = np.zeros((4, 96, 96, 3), np.uint8)
    >>> corrupt(x, "gaussian_noise", 3, seed=0).dtype
    dtype('uint8')
    >>> get_family("gausian_noise")
    Traceback (most recent call last):
    ...
    harness.errors.HarnessError: unknown corruption family. Received: 'gausian_noise'
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from harness import imageops as ops
from harness.testset import augment_chains as chains
from harness.testset import drawing
from harness.testset.registry import (
    FAMILIES,
    MAX_SEVERITY,
    REGISTRY_VERSION,
    Family,
    check_severity,
    corrupt,
    family,
    family_rng,
    get_family,
    level,
    signs,
)

__all__ = ["FAMILIES", "MAX_SEVERITY", "REGISTRY_VERSION", "Family", "check_severity",
           "corrupt", "family", "family_rng", "get_family"]


# --- clean and noise -------------------------------------------------------------------

@family("clean", "clean", severities=(0,))
class Clean:
    """The holdout image itself."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return {}

    @staticmethod
    def apply(x, p):
        return x


@family("gaussian_noise", "noise")
class GaussianNoise:
    """White Gaussian noise, sigma 8-55 on the 0-255 scale."""

    @staticmethod
    def sample(n, severity, rng, shape):
        sigma = level((8, 16, 25, 38, 55), severity)
        return {"noise": sigma * rng.standard_normal((n, *shape), dtype=np.float32)}

    @staticmethod
    def apply(x, p):
        return x + p["noise"]


# --- augmentation views ----------------------------------------------------------------

@family("randaugment", "augment")
class RandAugmentView:
    """RandAugment chain (2-3 operations, magnitude 0.2-0.8), as TTA views."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return chains.randaugment_sample(n, level((0.2, 0.35, 0.5, 0.65, 0.8), severity),
                                         level((2, 2, 2, 3, 3), severity), rng)

    @staticmethod
    def apply(x, p):
        return chains.randaugment_apply(x, p)


@family("augmix", "augment")
class AugMixView:
    """AugMix (3 chains of depth 1-3, severity 0.2-1.0), as TTA views."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return chains.augmix_sample(n, level((0.2, 0.4, 0.6, 0.8, 1.0), severity), rng)

    @staticmethod
    def apply(x, p):
        return chains.augmix_apply(x, p)


# --- blood-smear domain shifts (MedMNIST-C) --------------------------------------------

@family("stain_color", "stain")
class StainColor:
    """Stain hue shift: the chroma plane rotated by 6-45 degrees either way."""

    @staticmethod
    def sample(n, severity, rng, shape):
        top = np.deg2rad(level((6, 12, 20, 30, 45), severity))
        return {"angle": signs(n, rng) * rng.uniform(0.6, 1.0, n) * top}

    @staticmethod
    def apply(x, p):
        return ops.rotate_hue(x, p["angle"])


@family("saturation", "stain")
class Saturation:
    """Stain saturation up (x1.3-3) or down (x0.75-0.1)."""

    @staticmethod
    def sample(n, severity, rng, shape):
        up = rng.random(n) < 0.5
        factor = np.where(up, level((1.3, 1.6, 2.0, 2.5, 3.0), severity),
                          level((0.75, 0.55, 0.4, 0.25, 0.1), severity))
        return {"factor": factor.astype(np.float32)}

    @staticmethod
    def apply(x, p):
        return ops.adjust_saturation(x, p["factor"])


@family("brightness_contrast", "stain")
class BrightnessContrast:
    """Brightness and contrast each up or down by 10-50% and 15-70%."""

    @staticmethod
    def sample(n, severity, rng, shape):
        b = level((0.1, 0.2, 0.3, 0.4, 0.5), severity)
        c = level((0.15, 0.3, 0.45, 0.6, 0.7), severity)
        return {"brightness": 1 + b * signs(n, rng), "contrast": 1 + c * signs(n, rng)}

    @staticmethod
    def apply(x, p):
        return ops.adjust_contrast(ops.adjust_brightness(x, p["brightness"]), p["contrast"])


@family("defocus_blur", "optics")
class DefocusBlur:
    """Out-of-focus lens: a disc point-spread of radius 1-4 px."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return {"radius": level((1.0, 1.5, 2.0, 3.0, 4.0), severity)}

    @staticmethod
    def apply(x, p):
        return ops.convolve(x, ops.disc_kernel(p["radius"]))


@family("motion_blur", "optics")
class MotionBlur:
    """Stage motion: a line point-spread of 5-23 px in one of 8 directions."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return {"length": level((5, 9, 13, 17, 23), severity), "direction": rng.integers(0, 8, n)}

    @staticmethod
    def apply(x, p):
        out = np.empty_like(x)
        for d in np.unique(p["direction"]):
            idx = np.flatnonzero(p["direction"] == d)
            out[idx] = ops.convolve(x[idx], ops.line_kernel(p["length"], d * np.pi / 8))
        return out


@family("jpeg", "digital")
class Jpeg:
    """JPEG re-compression at quality 40 down to 6."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return {"quality": level((40, 25, 15, 10, 6), severity)}

    @staticmethod
    def apply(x, p):
        out = np.empty_like(x)
        for i, img in enumerate(ops.to_uint8(x)):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=p["quality"])
            out[i] = np.asarray(Image.open(buf))
        return out


@family("pixelate", "digital")
class Pixelate:
    """Down-sampled to 64-20 px (box filter) and blown back up in blocks."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return {"size": level((64, 48, 36, 28, 20), severity)}

    @staticmethod
    def apply(x, p):
        out = np.empty_like(x)
        for i, img in enumerate(ops.to_uint8(x)):
            pil = Image.fromarray(img)
            small = pil.resize((p["size"], p["size"]), Image.BOX)
            out[i] = np.asarray(small.resize(pil.size, Image.NEAREST))
        return out


@family("stain_deposits", "stain")
class StainDeposits:
    """Dark purple dye precipitate: 3-22 small blots."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return drawing.sample_deposits(n, rng, shape, level((3, 6, 10, 15, 22), severity),
                                       level((2.0, 2.5, 3.0, 3.5, 4.0), severity))

    @staticmethod
    def apply(x, p):
        return drawing.draw_deposits(x, p)


@family("bubbles", "stain")
class Bubbles:
    """Air bubbles under the cover slip: bright discs with a dark rim and a glint."""

    @staticmethod
    def sample(n, severity, rng, shape):
        return drawing.sample_bubbles(n, rng, shape, level((1, 2, 2, 3, 4), severity),
                                      level((10, 13, 16, 19, 22), severity))

    @staticmethod
    def apply(x, p):
        return drawing.draw_bubbles(x, p)


# --- foreign pictures ------------------------------------------------------------------

@family("overlay", "overlay")
class Overlay:
    """A foreign picture blended over the whole image at 15-55% opacity."""

    @staticmethod
    def sample(n, severity, rng, shape):
        alpha = level((0.15, 0.25, 0.35, 0.45, 0.55), severity)
        return {"picture": drawing.sample_pictures(n, rng, shape),
                "alpha": np.clip(alpha + rng.uniform(-0.05, 0.05, n), 0, 1)}

    @staticmethod
    def apply(x, p):
        return ops.blend(drawing.draw_pictures(p["picture"], x.shape[1:]), x, p["alpha"])


@family("occlusion", "overlay")
class Occlusion:
    """An opaque patch of a foreign picture, 15-55% of the side, pasted somewhere."""

    @staticmethod
    def sample(n, severity, rng, shape):
        h, w = shape[:2]
        fraction = level((0.15, 0.25, 0.35, 0.45, 0.55), severity)
        side = np.rint(fraction * np.array([h, w])).astype(int)
        return {"picture": drawing.sample_pictures(n, rng, shape), "side": side,
                "top": rng.integers(0, h - side[0] + 1, n),
                "left": rng.integers(0, w - side[1] + 1, n)}

    @staticmethod
    def apply(x, p):
        h, w = x.shape[1:3]
        rows = np.arange(h)[None, :] - p["top"][:, None]
        cols = np.arange(w)[None, :] - p["left"][:, None]
        inside = (((rows >= 0) & (rows < p["side"][0]))[:, :, None]
                  & ((cols >= 0) & (cols < p["side"][1]))[:, None, :])[..., None]
        return np.where(inside, drawing.draw_pictures(p["picture"], x.shape[1:]), x)


# --- geometric -------------------------------------------------------------------------

@family("rotate_flip", "geometric")
class RotateFlip:
    """Rotation by up to 15-180 degrees, with random flips, mirrored at the border."""

    @staticmethod
    def sample(n, severity, rng, shape):
        top = np.deg2rad(level((15, 30, 60, 120, 180), severity))
        return {"angle": rng.uniform(-top, top, n),
                "flip_x": rng.random(n) < 0.5, "flip_y": rng.random(n) < 0.5}

    @staticmethod
    def apply(x, p):
        m = ops.affine_matrices(len(x), angle=p["angle"], flip_x=p["flip_x"], flip_y=p["flip_y"])
        return ops.warp(x, m)


@family("zoom_shear", "geometric")
class ZoomShear:
    """Zoom in or out by up to 10-45% (log scale) and shear by up to 0.05-0.4."""

    @staticmethod
    def sample(n, severity, rng, shape):
        z = level((0.1, 0.15, 0.25, 0.35, 0.45), severity)
        s = level((0.05, 0.1, 0.2, 0.3, 0.4), severity)
        return {"zoom": np.exp(rng.uniform(-z, z, n)),
                "shear_x": rng.uniform(-s, s, n), "shear_y": rng.uniform(-s, s, n)}

    @staticmethod
    def apply(x, p):
        m = ops.affine_matrices(len(x), zoom=p["zoom"], shear_x=p["shear_x"], shear_y=p["shear_y"])
        return ops.warp(x, m)
