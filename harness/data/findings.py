"""What data hygiene finds: its thresholds, its verdicts and its report, as plain types.

`hygiene` (the search and the clean), `planted` (the planted-picture search) and
`hygiene_sheets` (the contact sheets) all speak these types; keeping them here lets
each of those import them without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLANTED, CONFLICTING, DUPLICATE = "planted", "conflicting_labels", "duplicate"
REASONS = {
    PLANTED: "copies of one foreign picture over cells, with random labels: all removed",
    CONFLICTING: "copies of one image with different labels: no copy can be trusted, "
                 "all removed",
    DUPLICATE: "copies of one image with one label: the first is kept, the rest removed",
}


@dataclass(frozen=True)
class HygieneSettings:
    """Every threshold `inspect` uses, written into every report.

    Args:
        max_distance: largest phash/dhash Hamming distance for a near-copy candidate.
        min_corr: a candidate pair is a copy when its grey 32x32 thumbnails correlate at
            least this much at the best shift of up to one thumbnail pixel.
        planted_min_size: fewest images that make a planted group.
        planted_min_corr: each planted member's correlation with the group's mean picture.
        planted_gap, planted_shell: at most `planted_shell` times as many images as the
            group holds may correlate within `planted_gap` below `planted_min_corr`.
        planted_median: the group's median correlation with its picture (copies are
            near-identical to it; a group that swallowed look-alike cells is not).
        probes: evenly spaced images tried as centres of planted groups.
    """

    max_distance: int = 6
    min_corr: float = 0.97
    planted_min_size: int = 8
    planted_min_corr: float = 0.8
    planted_gap: float = 0.15
    planted_shell: float = 1.0
    planted_median: float = 0.9
    probes: int = 512


@dataclass
class Finding:
    """One group of images and what hygiene decided about it.

    Args:
        group: group id (its position in `InspectReport.findings`).
        rule: "planted", "conflicting_labels" or "duplicate".
        reason: one line a person reads.
        indices: the images in the group, ascending.
        labels: their labels, in the same order.
        removed: the indices `clean` removes.
        exact: whether all images in the group are byte-identical.
    """

    group: int
    rule: str
    reason: str
    indices: list[int]
    labels: list[int]
    removed: list[int]
    exact: bool


@dataclass
class Removal:
    """One image `clean` removes, why, and its group."""

    index: int
    label: int
    rule: str
    group: int


@dataclass
class InspectReport:
    """What `inspect` found; JSON-able with `harness.jsonable.to_jsonable`.

    Args:
        dataset: the file inspected (or "<memory>").
        n_images: images in it.
        class_counts: images per class name, before and after cleaning.
        imbalance: largest class count over smallest, before and after.
        exact_groups: byte-identical groups, and images in them.
        near_pairs: confirmed near-copy pairs (between distinct images).
        findings: every group with its verdict (see `Finding`).
        removed_by_rule: images `clean` would remove, per rule.
        n_removed, n_kept: totals.
        sheets: contact-sheet PNG per rule, when a report folder was given.
        report_dir: that folder (it holds report.json too), or None.
        settings: the thresholds used.
        seconds: time per step.
    """

    dataset: str
    n_images: int
    class_counts: dict[str, dict[str, int]]
    imbalance: dict[str, float]
    exact_groups: dict[str, int]
    near_pairs: int
    findings: list[Finding]
    removed_by_rule: dict[str, int]
    n_removed: int
    n_kept: int
    sheets: dict[str, str] = field(default_factory=dict)
    report_dir: str | None = None
    settings: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def removals(self) -> list[Removal]:
        """Every removed image, ascending by index."""
        out = []
        for f in self.findings:
            removed = set(f.removed)
            out += [Removal(i, lab, f.rule, f.group)
                    for i, lab in zip(f.indices, f.labels) if i in removed]
        return sorted(out, key=lambda r: r.index)

    def keep_mask(self) -> np.ndarray:
        keep = np.ones(self.n_images, bool)
        keep[[r.index for r in self.removals()]] = False
        return keep
