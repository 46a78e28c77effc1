"""Contact sheets: a grid of images as one PNG, for a person to look at.

Every command that makes a claim about images (what `data synth` draws, which images
hygiene flags, what a test-set recipe does to a cell) backs it with a sheet: the images
as tiles, a short caption under each, a title line on top. Pillow only, so it works in
any environment the harness runs in.

Examples:
    >>> import tempfile
    >>> import numpy as np
    >>> imgs = np.zeros((3, 96, 96, 3), np.uint8)
    >>> folder = Path(tempfile.mkdtemp())  # examples write nowhere else
    >>> contact_sheet(imgs, folder / "sheet.png", captions=["#0 y=1", "#1 y=4", "#2 y=7"],
    ...               title="three black squares").name
    'sheet.png'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from harness.fsutil import atomic_path

BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)
FONT_SIZE = 11
PAD = 2  # pixels between tiles and around text


def _font(size: int):
    # Pillow >= 10.1 ships a scalable default font; older ones fall back to a bitmap font.
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text` cut (with an ellipsis) so it is at most `width` pixels wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Split `text` into lines at spaces so each is at most `width` pixels wide."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and draw.textlength(candidate, font=font) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(_fit(draw, line, font, width))
    return lines


def _as_rgb(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:  # (N, H, W) grey
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W, 3), (N, H, W, 1) or (N, H, W). "
                         f"Received: shape={images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8. Received: dtype={images.dtype}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def contact_sheet(images, path: str | os.PathLike, captions: Sequence[str] | None = None,
                  columns: int = 16, scale: int = 1, title: str | None = None,
                  max_images: int = 256) -> Path:
    """Write a grid of images, with a caption under each and a title on top, as a PNG.

    Only the first `max_images` images are drawn; the title then says how many were
    left out, so a sheet never claims to show more than it does. The file is written
    atomically.

    Args:
        images: (N, H, W, 3) uint8 (also (N, H, W, 1) or (N, H, W) grey). N may be 0:
            the sheet then holds the title and "(no images)".
        path: the PNG to write.
        captions: one short string per image (e.g. "#123 y=4"), or None for no captions.
            Captions wider than a tile are cut with an ellipsis; "\\n" makes a second line.
        columns: tiles per row (fewer when there are fewer images).
        scale: whole-number enlargement of every tile (nearest neighbour, so pixels stay
            visible).
        title: a line above the grid, or None.
        max_images: most tiles drawn.

    Returns:
        The path written.

    Raises:
        ValueError: images of the wrong shape or dtype, or captions of the wrong length.
    """
    images = _as_rgb(images)
    if captions is not None and len(captions) != len(images):
        raise ValueError(f"captions must be one per image. "
                         f"Received: {len(captions)} captions, {len(images)} images")
    if columns < 1 or scale < 1 or max_images < 0:
        raise ValueError(f"columns and scale must be >= 1, max_images >= 0. "
                         f"Received: columns={columns}, scale={scale}, max_images={max_images}")
    n_total = len(images)
    shown = images[:max_images]
    captions = list(captions[:max_images]) if captions is not None else None
    left_out = n_total - len(shown)

    # An empty sheet still gets a tile's room for its note; any size would do.
    tile_h, tile_w = (images.shape[1] * scale, images.shape[2] * scale) if n_total else (96, 96)
    cols = max(1, min(columns, len(shown)))
    rows = -(-len(shown) // cols) if len(shown) else 0
    font = _font(FONT_SIZE)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = FONT_SIZE + 3
    caption_lines = max((c.count("\n") + 1 for c in captions), default=0) if captions else 0
    cell_w, cell_h = tile_w + PAD, tile_h + PAD + caption_lines * line_h
    width = max(cols * cell_w + PAD, 240)

    header = title or ""
    if left_out:
        header += f"{' ' if header else ''}(showing {len(shown)} of {n_total}; {left_out} left out)"
    if not n_total:
        header += f"{' ' if header else ''}(no images)"
    title_lines = _wrap(probe, header, font, width - 2 * PAD) if header else []
    top = len(title_lines) * line_h + (PAD if title_lines else 0)

    sheet = Image.new("RGB", (width, top + rows * cell_h + PAD), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, line in enumerate(title_lines):
        draw.text((PAD, PAD + i * line_h), line, fill=TEXT, font=font)
    for i, image in enumerate(shown):
        x = PAD + (i % cols) * cell_w
        y = top + PAD + (i // cols) * cell_h
        tile = Image.fromarray(np.ascontiguousarray(image))
        if scale > 1:
            tile = tile.resize((tile_w, tile_h), Image.NEAREST)
        sheet.paste(tile, (x, y))
        if captions:
            for j, line in enumerate(str(captions[i]).split("\n")):
                draw.text((x, y + tile_h + j * line_h), _fit(draw, line, font, tile_w),
                          fill=TEXT, font=font)
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return Path(path)
