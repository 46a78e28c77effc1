"""A soft-mask painting surface for drawing cells: shapes as alpha masks over a float RGB canvas.

Every shape is an alpha mask in [0, 1] computed from the pixel grid's coordinate arrays
(no per-pixel loops), so drawing a whole smear costs a few vectorised array operations.
`smear` draws the cells with it.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import gaussian_filter


@functools.lru_cache(maxsize=4)
def _grid(h: int, w: int) -> np.ndarray:
    grid = np.mgrid[0:h, 0:w].astype(np.float32)
    grid.flags.writeable = False  # shared by every canvas of this size
    return grid


def jitter(rng: np.random.Generator, color, amount: float = 0.07) -> np.ndarray:
    """A colour (RGB 0-255) with per-channel random gain: no two images stain or grow
    alike."""
    return np.clip(np.asarray(color, np.float32) * rng.normal(1.0, amount, 3), 0, 255)


def clamp01(a: np.ndarray) -> np.ndarray:
    """Clamp to [0, 1] in place (ufuncs: np.clip's wrapper costs more on small arrays)."""
    return np.minimum(np.maximum(a, 0.0, out=a), 1.0, out=a)


@functools.lru_cache(maxsize=32)
def _lerp(n: int, cells: int) -> np.ndarray:
    """(n, cells+1) weights that linearly interpolate cells+1 knots onto n pixels."""
    pos = np.linspace(0, cells, n)
    left = np.minimum(pos.astype(int), cells - 1)
    weights = np.zeros((n, cells + 1), np.float32)
    weights[np.arange(n), left] = 1 - (pos - left)
    weights[np.arange(n), left + 1] = pos - left
    weights.flags.writeable = False
    return weights


class Canvas:
    """A float RGB image (or a window onto one) with its pixel grid, and soft shapes on it.

    Shapes are computed only inside a window around them (`window`), so a small red
    cell costs a few hundred pixels, not the whole image.

    Args:
        x, y: pixel coordinate arrays (H, W).
        rgb: the (H, W, 3) float32 pixels, painted in place (a view for a window).
        unit: pixels per drawing unit (1.0 at 96x96), so shapes scale with the image.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, rgb: np.ndarray, unit: float):
        self.x, self.y, self.rgb, self.unit = x, y, rgb, unit
        self.h, self.w = x.shape

    @classmethod
    def blank(cls, size: tuple[int, int], unit: float) -> "Canvas":
        """A new canvas of `size` (height, width)."""
        y, x = _grid(*size)
        return cls(x, y, np.empty((*size, 3), np.float32), unit)

    def window(self, cx: float, cy: float, r: float) -> "Canvas":
        """The part of this canvas within `r` units of (cx, cy), sharing its pixels."""
        r = r * self.unit
        if self.x.size:  # make (cx, cy) relative to this canvas, itself maybe a window
            cx, cy = cx - self.x[0, 0], cy - self.y[0, 0]
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, self.w)
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, self.h)
        x1, y1 = max(x1, x0), max(y1, y0)
        sl = (slice(y0, y1), slice(x0, x1))
        return Canvas(self.x[sl], self.y[sl], self.rgb[sl], self.unit)

    def paint(self, alpha: np.ndarray, color) -> None:
        """Blend `color` (RGB, or an (H, W, 3) array) over the canvas with `alpha` (H, W)."""
        change = np.asarray(color, np.float32) - self.rgb
        change *= alpha[..., None]
        self.rgb += change

    def ellipse(self, cx, cy, a, b, angle=0.0, edge=1.0) -> np.ndarray:
        """Soft alpha of an ellipse (semi-axes a, b in units, rotated by `angle` radians)."""
        dx, dy = self.x - cx, self.y - cy
        c, s = np.cos(angle), np.sin(angle)
        u, v = (dx * c + dy * s) / (a * self.unit), (-dx * s + dy * c) / (b * self.unit)
        # Distance outside the boundary, in pixels, along the shorter axis: a soft edge.
        d = (np.sqrt(u * u + v * v) - 1.0) * min(a, b) * self.unit
        return clamp01(0.5 - d / (edge * self.unit))

    def blob(self, rng, cx, cy, r, wobble=0.05, edge=1.0) -> np.ndarray:
        """Soft alpha of a roundish outline: a disc whose radius varies with the angle."""
        dx, dy = self.x - cx, self.y - cy
        dist = np.sqrt(dx * dx + dy * dy)
        z = (dx + 1j * dy) / np.maximum(dist, 1e-6)
        amp = rng.uniform(0, wobble, 3) * 2 / np.arange(2, 5)
        phase = np.exp(1j * rng.uniform(0, 2 * np.pi, 3))
        # Radius r * (1 + sum_k amp_k cos(k theta + phase_k)), k = 2..4, via powers of z.
        z2 = z * z
        ripple = (amp[0] * phase[0] * z2 + amp[1] * phase[1] * z2 * z
                  + amp[2] * phase[2] * z2 * z2).real
        d = dist - r * self.unit * (1 + ripple)
        return clamp01((0.5 - d / (edge * self.unit)).astype(np.float32))

    def texture(self, rng, cells: int, amount: float) -> np.ndarray:
        """A smooth random field around 1 (1 +- amount): chromatin, uneven stain.

        Bilinear upsampling of a (cells+1)^2 random grid, done as two small matrix
        products with cached interpolation weights.
        """
        grid = rng.standard_normal((cells + 1, cells + 1), dtype=np.float32)
        return 1.0 + amount * (_lerp(self.h, cells) @ grid @ _lerp(self.w, cells).T)

    def granules(self, rng, region: np.ndarray, count: int, size: float) -> np.ndarray:
        """Alpha of `count` small dots scattered inside `region` (an alpha mask)."""
        ys, xs = np.nonzero(region > 0.5)
        field = np.zeros((self.h, self.w), np.float32)
        if len(ys) == 0 or count == 0:
            return field
        pick = rng.integers(0, len(ys), count)
        np.add.at(field, (ys[pick], xs[pick]), 1.0)
        sigma = size * self.unit
        field = gaussian_filter(field, sigma) * (2 * np.pi * sigma * sigma)
        return clamp01(field * 1.6) * region
