"""A phase's input data corrupted with a harness recipe: same names, same modes, grey and
tiny images, deterministic, training images and other files untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from harness.bundles import corrupt_input_data
from harness.errors import HarnessError
from harness.jsonable import to_jsonable


def _png(path, array, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)


@pytest.fixture
def folder(tmp_path):
    """Tiny input data: grey and RGB 28x28 PNGs, an RGBA, a JPEG, labels, train images."""
    rng = np.random.default_rng(0)
    src = tmp_path / "input_data"
    for i in range(6):
        _png(src / "test" / f"grey_{i}.png", rng.integers(0, 256, (28, 28), dtype=np.uint8), "L")
    _png(src / "test" / "colour.png", rng.integers(0, 256, (28, 28, 3), dtype=np.uint8), "RGB")
    _png(src / "test" / "alpha.png", rng.integers(0, 256, (28, 28, 4), dtype=np.uint8), "RGBA")
    Image.fromarray(rng.integers(0, 256, (32, 30, 3), dtype=np.uint8)).save(
        src / "test" / "photo.jpg", quality=95)
    _png(src / "train_data" / "t0.png", rng.integers(0, 256, (28, 28), dtype=np.uint8), "L")
    (src / "labels.csv").write_text("name,label\ngrey_0.png,3\n")
    return src


def test_images_are_corrupted_under_the_same_names_and_modes(folder, tmp_path):
    manifest = corrupt_input_data(folder, tmp_path / "out", recipe="pp", seed=3)
    out = tmp_path / "out"
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == \
        sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    changed = 0
    for rel in manifest.chains:
        before, after = Image.open(folder / rel), Image.open(out / rel)
        assert (after.mode, after.size, after.format) == (before.mode, before.size, before.format)
        changed += not np.array_equal(np.asarray(before), np.asarray(after))
    assert manifest.corrupted == 9 and changed == 9 and manifest.grey == 6
    # Alpha rides along unchanged; labels and training images are copied byte for byte.
    assert np.array_equal(np.asarray(Image.open(out / "test/alpha.png"))[..., 3],
                          np.asarray(Image.open(folder / "test/alpha.png"))[..., 3])
    for rel in ("labels.csv", "train_data/t0.png"):
        assert (out / rel).read_bytes() == (folder / rel).read_bytes()
    assert manifest.kept == {"labels.csv": "not an image",
                             "train_data/t0.png": "training data: kept clean"}
    assert manifest.recipe.startswith("pp@2") and not manifest.skipped_families["colour"]
    # Colour families leave grey pictures as they were: grey chains do without them.
    assert manifest.skipped_families["grey"] == {"stain_color": "no effect on grey images",
                                                 "saturation": "no effect on grey images"}
    assert not any(f in chain for f in ("stain_color", "saturation")
                   for rel, chain in manifest.chains.items() if "grey" in rel)
    json.dumps(to_jsonable(manifest))


def test_same_seed_same_bytes_other_seed_other_views(folder, tmp_path):
    a = corrupt_input_data(folder, tmp_path / "a", seed=1)
    b = corrupt_input_data(folder, tmp_path / "b", seed=1)
    c = corrupt_input_data(folder, tmp_path / "c", seed=2)
    assert a.chains == b.chains and a.chains != c.chains
    for rel in a.chains:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_a_single_family_recipe_gives_one_family_per_image(folder, tmp_path):
    manifest = corrupt_input_data(folder, tmp_path / "out", recipe="pp@1", seed=0)
    assert all(len(chain.split(">")) == 1 and ":" in chain
               for chain in manifest.chains.values())


def test_families_too_big_for_the_images_are_skipped_with_the_reason(tmp_path):
    src = tmp_path / "tiny"
    for i in range(3):
        _png(src / f"{i}.png", np.full((7, 9), 40 * i, np.uint8), "L")
    manifest = corrupt_input_data(src, tmp_path / "out", seed=0)
    assert "fails on 9x7 images" in manifest.skipped_families["grey"]["occlusion"]
    assert "occlusion" not in manifest.families["grey"] and manifest.corrupted == 3
    assert all("occlusion" not in chain for chain in manifest.chains.values())


def test_refusals_write_nothing(tmp_path, folder):
    (tmp_path / "exists").mkdir()
    with pytest.raises(HarnessError, match="exists"):
        corrupt_input_data(folder, tmp_path / "exists")
    tabular = tmp_path / "tabular"
    tabular.mkdir()
    (tabular / "x.csv").write_text("1,2\n")
    with pytest.raises(HarnessError, match="no PNG or JPEG test image"):
        corrupt_input_data(tabular, tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_mini_mnist_test_images_corrupted_training_kept(shared_bundles, tmp_path):
    src = shared_bundles / "Mini-MNIST" / "Mini-MNIST-Bundle" / "input_data"
    manifest = corrupt_input_data(src, tmp_path / "input_data", seed=0)
    assert (manifest.images, manifest.corrupted, manifest.grey) == (250, 50, 50)
    # Every family but the two colour ones changes 28x28 grey digits.
    assert set(manifest.skipped_families["grey"]) == {"stain_color", "saturation"}
    assert all(rel.startswith("test_data/") for rel in manifest.chains)
    assert (tmp_path / "input_data" / "train_labels.csv").read_bytes() == \
        (src / "train_labels.csv").read_bytes()
