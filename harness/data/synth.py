"""The embedded default data: synthetic images of the profile's classes, optionally dirty.

`synthesize` draws a labelled set of images of the profile's shape and classes, so the
demo, the tests and a new user have data without downloading anything: blood smears
(`harness.data.smear`) for the 2024 profile, plant leaves (`harness.data.leaves`) for
the 2023 one, as its `[data] synthetic` says. Classes follow the profile's
`class_counts` (the course file's proportions: 852/2181/1085/2026/849/993/2330/1643
cells in 2024, course material), with at least one image per class.

`contaminate=True` adds the kinds of dirt the course's `training_set.npz` holds, and
records every planted item in `Synthetic.truth`, so detectors can be tested against it:

- foreign pictures: about 13% of the final array are copies of two procedurally drawn
  pictures of something else (a cartoon face, a striped poster) blended over random
  images (cells, leaves) so that the picture dominates, with random labels, one picture
  8x as frequent as the other (the 2024 course file: 1,600 and 200; the 2023 one held
  Shrek and a "trololo" singer). Unlike the course file, whose copies are
  byte-identical, each copy here lies over a different image: near-duplicates, a harder
  case that an exact-hash detector alone does not catch;
- exact duplicates of clean images, some with the same label and some with a
  conflicting one.

Everything is shuffled into one array. Every random choice derives from the seed, so
the output is byte-identical for the same (n, seed, contaminate).

Examples:
    >>> data = synthesize(n=240, seed=0, contaminate=True)
    >>> data.images.shape[1:], data.images.dtype, sorted(data.truth["foreign"])
    ((96, 96, 3), dtype('uint8'), ['cartoon_face', 'poster'])
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from harness.contactsheet import contact_sheet
from harness.data import leaves, smear
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.fsutil import transaction, write_text_atomic
from harness.interrupt import checkpoint
from harness.profile import Profile, get_profile

# What each `[data] synthetic` draws: its class names (lower case) and the drawing.
SYNTHESIZERS = {"blood-smear": (tuple(smear.DRAWERS), smear.draw_cell),
                "leaves": (leaves.KINDS, leaves.draw_leaf)}
FOREIGN_SHARE = 0.13          # of the final array (course file: 1,800 of 13,759)
FOREIGN_RATIO = (8, 1)        # cartoon_face : poster (course file: 1,600 : 200)
FOREIGN_ALPHA = 0.8           # the picture dominates the cell under it
BATCH = 256                   # images finished (blur, noise) together
SHEET_PER_CLASS = 8           # examples of each class on the contact sheet


@dataclass
class Synthetic:
    """A synthetic labelled set and what was planted in it.

    Args:
        images: (N, H, W, 3) uint8.
        labels: (N,) int64.
        truth: empty when clean; when contaminated (all indices into `images`):
            `n_clean`: how many images are plain cells;
            `foreign`: {picture name: [indices of its copies]};
            `duplicates`: [[original, copy], ...] for every exact duplicate planted;
            `conflicting`: the pairs among `duplicates` whose labels differ.
    """

    images: np.ndarray
    labels: np.ndarray
    truth: dict = field(default_factory=dict)


def class_counts(n: int, shares: np.ndarray) -> np.ndarray:
    """Split n images over classes: one each, the rest by `shares` (largest remainder)."""
    k = len(shares)
    quota = (n - k) * np.asarray(shares, float) / np.sum(shares)
    counts = np.floor(quota).astype(int)
    order = np.argsort(-(quota - counts), kind="stable")
    counts[order[: (n - k) - counts.sum()]] += 1
    return counts + 1


def _kinds(profile: Profile):
    """The profile's classes as the drawing's kinds, and the drawing; or one line why not."""
    if profile.synthetic not in SYNTHESIZERS:
        raise HarnessError(
            f"profile {profile.name!r} names nothing for `data synth` to draw "
            f"([data] synthetic is not set)",
            hint=f"set [data] synthetic to one of {', '.join(SYNTHESIZERS)} in the profile "
                 f"if its classes are those, or import real data: harness data import")
    known, draw = SYNTHESIZERS[profile.synthetic]
    kinds = [name.lower() for name in profile.class_names]
    unknown = [k for k in kinds if k not in known]
    if unknown or profile.input_shape[2] != 3:
        raise HarnessError(
            f"`data synth` draws {profile.synthetic} of the classes {', '.join(known)} in RGB; "
            f"profile {profile.name!r} does not match. Received: classes without a "
            f"drawing={unknown}, shape={profile.input_shape}",
            hint=f"use a profile whose classes are among: {', '.join(known)}")
    return kinds, draw


def _draw(key: list[int], kinds, draw, labels, size, progress) -> np.ndarray:
    """Finished uint8 images for `labels`; image i is drawn from a generator seeded [*key, 0, i]."""
    images = np.empty((len(labels), *size, 3), np.uint8)
    starts = range(0, len(labels), BATCH)
    for start in (progress(starts) if progress else starts):
        stop = min(start + BATCH, len(labels))
        batch = np.stack([draw(np.random.default_rng([*key, 0, i]), kinds[labels[i]], size)
                          for i in range(start, stop)])
        images[start:stop] = smear.finish(np.random.default_rng([*key, 1, start]), batch)
    return images


def synthesize(n: int = 2400, seed: int = 0, profile: Profile | str | None = None,
               contaminate: bool = False, progress: Callable | None = None) -> Synthetic:
    """Draw `n` labelled images of the profile's classes, optionally with the course's dirt.

    Args:
        n: number of clean images (dirt comes on top of these).
        seed: every random choice derives from it.
        profile: competition profile (`[data] synthetic` says what to draw; its classes
            must be that drawing's).
        contaminate: add foreign-picture copies and duplicates (see the module docstring).
        progress: optional wrapper for an iterable (e.g. tqdm), called over batches.

    Returns:
        A `Synthetic` with images, labels and the truth about what was planted.

    Raises:
        HarnessError: n smaller than the number of classes, a negative seed, or a
            profile whose classes cannot be drawn.
    """
    profile = get_profile(profile)
    kinds, draw = _kinds(profile)
    if n < len(kinds):
        raise HarnessError(f"n must be at least the number of classes ({len(kinds)}). "
                           f"Received: n={n}", hint=f"use --n {len(kinds)} or more")
    if seed < 0:
        raise HarnessError(f"seed must be >= 0. Received: seed={seed}", hint="use --seed 0")
    size = tuple(profile.input_shape[:2])
    counts = class_counts(n, np.array(profile.class_counts or [1] * len(kinds)))
    order = np.random.default_rng([seed, 0]).permutation(n)
    labels = np.repeat(np.arange(len(kinds)), counts)[order].astype(np.int64)
    images = _draw([seed, 1], kinds, draw, labels, size, progress)
    if not contaminate:
        return Synthetic(images, labels)
    return _contaminate(images, labels, seed, kinds, draw, size)


def _contaminate(images, labels, seed, kinds, draw, size) -> Synthetic:
    """Add foreign-picture copies and duplicates, shuffle, and record where they went."""
    rng = np.random.default_rng([seed, 2])
    n = len(images)
    n_foreign = int(round(n * FOREIGN_SHARE / (1 - FOREIGN_SHARE)))
    n_face = int(round(n_foreign * FOREIGN_RATIO[0] / sum(FOREIGN_RATIO)))
    pictures = np.array([0] * n_face + [1] * (n_foreign - n_face))
    under = _draw([seed, 3], kinds, draw, rng.integers(0, len(kinds), n_foreign), size, None)
    art = np.stack([smear.foreign_picture(p, size) for p in smear.FOREIGN_PICTURES])
    foreign = np.clip(np.rint(FOREIGN_ALPHA * art[pictures] + (1 - FOREIGN_ALPHA) * under),
                      0, 255).astype(np.uint8)
    foreign_labels = rng.integers(0, len(kinds), n_foreign)

    n_same, n_conflict = max(2, n // 400), max(2, n // 600)
    originals = rng.choice(n, n_same + n_conflict, replace=False)
    dup_labels = labels[originals].copy()
    shift = rng.integers(1, len(kinds), n_conflict)  # never 0: the label really changes
    dup_labels[n_same:] = (dup_labels[n_same:] + shift) % len(kinds)

    all_images = np.concatenate([images, foreign, images[originals]])
    all_labels = np.concatenate([labels, foreign_labels, dup_labels]).astype(np.int64)
    perm = rng.permutation(len(all_images))
    where = np.empty_like(perm)
    where[perm] = np.arange(len(perm))  # where[old index] = new index
    foreign_at = where[n:n + n_foreign]
    copies_at = where[n + n_foreign:]
    pairs = [[int(where[o]), int(c)] for o, c in zip(originals, copies_at)]
    truth = {
        "n_clean": n,
        "foreign": {name: sorted(int(i) for i in foreign_at[pictures == k])
                    for k, name in enumerate(smear.FOREIGN_PICTURES)},
        "duplicates": pairs,
        "conflicting": pairs[n_same:],
    }
    return Synthetic(all_images[perm], all_labels[perm], truth)


@dataclass
class SynthResult:
    """What `write_synthetic` wrote.

    Args:
        out: the npz written.
        n_images: images in it (clean cells plus dirt).
        n_clean: clean cell images.
        seed: the seed used.
        per_class: labels in the file per class name (dirt included).
        foreign: copies of each foreign picture planted (empty when clean).
        duplicates: exact duplicates planted, of which `conflicting` carry another label.
        conflicting: see `duplicates`.
        truth: the JSON file recording what was planted, or None when clean.
        sheet: the contact sheet PNG.
        seconds: time to draw the images.
        images_per_s: drawing speed.
    """

    out: str
    n_images: int
    n_clean: int
    seed: int
    per_class: dict[str, int]
    foreign: dict[str, int]
    duplicates: int
    conflicting: int
    truth: str | None
    sheet: str
    seconds: float
    images_per_s: float


def _write_sheet(data: Synthetic, path: Path, profile: Profile) -> Path:
    """A row of examples per class, then rows of foreign copies and duplicate pairs."""
    dirty = {i for idx in data.truth.get("foreign", {}).values() for i in idx}
    dirty |= {i for pair in data.truth.get("duplicates", []) for i in pair}
    clean = np.array([i for i in range(len(data.images)) if i not in dirty])
    picks, captions = [], []
    for label, name in enumerate(profile.class_names):
        for i in clean[data.labels[clean] == label][:SHEET_PER_CLASS]:
            picks.append(i)
            captions.append(f"#{i} y={label} {name.lower()}")
    for name, idx in data.truth.get("foreign", {}).items():
        for i in idx[:SHEET_PER_CLASS // 2]:
            picks.append(i)
            captions.append(f"#{i} y={data.labels[i]} {name}")
    for original, copy in data.truth.get("duplicates", [])[:SHEET_PER_CLASS // 2]:
        picks += [original, copy]
        captions += [f"#{original} y={data.labels[original]}",
                     f"#{copy} y={data.labels[copy]} copy"]
    title = (f"harness data synth: {len(data.images)} images, one row per class "
             f"(labels {', '.join(f'{k}={n}' for k, n in enumerate(profile.class_names))})")
    if data.truth:
        title += "; then foreign-picture copies and duplicate pairs (original, copy)"
    return contact_sheet(data.images[picks], path, captions=captions,
                         columns=SHEET_PER_CLASS, title=title)


def write_synthetic(out: str | os.PathLike, n: int = 2400, seed: int = 0,
                    contaminate: bool = False, sheet: str | os.PathLike | None = None,
                    profile: Profile | str | None = None,
                    progress: Callable | None = None) -> SynthResult:
    """Synthesize a dataset and write it as the competition's npz, with its evidence.

    Writes `out` (atomically), `out` with suffix `.truth.json` when contaminated (the
    `Synthetic.truth` dict), and a contact sheet PNG of examples of every class and of
    the dirt.

    Args:
        out: the .npz to write.
        n, seed, contaminate, profile, progress: as for `synthesize`.
        sheet: the contact sheet PNG (default: `out` with suffix `.png`).

    Raises:
        HarnessError: `out` does not end in .npz, or `synthesize` rejects an option.
    """
    profile = get_profile(profile)
    out = Path(out)
    if out.suffix.lower() != ".npz":
        raise HarnessError(f"the output must be an .npz file. Received: {out}",
                           hint=f"use e.g. {out.with_suffix('.npz')}")
    start = time.perf_counter()
    data = synthesize(n, seed, profile, contaminate, progress)
    seconds = time.perf_counter() - start
    checkpoint("synth:drawn")
    truth_path = None
    # The dataset, its truth and its sheet are committed together, the data first.
    with transaction():
        save_dataset(out, data.images, data.labels)
        if contaminate:
            truth_path = write_text_atomic(out.with_suffix(".truth.json"),
                                           json.dumps(data.truth, indent=1))
        sheet_path = _write_sheet(data, Path(sheet) if sheet else out.with_suffix(".png"),
                                  profile)
    counts = np.bincount(data.labels, minlength=profile.num_classes)
    return SynthResult(
        out=str(out), n_images=len(data.images), n_clean=n, seed=seed,
        per_class={name: int(c) for name, c in zip(profile.class_names, counts)},
        foreign={k: len(v) for k, v in data.truth.get("foreign", {}).items()},
        duplicates=len(data.truth.get("duplicates", [])),
        conflicting=len(data.truth.get("conflicting", [])),
        truth=str(truth_path) if truth_path else None, sheet=str(sheet_path),
        seconds=round(seconds, 2), images_per_s=round(len(data.images) / seconds, 1))
