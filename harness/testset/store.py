"""Where built test sets live, which one a `--testset` names, and whose holdout some
training data holds.

A test set is the folder `testsets/NAME/` of the data folder (`harness.paths.data_dir`;
`harness.testset.builder` writes it);
commands that read one take a NAME, a path to an npz, or nothing for `default`.
`seen_holdouts` tells `harness train` before it starts that its data holds a built test
set's holdout images, whose scores would then be inflated.

Examples:
    >>> testset_path("default")            # no $HARNESS_DATA
    (PosixPath('data/testsets/default/testset.npz'), 'default')
    >>> testset_path("elsewhere/mine.npz")
    (PosixPath('elsewhere/mine.npz'), 'mine')
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from harness.data.datasets import load_dataset
from harness.errors import HarnessError
from harness.paths import data_dir
from harness.profile import Profile
from harness.testset.split import holdout_overlap, image_digests

DEFAULT_TESTSET = "default"


def testsets_dir() -> Path:
    """Where built test sets live: the data folder's testsets/."""
    return data_dir() / "testsets"


def testset_path(testset: str | os.PathLike | None) -> tuple[Path, str]:
    """`--testset` as (the npz file, its name): a path, a NAME under data/testsets, or None."""
    root = testsets_dir()
    if testset is None:
        path = root / DEFAULT_TESTSET / "testset.npz"
        if not path.exists():
            raise HarnessError(
                f"no test set given and no default one at {path}",
                hint="pass --testset NAME (data/testsets/NAME/testset.npz) or --testset "
                     "PATH.npz, or build the default one: harness testset build")
        return path, DEFAULT_TESTSET
    as_path = Path(testset)
    named = root / str(testset) / "testset.npz"
    if as_path.suffix == ".npz" or as_path.is_file():
        return as_path, as_path.stem
    if named.exists():
        return named, str(testset)
    known = sorted(p.parent.name for p in root.glob("*/testset.npz"))
    raise HarnessError(f"no test set named {str(testset)!r} (looked for {named})",
                       hint=f"known: {', '.join(known)}" if known else
                       "build one with harness testset build, or pass --testset PATH.npz")


def seen_holdouts(images: np.ndarray, profile: Profile,
                  root: str | os.PathLike | None = None) -> list[str]:
    """One warning per built test set under `root` (default `testsets_dir()`) whose
    holdout images are among `images` (exact copies), naming the count and the training
    split to use instead."""
    holdouts = sorted(Path(root or testsets_dir()).glob("*/holdout.npz"))
    if not holdouts:
        return []
    seen = image_digests(images)
    warnings = []
    for path in holdouts:
        try:
            holdout = load_dataset(path, profile)
        except HarnessError:
            continue  # a damaged test set is reported where it is used, not here
        overlap = holdout_overlap(seen, holdout.images)
        if overlap:
            warnings.append(
                f"this data holds {overlap} of the {len(holdout)} holdout images of test set "
                f"{path.parent.name}: scores on it will be inflated; train on "
                f"{path.parent / 'train.npz'} instead")
    return warnings
