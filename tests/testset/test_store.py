"""harness.testset.store: where test sets live, and whose holdout some data holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.testset import store
from harness.testset.store import seen_holdouts


def test_testset_names_paths_and_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError, match="no default one"):
        store.testset_path(None)
    (tmp_path / "data/testsets/mine").mkdir(parents=True)
    (tmp_path / "data/testsets/mine/testset.npz").write_bytes(b"")
    assert store.testset_path("mine")[1] == "mine"
    assert store.testset_path("elsewhere/x.npz") == (Path("elsewhere/x.npz"), "x")
    with pytest.raises(HarnessError, match="no test set named 'other'") as info:
        store.testset_path("other")
    assert info.value.hint == "known: mine"


def test_seen_holdouts_names_each_test_set_whose_holdout_the_data_holds(tmp_path, profile):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 96, 96, 3), dtype=np.uint8)
    labels = np.arange(20) % 8
    assert seen_holdouts(images, profile, root=tmp_path / "none") == []
    for name, rows in (("a", slice(0, 5)), ("b", slice(5, 8))):
        (tmp_path / name).mkdir()
        save_dataset(tmp_path / name / "holdout.npz", images[rows], labels[rows])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "holdout.npz").write_text("not an npz")  # skipped, not fatal
    warnings = seen_holdouts(images[:5], profile, root=tmp_path)
    assert warnings == [f"this data holds 5 of the 5 holdout images of test set a: scores on "
                        f"it will be inflated; train on {tmp_path / 'a' / 'train.npz'} instead"]
    assert len(seen_holdouts(images, profile, root=tmp_path)) == 2
    assert seen_holdouts(images[8:], profile, root=tmp_path) == []
