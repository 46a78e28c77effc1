"""Loading, validating, saving and importing datasets; every bad file gets one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.data.datasets import images_header, import_folder, load_dataset, save_dataset
from harness.errors import HarnessError


def test_round_trip_keeps_course_format(tmp_path, tiny_arrays):
    images, labels = tiny_arrays
    out = save_dataset(tmp_path / "d.npz", images, labels, groups=np.array(["clean"] * 24))
    with np.load(out) as z:
        assert z["labels"].shape == (24, 1) and z["labels"].dtype == np.uint8
    ds = load_dataset(out)
    assert np.array_equal(ds.images, images)
    assert np.array_equal(ds.labels, labels)
    assert ds.labels.shape == (24,)
    assert list(ds.extras) == ["groups"]


def test_images_header_reads_shape_without_the_pixels(tmp_path, tiny_arrays):
    images, labels = tiny_arrays
    npz = save_dataset(tmp_path / "d.npz", images, labels)
    np.save(tmp_path / "x.npy", images)
    for path in (npz, tmp_path / "x.npy"):
        assert images_header(path) == (images.shape, np.dtype(np.uint8))
    assert images_header(npz, "labels") == ((len(labels), 1), np.dtype(np.uint8))
    with pytest.raises(KeyError):
        images_header(npz, "groups")


def test_save_is_atomic_on_error(tmp_path, tiny_arrays, monkeypatch):
    def half_write(f, array, **_):
        f.write(b"half an array")
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", half_write)
    target = tmp_path / "d.npz"
    target.write_bytes(b"previous")
    with pytest.raises(OSError):
        save_dataset(target, *tiny_arrays)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]


def _bad(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


IMG = np.zeros((4, 96, 96, 3), np.uint8)


@pytest.mark.parametrize("arrays, message", [
    ({"labels": np.zeros(4)}, "no 'images' key"),
    ({"images": IMG}, "no 'labels' key"),
    ({"images": np.zeros((4, 32, 32, 3), np.uint8), "labels": np.zeros(4, int)}, "wrong shape"),
    ({"images": IMG.astype(np.float32), "labels": np.zeros(4, int)}, "must be uint8"),
    ({"images": IMG, "labels": np.zeros(3, int)}, "differ in length"),
    ({"images": IMG, "labels": np.array([0, 1, 2, 8])}, "out of range"),
    ({"images": IMG, "labels": np.array([0, -1, 2, 3])}, "out of range"),
    ({"images": IMG, "labels": np.array([0, 0.5, 1, 2])}, "whole numbers"),
    ({"images": IMG, "labels": np.array(["a", "b", "c", "d"])}, "must be integers"),
    ({"images": IMG, "labels": np.zeros((4, 8), int)}, "must be (N, 1) or (N,)"),
    ({"images": IMG[:0], "labels": np.zeros(0, int)}, "no images"),
    ({"images": IMG, "labels": np.zeros(4, int), "groups": np.zeros(3)}, "one value per image"),
])
def test_bad_arrays_are_named(tmp_path, arrays, message):
    path = _bad(tmp_path, **arrays)
    with pytest.raises(HarnessError) as info:
        load_dataset(path)
    assert message in info.value.message
    assert str(path) in info.value.message
    assert "expected" in (info.value.hint or "") or "tags" in (info.value.hint or "")


def test_missing_and_non_npz_files(tmp_path):
    with pytest.raises(HarnessError, match="no such file"):
        load_dataset(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(HarnessError, match="not a readable .npz"):
        load_dataset(junk)
    with pytest.raises(HarnessError, match="is a folder"):
        load_dataset(tmp_path)


def test_unlabelled_set_loads_when_allowed(tmp_path):
    path = _bad(tmp_path, images=IMG)
    assert load_dataset(path, require_labels=False).labels is None


def _write_image(path, size=(360, 363), color=(200, 100, 50)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_import_folder_maps_names_and_aliases(tmp_path):
    root = tmp_path / "PBC"
    _write_image(root / "basophil" / "a.jpg")
    _write_image(root / "IG" / "b.png", size=(120, 100))
    _write_image(root / "Platelet" / "sub" / "c.jpeg")
    result = import_folder(root, tmp_path / "out.npz")
    ds = load_dataset(tmp_path / "out.npz")
    assert result.n_images == 3
    assert sorted(ds.labels.tolist()) == [0, 3, 7]
    assert ds.images.shape == (3, 96, 96, 3)
    assert result.per_class["Immature granulocytes"] == 1


def test_import_rejects_unknown_folder_and_unreadable_image(tmp_path):
    root = tmp_path / "root"
    _write_image(root / "basophil" / "a.jpg")
    _write_image(root / "dendritic" / "b.jpg")
    with pytest.raises(HarnessError, match="dendritic"):
        import_folder(root, tmp_path / "out.npz")
    (root / "dendritic" / "b.jpg").unlink()
    (root / "dendritic").rmdir()
    (root / "basophil" / "broken.png").write_bytes(b"garbage")
    with pytest.raises(HarnessError, match="broken.png"):
        import_folder(root, tmp_path / "out.npz")
    assert not (tmp_path / "out.npz").exists()


def test_cli_bad_npz_is_one_line_and_nonzero(runner, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_text("x")
    root = tmp_path / "root"
    _write_image(root / "monocyte" / "a.jpg")
    ok = runner.invoke(main, ["data", "import", str(root), str(tmp_path / "o.npz"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["per_class"]["Monocyte"] == 1
    bad = runner.invoke(main, ["data", "import", str(tmp_path / "nowhere"), "o.npz"])
    assert bad.exit_code == 2
    assert "error:" in bad.output and "Traceback" not in bad.output


def test_written_files_get_ordinary_permissions(tmp_path, tiny_arrays):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        out = save_dataset(tmp_path / "d.npz", *tiny_arrays)
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
