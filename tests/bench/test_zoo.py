"""The shipped fidelity zoo: in git, each model good on clean images, and it scores as is."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.paths import REPO_ROOT
from harness.scoring.contract import check_source

ZOO = REPO_ROOT / "bench" / "zoo"
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "blood96_jpeg.npz"
FOLDERS = sorted(p for p in ZOO.iterdir() if p.is_dir()) if ZOO.is_dir() else []


def real_cells(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n images of ../shared's real set (JPEG bytes, see its README), decoded; about one
    in eight is a planted picture with a random label, as in the course's file."""
    with np.load(REAL_DATA) as z:
        jpeg, offsets, labels = z["jpeg"], z["offsets"], z["labels"]
    index = np.random.default_rng(seed).permutation(len(offsets) - 1)[:n]
    images = np.stack([np.asarray(Image.open(io.BytesIO(
        jpeg[offsets[i]:offsets[i + 1]].tobytes())).convert("RGB")) for i in index])
    return images, labels.reshape(-1)[index]


def test_at_least_fourteen_models_ship_each_good_on_clean_images(profile):
    assert len(FOLDERS) >= 14
    total = 0
    for folder in FOLDERS:
        record = json.loads((folder / "zoo.json").read_text())
        assert record["name"] == folder.name
        assert record["clean_holdout_accuracy"] >= 0.85, folder.name
        assert {"experiment", "augment", "epochs", "seed", "trained_at"} <= set(record)
        assert list(folder.glob("*.keras")) and (folder / "model.py").is_file()
        assert check_source(folder, profile) == []
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 17e6  # the weights in git stay small (15.6 MB with the two chains members)


def test_every_zoo_file_is_in_git():
    out = subprocess.run(["git", "ls-files", "--error-unmatch", *(
        str(p.relative_to(REPO_ROOT)) for f in FOLDERS for p in f.iterdir())],
        cwd=REPO_ROOT, capture_output=True, text=True)
    if "not a git repository" in out.stderr:
        pytest.skip("not a git checkout")
    assert out.returncode == 0, out.stderr


def test_a_shipped_zoo_folder_scores_from_the_checkout(tmp_path, monkeypatch, runner):
    """`harness score bench/zoo/NAME` with nothing but the checkout: a few hundred images
    (real cells when ../shared has them, where it must be right on most)."""
    monkeypatch.chdir(tmp_path)
    if REAL_DATA.is_file():
        images, labels = real_cells(200)
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (200, 96, 96, 3), dtype=np.uint8)
        labels = np.arange(200) % 8
    data = save_dataset(tmp_path / "cells.npz", images, labels)
    out = runner.invoke(main, ["score", str(ZOO / "augmix"), "--testset", str(data), "--json",
                               "--db", f"sqlite:///{tmp_path / 'lb.sqlite'}"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["ok"] and result["metrics"]["n"] == 200
    if REAL_DATA.is_file():
        assert result["metrics"]["accuracy"] > 0.75
