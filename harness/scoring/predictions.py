"""Predictions kept for reuse: a model's labels on a test set, by both hashes.

Predicting the pseudo-private set is most of `harness score`'s time, and the same model
meets the same images again: a second `score` of an unchanged run, a whole run after
`--quick`, `explain` after `score`. Each ingestion run's labels land in the data
folder's `predictions/`, one npz per (model hash, test-set sha256): the labels, -1
where an image was not predicted yet, and what each run that predicted some of them
measured (images, load, predict and total seconds, peak memory, calls, versions), so a
score made of kept labels still reports the runs that made them. The model hash is
`Staged.model_sha256` (model.py, settings and weights: TTA changes the labels too).

Examples:
    >>> kept = stored_predictions(staged.model_sha256, ts_sha256, len(ts))
    >>> kept.missing(np.arange(len(ts)))[:3]
    array([0, 1, 2])
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.fsutil import atomic_path
from harness.paths import data_dir

UNKNOWN = -1


def predictions_dir() -> Path:
    """Where kept predictions live: the data folder's predictions/."""
    return data_dir() / "predictions"


@dataclass
class StoredPredictions:
    """One model's labels on one test set, as far as they were predicted.

    Args:
        path: its npz.
        labels: (n,) int64, `UNKNOWN` where not predicted yet.
        runs: one record per ingestion run that predicted some of them: images,
            load_s, predict_s, total_s, peak_rss_mb, calls, versions.
    """

    path: Path
    labels: np.ndarray
    runs: list[dict] = field(default_factory=list)

    def missing(self, rows: np.ndarray) -> np.ndarray:
        """Those of `rows` not predicted yet, in their order."""
        rows = np.asarray(rows, np.int64)
        return rows[self.labels[rows] == UNKNOWN]

    def add(self, rows: np.ndarray, labels: np.ndarray, run: dict) -> None:
        """Keep the labels one run gave `rows`, and what it measured, on disk at once."""
        self.labels[np.asarray(rows, np.int64)] = np.asarray(labels, np.int64)
        self.runs.append(run)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
            # int16: a tuning study keeps one file per trial; no profile has 32k classes.
            np.savez(f, labels=self.labels.astype(np.int16),
                     runs=np.array(json.dumps(self.runs)))


def stored_predictions(model_sha256: str, testset_sha256: str, n: int) -> StoredPredictions:
    """The kept labels of a model on a test set of `n` images (none kept: all UNKNOWN;
    a damaged or mismatched file is ignored and replaced at the next `add`)."""
    path = predictions_dir() / f"{model_sha256[:20]}_{testset_sha256[:20]}.npz"
    try:
        with np.load(path, allow_pickle=False) as archive:
            labels, runs = archive["labels"].astype(np.int64), json.loads(str(archive["runs"]))
        if labels.shape == (n,) and isinstance(runs, list):
            return StoredPredictions(path, labels, runs)
    except (OSError, ValueError, KeyError):
        pass
    return StoredPredictions(path, np.full(n, UNKNOWN, np.int64))
