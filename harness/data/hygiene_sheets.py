"""The evidence of `hygiene.inspect`: one contact sheet per rule, for a person to check.

Planted groups are shown one distinct picture per tile, most doubtful first (lowest
correlation with the group's picture), with how many byte-identical copies each has:
a plain cell wrongly caught would sit at the start. Duplicate groups are shown one
group per row, so copies sit side by side with their labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.contactsheet import contact_sheet
from harness.data.datasets import Dataset
from harness.data.duplicates import aligned_correlation, exact_duplicate_groups, grey_thumbnails
from harness.data.findings import CONFLICTING, DUPLICATE, PLANTED, Finding, InspectReport

MAX_TILES = 256  # per sheet; the sheet's title says when some were left out


def _planted_tiles(findings: list[Finding], ds: Dataset):
    tiles, captions = [], []
    for f in findings:
        idx = np.asarray(f.indices)
        copies = np.ones(len(idx), np.int64)
        for g in exact_duplicate_groups(ds.images[idx]):
            copies[g] = 0
            copies[g[0]] = len(g)
        distinct, counts = idx[copies > 0], copies[copies > 0]
        thumbs = grey_thumbnails(ds.images[distinct]).astype(np.float32)
        centre = np.average(thumbs, axis=0, weights=counts)
        corr = aligned_correlation(centre, thumbs)
        for k in np.argsort(corr):
            i = int(distinct[k])
            tiles.append(i)
            copies = f" x{counts[k]}" if counts[k] > 1 else ""
            captions.append(f"#{i} g{f.group}{copies}\nr={corr[k]:.2f} y={ds.labels[i]}")
    return tiles, captions


def _group_rows(findings: list[Finding], ds: Dataset, slot: int):
    """Each group in its own slot of `slot` tiles, padded with blank tiles."""
    tiles, captions = [], []
    for f in findings:
        removed = set(f.removed)
        for i, label in zip(f.indices, f.labels):
            tiles.append(i)
            captions.append(f"#{i} g{f.group}\ny={label}{' out' if i in removed else ' kept'}")
        pad = -len(f.indices) % slot
        tiles += [-1] * pad
        captions += [""] * pad
    return tiles, captions


def write_sheets(report: InspectReport, ds: Dataset, folder: Path) -> dict[str, str]:
    """One PNG per rule that found something, in `folder`; returns {rule: path}."""
    sheets = {}
    blank = np.full(ds.images.shape[1:], 255, np.uint8)
    for rule in (PLANTED, CONFLICTING, DUPLICATE):
        findings = [f for f in report.findings if f.rule == rule]
        if not findings:
            continue
        if rule == PLANTED:
            columns = 16
            tiles, captions = _planted_tiles(findings, ds)
            title = (f"{rule}: {sum(len(f.indices) for f in findings)} images in "
                     f"{len(findings)} groups, one tile per distinct picture (xN: byte-identical "
                     f"copies), least like its group's picture first (r: correlation)")
        else:
            slot = min(8, max(len(f.indices) for f in findings))
            columns = slot * max(1, 8 // slot)
            tiles, captions = _group_rows(findings, ds, slot)
            title = (f"{rule}: {len(findings)} groups, {sum(len(f.removed) for f in findings)} "
                     f"images removed; copies side by side (out: removed, kept: stays)")
        images = np.stack([ds.images[i] if i >= 0 else blank for i in tiles])
        path = folder / f"{rule}.png"
        contact_sheet(images, path, captions=captions, columns=columns, title=title,
                      max_images=MAX_TILES)
        sheets[rule] = str(path)
    return sheets
