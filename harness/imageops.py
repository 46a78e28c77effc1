"""Vectorised image operations on batches: the primitives corruption families are made of.

Every function takes a whole batch (n, H, W, C) and per-image parameters as arrays of
length n, so a family costs a handful of numpy calls, not a Python loop per image
(`warp` loops over PIL's C resampler, which beats any numpy gather here).
Pixels are float32 0-255 unless a function says uint8. Nothing here draws random
numbers: the families in `harness.testset.corruptions` sample parameters and pass them in.

Examples:
    >>> import numpy as np
    >>> x = np.zeros((2, 96, 96, 3), np.float32)
    >>> warp(x, affine_matrices(2, angle=np.array([0.0, 0.5]))).shape
    (2, 96, 96, 3)
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# ITU-R 601 luma weights, the ones PIL uses for "L" and hence for colour degeneration.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# RGB <-> YIQ: a linear colour space whose chroma plane rotates to shift hue.
_RGB2YIQ = np.array([[0.299, 0.587, 0.114],
                     [0.596, -0.274, -0.322],
                     [0.211, -0.523, 0.312]], np.float32)
_YIQ2RGB = np.linalg.inv(_RGB2YIQ).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Round and clip float pixels to uint8."""
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def per_image(values, n: int) -> np.ndarray:
    """Broadcastable (n, 1, 1, 1) float32 view of a scalar or per-image values."""
    return np.broadcast_to(np.asarray(values, np.float32), (n,)).reshape(n, 1, 1, 1)


def grayscale(x: np.ndarray) -> np.ndarray:
    """Luma of each pixel, kept as (n, H, W, 1)."""
    return (x @ LUMA)[..., None]


def blend(a: np.ndarray, b: np.ndarray, factor) -> np.ndarray:
    """PIL's ImageEnhance rule: b + factor * (a - b); factor 0 gives b, 1 gives a."""
    return b + per_image(factor, len(a)) * (a - b)


def adjust_saturation(x: np.ndarray, factor) -> np.ndarray:
    """Blend each image with its grayscale version (factor 0: gray, 1: unchanged)."""
    return blend(x, grayscale(x), factor)


def adjust_contrast(x: np.ndarray, factor) -> np.ndarray:
    """Blend each image with its mean gray level (factor 0: flat gray, 1: unchanged)."""
    mean = grayscale(x).mean(axis=(1, 2, 3), keepdims=True)
    return blend(x, mean, factor)


def adjust_brightness(x: np.ndarray, factor) -> np.ndarray:
    """Scale pixels by `factor` (0: black, 1: unchanged)."""
    return x * per_image(factor, len(x))


def rotate_hue(x: np.ndarray, angle_rad, chroma=1.0) -> np.ndarray:
    """Rotate the chroma plane of YIQ by `angle_rad` and scale it by `chroma`, per image."""
    n = len(x)
    angle = np.broadcast_to(np.asarray(angle_rad, np.float32), (n,))
    chroma = np.broadcast_to(np.asarray(chroma, np.float32), (n,))
    cos, sin = np.cos(angle) * chroma, np.sin(angle) * chroma
    m = np.zeros((n, 3, 3), np.float32)
    m[:, 0, 0] = 1
    m[:, 1, 1], m[:, 1, 2], m[:, 2, 1], m[:, 2, 2] = cos, -sin, sin, cos
    full = _YIQ2RGB @ m @ _RGB2YIQ
    return np.einsum("nhwc,ndc->nhwd", x, full, optimize=True)


def autocontrast(x: np.ndarray) -> np.ndarray:
    """Stretch each channel of each image to the full 0-255 range (flat channels stay)."""
    lo = x.min(axis=(1, 2), keepdims=True)
    hi = x.max(axis=(1, 2), keepdims=True)
    scale = np.where(hi > lo, 255.0 / np.maximum(hi - lo, 1e-6), 1.0)
    offset = np.where(hi > lo, lo, 0.0)
    return (x - offset) * scale


def equalize(x: np.ndarray) -> np.ndarray:
    """Histogram-equalise each channel of each image (PIL's rule), on uint8 input."""
    x = to_uint8(x) if x.dtype != np.uint8 else x
    n, h, w, c = x.shape
    flat = x.transpose(0, 3, 1, 2).reshape(n * c, h * w).astype(np.int64)
    rows = np.arange(n * c)[:, None]
    hist = np.bincount((flat + 256 * rows).ravel(), minlength=256 * n * c).reshape(n * c, 256)
    cdf = hist.cumsum(axis=1)
    cdf_min = np.take_along_axis(cdf, (hist > 0).argmax(axis=1)[:, None], axis=1)
    denom = np.maximum(h * w - cdf_min, 1)
    lut = np.clip(np.round((cdf - cdf_min) * 255.0 / denom), 0, 255)
    out = np.take_along_axis(lut, flat, axis=1)
    return out.reshape(n, c, h, w).transpose(0, 2, 3, 1).astype(np.float32)


def solarize(x: np.ndarray, threshold) -> np.ndarray:
    """Invert pixels at or above `threshold` (per image)."""
    t = per_image(threshold, len(x))
    return np.where(x >= t, 255.0 - x, x)


def posterize(x: np.ndarray, bits) -> np.ndarray:
    """Keep the top `bits` bits of each channel (per image)."""
    bits = np.broadcast_to(np.asarray(bits, np.int64), (len(x),)).reshape(-1, 1, 1, 1)
    mask = (0xFF << (8 - bits)) & 0xFF
    return (to_uint8(x) & mask.astype(np.uint8)).astype(np.float32)


def affine_matrices(n: int, angle=0.0, zoom=1.0, shear_x=0.0, shear_y=0.0,
                    tx=0.0, ty=0.0, flip_x=False, flip_y=False) -> np.ndarray:
    """(n, 2, 3) inverse maps (output pixel -> input pixel, centred, in pixels).

    Zoom > 1 magnifies; shear and translation follow the sign given; flips mirror.
    """
    def arr(v, dtype=np.float32):
        return np.broadcast_to(np.asarray(v, dtype), (n,))

    a, z = arr(angle), arr(zoom)
    rot = np.zeros((n, 2, 2), np.float32)
    rot[:, 0, 0], rot[:, 0, 1] = np.cos(a), -np.sin(a)
    rot[:, 1, 0], rot[:, 1, 1] = np.sin(a), np.cos(a)
    shear = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1))
    shear[:, 0, 1], shear[:, 1, 0] = arr(shear_x), arr(shear_y)
    flip = np.tile(np.eye(2, dtype=np.float32), (n, 1, 1))
    flip[:, 0, 0] = np.where(arr(flip_x, bool), -1, 1)
    flip[:, 1, 1] = np.where(arr(flip_y, bool), -1, 1)
    linear = flip @ shear @ rot / z[:, None, None]
    m = np.zeros((n, 2, 3), np.float32)
    m[:, :, :2] = linear
    m[:, 0, 2], m[:, 1, 2] = -arr(tx), -arr(ty)
    return m


def warp(x: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Resample each image through its (2, 3) inverse map, bilinearly, mirrored at the border.

    PIL's C affine transform does the resampling (about 50x faster than a numpy gather
    here); the image is first mirror-padded by its own size, so the border reflects.

    Args:
        x: (n, H, W, C) pixels, rounded to uint8 for resampling.
        matrices: (n, 2, 3): input (x, y) = M @ (output x, output y, 1), both centred.

    Returns:
        (n, H, W, C) float32.
    """
    n, h, w, c = x.shape
    centre = np.array([w / 2, h / 2], np.float32)
    out = np.empty(x.shape, np.float32)
    for i, img in enumerate(to_uint8(x)):
        a = matrices[i, :, :2]
        # PIL samples output pixel centres (i + 0.5), like the centred maps here.
        shift = centre + np.array([w, h]) + matrices[i, :, 2] - a @ centre
        padded = Image.fromarray(np.pad(img, ((h, h), (w, w), (0, 0)), mode="reflect"))
        coeffs = (a[0, 0], a[0, 1], shift[0], a[1, 0], a[1, 1], shift[1])
        out[i] = np.asarray(padded.transform((w, h), Image.AFFINE, coeffs, Image.BILINEAR))
    return out


def convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve every image and channel with one 2-D kernel, mirroring at the border."""
    # scipy.signal takes a second to import: every command would pay it, blur or not.
    from scipy.signal import fftconvolve

    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = np.pad(x, ((0, 0), (ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)), mode="reflect")
    out = fftconvolve(padded, kernel[None, :, :, None], mode="valid", axes=(1, 2))
    return out.astype(np.float32)


def disc_kernel(radius: float) -> np.ndarray:
    """A normalised, anti-aliased disc: the point-spread of an out-of-focus lens."""
    r = int(np.ceil(radius))
    ys, xs = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.clip(radius + 0.5 - np.hypot(xs, ys), 0, 1).astype(np.float32)
    return k / k.sum()


def line_kernel(length: int, angle_rad: float) -> np.ndarray:
    """A normalised line of `length` pixels at `angle_rad`: a motion-blur point-spread."""
    size = length + (1 - length % 2)
    k = np.zeros((size, size), np.float32)
    c = size // 2
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length)
    k[np.rint(c + t * np.sin(angle_rad)).astype(int),
      np.rint(c + t * np.cos(angle_rad)).astype(int)] = 1
    return k / k.sum()
