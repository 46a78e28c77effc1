"""Drawing blood-smear-like images: background, red cells, one white cell per class.

Each image is a pale pinkish field with several red-cell discs (pale centres) and, on
top, one white cell (or a cluster of platelets) near the middle, with its class's
nucleus shape, size, colour and granules (after May-Grünwald-Giemsa stained smears,
the look of the PBC/BloodMNIST images):

- basophil: dark purple-blue granules over the whole cell, hiding the nucleus;
- eosinophil: bilobed nucleus, cytoplasm packed with orange-red granules;
- erythroblast: small cell, small round very dense nucleus, reddish cytoplasm;
- immature granulocyte: large cell, large round-oval paler nucleus, a few granules;
- lymphocyte: small cell, large round dense nucleus, thin rim of blue cytoplasm;
- monocyte: large cell, folded kidney-shaped nucleus, grey-blue cytoplasm, vacuoles;
- neutrophil: 3-5 purple lobes joined by strands, faint lilac granules;
- platelet: several small purple fragments, no large cell.

Every random choice comes from the `rng` passed in, so an image is a pure function of
its generator's state. Drawing is vectorised over the pixel grid: each shape is a soft
alpha mask computed from coordinate arrays (`canvas.Canvas`), painted over the canvas.

Also here: the two foreign pictures (`foreign_picture`) that `harness.data.synth` blends
over cells to imitate the course file's "meme" images.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from harness.data.canvas import Canvas, jitter

# Stain colours (RGB 0-255) before per-image jitter.
BACKGROUND = (233, 216, 214)
RED_CELL = (222, 146, 150)
NUCLEUS = (98, 52, 142)
DENSE_NUCLEUS = (62, 30, 98)
PALE_NUCLEUS = (146, 102, 176)
LILAC = (220, 196, 220)
BLUE_RIM = (166, 182, 228)
GREY_BLUE = (190, 188, 214)
ORANGE = (226, 120, 72)
BASO_GRANULE = (64, 38, 112)
REDDISH = (214, 150, 168)
PLATELET = (152, 96, 178)
NEUTROPHIL_GRANULE = (180, 130, 190)
EOSINOPHIL_CYTOPLASM = (226, 190, 190)
BASOPHIL_CYTOPLASM = (200, 180, 214)
VACUOLE = (236, 230, 240)
MONOCYTE_NUCLEUS = (126, 84, 164)
IG_CYTOPLASM = (206, 178, 214)
IG_GRANULE = (120, 60, 140)
POLYCHROMATIC = (178, 150, 196)
ERYTHROBLAST_NUCLEUS = (48, 22, 64)
PLATELET_BODY = (196, 160, 212)

FOREIGN_PICTURES = ("cartoon_face", "poster")



def _at(cx, cy, angle, unit, px, py):
    """Image position of the cell-local point (px, py) for a cell at (cx, cy), rotated."""
    c, s = np.cos(angle), np.sin(angle)
    return cx + (px * c - py * s) * unit, cy + (px * s + py * c) * unit


def _cell_body(cv, rng, cx, cy, radius, color, wobble=0.05):
    body = cv.blob(rng, cx, cy, radius, wobble=wobble)
    cv.paint(body * 0.92, jitter(rng, color) * cv.texture(rng, 6, 0.03)[..., None])
    return body


def _nucleus(cv, rng, alpha, color, density=0.95, chromatin=0.12):
    # Chromatin: a finer random texture, darker clumps inside the nucleus.
    shade = cv.texture(rng, 14, chromatin)[..., None]
    cv.paint(alpha * density, np.clip(jitter(rng, color) * shade, 0, 255))


def _union(*alphas):
    return np.maximum.reduce(alphas)


def _neutrophil(cv, rng, cx, cy, angle, k):
    body = _cell_body(cv, rng, cx, cy, 20 * k, LILAC)
    cv.paint(cv.granules(rng, body, 90, 0.55) * 0.35, jitter(rng, NEUTROPHIL_GRANULE))
    n = rng.integers(3, 6)
    span = rng.uniform(2.6, 3.8)
    bend = rng.uniform(3.5, 9) * k
    lobes, centres = [], []
    for t in np.linspace(-span / 2, span / 2, n):
        px, py = bend * np.sin(t) * 1.3, bend * (1 - np.cos(t)) - bend * 0.6
        gx, gy = _at(cx, cy, angle, cv.unit, px, py)
        centres.append((gx, gy))
        lobes.append(cv.ellipse(gx, gy, rng.uniform(4.2, 5.6) * k, rng.uniform(3.4, 4.4) * k,
                                angle + rng.uniform(0, np.pi)))
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        half = np.hypot(x1 - x0, y1 - y0) / 2 / cv.unit
        lobes.append(cv.ellipse((x0 + x1) / 2, (y0 + y1) / 2, max(half, 0.5), 1.3 * k,
                                np.arctan2(y1 - y0, x1 - x0)))
    _nucleus(cv, rng, _union(*lobes), NUCLEUS)


def _eosinophil(cv, rng, cx, cy, angle, k):
    body = _cell_body(cv, rng, cx, cy, 20.5 * k, EOSINOPHIL_CYTOPLASM)
    gap = rng.uniform(5.0, 7.0) * k
    lobes = []
    for side in (-1, 1):
        gx, gy = _at(cx, cy, angle, cv.unit, side * gap, rng.uniform(-1.5, 1.5))
        lobes.append(cv.ellipse(gx, gy, rng.uniform(5.8, 7.2) * k, rng.uniform(4.6, 5.8) * k,
                                angle + np.pi / 2 + rng.normal(0, 0.3)))
    lobes.append(cv.ellipse(cx, cy, gap, 1.6 * k, angle))
    nucleus = _union(*lobes)
    cytoplasm = body * (1 - nucleus)
    cv.paint(cv.granules(rng, cytoplasm, rng.integers(220, 440), 0.75) * 0.85,
             jitter(rng, ORANGE, 0.1))
    _nucleus(cv, rng, nucleus, NUCLEUS, density=0.9)


def _basophil(cv, rng, cx, cy, angle, k):
    body = _cell_body(cv, rng, cx, cy, 17.5 * k, BASOPHIL_CYTOPLASM)
    gx, gy = _at(cx, cy, angle, cv.unit, rng.uniform(-2, 2), rng.uniform(-2, 2))
    nucleus = cv.blob(rng, gx, gy, rng.uniform(8, 11) * k, wobble=0.25)
    _nucleus(cv, rng, nucleus, PALE_NUCLEUS, density=0.75)
    granules = cv.granules(rng, body, rng.integers(30, 130), 1.1)
    cv.paint(granules * 0.95, jitter(rng, BASO_GRANULE, 0.06))


def _lymphocyte(cv, rng, cx, cy, angle, k):
    # Small lymphocytes with a thin rim, and a few large ones with more cytoplasm.
    radius = rng.uniform(12.5, 15.5) * k if rng.uniform() < 0.8 else rng.uniform(15, 19) * k
    _cell_body(cv, rng, cx, cy, radius, BLUE_RIM, wobble=0.04)
    gx, gy = _at(cx, cy, angle, cv.unit, rng.uniform(0.5, 2.0), 0)
    nucleus = cv.blob(rng, gx, gy, radius * rng.uniform(0.66, 0.86), wobble=0.06)
    _nucleus(cv, rng, nucleus, DENSE_NUCLEUS, density=rng.uniform(0.88, 0.97), chromatin=0.18)


def _monocyte(cv, rng, cx, cy, angle, k):
    radius = rng.uniform(21, 27) * k
    body = _cell_body(cv, rng, cx, cy, radius, GREY_BLUE, wobble=0.09)
    for _ in range(rng.integers(0, 5)):
        vx, vy = _at(cx, cy, rng.uniform(0, 2 * np.pi), cv.unit, rng.uniform(0.5, 0.8) * radius, 0)
        size = rng.uniform(1.2, 2.4, 2) * k
        cv.paint(cv.ellipse(vx, vy, *size) * body * 0.6, VACUOLE)
    a, b = rng.uniform(12, 15) * k, rng.uniform(8, 10) * k
    gx, gy = _at(cx, cy, angle, cv.unit, 0, -2.5 * k)
    kidney = cv.ellipse(gx, gy, a, b, angle)
    nx, ny = _at(cx, cy, angle, cv.unit, rng.uniform(-2, 2), b)
    # Some monocytes are barely folded: an oval nucleus, like an immature granulocyte's.
    notch = cv.ellipse(nx, ny, rng.uniform(3, 7) * k, rng.uniform(2.5, 6) * k, angle)
    _nucleus(cv, rng, kidney * (1 - notch), MONOCYTE_NUCLEUS, density=0.88, chromatin=0.2)


def _immature_granulocyte(cv, rng, cx, cy, angle, k):
    radius = rng.uniform(19, 25) * k
    body = _cell_body(cv, rng, cx, cy, radius, IG_CYTOPLASM, wobble=0.06)
    gx, gy = _at(cx, cy, angle, cv.unit, rng.uniform(2, 5) * k, 0)
    a, b = radius * rng.uniform(0.58, 0.68), radius * rng.uniform(0.48, 0.56)
    nucleus = cv.ellipse(gx, gy, a, b, angle)
    if rng.uniform() < 0.35:
        # Metamyelocytes: the nucleus starts to indent, kidney-like, as in a monocyte.
        nx, ny = _at(gx, gy, angle, cv.unit, 0, b + 1.5 * k)
        nucleus = nucleus * (1 - cv.ellipse(nx, ny, rng.uniform(4, 6) * k, rng.uniform(3, 5) * k,
                                            angle))
    granules = cv.granules(rng, body * (1 - nucleus), rng.integers(20, 60), 0.7)
    cv.paint(granules * 0.7, jitter(rng, IG_GRANULE))
    _nucleus(cv, rng, nucleus, PALE_NUCLEUS, density=0.85, chromatin=0.14)


def _erythroblast(cv, rng, cx, cy, angle, k):
    radius = rng.uniform(12, 16) * k
    polychromasia = rng.uniform(0, 1)
    tint = (1 - polychromasia) * np.array(REDDISH) + polychromasia * np.array(POLYCHROMATIC)
    _cell_body(cv, rng, cx, cy, radius, tint, wobble=0.04)
    gx, gy = _at(cx, cy, angle, cv.unit, rng.uniform(0, 3) * k, 0)
    nucleus = cv.blob(rng, gx, gy, radius * rng.uniform(0.5, 0.68), wobble=0.03, edge=0.8)
    _nucleus(cv, rng, nucleus, ERYTHROBLAST_NUCLEUS, density=0.99, chromatin=0.08)


def _platelet(cv, rng, cx, cy, angle, k):
    for _ in range(rng.integers(3, 8)):
        px, py = rng.normal(0, 7 * k, 2)
        gx, gy = _at(cx, cy, angle, cv.unit, px, py)
        a, b = rng.uniform(2.2, 4.2) * k, rng.uniform(1.8, 3.2) * k
        win = cv.window(gx, gy, 5 * k)
        frag = win.ellipse(gx, gy, a, b, rng.uniform(0, np.pi), edge=0.9)
        win.paint(frag * 0.75, jitter(rng, PLATELET_BODY))
        win.paint(win.granules(rng, frag, 6, 0.5) * frag, jitter(rng, PLATELET))


# Each drawer paints one cell onto a canvas window: (canvas, rng, centre x, centre y,
# rotation in radians, size factor k); lengths are in units of a 96-pixel image times k.
DRAWERS = {
    "basophil": _basophil,
    "eosinophil": _eosinophil,
    "erythroblast": _erythroblast,
    "immature granulocytes": _immature_granulocyte,
    "lymphocyte": _lymphocyte,
    "monocyte": _monocyte,
    "neutrophil": _neutrophil,
    "platelet": _platelet,
}


def _red_cells(cv, rng, count):
    colour = jitter(rng, RED_CELL, 0.05)
    for _ in range(count):
        cx, cy = rng.uniform(-0.1, 1.1) * cv.w, rng.uniform(-0.1, 1.1) * cv.h
        r = rng.uniform(10, 13.5)
        win = cv.window(cx, cy, r * 1.2 + 1)
        disc = win.blob(rng, cx, cy, r, wobble=0.04, edge=1.2)
        dist = np.hypot(win.x - cx, win.y - cy) / (r * cv.unit)
        # Biconcave: darker rim, pale centre.
        win.paint(disc * (0.35 + 0.5 * np.clip(dist, 0, 1) ** 2), colour)


def draw_cell(rng: np.random.Generator, kind: str, size: tuple[int, int] = (96, 96)) -> np.ndarray:
    """Draw one smear image with a white cell of class `kind` near the middle.

    Args:
        rng: the source of every random choice.
        kind: a key of `DRAWERS` (lower-case class name).
        size: (height, width) in pixels; shapes scale with the height (1 unit = 1 px at 96).

    Returns:
        (height, width, 3) float32 RGB in 0..255, before blur and noise.
    """
    cv = Canvas.blank(size, unit=size[0] / 96)
    cv.rgb[:] = jitter(rng, BACKGROUND, 0.025)
    cv.rgb *= cv.texture(rng, 4, 0.02)[..., None]
    _red_cells(cv, rng, rng.integers(3, 9) + (3 if kind == "platelet" else 0))
    cx = cv.w / 2 + rng.normal(0, 8) * cv.unit
    cy = cv.h / 2 + rng.normal(0, 8) * cv.unit
    scale = rng.uniform(0.8, 1.2)
    DRAWERS[kind](cv.window(cx, cy, 36 * scale), rng, cx, cy, rng.uniform(0, 2 * np.pi), scale)
    # In a smear some red cells lie over the white one.
    _red_cells(cv, rng, rng.integers(0, 2))
    return cv.rgb


def finish(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    """Stain-colour jitter, focus blur and noise on a float batch; return uint8.

    Most images are mildly soft; about a quarter are out of focus, which hides
    granules and chromatin: the cases where even a good model hesitates.

    Args:
        rng: the source of every random choice.
        images: (N, H, W, 3) float32 in 0..255.
    """
    n = len(images)
    gain = rng.normal(1.0, 0.06, (n, 1, 1, 3)).astype(np.float32)
    offset = rng.normal(0.0, 6.0, (n, 1, 1, 1)).astype(np.float32)
    contrast = rng.uniform(0.75, 1.1, (n, 1, 1, 1)).astype(np.float32)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    out = (images - mean) * contrast + mean * gain + offset
    # focus 0..1 blends toward a sigma-1.1 blur, 1..2 on toward a sigma-2.3 blur.
    focus = np.where(rng.uniform(size=n) < 0.25, rng.uniform(1, 2, n), rng.uniform(0, 1, n))
    focus = focus.astype(np.float32)[:, None, None, None]
    soft = gaussian_filter(out, sigma=(0, 1.1, 1.1, 0), truncate=2.5)
    out += np.minimum(focus, 1) * (soft - out)
    far = np.flatnonzero(focus > 1)  # blur further only those out of focus
    if len(far):
        blurred = gaussian_filter(soft[far], sigma=(0, 2.0, 2.0, 0), truncate=2.5)
        out[far] += (focus[far] - 1) * (blurred - soft[far])
    noise = rng.uniform(1.0, 7.0, (n, 1, 1, 1)).astype(np.float32)
    out += rng.standard_normal(out.shape, dtype=np.float32) * noise
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def foreign_picture(name: str, size: tuple[int, int] = (96, 96)) -> np.ndarray:
    """One of the two fixed pictures that are clearly not cells, as float32 RGB.

    "cartoon_face": a green cartoon face with ears on a sky-blue ground;
    "poster": bold coloured stripes with rows of black text-like blocks.
    """
    cv = Canvas.blank(size, unit=size[0] / 96)
    u = cv.unit
    if name == "cartoon_face":
        cv.rgb[:] = (110, 170, 230)
        for side in (-1, 1):
            cv.paint(cv.ellipse(48 * u + side * 36 * u, 40 * u, 8, 12, side * 0.5), (120, 160, 60))
        cv.paint(cv.ellipse(48 * u, 52 * u, 34, 38), (130, 180, 70))
        for side in (-1, 1):
            cv.paint(cv.ellipse(48 * u + side * 13 * u, 42 * u, 8, 6), (250, 250, 250))
            cv.paint(cv.ellipse(48 * u + side * 12 * u, 43 * u, 3, 3), (20, 20, 20))
        mouth = cv.ellipse(48 * u, 66 * u, 16, 9) * (1 - cv.ellipse(48 * u, 61 * u, 17, 8))
        cv.paint(mouth, (150, 30, 40))
        cv.paint(cv.ellipse(48 * u, 55 * u, 4, 3), (95, 140, 50))
    elif name == "poster":
        stripe = ((cv.y // (12 * u)) % 3).astype(int)
        cv.rgb[:] = np.array([(240, 200, 30), (30, 40, 160), (240, 240, 240)], np.float32)[stripe]
        rows = (cv.y % (12 * u) > 3 * u) & (cv.y % (12 * u) < 8 * u)
        words = np.sin(cv.x * 0.9 / u) + np.sin(cv.x * 0.37 / u + cv.y * 0.2 / u) > -0.3
        words &= (cv.x > 8 * u) & (cv.x < 88 * u)
        cv.paint((rows & words).astype(np.float32), (15, 15, 15))
        cv.paint(cv.ellipse(70 * u, 60 * u, 14, 20), (200, 60, 50))
    else:
        raise ValueError(f"unknown foreign picture. Received: name={name!r}")
    return cv.rgb
