"""Training on the test set's own chains (issue 31): the `chains` augmentation draws from
the training split only, the run names the families it trained on, and a score of it
says its forecast is optimistic, with the interval that carries it.

One tiny test set (pp-small, 16 random images held out of 32) and one run of a
4-filter baseline_cnn, one epoch, shared by the module; one score in a fresh process.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.data.datasets import load_dataset, save_dataset
from harness.testset import compound, optimism
from harness.testset.recipes import get_recipe, pseudo_private
from harness.testset.split import image_digests

PP_SMALL_CHAINS = ["gaussian_noise", "overlay", "rotate_flip"]
CHAINS_ONLY = {"name": "chains", "recipe": "pp-small", "probability": 1.0}


@pytest.fixture(scope="module")
def chained(tmp_path_factory):
    """(root, test-set folder, run folder, digests of every image the chains corrupted)."""
    import shutil

    from harness.paths import REPO_ROOT
    from harness.testset.builder import build
    from harness.training.fit import train

    root = tmp_path_factory.mktemp("chains")
    rng = np.random.default_rng(5)
    data = save_dataset(root / "d.npz", rng.integers(0, 256, (32, 96, 96, 3), np.uint8),
                        np.repeat(np.arange(8), 4))
    build(data, holdout=0.5, name="t", recipe="pp-small", out_root=root / "testsets",
          progress=False)
    folder = root / "testsets" / "t"
    shutil.copytree(REPO_ROOT / "experiments" / "baseline_cnn",
                    root / "experiments" / "baseline_cnn",
                    ignore=shutil.ignore_patterns("runs", "__pycache__"))
    seen: list[np.ndarray] = []
    real = compound.chain_views

    def recording(images, *args):
        seen.append(images.copy())
        return real(images, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_EXPERIMENTS", str(root / "experiments"))
        mp.setattr(compound, "chain_views", recording)
        result = train("baseline_cnn", data=folder / "train.npz", epochs=1, progress=False,
                       overrides={"filters": [4], "batch_size": 8, "validation_split": 0.0,
                                  "augment": [CHAINS_ONLY]})
    return root, folder, Path(result.run_dir), image_digests(np.concatenate(seen))


def test_chains_corrupt_training_images_only_never_the_holdout(chained, profile):
    from harness.scoring.leakage import check_run

    _, folder, run, seen = chained
    train = image_digests(load_dataset(folder / "train.npz", profile).images)
    holdout = image_digests(load_dataset(folder / "holdout.npz", profile).images)
    # Every training image went through the chains (probability 1), and nothing else did.
    assert seen == train
    assert not seen & holdout
    assert check_run(run, folder / "testset.npz", profile).overlap == 0


def test_the_run_names_the_families_it_trained_on(chained):
    from harness.scoring.leakage import trained_families

    run = chained[2]
    config = json.loads((run / "config.json").read_text())
    assert config["augment_families"] == PP_SMALL_CHAINS
    assert trained_families(run) == PP_SMALL_CHAINS


def test_augment_lists_name_their_families():
    from harness.errors import HarnessError
    from harness.training.augmentation import build_augmenter, recipe_families

    assert recipe_families(["flip", "noise"]) == []
    assert recipe_families(["flip", "overlay", "augmix"]) == ["augmix", "occlusion", "overlay"]
    assert recipe_families(["chains"]) == sorted(get_recipe("pp").compound["families"])
    assert recipe_families([{"name": "chains", "families": ["jpeg"]}]) == ["jpeg"]
    with pytest.raises(HarnessError, match="not among the chain families"):
        build_augmenter([{"name": "chains", "families": ["jpg"]}])


def test_a_score_of_it_carries_the_flag_and_the_wider_interval(chained, runner, monkeypatch):
    from harness.cli import main
    from harness.results.leaderboard import Leaderboard
    from harness.results.standings import read_leaderboard

    root, folder, _, _ = chained
    monkeypatch.setenv("HARNESS_EXPERIMENTS", str(root / "experiments"))
    monkeypatch.chdir(root)
    db = f"sqlite:///{root / 'lb.sqlite'}"
    out = runner.invoke(main, ["score", "baseline_cnn", "--testset",
                               str(folder / "testset.npz"), "--db", db])
    assert out.exit_code == 0, out.output
    assert "optimistic: trained on the recipe's own chains (3 of its families)" in out.output
    [row] = read_leaderboard(db_url=db).rows
    assert row["trained_on_recipe"] == "chains"
    [stored] = Leaderboard(db).scores()
    pp = json.loads(stored["metrics_json"])["pseudo_private"]
    assert pp["trained_on"] == PP_SMALL_CHAINS and pp["optimism"] == optimism.OPTIMISM["chains"]
    assert row["pp_low"] == pytest.approx(max(0.0, pp["accuracy"] - optimism.OPTIMISM["chains"]
                                              - (pp["accuracy"] - pp["sampling_low"])))
    table = runner.invoke(main, ["leaderboard", "--db", db])
    assert "^" in table.output and "trained on the recipe's own corruption" in table.output


def test_the_interval_low_end_carries_the_measured_optimism():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, 400)
    pred = np.where(rng.random(400) < 0.6, y, (y + 1) % 8)
    groups = np.where(np.arange(400) < 100, "clean", compound.GROUP)
    recipe = get_recipe("pp-small")
    plain = pseudo_private(y, pred, groups, recipe=recipe)
    flagged = pseudo_private(y, pred, groups, recipe=recipe, trained_on=PP_SMALL_CHAINS)
    assert flagged.accuracy == plain.accuracy and flagged.high == plain.high
    assert flagged.low == pytest.approx(plain.low - optimism.OPTIMISM["chains"])
    assert (flagged.trained_on, flagged.trained_on_kind) == (PP_SMALL_CHAINS, "chains")
    some = pseudo_private(y, pred, groups, recipe=get_recipe("pp"), trained_on=["overlay"])
    assert (some.trained_on_kind, some.optimism) == ("some", optimism.OPTIMISM["some"])
    assert pseudo_private(y, pred, groups, recipe=recipe, trained_on=["jpeg"]).optimism == 0


MEMORISER_PY = """
import os

import numpy as np


class Model:
    def __init__(self):
        with np.load(os.path.join(os.path.dirname(__file__), "seen.npz")) as f:
            self.seen = {x.tobytes(): int(y) for x, y in zip(f["images"], f["labels"])}

    def predict(self, X):
        return np.array([self.seen.get(x.tobytes(), 0) for x in X], np.int64)
"""


def test_score_offers_the_chains_first_when_far_below_clean(chained, runner, monkeypatch):
    """A model right on every clean holdout image and lost on any corrupted one: the
    advice puts the recipe's chains first, with their evidence, and keeps the counters."""
    from harness.cli import main

    root, folder, _, _ = chained
    monkeypatch.chdir(root)
    sub = root / "memoriser"
    sub.mkdir()
    (sub / "model.py").write_text(MEMORISER_PY)
    held = np.load(folder / "holdout.npz")
    np.savez(sub / "seen.npz", images=held["images"], labels=held["labels"])
    out = runner.invoke(main, ["score", str(sub), "--testset", str(folder / "testset.npz"),
                               "--db", f"sqlite:///{root / 'advice.sqlite'}"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    chains = text.index("train on the test set's own chains first")
    counters = text.index("to train against the worst families")
    assert chains < counters
    assert "harness train EXPERIMENT --set augment=\"['flip', 'chains']\"" in text
    assert "0.632-0.695" in text and "or, alternatively," in text
