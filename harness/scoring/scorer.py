"""Scoring: resolve a target, run it as the server would, measure it.

`score`: TARGET (zip, submission folder or experiment) -> a submission folder
(`targets`) -> static checks (`contract`) -> one run in its own process (`ingestion`)
-> metrics (`metrics`) -> a `ScoreResult`, a failure included. Keeping it (the
leaderboard row and the confusion picture) is the results stage's job:
`harness.results.keep_score`, and `harness.results.score_and_keep` for `harness score`.
The test set arrives loaded (`harness.testset.store.TestSet`: any npz in the
competition's format, or a built `data/testsets/NAME/` with its manifest); only on a
pseudo-private set is the headline a forecast, and every row keeps the kind of set it
was scored on (`harness.testset.kinds`).

Examples:
    >>> profile = get_profile()
    >>> result = score("baseline_cnn", load_testset("default", profile), profile)
    >>> result.ok, round(result.metrics.accuracy, 3)
    (True, 0.612)
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness.errors import HarnessError
from harness.fsutil import sha256_file
from harness.interrupt import checkpoint
from harness.profile import Profile
from harness.scoring.advice import Advice, recommend
from harness.scoring.contract import Failure, SubmissionError, check_source
from harness.scoring.leakage import check_run, trained_families
from harness.scoring.metrics import Metrics, compute_metrics, confusion_png
from harness.scoring.predicting import Phased, predict_in_phases
from harness.scoring.targets import AS_GIVEN, Prepare, resolve_target
from harness.testset import kinds
from harness.testset.calibration import ForecastCalibration
from harness.testset.recipes import PseudoPrivate, headline_rows, pseudo_private
from harness.testset.store import TestSet

__all__ = ["ScoreResult", "Metrics", "compute_metrics", "confusion_png", "score"]




@dataclass
class ScoreResult:
    """What `harness score` found.

    Args:
        ok: the run finished and produced valid labels.
        experiment: the leaderboard's name for it.
        target_kind, target, submission_sha256: what was scored.
        testset: name, path, data hash, recipe version, seed and size of the test set,
            its `kind` (`harness.testset.kinds`) and `title`, what its accuracy is in words.
        metrics: `Metrics`, or None on failure.
        load_s, predict_s, total_s, peak_rss_mb: from the ingestion process.
        calls: each `predict` call (images, seconds, peak memory so far); a test set larger
            than the hidden set goes in calls of the hidden set's size.
        time_limit_s: the limit the run had.
        failure: what went wrong (server-like message, hint, the submission's traceback).
        warnings: problems that did not stop the run.
        holdout_overlap: holdout images the experiment's run trained on (None: not an
            experiment, or not checkable; `harness.scoring.leakage`).
        confusion_png: the confusion matrix picture, or None.
        versions: python, numpy, tensorflow, keras of the ingestion process.
        row_id: the leaderboard row that keeps it, db_url: where (set by
            `harness.results.keep_score`; None until kept).
        pseudo_private: on a test set built by `harness testset build`, the headline
            (the recipe's aggregate: the forecast) with its 95% interval and calibration,
            clean accuracy and per family; else None.
        stderr_tail: the end of the ingestion process's stderr, for a crash.
        advice: on a test set with corruption families, the worst of them and the
            augmentations that train against them (`harness.scoring.advice`); else None.
        model: what was scored, in words: the packed model (what `pack` ships), the
            stock one, or the submission as given (`targets.Staged.model`).
        quick: only the images the headline rests on were scored (`n_scored` of them).
        reused: images whose labels were kept from an earlier run, not predicted now
            (`harness.scoring.predictions`).
        run: for an experiment, the run folder whose weights were scored; else None.
        fitted_on: the id of the test set's calibration when it was fitted on this
            submission's Codabench score (then their agreement is no evidence); else None.
    """

    ok: bool
    experiment: str
    target_kind: str | None
    target: str
    submission_sha256: str | None
    testset: dict[str, Any]
    metrics: Metrics | None
    load_s: float | None
    predict_s: float | None
    total_s: float | None
    peak_rss_mb: float | None
    time_limit_s: float
    failure: Failure | None = None
    warnings: list[str] = field(default_factory=list)
    confusion_png: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    row_id: int | None = None
    db_url: str | None = None
    stderr_tail: str = ""
    pseudo_private: PseudoPrivate | None = None
    holdout_overlap: int | None = None
    calls: list[dict] = field(default_factory=list)
    advice: Advice | None = None
    model: str = AS_GIVEN
    quick: bool = False
    reused: int = 0
    n_scored: int | None = None
    run: str | None = None
    fitted_on: str | None = None

    def raise_for_failure(self) -> "ScoreResult":
        if self.failure is not None:
            raise self.failure.error()
        return self




def score(target: str | os.PathLike, testset: TestSet, profile: Profile,
          time_limit_s: float | None = None, experiment_name: str | None = None,
          status: Callable[[str], None] | None = None, prepare: Prepare | None = None,
          quick: bool = False,
          on_headline: Callable[[PseudoPrivate, int], None] | None = None,
          progress: bool = False) -> ScoreResult:
    """Run TARGET on a test set as the server would and score it.

    On a pseudo-private set the images the headline rests on are predicted first
    (`predicting`), and labels kept from an earlier run of the same model on the same
    set are reused.

    Args:
        target: a zip, a submission folder, or an experiment name or folder.
        testset: the test set, loaded (`harness.testset.store.load_testset`).
        profile: the competition profile.
        time_limit_s: limit over the whole run; default the profile's.
        experiment_name: the leaderboard's name for it (default: derived from TARGET).
        status: called with a line saying what is happening (e.g. a spinner's update),
            since one predict call on the whole test set can run for an hour.
        prepare: makes an experiment what `pack` ships (the CLI hands down
            `harness.shipping.optimize.packed_rewrite`); None scores the stock model.
        quick: predict only the images the headline rests on (its interval is the
            whole run's); the other metrics are then of those images alone.
        on_headline: called with the headline and the number of images it rests on as
            soon as they are predicted.
        progress: a tqdm bar (stderr) over the images predicted after the headline's.

    Returns:
        `ScoreResult`; `ok=False` with a `failure` when the submission failed (a
        failure is kept on the leaderboard too). Call `raise_for_failure()` to turn a
        failure into an exception.

    Raises:
        HarnessError: a problem with the request itself (no such target, a damaged
            test set file).
    """
    ts = testset
    say = status or (lambda _line: None)
    limit = profile.time_limit_s if time_limit_s is None else time_limit_s
    if limit is not None and limit <= 0:
        raise HarnessError(f"the time limit is seconds > 0. Received: {limit}")
    forecasts = kinds.forecasts(ts.kind)
    head = (np.flatnonzero(headline_rows(ts.extras["groups"], ts.recipe)) if forecasts
            else np.arange(len(ts)))
    with tempfile.TemporaryDirectory(prefix="harness-score-") as tmp:
        staged, leak, done, failure, warnings = None, None, None, None, []

        def trained_on():
            return staged.run and trained_families(staged.run)
        try:
            say(f"staging {target}")
            staged = resolve_target(target, Path(tmp) / "staged", profile, prepare=prepare)
            warnings = check_source(staged.path, profile)
        except SubmissionError as e:
            failure = e.to_failure()
        testset_info = _identify(ts)
        if failure is None:
            def meanwhile():
                nonlocal leak
                # The child spends seconds importing TensorFlow: do our own work meanwhile.
                leak = staged.run and check_run(staged.run, ts.path, profile)

            def first(labels):
                if forecasts and on_headline is not None:
                    on_headline(_headline(ts, labels, head, trained_on()), len(head))
            rest = np.setdiff1d(np.arange(len(ts)), head)
            done = predict_in_phases(staged, ts, testset_info["sha256"], profile, limit,
                                     [head] if quick else [head, rest], after_first=first,
                                     meanwhile=meanwhile, progress=progress, say=say)
            failure = done.failure
    name = experiment_name or (staged.name if staged else Path(target).stem)
    timing = (done or Phased(np.zeros(0, np.int64))).timing()
    result = ScoreResult(
        ok=failure is None, experiment=name,
        target_kind=staged.kind if staged else None,
        target=staged.source if staged else str(target),
        submission_sha256=staged.sha256 if staged else None, testset=testset_info,
        metrics=None, time_limit_s=limit, failure=failure, warnings=warnings,
        stderr_tail=done.failed.stderr_tail if done and done.failed else "",
        model=staged.model if staged else AS_GIVEN, quick=quick,
        reused=done.reused if done else 0,
        run=str(staged.run) if staged and staged.run else None, **timing)
    if leak:
        result.holdout_overlap = leak.overlap
        result.warnings.extend([leak.warning] if leak.warning else [])
    if result.ok:
        rows = head if quick else np.arange(len(ts))
        result.n_scored = len(rows)
        extras = {k: v[rows] for k, v in ts.extras.items()}
        result.metrics = compute_metrics(ts.labels[rows], done.labels[rows], profile,
                                         groups=extras.get("groups"),
                                         severity=extras.get("severity"))
        result.advice = None if quick else recommend(result.metrics.group_accuracy)
        if forecasts:
            result.pseudo_private = _headline(ts, done.labels, rows, trained_on())
            # A submission the calibration was fitted on: its forecast matches by design.
            calibration = ts.manifest.get("calibration") or {}
            fitted = {str(p.get("experiment", "")).split(" (")[0]
                      for p in calibration.get("points", ())}
            if result.experiment in fitted:
                result.fitted_on = calibration.get("id")
    checkpoint("score:ran")
    return result


def _headline(ts: TestSet, labels: np.ndarray, rows: np.ndarray,
              trained_on=None) -> PseudoPrivate:
    """The recipe's headline with its interval, from the labels of `rows`; `trained_on`:
    the recipe's families the run trained on (`leakage.trained_families`)."""
    calibration = ts.manifest.get("calibration")
    extras = {k: v[rows] for k, v in ts.extras.items()}
    return pseudo_private(
        ts.labels[rows], labels[rows], extras["groups"], extras.get("severity"), ts.recipe,
        source_index=extras.get("source_index"),
        calibration=calibration and ForecastCalibration.from_dict(calibration),
        trained_on=trained_on)


def _identify(ts: TestSet) -> dict[str, Any]:
    """The test set's identity (its file's hash; `predicting` refuses a damaged file
    before any submission can be blamed for it)."""
    info = dict(name=ts.name, kind=ts.kind, path=str(ts.path.resolve()),
                sha256=sha256_file(ts.path), recipe_version=ts.recipe_version,
                seed=ts.manifest.get("seed"), n=len(ts),
                title=kinds.title(ts.kind, ts.name, str(ts.path),
                                      ts.recipe.id if ts.recipe else None))
    return info
