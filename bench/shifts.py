"""Held-out shifts: corruptions the test-set recipe was not built from, to check the forecast.

The pseudo-private recipe (harness/testset) is built from the sixteen families of its
registry; a check that only re-weights those families (bench/fidelity.py's variants)
cannot say how the forecast fares on a corruption nobody put in the registry, which is
what an unknown hidden set is. The shifts here are written separately, with numpy,
scipy and Pillow only: nothing under harness/ is imported, so no family's code can leak
into them. Each takes uint8 images (n, H, W, 3), a severity 1-5 and a generator. They
come in two rounds, kept apart on purpose: round 1 was measured first and is what the
recipe may be changed for (bench/RESULTS.md says how it was); round 2 was written before
any recipe change was measured, so it stays a check that no choice was fitted to.

Round 1:

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

Round 2: `fog` (an uneven bright haze), `glare` (specular highlights), `posterize`
(few colour levels, ordered dithering), `channel_swap` (a BGR/RGB mix-up), `pen_marks`
(marker strokes on the slide), `low_light` (under-exposure with photon noise),
`oversharpen` (unsharp-mask halos), `scanlines` (rows jittered sideways).

`mix` and `mix2` chain two to four shifts of their round per image: the nearest thing
here to a hidden set built by a recipe nobody knows.

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


# --- round 1 ---------------------------------------------------------------------------

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


# --- round 2: written before the recipe change was measured, looked at only to report ---

def fog(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """A bright, uneven haze (a smoothed random field) over 15-60% of the image's light."""
    depth = _level((0.15, 0.25, 0.35, 0.48, 0.6), severity)
    n, h, w, _ = images.shape
    haze = ndimage.gaussian_filter(rng.random((n, h, w)), (0, 12, 12))
    lo, hi = haze.min(axis=(1, 2), keepdims=True), haze.max(axis=(1, 2), keepdims=True)
    t = depth * (0.5 + 0.5 * (haze - lo) / np.maximum(hi - lo, 1e-6))
    return _to_uint8(images * (1 - t[..., None]) + 235 * t[..., None])


def glare(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """1-3 specular highlights: soft elliptical spots adding 60-220 to every channel."""
    peak = _level((60, 100, 140, 180, 220), severity)
    n, h, w, _ = images.shape
    rows, cols = np.mgrid[0:h, 0:w]
    out = images.astype(np.float32)
    for i in range(n):
        for _ in range(int(rng.integers(1, 4))):
            r0, c0 = rng.uniform(0, h), rng.uniform(0, w)
            sr, sc = rng.uniform(4, 16, 2)
            out[i] += peak * np.exp(-((rows - r0) / sr) ** 2 - ((cols - c0) / sc) ** 2)[..., None]
    return _to_uint8(out)


BAYER = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) / 16 - 0.5


def posterize(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Each channel quantised to 16, 8, 6, 4 or 3 levels with ordered (Bayer) dithering."""
    levels = _level((16, 8, 6, 4, 3), severity)
    h, w = images.shape[1:3]
    threshold = np.tile(BAYER, (h // 4 + 1, w // 4 + 1))[:h, :w, None]
    step = 255 / (levels - 1)
    return _to_uint8(np.round(images / step + threshold) * step)


def channel_swap(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """The colour channels in another order (a BGR/RGB mix-up), blended in at 20-100%."""
    alpha = _level((0.2, 0.4, 0.6, 0.8, 1.0), severity)
    orders = np.array([[2, 1, 0], [1, 0, 2], [0, 2, 1], [1, 2, 0], [2, 0, 1]])
    chosen = orders[rng.integers(len(orders), size=len(images))]
    swapped = np.take_along_axis(images, chosen[:, None, None, :], axis=3)
    return _to_uint8((1 - alpha) * images + alpha * swapped.astype(np.float32))


def pen_marks(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """1-6 marker strokes of a random ink colour, 2-6 px wide (annotations on the slide)."""
    from PIL import ImageDraw

    strokes = _level((1, 2, 3, 4, 6), severity)
    width = _level((2, 3, 4, 5, 6), severity)
    n, h, w, _ = images.shape
    out = np.empty_like(images)
    for i in range(n):
        pil = Image.fromarray(images[i])
        draw = ImageDraw.Draw(pil)
        for _ in range(strokes):
            points = [tuple(p) for p in rng.uniform(0, [w, h], (3, 2))]
            draw.line(points, fill=tuple(int(v) for v in rng.integers(0, 200, 3)),
                      width=width, joint="curve")
        out[i] = np.asarray(pil)
    return out


def low_light(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Exposure cut to 60-15% with photon (Poisson) noise at 60-6 photons per level, then
    brightened back: signal-dependent noise, not additive."""
    gain = _level((0.6, 0.45, 0.32, 0.22, 0.15), severity)
    photons = _level((60, 30, 16, 10, 6), severity)
    dark = images.astype(np.float32) * gain / 255
    noisy = rng.poisson(dark * photons).astype(np.float32) / photons
    return _to_uint8(noisy / gain * 255)


def oversharpen(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """An unsharp mask of strength 1-5 (radius 2 px): halos and amplified grain."""
    amount = _level((1.0, 2.0, 3.0, 4.0, 5.0), severity)
    x = images.astype(np.float32)
    blurred = ndimage.gaussian_filter(x, (0, 2, 2, 0))
    return _to_uint8(x + amount * (x - blurred))


def scanlines(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Bands of rows shifted sideways by up to 2-10 px (a jittering line scan)."""
    top = _level((2, 4, 6, 8, 10), severity)
    n, h, w, _ = images.shape
    out = np.empty_like(images)
    for i in range(n):
        band = int(rng.integers(2, 8))
        shifts = np.repeat(rng.integers(-top, top + 1, h // band + 1), band)[:h]
        cols = (np.arange(w)[None, :] - shifts[:, None]) % w
        out[i] = images[i][np.arange(h)[:, None], cols]
    return out


ROUNDS = {
    1: (elastic, hed_stain, photo_overlay, vignette, impulse_noise, resize_artefacts, lens,
        jpeg_extreme),
    2: (fog, glare, posterize, channel_swap, pen_marks, low_light, oversharpen, scanlines),
}
SHIFTS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    f.__name__: f for shifts in ROUNDS.values() for f in shifts}
# Each round's chains of two to four of its own shifts.
MIXES = {"mix": [f.__name__ for f in ROUNDS[1]], "mix2": [f.__name__ for f in ROUNDS[2]]}
MIX_LINKS = (2, 4)
ROUND_OF = {**{f.__name__: r for r, shifts in ROUNDS.items() for f in shifts},
            "mix": 1, "mix2": 2}


def _by_severity(images: np.ndarray, name: str, severity: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    out = images.copy()
    for s in SEVERITIES:
        idx = np.flatnonzero(severity == s)
        if len(idx):
            out[idx] = SHIFTS[name](images[idx], s, rng)
    return out


def shift_set(images: np.ndarray, name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`images` under shift `name` (or a mix), each at a seeded random severity 1-5.

    Returns:
        (shifted uint8 images, each image's severity; for a mix, its number of links).
    """
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    n = len(images)
    if name not in MIXES:
        severity = rng.choice(SEVERITIES, n)
        return _by_severity(images, name, severity, rng), severity
    names = MIXES[name]
    links = rng.integers(MIX_LINKS[0], MIX_LINKS[1] + 1, n)
    order = np.argsort(rng.random((n, len(names))), axis=1)
    out = images.copy()
    for j in range(MIX_LINKS[1]):
        for f, fname in enumerate(names):
            idx = np.flatnonzero((links > j) & (order[:, j] == f))
            if len(idx):
                out[idx] = _by_severity(out[idx], fname, rng.choice(SEVERITIES, len(idx)), rng)
    return out, links


NAMES = (*(f.__name__ for f in ROUNDS[1]), "mix", *(f.__name__ for f in ROUNDS[2]), "mix2")
