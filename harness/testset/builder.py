"""The pseudo-private test set: a clean holdout, its training split, its corrupted copies.

`build` splits cleaned data into a stratified holdout and a training split, keeps near
duplicates of holdout images out of the training split (the leakage guard), and expands
the holdout through a recipe's corruption families into `testset.npz`, whose images
carry their family (`groups`), `severity` and `source_index` (into the holdout). Each
holdout image appears once per family, at one of the family's severities, assigned
round-robin within each class so every (family, severity) cell is class-balanced.

Layout of `data/testsets/NAME/`: `train.npz` (what `harness train` uses by default),
`holdout.npz`, `testset.npz`, `manifest.json`, `families.png` (every family at every
severity). The folder is built beside the old one and swapped in whole. The npz files
are written with fixed zip timestamps, so the same data, seed and recipe give
byte-identical files; the same inputs also reuse the existing folder unless `force`.

Input: `data` if given, used as is (it should be clean: `harness data clean`). Without
it, `data/training_clean.npz`; failing that, `data/training_set.npz` is cleaned once by
`harness.data.hygiene.clean` into `data/training_clean.npz` and that is used.

Examples:
    >>> r = build("data/training_clean.npz", holdout=0.15, seed=0, name="default")
    >>> r.n_holdout, r.n_testset, r.leakage_removed
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.data.datasets import Dataset, load_dataset, save_npz
from harness.errors import HarnessError
from harness.fsutil import read_json, temp_beside, write_text_atomic
from harness.interrupt import checkpoint, deferred, kept
from harness.profile import Profile, get_profile
from harness.progress import progress_bar
from harness.stamps import now_iso
from harness.testset import compound, corruptions, kinds
from harness.testset.calibration import load_calibration
from harness.testset.recipes import Recipe, get_recipe
from harness.testset.split import GUARD_DISTANCE, leakage_guard, stratified_split
from harness.testset.store import testsets_dir

FORMAT_VERSION = 1
CLEAN_NAME, RAW_NAME = "training_clean.npz", "training_set.npz"
FILES = ("train.npz", "holdout.npz", "testset.npz", "manifest.json", "families.png")


@dataclass
class TestsetResult:
    """What `build` produced (or found already built).

    Args:
        name: the test set's name; `path`: its folder.
        recipe: `name@version` of the recipe; `seed`: the seed.
        holdout_fraction: the fraction of each class held out.
        source: the data file; `source_sha256`: the fingerprint of its arrays.
        cleaned_from: the raw file cleaned on the fly, or None.
        n_source, n_train, n_holdout, n_testset: images in each.
        leakage_removed: training images dropped as near copies of holdout images.
        per_family: family -> images; `per_severity`: "family/severity" -> images.
        cached: True when an identical build was reused.
        seconds: wall time; `corrupt_seconds`: family -> seconds spent corrupting.
    """

    name: str
    path: str
    recipe: str
    seed: int
    holdout_fraction: float
    source: str
    source_sha256: str
    cleaned_from: str | None
    n_source: int
    n_train: int
    n_holdout: int
    n_testset: int
    leakage_removed: int
    per_family: dict[str, int]
    per_severity: dict[str, int]
    cached: bool
    seconds: float
    corrupt_seconds: dict[str, float] = field(default_factory=dict)


def _check_options(holdout, name: str) -> float:
    try:
        holdout = float(holdout)
    except (TypeError, ValueError):
        raise HarnessError(f"holdout must be a fraction. Received: holdout={holdout!r}",
                           hint="e.g. --holdout 0.15") from None
    if not 0 < holdout < 1:
        raise HarnessError(f"holdout must be strictly between 0 and 1. Received: holdout={holdout}",
                           hint="e.g. --holdout 0.15 holds out 15% of each class")
    if not name or name.startswith(".") or any(c in name for c in "/\\ "):
        raise HarnessError(f"a test-set name is one plain folder name. Received: name={name!r}",
                           hint="e.g. --name default")
    return holdout


def resolve_source(data, data_dir: Path, profile: Profile) -> tuple[Path, str | None]:
    """The data file to split: `data`, else the clean file, else the raw one cleaned now."""
    if data is not None:
        return Path(data), None
    clean_path, raw_path = data_dir / CLEAN_NAME, data_dir / RAW_NAME
    if clean_path.is_file():
        return clean_path, None
    if not raw_path.is_file():
        raise HarnessError(f"no data to split: neither {clean_path} nor {raw_path} exists",
                           hint=f"pass --data CLEAN.npz, or put the competition's "
                                f"training_set.npz in {data_dir}/")
    from harness.data.hygiene import clean

    clean(raw_path, clean_path, profile)
    return clean_path, str(raw_path)


def assign_severities(labels: np.ndarray, severities: tuple[int, ...], seed: int,
                      family: str) -> np.ndarray:
    """One severity per holdout image for `family`, round-robin within each class."""
    rng = np.random.default_rng([seed, zlib.crc32(family.encode()), zlib.crc32(b"assign")])
    out = np.empty(len(labels), np.int64)
    offset = int(rng.integers(len(severities)))
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        out[idx] = np.asarray(severities)[(np.arange(len(idx)) + offset) % len(severities)]
        offset += len(idx)
    return out


def expand(holdout: Dataset, recipe: Recipe, seed: int,
           progress: bool = False) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Corrupt the holdout through every family of `recipe`, then through its chains
    (tagged "compound", severity = chain length): the test set's arrays.

    Returns:
        (arrays for testset.npz, seconds per family).
    """
    images, labels, groups, severity, source, seconds = [], [], [], [], [], {}
    bar = progress_bar("families", disable=not progress)
    for fam in bar(list(recipe.families)):
        started = time.perf_counter()
        levels = assign_severities(holdout.labels, recipe.families[fam], seed, fam)
        for s in recipe.families[fam]:
            idx = np.flatnonzero(levels == s)
            images.append(corruptions.corrupt(holdout.images[idx], fam, s, seed))
            labels.append(holdout.labels[idx])
            groups.append(np.full(len(idx), fam))
            severity.append(np.full(len(idx), s, np.int8))
            source.append(idx.astype(np.int32))
        seconds[fam] = time.perf_counter() - started
    if recipe.compound is not None:
        started = time.perf_counter()
        chains = compound.expand_compound(holdout.images, holdout.labels, recipe.compound,
                                          recipe.strength, seed)
        images.append(chains["images"])
        labels.append(chains["labels"])
        groups.append(chains["groups"])
        severity.append(chains["severity"])
        source.append(chains["source_index"])
        seconds[compound.GROUP] = time.perf_counter() - started
    width = max(len(f) for f in [*recipe.families, compound.GROUP])
    return {"images": np.concatenate(images),
            "labels": np.concatenate(labels).reshape(-1, 1).astype(np.uint8),
            "groups": np.concatenate(groups).astype(f"<U{width}"),
            "severity": np.concatenate(severity),
            "source_index": np.concatenate(source)}, seconds


def family_sheet(holdout: Dataset, recipe: Recipe, seed: int, path: Path, examples: int = 2):
    """A contact sheet: `examples` holdout images through every family at every severity."""
    from harness.contactsheet import contact_sheet

    picks = np.unique(np.linspace(0, len(holdout) - 1, examples).astype(int))
    tiles, captions = [], []
    columns = max(len(v) for v in recipe.families.values())
    for fam, levels in recipe.families.items():
        for i in picks:
            for s in levels:
                tiles.append(corruptions.corrupt(holdout.images[i:i + 1], fam, s, seed)[0])
                captions.append(f"{fam[:12]} s{s}")
            pad = columns - len(levels)
            tiles += [np.full(holdout.images.shape[1:], 255, np.uint8)] * pad
            captions += [""] * pad
    contact_sheet(np.stack(tiles), path, captions, columns=columns, scale=2,
                  title=f"{recipe.id}: every family (rows) at every severity; seed {seed}",
                  max_images=len(tiles))


def _cache_key(source_sha: str, seed: int, holdout: float, recipe: Recipe,
               calibration_id: str | None) -> dict:
    """Everything that changes the files (the aggregate changes only the headline); the
    calibration too, whose forecast error the manifest carries to every score."""
    spec = {k: v for k, v in recipe.as_dict().items() if k != "aggregate"}
    return {"format": FORMAT_VERSION, "source_sha256": source_sha, "seed": seed,
            "holdout_fraction": holdout, "recipe": spec, "guard_distance": GUARD_DISTANCE,
            "calibration": calibration_id}


def _swap_in(tmp: Path, target: Path) -> None:
    """Replace folder `target` by `tmp` (two renames: never a half-written test set)."""
    old = None
    with deferred():  # both renames, or neither
        if target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.old.part")
            os.replace(target, old)
        os.replace(tmp, target)
        kept(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _result_from_manifest(m: dict, path: Path, cached: bool, seconds: float) -> TestsetResult:
    return TestsetResult(
        name=m["name"], path=str(path), recipe=m["recipe_version"], seed=m["seed"],
        holdout_fraction=m["holdout_fraction"], source=m["source"],
        source_sha256=m["source_sha256"], cleaned_from=m.get("cleaned_from"),
        n_source=m["counts"]["source"], n_train=m["counts"]["train"],
        n_holdout=m["counts"]["holdout"], n_testset=m["counts"]["testset"],
        leakage_removed=m["leakage_removed"], per_family=m["per_family"],
        per_severity=m["per_severity"], cached=cached, seconds=seconds,
        corrupt_seconds=m.get("corrupt_seconds", {}))


def build(data=None, holdout: float = 0.15, seed: int = 0, name: str = "default",
          recipe: str | Recipe | None = None, profile: Profile | str | None = None,
          out_root: str | os.PathLike | None = None, force: bool = False,
          progress: bool = True, strength: float | None = None) -> TestsetResult:
    """Split cleaned data and build the pseudo-private test set `out_root/NAME/`.

    Args:
        data: a cleaned .npz (or `Dataset`); default: see the module docstring.
        holdout: fraction of each class held out, strictly between 0 and 1.
        seed: seeds the split, the severity assignment and every corruption.
        name: the test set's folder name.
        recipe: a recipe name (`harness.testset.recipes.RECIPES`) or `Recipe`; default "pp".
        profile: the competition profile.
        out_root: where test sets live (default `store.testsets_dir()`); its parent is
            the data folder.
        force: rebuild even when an identical build exists.
        progress: show tqdm bars.
        strength: the compound chain strength; default the calibration's
            (`calibration.load_calibration`: the team's fit, else the profile's).

    Returns:
        A `TestsetResult` (`cached=True` when the existing build was reused).

    Raises:
        HarnessError: a bad option, unreadable data, a class too small to split, or an
            unknown recipe or family (with the closest known name).
    """
    started = time.perf_counter()
    profile = get_profile(profile)
    holdout = _check_options(holdout, name)
    out_root = Path(out_root or testsets_dir())
    recipe = get_recipe(recipe)
    calibration = None
    if recipe.compound is not None and strength is None:
        calibration = load_calibration(profile, out_root.parent)
        # A calibration holds for the recipe version it was fitted on, no other.
        if calibration is not None and calibration.recipe != f"{recipe.name}@{recipe.version}":
            calibration = None
        strength = None if calibration is None else calibration.strength
    recipe = get_recipe(recipe, strength=strength)
    if isinstance(data, Dataset):
        ds, source, cleaned_from = data, str(data.path or "<arrays>"), None
    else:
        path, cleaned_from = resolve_source(data, out_root.parent, profile)
        ds, source = load_dataset(path, profile), str(path)
    source_sha = ds.fingerprint()
    key = _cache_key(source_sha, int(seed), holdout, recipe,
                     None if calibration is None else calibration.id)
    target = out_root / name
    manifest_path = target / "manifest.json"
    if not force and manifest_path.is_file() and all((target / f).is_file() for f in FILES):
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}  # damaged: rebuilt below
        if manifest.get("key") == key:
            return _result_from_manifest(manifest, target, True, time.perf_counter() - started)

    train_idx, hold_idx = stratified_split(ds.labels, holdout, int(seed), profile.class_names)
    leaked = leakage_guard(ds.images, train_idx, hold_idx)
    train_idx = np.setdiff1d(train_idx, leaked)
    hold = ds.subset(hold_idx)
    arrays, corrupt_seconds = expand(hold, recipe, int(seed), progress)

    checkpoint("testset:expanded")
    # Built beside the target under this process's name; a build killed outright is
    # swept by the next one.
    tmp = temp_beside(target, directory=True)
    try:
        train = ds.subset(train_idx)
        save_npz(tmp / "train.npz", images=train.images,
                               labels=train.labels.reshape(-1, 1).astype(np.uint8))
        save_npz(tmp / "holdout.npz", images=hold.images,
                               labels=hold.labels.reshape(-1, 1).astype(np.uint8),
                               source_index=hold_idx.astype(np.int64))
        # Corrupted pixels deflate to about two thirds at ~20 MB/s here: not worth it.
        save_npz(tmp / "testset.npz", compress=False, **arrays)
        family_sheet(hold, recipe, int(seed), tmp / "families.png")
        views = [*recipe.families.items()]
        if recipe.compound is not None:
            views.append((compound.GROUP, range(recipe.compound["max_links"] + 1)))
        cells = {}
        for fam, levels in views:
            for s in levels:
                n = int(np.sum((arrays["groups"] == fam) & (arrays["severity"] == s)))
                if n or fam != compound.GROUP:
                    cells[f"{fam}/{s}"] = n
        manifest = {
            "name": name, "recipe": recipe.name, "recipe_version": recipe.id,
            "recipe_spec": recipe.as_dict(), "aggregate": recipe.aggregate, "seed": int(seed),
            "holdout_fraction": holdout, "source": source, "source_sha256": source_sha,
            "cleaned_from": cleaned_from, "profile": profile.name,
            "counts": {"source": len(ds), "train": int(len(train_idx)),
                       "holdout": int(len(hold_idx)), "testset": int(len(arrays["images"]))},
            "leakage_removed": int(len(leaked)), "guard_distance": GUARD_DISTANCE,
            "per_family": {f: int(np.sum(arrays["groups"] == f))
                           for f in [*recipe.families, compound.GROUP]
                           if np.any(arrays["groups"] == f)},
            "calibration": None if calibration is None else calibration.as_dict(),
            "per_severity": cells,
            "per_class_holdout": {profile.class_names[c]: int(np.sum(hold.labels == c))
                                  for c in np.unique(hold.labels)},
            "corrupt_seconds": {k: round(v, 3) for k, v in corrupt_seconds.items()},
            "built_at": now_iso(),
            "key": key,
        }
        write_text_atomic(tmp / "manifest.json", json.dumps(manifest, indent=2))
        _swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _result_from_manifest(manifest, target, False, time.perf_counter() - started)


@dataclass
class TestsetInfo:
    """One test set, as `harness testset list` shows it: built here, or a set of another
    kind its builder put beside them (`harness.testset.kinds`; None where it has no such part)."""

    name: str
    kind: str
    recipe: str | None
    seed: int | None
    n_testset: int | None
    n_holdout: int | None
    n_train: int | None
    leakage_removed: int | None
    megabytes: float
    built_at: str


def list_testsets(out_root: str | os.PathLike | None = None) -> list[TestsetInfo]:
    """Every built test set under `out_root` (default `store.testsets_dir()`; folders with
    a manifest), by name."""
    rows = []
    for manifest_path in sorted(Path(out_root or testsets_dir()).glob("*/manifest.json")):
        m = read_json(manifest_path, "the test set's manifest",
                      hint=f"rebuild it: harness testset build --name "
                           f"{manifest_path.parent.name} --force")
        size = sum(f.stat().st_size for f in manifest_path.parent.iterdir() if f.is_file())
        counts = m.get("counts") or {}
        rows.append(TestsetInfo(
            name=m.get("name", manifest_path.parent.name),
            kind=kinds.declared(m, manifest_path) or kinds.PSEUDO_PRIVATE,
            recipe=m.get("recipe_version"), seed=m.get("seed"), n_testset=counts.get("testset"),
            n_holdout=counts.get("holdout"), n_train=counts.get("train"),
            leakage_removed=m.get("leakage_removed"), megabytes=round(size / 1e6, 1),
            built_at=m.get("built_at", "")))
    return rows
