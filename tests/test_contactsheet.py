"""Contact sheets: size of the grid, tiles drawn where they belong, limits, atomic writes."""

import numpy as np
import pytest
from PIL import Image

from harness.contactsheet import contact_sheet


def _solid(n, size=8):
    """n solid-colour tiles, tile i filled with value 10*i+5 in red, so each is findable."""
    images = np.zeros((n, size, size, 3), np.uint8)
    images[..., 0] = (np.arange(n) * 10 + 5)[:, None, None]
    return images


def test_grid_holds_every_tile(tmp_path):
    images = _solid(5)
    out = contact_sheet(images, tmp_path / "s.png", columns=2, scale=3)
    sheet = np.asarray(Image.open(out))
    reds = {int(v) for v in np.unique(sheet[..., 0][(sheet[..., 1] == 0) & (sheet[..., 2] == 0)])}
    assert {10 * i + 5 for i in range(5)} <= reds
    # Tile 0 is drawn 3x larger: a 24x24 block of its colour.
    ys, xs = np.nonzero((sheet[..., 0] == 5) & (sheet[..., 1] == 0))
    assert ys.max() - ys.min() + 1 == 24 and xs.max() - xs.min() + 1 == 24


def test_captions_and_title_add_height(tmp_path):
    images = _solid(4)
    plain = Image.open(contact_sheet(images, tmp_path / "a.png", columns=4))
    captioned = Image.open(contact_sheet(images, tmp_path / "b.png", columns=4,
                                         captions=[f"#{i} y={i}" for i in range(4)],
                                         title="four tiles"))
    assert captioned.height > plain.height
    assert captioned.width == plain.width


def test_max_images_caps_tiles(tmp_path):
    images = _solid(20)
    out = contact_sheet(images, tmp_path / "s.png", columns=5, max_images=10, title="cap")
    sheet = np.asarray(Image.open(out))
    reds = set(np.unique(sheet[..., 0][(sheet[..., 1] == 0) & (sheet[..., 2] == 0)]).tolist())
    assert 95 in reds and 105 not in reds  # tile 9 drawn, tile 10 left out


def test_empty_and_grey_inputs(tmp_path):
    assert contact_sheet(np.zeros((0, 8, 8, 3), np.uint8), tmp_path / "e.png", title="none").exists()
    assert Image.open(contact_sheet(np.zeros((2, 8, 8), np.uint8), tmp_path / "g.png")).mode == "RGB"


@pytest.mark.parametrize("images, captions", [
    (np.zeros((2, 8, 8, 3), np.float32), None),
    (np.zeros((2, 8, 8, 4), np.uint8), None),
    (np.zeros((2, 8, 8, 3), np.uint8), ["only one"]),
])
def test_bad_input_writes_nothing(tmp_path, images, captions):
    with pytest.raises(ValueError):
        contact_sheet(images, tmp_path / "bad.png", captions=captions)
    assert list(tmp_path.iterdir()) == []
