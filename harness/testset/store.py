"""Where built test sets live, which one a `--testset` names, and whose holdout some
training data holds.

A test set is the folder `data/testsets/NAME/` (`harness.testset.builder` writes it);
commands that read one take a NAME, a path to an npz, or nothing for `default`.
`seen_holdouts` tells `harness train` before it starts that its data holds a built test
set's holdout images, whose scores would then be inflated.

Examples:
    >>> testset_path("default")
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
from harness.paths import DATA_DIR
from harness.profile import Profile
from harness.testset.split import holdout_overlap, image_digests

TESTSETS_DIR = DATA_DIR / "testsets"
DEFAULT_TESTSET = "default"


def testset_path(testset: str | os.PathLike | None) -> tuple[Path, str]:
    """`--testset` as (the npz file, its name): a path, a NAME under data/testsets, or None."""
    if testset is None:
        path = TESTSETS_DIR / DEFAULT_TESTSET / "testset.npz"
        if not path.exists():
            raise HarnessError(
                f"no test set given and no default one at {path}",
                hint="pass --testset NAME (data/testsets/NAME/testset.npz) or --testset "
                     "PATH.npz, or build the default one: harness testset build")
        return path, DEFAULT_TESTSET
    as_path = Path(testset)
    named = TESTSETS_DIR / str(testset) / "testset.npz"
    if as_path.suffix == ".npz" or as_path.is_file():
        return as_path, as_path.stem
    if named.exists():
        return named, str(testset)
    known = sorted(p.parent.name for p in TESTSETS_DIR.glob("*/testset.npz"))
    raise HarnessError(f"no test set named {str(testset)!r} (looked for {named})",
                       hint=f"known: {', '.join(known)}" if known else
                       "build one with harness testset build, or pass --testset PATH.npz")


def seen_holdouts(images: np.ndarray, profile: Profile,
                  root: str | os.PathLike = TESTSETS_DIR) -> list[str]:
    """One warning per built test set under `root` whose holdout images are among
    `images` (exact copies), naming the count and the training split to use instead."""
    holdouts = sorted(Path(root).glob("*/holdout.npz"))
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
