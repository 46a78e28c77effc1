"""Held-out shifts: corruptions the test-set recipe was not built from, to check the forecast.

The pseudo-private recipe (harness/testset) is built from the sixteen families of its
registry; a check that only re-weights those families (bench/fidelity.py's variants)
cannot say how the forecast fares on a corruption nobody put in the registry, which is
what an unknown hidden set is. The shifts here are written separately, with numpy,
scipy and Pillow only: nothing under harness/ is imported, so no family's code can leak
into them. Each takes uint8 images (n, H, W, 3), a severity 1-5 and a generator:

- `elastic`: elastic warps (smoothed random displacement fields, Simard et al. 2003);
- `hed_stain`: stain changes by colour deconvolution (Ruifrok and Johnston's
  haematoxylin-eosin-DAB basis; each stain's concentration scaled and shifted,
  Tellez et al. 2018), where the registry rotates hue and scales saturation;
- `photo_overlay`: real photographs (scikit-learn's two sample photos, installed with
  it) blended over the image or pasted as a patch, where the registry draws its pictures;
- `vignette`: off-centre radial fall-off with a colour cast (a misaligned lamp);
- `impulse_noise`: salt-and-pepper and multiplicative speckle, where the registry adds
  Gaussian noise;
- `resize_artefacts`: a down-scale without anti-aliasing and a bicubic up-scale
  (aliasing and ringing), where the registry pixelates by box filter;
- `lens`: barrel or pincushion distortion with lateral chromatic aberration;
- `jpeg_extreme`: JPEG at quality 8 down to 2 with 4:2:0 chroma, past the registry's 6.

`mix` chains two to four of them per image: the nearest thing here to a hidden set
built by a recipe nobody knows.

Examples:
    >>> rng = np.random.default_rng(0)
    >>> SHIFTS["elastic"](images, 3, rng).shape == images.shape
    True
    >>> shift_set(images, "mix", seed=0)[0].dtype
    dtype('uint8')
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

SEVERITIES = (1, 2, 3, 4, 5)
# Ruifrok and Johnston's stain vectors (rows: haematoxylin, eosin, DAB), normalised.
HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
HED = HED / np.linalg.norm(HED, axis=1, keepdims=True)
HED_INV = np.linalg.inv(HED)


def _level(values, severity: int):
    return values[severity - 1]


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def elastic(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Warp by a random displacement field smoothed over ~6 px, 3-15 px at its largest."""
    alpha = _level((3.0, 5.0, 8.0, 11.0, 15.0), severity)
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.empty_like(images)
    for i in range(n):
        field = ndimage.gaussian_filter(rng.uniform(-1, 1, (2, h, w)), (0, 6, 6))
        field *= alpha / max(np.abs(field).max(), 1e-6)
        coords = [rows + field[0], cols + field[1]]
        for c in range(3):
            out[i, :, :, c] = _to_uint8(ndimage.map_coordinates(
                images[i, :, :, c].astype(np.float32), coords, order=1, mode="reflect"))
    return out


def hed_stain(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Each stain's optical density scaled by 1 +- 0.1-0.5 and shifted by +- 0.02-0.1."""
    scale = _level((0.1, 0.2, 0.3, 0.4, 0.5), severity)
    shift = _level((0.02, 0.04, 0.06, 0.08, 0.1), severity)
    n = len(images)
    od = -np.log10((images.astype(np.float32) + 1) / 256)
    stains = od.reshape(n, -1, 3) @ HED_INV
    a = rng.uniform(1 - scale, 1 + scale, (n, 1, 3))
    b = rng.uniform(-shift, shift, (n, 1, 3))
    od = ((stains * a + b) @ HED).reshape(images.shape)
    return _to_uint8(256 * 10 ** -np.maximum(od, 0) - 1)


_PHOTOS: list[np.ndarray] = []


def photos() -> list[np.ndarray]:
    """scikit-learn's sample photographs (a temple in China, a flower), loaded once."""
    if not _PHOTOS:
        from sklearn.datasets import load_sample_images

        _PHOTOS.extend(load_sample_images().images)
    return _PHOTOS


def _photo_crop(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    photo = photos()[rng.integers(len(photos()))]
    side = int(rng.integers(60, min(photo.shape[:2])))
    top = rng.integers(0, photo.shape[0] - side + 1)
    left = rng.integers(0, photo.shape[1] - side + 1)
    crop = Image.fromarray(photo[top:top + side, left:left + side])
    return np.asarray(crop.resize(size[::-1], Image.BILINEAR), np.float32)


def photo_overlay(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """A photograph blended over the whole image at 15-55% opacity (half the images), or
    pasted opaque over 20-60% of its side (the other half)."""
    opacity = _level((0.15, 0.25, 0.35, 0.45, 0.55), severity)
    side = _level((0.2, 0.3, 0.4, 0.5, 0.6), severity)
    n, h, w, _ = images.shape
    out = images.astype(np.float32)
    for i in range(n):
        if rng.random() < 0.5:
            photo = _photo_crop(rng, (h, w))
            out[i] = (1 - opacity) * out[i] + opacity * photo
        else:
            ph, pw = int(side * h), int(side * w)
            top, left = rng.integers(0, h - ph + 1), rng.integers(0, w - pw + 1)
            out[i, top:top + ph, left:left + pw] = _photo_crop(rng, (ph, pw))
    return _to_uint8(out)


def vignette(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Brightness falling off by 20-80% towards the far corner from an off-centre lamp,
    with a warm or cool cast of up to 4-20%."""
    strength = _level((0.2, 0.35, 0.5, 0.65, 0.8), severity)
    cast = _level((0.04, 0.08, 0.12, 0.16, 0.2), severity)
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    centre = rng.uniform(-0.5, 0.5, (n, 2))
    r2 = (rows[None] - centre[:, 0, None, None]) ** 2 + (cols[None] - centre[:, 1, None, None]) ** 2
    fall = 1 - strength * r2 / r2.reshape(n, -1).max(axis=1)[:, None, None]
    tint = 1 + cast * rng.uniform(-1, 1, (n, 1, 1, 1)) * np.array([1.0, 0.2, -1.0])
    return _to_uint8(images * fall[..., None] * tint)


def impulse_noise(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Salt and pepper on 1-10% of the pixel values and speckle (x(1 + N(0, 0.05-0.3)))."""
    fraction = _level((0.01, 0.025, 0.045, 0.07, 0.1), severity)
    speckle = _level((0.05, 0.1, 0.15, 0.22, 0.3), severity)
    x = images * (1 + speckle * rng.standard_normal(images.shape, dtype=np.float32))
    hit = rng.random(images.shape) < fraction
    x[hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)
    return _to_uint8(x)


def resize_artefacts(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Down to 60-22% of the side by nearest neighbour (aliasing), back up by bicubic
    interpolation (ringing)."""
    factor = _level((0.6, 0.45, 0.35, 0.28, 0.22), severity)
    n, h, w, _ = images.shape
    small = (max(4, int(w * factor)), max(4, int(h * factor)))
    return np.stack([np.asarray(Image.fromarray(img).resize(small, Image.NEAREST)
                                .resize((w, h), Image.BICUBIC)) for img in images])


def lens(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Radial distortion k r^2 with |k| 0.1-0.5 (barrel or pincushion), red and blue
    magnified apart by 0.5-2.5% (lateral chromatic aberration)."""
    k_top = _level((0.1, 0.2, 0.3, 0.4, 0.5), severity)
    ca = _level((0.005, 0.01, 0.015, 0.02, 0.025), severity)
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    r2 = rows ** 2 + cols ** 2
    out = np.empty_like(images)
    for i in range(n):
        k = rng.uniform(-k_top, k_top)
        for c, zoom in enumerate((1 + ca, 1.0, 1 - ca)):
            scale = (1 + k * r2) * zoom
            coords = [(rows * scale + 1) * (h - 1) / 2, (cols * scale + 1) * (w - 1) / 2]
            out[i, :, :, c] = _to_uint8(ndimage.map_coordinates(
                images[i, :, :, c].astype(np.float32), coords, order=1, mode="reflect"))
    return out


def jpeg_extreme(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """JPEG at quality 8, 6, 4, 3 or 2 with 4:2:0 chroma subsampling."""
    quality = _level((8, 6, 4, 3, 2), severity)
    out = np.empty_like(images)
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling=2)
        out[i] = np.asarray(Image.open(buf).convert("RGB"))
    return out


SHIFTS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    f.__name__: f for f in (elastic, hed_stain, photo_overlay, vignette, impulse_noise,
                            resize_artefacts, lens, jpeg_extreme)}
MIX_LINKS = (2, 4)


def _by_severity(images: np.ndarray, name: str, severity: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    out = images.copy()
    for s in SEVERITIES:
        idx = np.flatnonzero(severity == s)
        if len(idx):
            out[idx] = SHIFTS[name](images[idx], s, rng)
    return out


def shift_set(images: np.ndarray, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`images` under shift `name` (or "mix"), each at a seeded random severity 1-5.

    Returns:
        (shifted uint8 images, each image's severity; for "mix", its number of links).
    """
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    n = len(images)
    if name != "mix":
        severity = rng.choice(SEVERITIES, n)
        return _by_severity(images, name, severity, rng), severity
    names = list(SHIFTS)
    links = rng.integers(MIX_LINKS[0], MIX_LINKS[1] + 1, n)
    order = np.argsort(rng.random((n, len(names))), axis=1)
    out = images.copy()
    for j in range(MIX_LINKS[1]):
        for f, fname in enumerate(names):
            idx = np.flatnonzero((links > j) & (order[:, j] == f))
            if len(idx):
                out[idx] = _by_severity(out[idx], fname, rng.choice(SEVERITIES, len(idx)), rng)
    return out, links


NAMES = (*SHIFTS, "mix")
