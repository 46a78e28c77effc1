"""harness.testset.builder and `harness testset`: split, leakage guard, tags, determinism,
errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import load_dataset, save_dataset
from harness.data.duplicates import hamming, perceptual_hashes
from harness.errors import HarnessError
from harness.testset import builder as testset

RECIPE = "pp-small"


def smooth_images(n: int, seed: int) -> np.ndarray:
    """n smooth random 96x96 images: distinct perceptual hashes, unlike white noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, 6, 6, 3), dtype=np.uint8)
    return np.stack([np.asarray(Image.fromarray(s).resize((96, 96), Image.BILINEAR))
                     for s in small])


@pytest.fixture(scope="module")
def data_npz(tmp_path_factory):
    """8 classes x 10 images, plus 4 near copies of image 0 (class 0): 84 images."""
    images = smooth_images(80, seed=0)
    labels = np.repeat(np.arange(8), 10)
    copies = np.clip(images[:1].astype(int) + np.array([[[[2]]], [[[-2]]], [[[4]]], [[[-4]]]]),
                     0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("data") / "clean.npz"
    save_dataset(path, np.concatenate([images, copies]), np.concatenate([labels, [0] * 4]))
    return path


@pytest.fixture(scope="module")
def built(data_npz, tmp_path_factory):
    root = tmp_path_factory.mktemp("testsets")
    result = testset.build(data_npz, holdout=0.3, seed=1, name="t", recipe=RECIPE,
                           out_root=root, progress=False)
    return result, root


def test_build_writes_every_file_and_a_consistent_manifest(built):
    result, root = built
    folder = root / "t"
    assert sorted(p.name for p in folder.iterdir()) == sorted(testset.FILES)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["recipe_version"] == "pp-small@2.0+s1.00" and manifest["seed"] == 1
    train, hold = load_dataset(folder / "train.npz"), load_dataset(folder / "holdout.npz")
    assert len(train) + len(hold) + result.leakage_removed == 84
    assert np.bincount(hold.labels).min() >= 1


def test_every_image_is_tagged_from_the_recipe_and_counts_match(built):
    result, root = built
    ts = load_dataset(root / "t" / "testset.npz")
    hold = load_dataset(root / "t" / "holdout.npz")
    manifest = json.loads((root / "t" / "manifest.json").read_text())
    recipe = manifest["recipe_spec"]["families"]
    chains = manifest["recipe_spec"]["compound"]
    groups, severity = ts.extras["groups"], ts.extras["severity"]
    for fam, sev in zip(groups, severity):
        if fam == "compound":  # its severity is the chain length
            assert 0 <= int(sev) <= chains["max_links"]
        else:
            assert int(sev) in recipe[str(fam)]
    fams, counts = np.unique(groups, return_counts=True)
    assert dict(zip(fams.tolist(), counts.tolist())) == manifest["per_family"]
    for cell, n in manifest["per_severity"].items():
        fam, s = cell.split("/")
        assert np.sum((groups == fam) & (severity == int(s))) == n
    assert len(ts) == manifest["counts"]["testset"] == len(hold) * (len(recipe) + chains["copies"])
    # Labels follow the source image; clean images are the holdout's bytes.
    src = ts.extras["source_index"]
    assert np.array_equal(ts.labels, hold.labels[src])
    clean = groups == "clean"
    assert np.array_equal(ts.images[clean], hold.images[src[clean]])


def test_leakage_guard_keeps_near_copies_of_holdout_images_out_of_train(built):
    result, root = built
    train = load_dataset(root / "t" / "train.npz")
    hold = load_dataset(root / "t" / "holdout.npz")
    assert result.leakage_removed > 0
    th, hh = perceptual_hashes(train.images), perceptual_hashes(hold.images)
    distances = hamming(th[:, None], hh[None, :])
    assert distances.min() > testset.GUARD_DISTANCE


def test_same_inputs_reuse_the_build_and_force_rebuilds_identically(built, data_npz):
    result, root = built
    before = (root / "t" / "testset.npz").read_bytes()
    again = testset.build(data_npz, holdout=0.3, seed=1, name="t", recipe=RECIPE,
                          out_root=root, progress=False)
    assert again.cached
    forced = testset.build(data_npz, holdout=0.3, seed=1, name="t", recipe=RECIPE,
                           out_root=root, force=True, progress=False)
    assert not forced.cached and (root / "t" / "testset.npz").read_bytes() == before


def test_byte_identical_across_processes(built, data_npz, tmp_path):
    result, root = built
    code = ("from harness.testset.builder import build; "
            f"build({str(data_npz)!r}, holdout=0.3, seed=1, name='t', recipe={RECIPE!r}, "
            f"out_root={str(tmp_path)!r}, progress=False)")
    subprocess.run([sys.executable, "-c", code], check=True)
    for name in ("train.npz", "holdout.npz", "testset.npz"):
        assert (tmp_path / "t" / name).read_bytes() == (root / "t" / name).read_bytes(), name


def test_another_seed_gives_another_split(built, data_npz, tmp_path):
    other = testset.build(data_npz, holdout=0.3, seed=2, name="t", recipe=RECIPE,
                          out_root=tmp_path, progress=False)
    a = load_dataset(built[1] / "t" / "holdout.npz").extras["source_index"]
    b = load_dataset(tmp_path / "t" / "holdout.npz").extras["source_index"]
    assert other.source_sha256 == built[0].source_sha256 and not np.array_equal(a, b)


@pytest.mark.parametrize("holdout", [0, 1, 1.5, -0.1])
def test_holdout_outside_zero_one_is_refused(data_npz, tmp_path, holdout):
    with pytest.raises(HarnessError, match="strictly between 0 and 1"):
        testset.build(data_npz, holdout=holdout, out_root=tmp_path, recipe=RECIPE)
    assert not any(tmp_path.iterdir())


def test_class_too_small_to_split_is_named(tmp_path):
    images = smooth_images(9, seed=3)
    save_dataset(tmp_path / "d.npz", images, np.array([0, 0, 0, 0, 1, 1, 1, 1, 5]))
    with pytest.raises(HarnessError, match="'Monocyte' \\(label 5\\) has 1 image"):
        testset.build(tmp_path / "d.npz", out_root=tmp_path / "ts", recipe=RECIPE)
    assert not (tmp_path / "ts").exists() or not any((tmp_path / "ts").iterdir())


def test_unknown_recipe_and_family_say_did_you_mean(data_npz, tmp_path):
    with pytest.raises(HarnessError, match="unknown recipe") as e:
        testset.build(data_npz, out_root=tmp_path, recipe="pp-smal")
    assert "pp-small" in e.value.hint
    bad = {"name": "x", "version": "1", "aggregate": "mean", "families": {"overlai": [1]}}
    with pytest.raises(HarnessError, match="unknown corruption family") as e:
        testset.build(data_npz, out_root=tmp_path, recipe=bad)
    assert "overlay" in e.value.hint


def test_cli_build_json_and_list(runner, data_npz, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(main, ["testset", "build", "--data", str(data_npz), "--holdout", "0.3",
                               "--recipe", RECIPE, "--name", "cli", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["recipe"] == "pp-small@2.0+s1.00" and doc["n_testset"] > 0 and not doc["cached"]
    listed = runner.invoke(main, ["testset", "list", "--json"])
    assert [r["name"] for r in json.loads(listed.output)] == ["cli"]
    bad = runner.invoke(main, ["testset", "build", "--data", str(data_npz), "--holdout", "1"])
    assert bad.exit_code == 2 and "strictly between 0 and 1" in bad.output


def test_score_reports_the_pseudo_private_headline_first(data_npz, tmp_path, monkeypatch,
                                                         make_submission, runner, profile):
    from harness.scoring.scorer import score
    from harness.testset import recipes
    from harness.testset.store import load_testset

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    testset.build(data_npz, holdout=0.3, seed=1, name="t", recipe=RECIPE,
                  out_root="data/testsets", progress=False)
    result = score(make_submission(), load_testset("t", profile), profile, time_limit_s=60)
    pp = result.pseudo_private
    m = result.metrics
    assert pp.recipe == "pp-small@2.0+s1.00" and pp.clean == m.group_accuracy["clean"]
    assert pp.per_family == pytest.approx(m.group_accuracy)
    assert pp.accuracy == pytest.approx(m.group_accuracy["compound"]) and pp.method == "compound"
    assert pp.low <= pp.accuracy <= pp.high and pp.calibration is None
    # The holdout beside the manifest is a plain labelled set: no headline, no mismatch.
    holdout = load_testset("data/testsets/t/holdout.npz", profile)
    plain = score(make_submission(name="plain"), holdout, profile, time_limit_s=60)
    assert plain.ok and plain.pseudo_private is None
    single = testset.build(data_npz, holdout=0.3, seed=1, name="single", recipe="pp-small@1",
                           out_root="data/testsets", progress=False)
    assert single.recipe == "pp-small@1.0" and "compound" not in single.per_family
    pp1 = score(make_submission(name="old"), load_testset("single", profile), profile,
                time_limit_s=60).pseudo_private
    assert pp1.accuracy == pytest.approx(recipes.aggregate(
        pp1.per_family, recipe="pp-small@1"))
    out = runner.invoke(main, ["score", str(make_submission(name="again")), "--testset", "t"])
    assert out.exit_code == 0 and out.stdout.lstrip().startswith("pseudo-private"), out.output


def test_without_data_the_raw_file_is_cleaned_once_and_used(data_npz, tmp_path):
    import shutil

    shutil.copy(data_npz, tmp_path / "training_set.npz")
    r = testset.build(out_root=tmp_path / "testsets", holdout=0.3, recipe=RECIPE, progress=False)
    assert r.cleaned_from == str(tmp_path / "training_set.npz")
    clean = tmp_path / "training_clean.npz"
    assert r.source == str(clean) and clean.is_file()
    again = testset.build(out_root=tmp_path / "testsets", holdout=0.3, recipe=RECIPE,
                          progress=False)
    assert again.cached and again.source == r.source
