"""harness.data.importing: a course's npz of its own layout, made the competition's npz."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import load_dataset
from harness.data.importing import import_data, import_npz
from harness.errors import HarnessError
from harness.profile import get_profile

PLANTS = get_profile("an2dl-2023-hw1")


@pytest.fixture
def public_data(tmp_path):
    """The 2023 course's layout: float pixels under 'data', string labels (objects)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 96, 96, 3)).astype(np.float32)
    labels = np.array(["healthy", "unhealthy", "Healthy"] * 4, dtype=object)
    np.savez(tmp_path / "public_data.npz", data=images, labels=labels)
    return tmp_path / "public_data.npz", images, labels


def test_the_2023_layout_imports_under_its_profile(public_data, tmp_path):
    path, images, labels = public_data
    result = import_npz(path, tmp_path / "out.npz", PLANTS, allow_pickle=True)
    ds = load_dataset(tmp_path / "out.npz", PLANTS)
    assert np.array_equal(ds.images, images.astype(np.uint8))
    assert ds.labels.tolist() == [0, 1, 0] * 4
    assert result.per_class == {"healthy": 8, "unhealthy": 4}
    assert any("string labels mapped" in n for n in result.notes)


def test_a_pickled_labels_array_needs_the_users_word(public_data, tmp_path):
    with pytest.raises(HarnessError, match="holds Python objects") as e:
        import_npz(public_data[0], tmp_path / "out.npz", PLANTS)
    assert "--allow-pickle" in e.value.hint and not (tmp_path / "out.npz").exists()


def test_unknown_label_names_and_missing_keys_are_one_line(tmp_path):
    images = np.zeros((2, 96, 96, 3), np.uint8)
    np.savez(tmp_path / "a.npz", data=images, labels=np.array(["healthy", "rotten"]))
    with pytest.raises(HarnessError, match=r"labels that name no class. Received: \['rotten'\]"):
        import_npz(tmp_path / "a.npz", tmp_path / "out.npz", PLANTS)
    with pytest.raises(HarnessError, match="no 'x' key for the images") as e:
        import_npz(tmp_path / "a.npz", tmp_path / "out.npz", PLANTS, images_key="x")
    np.savez(tmp_path / "b.npz", x=images, y=np.array(["healthy", "diseased"]))  # an alias
    import_npz(tmp_path / "b.npz", tmp_path / "out.npz", PLANTS, images_key="x", labels_key="y")
    assert load_dataset(tmp_path / "out.npz", PLANTS).labels.tolist() == [0, 1]
    assert "--images-key" in e.value.hint


def test_zero_one_floats_are_scaled_and_one_hot_rows_argmaxed(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (4, 96, 96, 3))
    np.savez(tmp_path / "c.npz", images=(pixels / 255.0).astype(np.float32),
             labels=np.eye(8)[[1, 3, 5, 7]])
    result = import_npz(tmp_path / "c.npz", tmp_path / "out.npz", "an2dl-2024-hw1")
    ds = load_dataset(tmp_path / "out.npz")
    assert np.abs(ds.images.astype(int) - pixels).max() <= 1 and ds.labels.tolist() == [1, 3, 5, 7]
    assert "pixels were 0-1 floats: scaled to 0-255" in result.notes


def test_cli_imports_a_file_or_a_folder(public_data, runner, tmp_path):
    out = runner.invoke(main, ["data", "import", str(public_data[0]), str(tmp_path / "o.npz"),
                               "--profile", "an2dl-2023-hw1", "--allow-pickle", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["per_class"] == {"healthy": 8, "unhealthy": 4}
    (tmp_path / "photos" / "unhealthy").mkdir(parents=True)
    with pytest.raises(HarnessError, match="a folder has no npz keys"):
        import_data(tmp_path / "photos", tmp_path / "p.npz", PLANTS, allow_pickle=True)
