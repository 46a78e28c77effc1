"""The test set's one home: where built test sets live, which one a `--testset` names,
the set loaded for scoring, and whose holdout some training data holds.

A test set is the folder `testsets/NAME/` of the data folder (`harness.paths.data_dir`;
`harness.testset.builder` writes it); commands that read one take a NAME, a path to an
npz, or nothing for `default`. `load_testset` makes the one object scoring receives
(`TestSet`): labels, tags, manifest and kind, its images left on disk for the ingestion
process and checked by their header only (`harness.data.datasets.images_header`).
What the harness knows about the file decides its kind (`harness.testset.kinds`): the
manifest beside a testset.npz may declare it (`"kind": "shift"`); else a manifest with
a recipe, over images tagged with their family, makes a pseudo-private set, whose
score is a forecast; a built set's holdout.npz is a clean holdout; anything else is the
user's own file. `seen_holdouts` tells `harness train` before it starts that its data
holds a built test set's holdout images, whose scores would then be inflated.

Examples:
    >>> testset_path("default")            # no $HARNESS_DATA
    (PosixPath('data/testsets/default/testset.npz'), 'default')
    >>> testset_path("elsewhere/mine.npz")
    (PosixPath('elsewhere/mine.npz'), 'mine')
    >>> ts = load_testset("default", get_profile())
    >>> ts.kind, ts.recipe.id, len(ts)
    ('pseudo_private', 'pp@2.0+s3.77', 33991)
    >>> load_testset("data/testsets/default/holdout.npz", get_profile()).name
    'default/holdout'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.datasets import UNREADABLE, images_header, load_dataset, validate_arrays
from harness.errors import HarnessError
from harness.fsutil import read_json
from harness.paths import data_dir
from harness.profile import Profile
from harness.testset import kinds
from harness.testset.recipes import Recipe, recipe_for_manifest
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


@dataclass
class TestSet:
    """A labelled test set: where it is and what it holds, its images left on disk.

    The images are only read by the ingestion process (as a bare script would read
    them), so `harness score` pays for decompressing them once.

    Args:
        name: the manifest's name, else the NAME it was asked by, else the file's stem
            (a built set's holdout: NAME/holdout).
        path: the npz file.
        labels: (n,) int64.
        extras: per-image tags from the file (`groups`, `severity`, ...).
        manifest: `manifest.json` beside it (name, recipe_version, seed, ...), or {}.
        kind: what kind of set it is (`harness.testset.kinds`).
        recipe: the recipe a pseudo-private set was built with, else None.
    """

    name: str
    path: Path
    labels: np.ndarray
    extras: dict[str, np.ndarray]
    manifest: dict[str, Any]
    kind: str = kinds.OWN
    recipe: Recipe | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def recipe_version(self) -> str | None:
        version = self.manifest.get("recipe_version")
        return None if version is None else str(version)


def load_testset(testset: str | os.PathLike | None, profile: Profile) -> TestSet:
    """Load `--testset` (labels and tags; images checked by their header only).

    Args:
        testset: a path to an npz, or NAME -> data/testsets/NAME/testset.npz, or None
            for data/testsets/default/testset.npz (under the data folder).
        profile: the competition profile (shape, classes).

    Raises:
        HarnessError: no such file or name (saying how to build one), a malformed file,
            or a manifest that does not match it or declares a kind it cannot be.
    """
    path, name = testset_path(testset)
    try:
        shape, dtype = images_header(path)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files if k != "images"}
    except UNREADABLE:
        # Let the dataset loader name the problem in its own words.
        load_dataset(path, profile)
        raise
    if "labels" not in arrays:
        load_dataset(path, profile)
    # A zero-stride stand-in of the right shape and dtype: checked without decompressing.
    standin = np.broadcast_to(np.zeros((), dtype), shape)
    _, labels = validate_arrays(standin, arrays.pop("labels"), profile, source=str(path))
    for key, value in arrays.items():
        if value.ndim == 0 or len(value) != len(labels):
            raise HarnessError(f"{path}: extra key {key!r} is not one value per image. "
                               f"Received: shape={value.shape}, {len(labels)} images",
                               hint="tags such as 'groups' need one entry per image")
    name, manifest = _manifest(path, name, len(labels))
    where = path.parent / "manifest.json"
    kind = kinds.declared(manifest, where)
    recipe = recipe_for_manifest(manifest) if kind in (None, kinds.PSEUDO_PRIVATE) else None
    forecastable = recipe is not None and "groups" in arrays
    if kind == kinds.PSEUDO_PRIVATE and not forecastable:
        lacks = "it names no recipe" if recipe is None else f"{path.name} tags no groups"
        raise HarnessError(f"{where} declares a pseudo-private set, but {lacks}",
                           hint="build pseudo-private sets with harness testset build; "
                                'declare any other set "kind": "shift"')
    if kind is None:
        holdout_of = _built_holdout(path, len(labels))
        if forecastable:
            kind = kinds.PSEUDO_PRIVATE
        elif holdout_of is not None:
            kind, name = kinds.HOLDOUT, f"{holdout_of}/holdout"
        else:
            kind = kinds.OWN
    return TestSet(name, path, labels, arrays, manifest, kind,
                   recipe if kind == kinds.PSEUDO_PRIVATE else None)


def _built_holdout(path: Path, n: int) -> str | None:
    """The name of the built test set whose holdout.npz `path` is (its manifest beside it
    counts as many holdout images), else None."""
    if path.name != "holdout.npz":
        return None
    try:
        manifest = json.loads((path.parent / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    counts = manifest.get("counts") if isinstance(manifest, dict) else None
    if not isinstance(counts, dict) or counts.get("holdout") != n:
        return None
    return str(manifest.get("name") or path.parent.name)


def _manifest(path: Path, name: str, n: int) -> tuple[str, dict[str, Any]]:
    """(name, manifest) of a test set; a built one's manifest must be there and match.

    The manifest describes its folder's testset.npz; the holdout.npz or train.npz beside
    it, scored on their own, are labelled sets of their own.
    """
    if path.name != "testset.npz":
        return name, {}
    manifest_path = path.parent / "manifest.json"
    built_here = path.parent.parent == testsets_dir()
    rebuild = (f"rebuild it: harness testset build --name {path.parent.name} --force"
               if built_here else "rebuild the test set")
    if not manifest_path.exists():
        if built_here:
            raise HarnessError(f"{manifest_path}: the test set's manifest is missing, so its "
                               f"recipe, seed and source are unknown", hint=rebuild)
        return name, {}
    manifest = read_json(manifest_path, "the test set's manifest", hint=rebuild)
    counts = manifest.get("counts") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or (isinstance(counts, dict) and
                                          counts.get("testset", n) != n):
        raise HarnessError(f"{manifest_path}: the manifest does not match {path.name} "
                           f"({n} images; the manifest says "
                           f"{counts.get('testset') if isinstance(counts, dict) else '?'})",
                           hint=rebuild)
    return manifest.get("name", name), manifest
