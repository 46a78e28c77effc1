"""Where built test sets live, and which one a `--testset` names.

A test set is the folder `data/testsets/NAME/` (`harness.testset.builder` writes it);
commands that read one take a NAME, a path to an npz, or nothing for `default`.

Examples:
    >>> testset_path("default")
    (PosixPath('data/testsets/default/testset.npz'), 'default')
    >>> testset_path("elsewhere/mine.npz")
    (PosixPath('elsewhere/mine.npz'), 'mine')
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import DATA_DIR

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
