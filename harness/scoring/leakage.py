"""Whether an experiment's run trained on the images its pseudo-private score tests,
and on which of the test set's corruption families.

`harness train` takes the test set's `train.npz` by default, which never holds a
holdout image. A run trained on the data the holdout was split from (`--data
data/training_set.npz`, or any run from before the test set was built) has seen every
holdout image, and its pseudo-private score repeats the illusion the test set exists
to end: `harness score` says so beside the score (`check_run`) and stores the count.

A run whose augmentation drew on the test-set families (`chains`, `overlay`: drawn
from the training split only, so no holdout image is ever corrupted for training)
records them in its config (`augment_families`); `trained_families` reads them back,
and the score says the forecast is optimistic (`harness.testset.optimism`).

Examples:
    >>> trained_families("experiments/baseline_cnn/runs/261130_051000")
    ['augmix', 'brightness_contrast', ...]
    >>> check_run("experiments/baseline_cnn/runs/261130_051000", test_set, profile)
    HoldoutCheck(overlap=1789, holdout=1789, warning='run 261130_051000 trained on ...')
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.data.datasets import load_dataset
from harness.errors import HarnessError
from harness.experiments import read_run
from harness.profile import Profile
from harness.testset.split import holdout_overlap


@dataclass
class HoldoutCheck:
    """What `check_run` found.

    Args:
        overlap: holdout images the run trained on (None: it could not be checked).
        holdout: images in the test set's holdout.
        warning: one line for people when something is wrong or unknown, else None.
    """

    overlap: int | None
    holdout: int
    warning: str | None = None


def check_run(run_dir: str | os.PathLike, testset_npz: str | os.PathLike,
              profile: Profile) -> HoldoutCheck | None:
    """Compare the data a run trained on with the holdout of the test set it is scored on.

    Returns:
        None when there is nothing to compare: a test set with no `holdout.npz` beside
        it (not built by `harness testset build`), or a run trained on in-memory arrays.
    """
    holdout_npz = Path(testset_npz).parent / "holdout.npz"
    config = read_run(run_dir).config
    data = config.get("data")
    if not holdout_npz.is_file() or not data or data.startswith("<"):
        return None
    holdout = load_dataset(holdout_npz, profile)
    name = Path(run_dir).name
    try:
        trained = load_dataset(data, profile)
    except HarnessError:
        return HoldoutCheck(None, len(holdout), f"could not check whether run {name} trained "
                            f"on this test set's holdout: its data {data} is not readable here")
    if trained.fingerprint() != config.get("data_fingerprint"):
        return HoldoutCheck(None, len(holdout), f"could not check whether run {name} trained "
                            f"on this test set's holdout: {data} changed since it trained")
    overlap = holdout_overlap(trained.images, holdout.images)
    if not overlap:
        return HoldoutCheck(0, len(holdout))
    return HoldoutCheck(overlap, len(holdout), (
        f"run {name} trained on {overlap} of the {len(holdout)} holdout images this test "
        f"set corrupts ({data}): its pseudo-private score is inflated; train on "
        f"{Path(testset_npz).parent / 'train.npz'} (harness train's default)"))


def trained_families(run_dir: str | os.PathLike) -> list[str] | None:
    """The test-set families a run's augmentation drew on (its config's
    `augment_families`); None for a run from before runs recorded them."""
    families = read_run(run_dir).config.get("augment_families")
    return None if families is None else list(families)
