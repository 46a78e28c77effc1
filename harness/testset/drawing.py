"""Things drawn onto images: foreign pictures, stain deposits, air bubbles.

Drawing is PIL's job (ImageDraw in C is about 10x faster here than full-frame numpy
masks); each function loops over images, with every random parameter sampled
beforehand by the matching `sample_*` function, so drawing itself is deterministic.
Layers with opacity are drawn on a transparent RGBA layer and alpha-composited.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> draw_pictures(sample_pictures(2, rng, (96, 96, 3)), (96, 96, 3)).shape
    (2, 96, 96, 3)
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from harness.imageops import to_uint8


def _box(cy, cx, ry, rx):
    return (float(cx - rx), float(cy - ry), float(cx + rx), float(cy + ry))


def _rgba(color, opacity=1.0):
    return tuple(int(v) for v in np.clip(np.rint(color), 0, 255)) + (int(round(255 * opacity)),)


def _composite(x: np.ndarray, draw_layer) -> np.ndarray:
    """Alpha-composite one drawn RGBA layer per image over float images."""
    h, w = x.shape[1:3]
    out = np.empty(x.shape, np.float32)
    for i, img in enumerate(to_uint8(x)):
        layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw_layer(ImageDraw.Draw(layer), i)
        base = Image.fromarray(img).convert("RGBA")
        out[i] = np.asarray(Image.alpha_composite(base, layer).convert("RGB"))
    return out


def sample_pictures(n: int, rng: np.random.Generator, shape, shapes: int = 6) -> dict:
    """Parameters of `n` foreign pictures (see `draw_pictures`)."""
    h, w = shape[:2]
    return {"bg": rng.uniform(0, 255, (2, n, 3)), "bg_angle": rng.uniform(0, 2 * np.pi, n),
            "rect": rng.random((n, shapes)) < 0.5,
            "cy": rng.uniform(0, h, (n, shapes)), "cx": rng.uniform(0, w, (n, shapes)),
            "ry": rng.uniform(4, h / 3, (n, shapes)), "rx": rng.uniform(4, w / 3, (n, shapes)),
            "angle": rng.uniform(0, np.pi, (n, shapes)),
            "color": rng.uniform(0, 255, (n, shapes, 3)),
            "face": rng.random(n) < 0.5,
            "face_color": rng.uniform([60, 120, 20], [160, 220, 90], (n, 3)),
            "face_c": rng.uniform([0.35 * h, 0.35 * w], [0.65 * h, 0.65 * w], (n, 2)),
            "face_r": rng.uniform(0.25 * h, 0.4 * h, n)}


def draw_pictures(p: dict, shape) -> np.ndarray:
    """Draw foreign pictures: a colour gradient, coloured shapes, often a cartoon face.

    They stand in for the meme pictures found blended into the course's data (a green
    cartoon face among them) without shipping anyone's picture.

    Returns:
        (n, H, W, 3) float32.
    """
    h, w = shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = p["bg_angle"].astype(np.float32)[:, None, None]
    t = (xs * np.cos(angle) + ys * np.sin(angle)) / np.float32(np.hypot(h, w)) + 0.5
    c0, c1 = (p["bg"][k].astype(np.float32)[:, None, None, :] for k in (0, 1))
    background = to_uint8(c0 + t[..., None] * (c1 - c0))
    out = np.empty((len(background), h, w, 3), np.float32)
    for i, bg in enumerate(background):
        pic = Image.fromarray(bg)
        d = ImageDraw.Draw(pic)
        for j in range(p["cy"].shape[1]):
            cy, cx, ry, rx, a = (p[k][i, j] for k in ("cy", "cx", "ry", "rx", "angle"))
            fill = _rgba(p["color"][i, j])[:3]
            if p["rect"][i, j]:
                corners = np.array([[-rx, -ry], [rx, -ry], [rx, ry], [-rx, ry]])
                rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                d.polygon([tuple(v) for v in corners @ rot.T + [cx, cy]], fill=fill)
            else:
                d.ellipse(_box(cy, cx, ry, rx), fill=fill)
        if p["face"][i]:
            (fy, fx), r = p["face_c"][i], p["face_r"][i]
            d.ellipse(_box(fy, fx, r, 0.85 * r), fill=_rgba(p["face_color"][i])[:3])
            for side in (-1, 1):
                ey, ex = fy - 0.25 * r, fx + side * 0.35 * r
                d.ellipse(_box(ey, ex, 0.18 * r, 0.14 * r), fill=(255, 255, 255))
                d.ellipse(_box(ey, ex, 0.08 * r, 0.07 * r), fill=(0, 0, 0))
            d.ellipse(_box(fy + 0.4 * r, fx, 0.1 * r, 0.45 * r), fill=(0, 0, 0))
        out[i] = np.asarray(pic)
    return out


def sample_deposits(n: int, rng: np.random.Generator, shape, count: int, radius: float) -> dict:
    """Parameters of `count` dark purple dye blots per image, up to `radius` px."""
    h, w = shape[:2]
    return {"cy": rng.uniform(0, h, (n, count)), "cx": rng.uniform(0, w, (n, count)),
            "ry": rng.uniform(0.8, radius, (n, count)), "rx": rng.uniform(0.8, radius, (n, count)),
            "color": np.array([75, 30, 95]) + rng.uniform(-25, 25, (n, count, 3)),
            "opacity": rng.uniform(0.6, 0.95, (n, count))}


def draw_deposits(x: np.ndarray, p: dict) -> np.ndarray:
    """Draw sampled stain deposits over float images."""
    def layer(d, i):
        for j in range(p["cy"].shape[1]):
            d.ellipse(_box(p["cy"][i, j], p["cx"][i, j], p["ry"][i, j], p["rx"][i, j]),
                      fill=_rgba(p["color"][i, j], p["opacity"][i, j]))
    return _composite(x, layer)


def sample_bubbles(n: int, rng: np.random.Generator, shape, count: int, radius: float) -> dict:
    """Parameters of `count` air bubbles per image, radius radius/2..radius px."""
    h, w = shape[:2]
    return {"cy": rng.uniform(0, h, (n, count)), "cx": rng.uniform(0, w, (n, count)),
            "r": rng.uniform(0.5 * radius, radius, (n, count)),
            "rim": rng.integers(2, 4, (n, count))}


def draw_bubbles(x: np.ndarray, p: dict) -> np.ndarray:
    """Draw sampled bubbles: a bright disc, a dark rim, a glint."""
    def layer(d, i):
        for j in range(p["cy"].shape[1]):
            cy, cx, r = p["cy"][i, j], p["cx"][i, j], p["r"][i, j]
            d.ellipse(_box(cy, cx, r, r), fill=(250, 250, 250, 76),
                      outline=(60, 60, 60, 153), width=int(p["rim"][i, j]))
            d.ellipse(_box(cy - 0.4 * r, cx - 0.4 * r, 0.15 * r, 0.25 * r),
                      fill=(255, 255, 255, 204))
    return _composite(x, layer)
