"""Synthetic data: deterministic, well-formed, every class drawn, dirt recorded truthfully."""

import json

import numpy as np
import pytest

from harness.cli import main
from harness.data import smear
from harness.data.datasets import load_dataset
from harness.data.synth import FOREIGN_ALPHA, class_counts, synthesize
from harness.errors import HarnessError
from harness.fsutil import sha256_arrays


@pytest.fixture(scope="module")
def dirty():
    return synthesize(n=200, seed=3, contaminate=True)


def test_same_seed_same_bytes_other_seed_differs():
    a, b, c = synthesize(40, seed=1), synthesize(40, seed=1), synthesize(40, seed=2)
    assert sha256_arrays(a.images, a.labels) == sha256_arrays(b.images, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_shapes_dtypes_and_every_class(profile):
    data = synthesize(16, seed=0)
    assert data.images.shape == (16, *profile.input_shape) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    assert set(data.labels.tolist()) == set(range(profile.num_classes))
    assert data.truth == {}


def test_class_counts_follow_shares_with_one_each():
    counts = class_counts(1000, np.array([1, 1, 2, 4]))
    assert counts.sum() == 1000 and counts.min() >= 1
    assert np.allclose(counts / 1000, [1 / 8, 1 / 8, 2 / 8, 4 / 8], atol=0.01)
    assert class_counts(8, np.arange(1, 9)).tolist() == [1] * 8


@pytest.mark.parametrize("kwargs, match", [({"n": 7}, "n must be at least"),
                                           ({"n": 10, "seed": -1}, "seed must be")])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(HarnessError, match=match):
        synthesize(**kwargs)


def test_truth_accounts_for_every_image(dirty):
    truth = dirty.truth
    foreign = [i for idx in truth["foreign"].values() for i in idx]
    copies = [c for _, c in truth["duplicates"]]
    assert len(dirty.images) == len(dirty.labels) == truth["n_clean"] + len(foreign) + len(copies)
    assert len(set(foreign) | set(copies)) == len(foreign) + len(copies)
    assert len(truth["foreign"]["cartoon_face"]) > 4 * len(truth["foreign"]["poster"]) > 0
    assert 0.10 < len(foreign) / len(dirty.images) < 0.16


def test_foreign_images_are_blends_of_their_picture(dirty):
    for name, idx in dirty.truth["foreign"].items():
        art = smear.foreign_picture(name)
        # image = a * picture + (1 - a) * cell, so the cell recovered must be valid pixels.
        cell = (dirty.images[idx].astype(np.float32) - FOREIGN_ALPHA * art) / (1 - FOREIGN_ALPHA)
        assert cell.min() > -4 and cell.max() < 259
        other = smear.foreign_picture(next(n for n in smear.FOREIGN_PICTURES if n != name))
        own_err = np.abs(dirty.images[idx] - FOREIGN_ALPHA * art).mean()
        assert own_err < np.abs(dirty.images[idx] - FOREIGN_ALPHA * other).mean()


def test_duplicates_equal_originals_and_conflicts_differ(dirty):
    pairs, conflicting = dirty.truth["duplicates"], dirty.truth["conflicting"]
    assert conflicting and len(conflicting) < len(pairs)
    assert all(p in pairs for p in conflicting)
    foreign = {i for idx in dirty.truth["foreign"].values() for i in idx}
    for original, copy in pairs:
        assert original not in foreign
        assert np.array_equal(dirty.images[original], dirty.images[copy])
        differ = dirty.labels[original] != dirty.labels[copy]
        assert differ == ([original, copy] in conflicting)


def test_cli_writes_data_truth_and_sheet(runner, tmp_path):
    out = tmp_path / "synth.npz"
    result = runner.invoke(main, ["data", "synth", str(out), "--n", "40", "--seed", "1",
                                  "--contaminate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    ds = load_dataset(out)
    assert len(ds) == report["n_images"] and report["n_clean"] == 40
    truth = json.loads((tmp_path / "synth.truth.json").read_text())
    assert truth["n_clean"] == 40 and set(truth["foreign"]) == set(smear.FOREIGN_PICTURES)
    assert (tmp_path / "synth.png").stat().st_size > 0
    assert report["sheet"] == str(tmp_path / "synth.png")


def test_cli_bad_n_is_one_line_error(runner, tmp_path):
    out = tmp_path / "x.npz"
    result = runner.invoke(main, ["data", "synth", str(out), "--n", "3"])
    assert result.exit_code == 2 and "n must be at least" in result.output
    assert not out.exists()
