"""Corruption families: shape, dtype, effect, determinism, registry errors."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.testset import corruptions


@pytest.fixture(scope="module")
def cells():
    """6 smooth random 96x96 images (blurry blobs, like cells more than like noise)."""
    from PIL import Image

    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(s).resize((96, 96), Image.BILINEAR))
                     for s in small])


@pytest.mark.parametrize("name", sorted(corruptions.FAMILIES))
def test_family_keeps_shape_and_dtype_and_changes_the_image(cells, name):
    family = corruptions.get_family(name)
    for severity in (family.severities[0], family.severities[-1]):
        out = corruptions.corrupt(cells, name, severity, seed=0)
        assert out.shape == cells.shape and out.dtype == np.uint8
        changed = (out != cells).any(axis=(1, 2, 3))
        if name == "clean":
            assert not changed.any()
        else:
            assert changed.all(), f"{name} s{severity} left an image unchanged"


def test_same_seed_same_bytes_other_seed_other_bytes(cells):
    a = corruptions.corrupt(cells, "overlay", 3, seed=5)
    b = corruptions.corrupt(cells, "overlay", 3, seed=5)
    c = corruptions.corrupt(cells, "overlay", 3, seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_severity_grows_the_change(cells):
    diffs = [np.abs(corruptions.corrupt(cells, "gaussian_noise", s).astype(int) - cells).mean()
             for s in (1, 3, 5)]
    assert diffs[0] < diffs[1] < diffs[2]


def _digest(images) -> str:
    digest = hashlib.sha256()
    for name, fam in sorted(corruptions.FAMILIES.items()):
        digest.update(corruptions.corrupt(images, name, fam.severities[-1], seed=3).tobytes())
    return digest.hexdigest()


def test_every_family_is_byte_identical_in_another_process(cells, tmp_path):
    np.save(tmp_path / "x.npy", cells)
    here = str(Path(__file__).parent)  # the session runs in a scratch folder
    code = (f"import sys, numpy as np; sys.path.insert(0, {here!r}); "
            "from test_corruptions import _digest; "
            f"print(_digest(np.load({str(tmp_path / 'x.npy')!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(cells)


def test_unknown_family_says_did_you_mean():
    with pytest.raises(HarnessError, match="unknown corruption family") as e:
        corruptions.get_family("gausian_noise")
    assert "gaussian_noise" in e.value.hint


@pytest.mark.parametrize("name,severity", [("clean", 1), ("jpeg", 0), ("jpeg", 6)])
def test_bad_severity_raises(cells, name, severity):
    with pytest.raises(HarnessError, match="has no severity"):
        corruptions.corrupt(cells, name, severity)
