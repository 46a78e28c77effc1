"""Drawing plant-leaf images: a background, one to three leaves, spots on the sick ones.

The look of the AN2DL 2023 plant images (96x96 crops of leaves, course material): a
soil, foliage or bench background and, near the middle, a leaf with a midrib and side
veins. The two classes of the `an2dl-2023-hw1` profile:

- healthy: leaves of an even green, a little lighter along the veins;
- unhealthy: the same leaves with brown, necrotic spots ringed with yellow, some
  yellowing of the blade, and sometimes a dry brown tip.

Every random choice comes from the `rng` passed in, so an image is a pure function of
its generator's state. Shapes are soft alpha masks over the pixel grid
(`canvas.Canvas`), as for the blood smears (`smear`), whose photographic finish (colour
jitter, blur, noise) and foreign pictures `synth` applies to both.
"""

from __future__ import annotations

import numpy as np

from harness.data.canvas import Canvas, clamp01, jitter

# Colours (RGB 0-255) before per-image jitter.
BACKGROUNDS = ((112, 92, 70), (70, 96, 62), (150, 150, 142), (92, 84, 78))
LEAF_GREEN = (66, 130, 48)
VEIN = (150, 190, 110)
SPOT_BROWN = (112, 74, 40)
HALO_YELLOW = (200, 190, 70)
DRY_TIP = (150, 118, 70)

KINDS = ("healthy", "unhealthy")



def _leaf(cv: Canvas, rng, cx, cy, length, width, angle):
    """A leaf's soft alpha and its own coordinates: u along it (-1 stem .. 1 tip), v across."""
    dx, dy = cv.x - cx, cv.y - cy
    c, s = np.cos(angle), np.sin(angle)
    u = (dx * c + dy * s) / (length * cv.unit)
    v = (-dx * s + dy * c) / (width * cv.unit)
    v = v - rng.uniform(-0.25, 0.25) * u * u  # a slight bend
    # Half-width along the leaf: broadest a little below the middle, pointed at the tip.
    half = np.sqrt(clamp01(1.0 - u * u)) * (1.0 - 0.35 * u)
    edge = (np.abs(v) - half) * width * cv.unit
    alpha = clamp01(0.5 - edge / (1.2 * cv.unit)) * (np.abs(u) < 1)
    return alpha.astype(np.float32), u, v


def _veins(u, v, alpha):
    """Alpha of the midrib and of side veins running out from it toward the tip."""
    midrib = np.exp(-(v / 0.05) ** 2)
    side = np.exp(-((np.abs(v) * 0.8 - (u - np.round(u * 4) / 4) * 3.0) / 0.08) ** 2)
    return clamp01((0.8 * midrib + 0.35 * side * (np.abs(v) < 0.9)) * alpha)


def _spots(cv: Canvas, rng, leaf_alpha, count):
    """Brown spots with yellow halos, scattered on the leaf."""
    ys, xs = np.nonzero(leaf_alpha > 0.9)
    if len(ys) == 0:
        return
    for _ in range(count):
        i = rng.integers(len(ys))
        cx, cy, r = float(xs[i]), float(ys[i]), rng.uniform(1.5, 5.0)
        win = cv.window(cx, cy, r * 2.5 + 2)
        if not win.x.size:
            continue
        y0, x0 = int(win.y[0, 0]), int(win.x[0, 0])
        inside = leaf_alpha[y0:y0 + win.h, x0:x0 + win.w]
        halo = win.blob(rng, cx, cy, r * 1.9, wobble=0.2, edge=2.0) * inside
        win.paint(halo * rng.uniform(0.4, 0.8), jitter(rng, HALO_YELLOW, 0.08))
        spot = win.blob(rng, cx, cy, r, wobble=0.25, edge=0.8) * inside
        win.paint(spot * rng.uniform(0.75, 1.0), jitter(rng, SPOT_BROWN, 0.12))


def draw_leaf(rng: np.random.Generator, kind: str, size: tuple[int, int] = (96, 96)) -> np.ndarray:
    """Draw one image of a leaf of class `kind` ("healthy" or "unhealthy").

    Args:
        rng: the source of every random choice.
        kind: one of `KINDS`.
        size: (height, width) in pixels; shapes scale with the height (1 unit = 1 px at 96).

    Returns:
        (height, width, 3) float32 RGB in 0..255, before blur and noise.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown leaf kind. Received: kind={kind!r}")
    cv = Canvas.blank(size, unit=size[0] / 96)
    cv.rgb[:] = jitter(rng, BACKGROUNDS[rng.integers(len(BACKGROUNDS))], 0.1)
    cv.rgb *= cv.texture(rng, 6, 0.12)[..., None]
    sick = kind == "unhealthy"
    leaves = rng.integers(1, 4)
    for k in range(leaves):
        main = k == leaves - 1  # the last, largest leaf lies on top, near the middle
        spread = 8 if main else 30
        cx = cv.w / 2 + rng.normal(0, spread) * cv.unit
        cy = cv.h / 2 + rng.normal(0, spread) * cv.unit
        length = rng.uniform(30, 44) if main else rng.uniform(18, 32)
        alpha, u, v = _leaf(cv, rng, cx, cy, length, length * rng.uniform(0.38, 0.55),
                            rng.uniform(0, 2 * np.pi))
        green = jitter(rng, LEAF_GREEN, 0.12)
        cv.paint(alpha, green * cv.texture(rng, 5, 0.08)[..., None])
        cv.paint(_veins(u, v, alpha), jitter(rng, VEIN, 0.06))
        if sick and (main or rng.uniform() < 0.5):
            yellowing = alpha * clamp01(cv.texture(rng, 3, 1.0) - 1.0) * rng.uniform(0.2, 0.6)
            cv.paint(yellowing, jitter(rng, HALO_YELLOW, 0.08))
            if rng.uniform() < 0.35:
                cv.paint(alpha * clamp01((u - rng.uniform(0.4, 0.7)) * 4),
                         jitter(rng, DRY_TIP, 0.08))
            _spots(cv, rng, alpha, rng.integers(3, 12) if main else rng.integers(1, 5))
    return cv.rgb


