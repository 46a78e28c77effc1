"""What `score` predicts, in which order, and what it reuses instead.

On a pseudo-private set the headline (the forecast and its interval) rests on some of
the images only (the compound views of pp@2: 3,578 of 33,991), so they go first, in an
ingestion run of their own: the forecast is known, and said (`on_headline`), before the
per-family diagnosis is predicted by a second run. Labels kept from an earlier run of
the same model on the same test set (`predictions`) are reused, not predicted again.
Labels depend on nothing but the model and the image, so the whole run's metrics are
those of one run over every image; the split changes the timings only (two processes
each load the model: `load_s` is the first's, `predict_s` and `total_s` add up).

Examples:
    >>> done = predict_in_phases(staged, ts, sha, profile, limit, [head, rest])
    >>> done.labels[head][:3], done.reused
    (array([3, 1, 6]), 0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from harness.data.datasets import UNREADABLE, check_intact
from harness.errors import HarnessError
from harness.profile import Profile
from harness.progress import progress_bar
from harness.scoring.contract import Failure
from harness.scoring.ingestion import IngestionResult, start_submission
from harness.scoring.predictions import stored_predictions
from harness.scoring.targets import Staged
from harness.testset.store import TestSet

REBUILD = "rebuild it: harness testset build --force, or restore it"


@dataclass
class Phased:
    """The labels of the phases' images and what predicting them cost.

    Args:
        labels: (n,) int64, -1 for images no phase asked for.
        reused: images whose labels were kept from an earlier run (not predicted now).
        predicted: images predicted now.
        failure: the failing run's failure, else None (later phases do not run).
        runs: the records of the runs the labels come from (kept ones included).
        failed: the failing run itself, for its stderr tail.
    """

    labels: np.ndarray
    reused: int = 0
    predicted: int = 0
    failure: Failure | None = None
    runs: list[dict] = field(default_factory=list)
    failed: IngestionResult | None = None

    def timing(self) -> dict:
        """load_s (the first run's), predict_s and total_s (summed), peak_rss_mb (the
        largest), calls and versions, over the runs the labels come from; a failure's
        are its failing run's."""
        runs = [_record(self.failed)] if self.failed else self.runs
        if not runs:
            return dict(load_s=None, predict_s=None, total_s=None, peak_rss_mb=None,
                        calls=[], versions={})
        return dict(load_s=runs[0]["load_s"], predict_s=_sum(r["predict_s"] for r in runs),
                    total_s=_sum(r["total_s"] for r in runs),
                    peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
                    calls=[c for r in runs for c in r["calls"]], versions=runs[-1]["versions"])


def _sum(values) -> float | None:
    values = list(values)
    return None if None in values else sum(values)


def _record(run: IngestionResult) -> dict:
    return dict(images=run.n_images, load_s=run.load_s, predict_s=run.predict_s,
                total_s=run.total_s, peak_rss_mb=run.peak_rss_mb, calls=run.calls,
                versions=run.versions)


def _over(limit: float) -> Failure:
    return Failure("time_limit", f"Execution Time Limit exceeded. Limit was {limit:g} seconds",
                   "make predict faster (fewer TTA passes, a smaller model) or check the "
                   "estimate with `harness timecheck`")


def _images(ts: TestSet) -> np.ndarray:
    try:
        with np.load(ts.path, allow_pickle=False) as archive:
            return archive["images"]
    except UNREADABLE as e:
        raise HarnessError(f"{ts.path}: damaged: {e.__class__.__name__}: {str(e)[:120]}",
                           hint=REBUILD) from None


def predict_in_phases(staged: Staged, ts: TestSet, testset_sha256: str, profile: Profile,
                      limit: float | None, phases: list[np.ndarray],
                      after_first: Callable[[np.ndarray], None] = lambda labels: None,
                      meanwhile: Callable[[], None] = lambda: None,
                      progress: bool = False,
                      say: Callable[[str], None] = lambda line: None) -> Phased:
    """Label each phase's images in turn, reusing kept labels, keeping new ones.

    Args:
        staged: the submission; its `model_sha256` and `testset_sha256` key the labels.
        ts: the test set.
        limit: seconds over the runs made now (each gets what the ones before left).
        phases: arrays of test-set indices, in the order to predict them.
        after_first: called with the labels once the first phase's images have them.
        meanwhile: work for this process while the first run's child starts.
        progress: a tqdm bar (stderr) over the images of the phases after the first.
        say: called with a line saying what is happening.
    """
    kept = stored_predictions(staged.model_sha256, testset_sha256, len(ts))
    done = Phased(labels=kept.labels)
    images, used = None, []
    for k, rows in enumerate(phases):
        todo = kept.missing(rows)
        done.reused += len(rows) - len(todo)
        if len(todo):
            whole = len(todo) == len(ts) and bool(np.all(todo == np.arange(len(ts))))
            if whole:
                check_intact(ts.path, hint=REBUILD)
            elif images is None:
                images = _images(ts)
            left = None if limit is None else limit - sum(r["total_s"] for r in used)
            if left is not None and left <= 0:
                done.failure = _over(limit)
                return done
            say(f"running model.py on {len(todo)} images in its own process"
                + ("" if left is None else f" (limit {left:g} s)"))
            bar = progress_bar(f"scoring {staged.name}", disable=not progress or k == 0,
                               total=len(todo), unit="image")()
            with bar, start_submission(staged.path, ts.path if whole else images[todo],
                                       profile, time_limit_s=left) as running:
                if not used:
                    meanwhile()
                run = running.wait(lambda n, bar=bar: bar.update(n - bar.n))
            if run.failure is not None:
                # The server's words name the whole run's limit, not what this run had left.
                done.failure = _over(limit) if run.failure.kind == "time_limit" else run.failure
                if not whole and run.failure.kind != "time_limit":  # shapes: this run's images
                    done.failure = dataclasses.replace(done.failure, message=(
                        f"{done.failure.message} (in the run of {len(todo)} of the "
                        f"{len(ts)} images{' the headline rests on' if k == 0 else ''})"))
                done.failed = run
                return done
            used.append(_record(run))
            kept.add(todo, run.predictions, used[-1])
            done.predicted += len(todo)
        if k == 0:
            after_first(done.labels)
    if not used:
        meanwhile()
    done.runs = kept.runs
    return done
