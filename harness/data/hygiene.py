"""Data hygiene: find the dirt in a labelled image set, show the evidence, remove it.

`inspect` finds, in a few seconds and without TensorFlow:

- class counts and imbalance;
- copy groups: byte-identical images (`exact_duplicate_groups`) and near copies
  (perceptual-hash neighbours, phash or dhash within `max_distance` bits, each pair
  confirmed by a shift-tolerant correlation of grey thumbnails >= `min_corr`), joined
  into groups by connected components;
- planted pictures: a set of at least `planted_min_size` images, with mixed labels,
  that all correlate with the set's picture above `planted_min_corr` while few images
  fall in the shell just below (`planted_gap`, `planted_shell`). A foreign picture
  pasted over many cells makes such an isolated, tight cluster; look-alike cells never
  do: their similarities fall off smoothly, so the shell under any core is crowded
  (on the real data, 3x the core or more; under planted pictures, a quarter at most).
  Candidate centres are the copy groups and an evenly spaced sample of images, so the
  search stays linear in N.

Every group then gets one verdict, and `clean` applies it: planted pictures, and copies
whose labels disagree, go entirely (no copy can be trusted); copies with one label keep
their first image. Colour statistics were tried as a "not a blood cell" rule and left
out: with a tenth of the data planted they do not separate (bench/RESULTS.md).

Examples:
    >>> report = inspect("data/training_set.npz", report_dir="reports/hygiene")
    >>> report.n_removed, report.removed_by_rule
    >>> clean("data/training_set.npz", "data/clean.npz")
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from harness.data.datasets import Dataset, load_dataset, save_dataset
from harness.data.duplicates import (
    aligned_correlation,
    exact_duplicate_groups,
    near_duplicate_pairs,
    perceptual_hashes,
    thumbnails_and_hashes,
)
from harness.data.findings import (
    CONFLICTING,
    DUPLICATE,
    PLANTED,
    REASONS,
    Finding,
    HygieneSettings,
    InspectReport,
    Removal,
)
from harness.data.hygiene_sheets import write_sheets
from harness.data.planted import planted_sets, standardised
from harness.errors import HarnessError
from harness.fsutil import transaction, write_text_atomic
from harness.interrupt import checkpoint
from harness.jsonable import to_jsonable
from harness.profile import Profile, get_profile

__all__ = ["exact_duplicate_groups", "near_duplicate_pairs", "perceptual_hashes",
           "HygieneSettings", "Finding", "Removal", "InspectReport", "CleanResult",
           "inspect", "clean"]

def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component id of each of n nodes under the given edges (union-find)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _find_groups(images: np.ndarray, labels: np.ndarray, s: HygieneSettings,
                 progress: Callable | None, seconds: dict) -> tuple:
    """Group ids per image (-1: alone), which groups are planted, and detection counts."""
    n = len(images)
    t = time.perf_counter()
    exact = exact_duplicate_groups(images)
    content = np.arange(n)  # each image -> the first image with its exact bytes
    for g in exact:
        content[g] = g[0]
    reps = np.flatnonzero(content == np.arange(n))
    rep_of = np.searchsorted(reps, content)  # image -> content number
    weights = np.bincount(rep_of, minlength=len(reps))
    seconds["exact"] = time.perf_counter() - t

    t = time.perf_counter()
    thumbs, phash, dhash = thumbnails_and_hashes(images, progress, index=reps)
    candidates = [near_duplicate_pairs(phash, s.max_distance),
                  near_duplicate_pairs(dhash, s.max_distance)]
    seconds["hashes"] = time.perf_counter() - t

    t = time.perf_counter()
    pairs = np.unique(np.concatenate(candidates), axis=0)
    if len(pairs):
        corr = aligned_correlation(thumbs[pairs[:, 0]], thumbs[pairs[:, 1]])
        pairs = pairs[corr >= s.min_corr]
    copy_of = _components(len(reps), pairs)
    seconds["near"] = time.perf_counter() - t

    t = time.perf_counter()
    vectors = standardised(thumbs)

    # Each content's label, or -1 where its byte-identical copies disagree.
    content_label = np.full(len(reps), -1)
    lo, hi = np.full(len(reps), labels.max()), np.zeros(len(reps), labels.dtype)
    np.minimum.at(lo, rep_of, labels)
    np.maximum.at(hi, rep_of, labels)
    content_label[lo == hi] = lo[lo == hi]

    def mixed(members):  # do the images of these contents carry more than one label?
        found = content_label[members]
        return bool((found < 0).any() or (found != found[0]).any())

    # Centres: copy groups whose labels disagree, then probes (which find big groups).
    order = np.argsort(copy_of, kind="stable")
    cuts = np.flatnonzero(np.diff(copy_of[order])) + 1
    centres = [m for m in np.split(order, cuts) if mixed(m)]
    step = max(1, len(reps) // s.probes)
    centres += [np.array([i]) for i in range(0, len(reps), step)]
    planted = planted_sets(vectors, thumbs, weights, mixed, centres, s)
    seconds["planted"] = time.perf_counter() - t

    edges = [pairs] + [np.stack([m[:-1], m[1:]], axis=1) for m in planted]
    group_of = _components(len(reps), np.concatenate(edges))
    in_planted = np.zeros(len(reps), bool)
    for m in planted:
        in_planted[m] = True
    image_group = group_of[rep_of]
    sizes = np.bincount(image_group, minlength=len(reps))
    image_group[sizes[image_group] < 2] = -1
    planted_groups = set(np.unique(group_of[in_planted]).tolist())
    counts = {"groups": len(exact), "images": int(sum(len(g) for g in exact))}
    return image_group, planted_groups, counts, len(pairs), content


def _verdicts(image_group, planted_groups, labels, content) -> list[Finding]:
    findings = []
    ids = np.unique(image_group[image_group >= 0])
    order = np.argsort(image_group, kind="stable")
    starts = np.searchsorted(image_group[order], ids)
    ends = np.searchsorted(image_group[order], ids, side="right")
    for gid, a, b in zip(ids, starts, ends):
        members = np.sort(order[a:b])
        labs = labels[members]
        if gid in planted_groups:
            rule, removed = PLANTED, members
        elif len(np.unique(labs)) > 1:
            rule, removed = CONFLICTING, members
        else:
            rule, removed = DUPLICATE, members[1:]
        findings.append(Finding(group=len(findings), rule=rule, reason=REASONS[rule],
                                indices=members.tolist(), labels=labs.tolist(),
                                removed=removed.tolist(),
                                exact=bool(np.all(content[members] == content[members[0]]))))
    return findings


def _class_table(labels: np.ndarray, keep: np.ndarray, profile: Profile):
    counts, imbalance = {}, {}
    for stage, mask in (("before", np.ones(len(labels), bool)), ("after", keep)):
        c = np.bincount(labels[mask], minlength=profile.num_classes)
        counts[stage] = {name: int(v) for name, v in zip(profile.class_names, c)}
        imbalance[stage] = float(c.max() / c.min()) if c.min() > 0 else float("inf")
    return counts, imbalance


def _as_dataset(dataset, profile) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    return load_dataset(dataset, profile)


def inspect(dataset: Dataset | str | os.PathLike, profile: Profile | str | None = None,
            report_dir: str | os.PathLike | None = None,
            settings: HygieneSettings | None = None,
            progress: Callable | None = None) -> InspectReport:
    """Find duplicates, conflicting labels and planted pictures; optionally write evidence.

    Args:
        dataset: a `Dataset` or the path of an npz (loaded with `load_dataset`).
        profile: the competition profile (class names for the counts).
        report_dir: if given, write `report.json` and one contact sheet per rule there.
        settings: thresholds (`HygieneSettings()` by default).
        progress: optional wrapper for an iterable (e.g. tqdm) over thumbnail chunks.

    Returns:
        An `InspectReport`. The input is never modified.

    Raises:
        HarnessError: the file cannot be loaded, or has no labels.
    """
    profile = get_profile(profile)
    settings = settings or HygieneSettings()
    ds = _as_dataset(dataset, profile)
    if ds.labels is None:
        raise HarnessError("inspect needs labels (conflicting copies are found by label). "
                           f"Received: a dataset without 'labels' from {ds.path}",
                           hint="inspect a labelled training file")
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    image_group, planted_groups, exact_counts, n_pairs, content = _find_groups(
        ds.images, ds.labels, settings, progress, seconds)
    findings = _verdicts(image_group, planted_groups, ds.labels, content)
    removed = np.zeros(len(ds), bool)
    by_rule = {rule: 0 for rule in REASONS}
    for f in findings:
        removed[f.removed] = True
        by_rule[f.rule] += len(f.removed)
    counts, imbalance = _class_table(ds.labels, ~removed, profile)
    seconds["total"] = time.perf_counter() - start
    report = InspectReport(
        dataset=str(ds.path) if ds.path else "<memory>", n_images=len(ds),
        class_counts=counts, imbalance=imbalance, exact_groups=exact_counts,
        near_pairs=n_pairs, findings=findings, removed_by_rule=by_rule,
        n_removed=int(removed.sum()), n_kept=int((~removed).sum()),
        settings=vars(settings).copy(), seconds={k: round(v, 3) for k, v in seconds.items()})
    if report_dir is not None:
        # The sheets and the report that lists them land together, or not at all.
        with transaction():
            report.sheets = write_sheets(report, ds, Path(report_dir))
            report.report_dir = str(report_dir)
            write_report_json(report, Path(report_dir) / "report.json")
    return report


def report_json(report: InspectReport) -> dict:
    """The report as plain JSON types, with every removed image listed."""
    doc = to_jsonable(report)
    doc["reasons"] = dict(REASONS)
    doc["removed"] = to_jsonable(report.removals())
    return doc


def write_report_json(report: InspectReport, path: Path) -> Path:
    return write_text_atomic(path, json.dumps(report_json(report), indent=1))


@dataclass
class CleanResult:
    """What `clean` wrote.

    Args:
        source: the input npz (never modified).
        out: the cleaned npz.
        report: `out` with suffix `.report.json`: every removed index, rule and group.
        n_images, n_removed, n_kept: counts.
        removed_by_rule: images removed per rule.
        reasons: what each rule means.
        class_counts: per class, before and after.
    """

    source: str
    out: str
    report: str
    n_images: int
    n_removed: int
    n_kept: int
    removed_by_rule: dict[str, int]
    reasons: dict[str, str]
    class_counts: dict[str, dict[str, int]]


def clean(source: str | os.PathLike, out: str | os.PathLike,
          profile: Profile | str | None = None, settings: HygieneSettings | None = None,
          progress: Callable | None = None) -> CleanResult:
    """Write `source` without its dirt to `out`, and `out.report.json` saying why.

    Planted pictures and copies with conflicting labels are removed entirely; copies
    with one label keep their first image. Extra per-image keys are kept, subset alike.
    Both files are committed together (or neither); `source` is only read.

    Raises:
        HarnessError: `source` cannot be loaded, or `out` is `source`.
    """
    source, out = Path(source), Path(out)
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise HarnessError(f"clean never overwrites its input. Received: out={out}",
                           hint="give another output path, e.g. data/clean.npz")
    ds = load_dataset(source, profile)
    report = inspect(ds, profile, settings=settings, progress=progress)
    keep = report.keep_mask()
    kept = ds.subset(keep)
    report_path = out.with_suffix(".report.json")
    doc = report_json(report)
    doc["source_sha256_data"] = ds.fingerprint()
    checkpoint("clean:inspected")
    # Data first, then the report about it, committed together: never a report alone.
    with transaction():
        save_dataset(out, kept.images, kept.labels, **kept.extras)
        write_text_atomic(report_path, json.dumps(doc, indent=1))
    return CleanResult(source=str(source), out=str(out), report=str(report_path),
                       n_images=len(ds), n_removed=report.n_removed, n_kept=report.n_kept,
                       removed_by_rule=report.removed_by_rule, reasons=REASONS,
                       class_counts=report.class_counts)
