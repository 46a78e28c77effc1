"""harness.scoring.leakage: a run trained on the holdout is named beside its score.

The fake runs here are folders with a config.json, as `harness train` writes it; only
the last test starts a submission (the tiny shared experiment, a few seconds).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.data.datasets import Dataset, save_dataset
from harness.scoring.leakage import check_run
from harness.testset.split import holdout_overlap


@pytest.fixture
def world(tmp_path):
    """A test-set folder (testset, holdout, train) and the whole data it was split from."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 96, 96, 3), dtype=np.uint8)
    labels = np.arange(30) % 8
    folder = tmp_path / "testsets" / "t"
    folder.mkdir(parents=True)
    save_dataset(folder / "holdout.npz", images[:6], labels[:6])
    save_dataset(folder / "train.npz", images[6:], labels[6:])
    save_dataset(folder / "testset.npz", images[:6], labels[:6])
    save_dataset(tmp_path / "training_set.npz", images, labels)
    return tmp_path, folder, images, labels


def fake_run(root, data, images=None, labels=None):
    run = root / "runs" / "261130_050000"
    run.mkdir(parents=True, exist_ok=True)
    config = {"data": str(data)}
    if images is not None:
        config["data_fingerprint"] = Dataset(images, labels).fingerprint()
    (run / "config.json").write_text(json.dumps(config))
    return run


def test_overlap_counts_exact_copies_only(world):
    _, _, images, _ = world
    assert holdout_overlap(images[6:], images[:6]) == 0
    assert holdout_overlap(images, images[:6]) == 6
    nudged = images[:6].copy()
    nudged[:, 0, 0, 0] ^= 1
    assert holdout_overlap(images, nudged) == 0


def test_a_run_on_the_whole_training_set_is_named_with_its_count(world, profile):
    root, folder, images, labels = world
    run = fake_run(root, root / "training_set.npz", images, labels)
    check = check_run(run, folder / "testset.npz", profile)
    assert (check.overlap, check.holdout) == (6, 6)
    assert check.warning.startswith("run 261130_050000 trained on 6 of the 6 holdout images")
    assert "inflated" in check.warning and str(folder / "train.npz") in check.warning


def test_a_run_on_the_training_split_passes_quietly(world, profile):
    root, folder, images, labels = world
    run = fake_run(root, folder / "train.npz", images[6:], labels[6:])
    assert check_run(run, folder / "testset.npz", profile).warning is None
    assert check_run(run, folder / "testset.npz", profile).overlap == 0


def test_what_cannot_be_checked_says_so_or_stays_silent(world, profile, tmp_path):
    root, folder, images, labels = world
    gone = fake_run(root, root / "moved.npz", images, labels)
    assert "is not readable here" in check_run(gone, folder / "testset.npz", profile).warning
    changed = fake_run(root, root / "training_set.npz", images[:10], labels[:10])
    check = check_run(changed, folder / "testset.npz", profile)
    assert check.overlap is None and "changed since it trained" in check.warning
    # A bare npz test set has no holdout to compare; arrays given in memory, no file.
    bare = tmp_path / "bare.npz"
    save_dataset(bare, images[:4], labels[:4])
    assert check_run(fake_run(root, root / "training_set.npz", images, labels), bare,
                     profile) is None
    assert check_run(fake_run(root, "<arrays>"), folder / "testset.npz", profile) is None


def test_score_prints_and_stores_the_leak(world, trained_experiment, profile, runner):
    from harness.cli import main
    from harness.results.keeping import score_and_keep
    from harness.results.leaderboard import Leaderboard

    root, folder, images, labels = world
    run = trained_experiment / "runs" / "250101_000000"
    (run / "config.json").write_text(json.dumps(
        {"data": str(root / "training_set.npz"),
         "data_fingerprint": Dataset(images, labels).fingerprint()}))
    db = f"sqlite:///{root / 'lb.sqlite'}"
    result = score_and_keep(trained_experiment, testset=folder / "testset.npz",
                            profile=profile, db_url=db)
    assert result.ok and result.holdout_overlap == 6
    assert any("trained on 6 of the 6 holdout images" in w for w in result.warnings)
    [row] = Leaderboard(db).scores()
    assert json.loads(row["metrics_json"])["holdout_overlap"] == 6
    table = runner.invoke(main, ["leaderboard", "--db", db])
    assert "tiny_exp !" in table.output and "trained on images of the test set's" in table.output
