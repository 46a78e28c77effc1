"""Scoring: resolve a target, run it as the server would, measure it, keep the row.

`score` is what `harness score` calls: TARGET (zip, submission folder or experiment) ->
a submission folder (`targets`) -> static checks (`contract`) -> one run in its own
process (`ingestion`) -> metrics (`metrics`) -> one row on the leaderboard
(`leaderboard`), a failure included. The test set is any npz in the competition's
format, or a NAME meaning `data/testsets/NAME/testset.npz` with its `manifest.json`
(`testsets`); only on a pseudo-private set is the headline a forecast, and every row
keeps the kind of set it was scored on (`harness.testkinds`).

Examples:
    >>> result = score("baseline_cnn", testset="default")
    >>> result.ok, round(result.metrics.accuracy, 3)
    (True, 0.612)
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import __version__, testkinds
from harness.data.datasets import check_intact
from harness.errors import HarnessError
from harness.fsutil import sha256_file
from harness.gitinfo import git_commit
from harness.interrupt import checkpoint, deferred, kept
from harness.paths import data_dir
from harness.profile import Profile, get_profile
from harness.results.leaderboard import Leaderboard, now_iso
from harness.scoring.contract import Failure, SubmissionError, check_source
from harness.scoring.ingestion import start_submission
from harness.scoring.leakage import check_run
from harness.scoring.metrics import Metrics, compute_metrics, confusion_png
from harness.scoring.targets import resolve_target
from harness.scoring.testsets import TestSet, load_testset
from harness.testset.calibration import ForecastCalibration
from harness.testset.recipes import PseudoPrivate, pseudo_private
from harness.training.advice import Advice, recommend

__all__ = ["ScoreResult", "TestSet", "Metrics", "compute_metrics", "confusion_png",
           "load_testset", "score"]



def reports_dir() -> Path:
    """Where each score's pictures go: the data folder's scores/."""
    return data_dir() / "scores"


@dataclass
class ScoreResult:
    """What `harness score` found.

    Args:
        ok: the run finished and produced valid labels.
        experiment: the leaderboard's name for it.
        target_kind, target, submission_sha256: what was scored.
        testset: name, path, data hash, recipe version, seed and size of the test set,
            its `kind` (`harness.testkinds`) and `title`, what its accuracy is in words.
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
        row_id: the leaderboard row written, db_url: where.
        pseudo_private: on a test set built by `harness testset build`, the headline
            (the recipe's aggregate: the forecast) with its 95% interval and calibration,
            clean accuracy and per family; else None.
        stderr_tail: the end of the ingestion process's stderr, for a crash.
        advice: on a test set with corruption families, the worst of them and the
            augmentations that train against them (`harness.training.advice`); else None.
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

    def raise_for_failure(self) -> "ScoreResult":
        if self.failure is not None:
            raise self.failure.error()
        return self


def _row(result: ScoreResult, profile: Profile, commit: str | None) -> dict[str, Any]:
    m, ts = result.metrics, result.testset
    row = dict(
        created_at=now_iso(), experiment=result.experiment,
        status="ok" if result.ok else "failed",
        failure_kind=result.failure.kind if result.failure else None,
        failure_message=result.failure.message if result.failure else None,
        target_kind=result.target_kind, target=result.target,
        submission_sha256=result.submission_sha256, profile=profile.name,
        testset=ts["name"], testset_kind=ts["kind"], testset_path=ts["path"],
        testset_sha256=ts["sha256"],
        recipe_version=ts["recipe_version"], testset_seed=ts["seed"], n_images=ts["n"],
        load_s=result.load_s, predict_s=result.predict_s, total_s=result.total_s,
        peak_rss_mb=result.peak_rss_mb, time_limit_s=result.time_limit_s,
        python_version=result.versions.get("python"),
        tensorflow_version=result.versions.get("tensorflow"),
        keras_version=result.versions.get("keras"),
        numpy_version=result.versions.get("numpy"),
        harness_version=__version__, git_commit=commit,
    )
    if m is not None:
        row.update(accuracy=m.accuracy, precision_macro=m.precision_macro,
                   recall_macro=m.recall_macro, f1_macro=m.f1_macro,
                   worst_group=m.worst_group, worst_group_accuracy=m.worst_group_accuracy,
                   metrics_json={k: v for k, v in vars(m).items()
                                 if k not in ("accuracy", "class_names")})
        if result.pseudo_private is not None:
            row.update(pseudo_private=result.pseudo_private.accuracy,
                       clean_accuracy=result.pseudo_private.clean)
            row["metrics_json"]["pseudo_private"] = vars(result.pseudo_private)
        row["metrics_json"]["calls"] = result.calls
        row["metrics_json"]["holdout_overlap"] = result.holdout_overlap
    return row


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)[:80] or "run"


def score(target: str | os.PathLike, testset: str | os.PathLike | None = None,
          time_limit_s: float | None = None, profile: Profile | str | None = None,
          db_url: str | None = None, experiment_name: str | None = None,
          status: Callable[[str], None] | None = None,
          hold: contextlib.ExitStack | None = None) -> ScoreResult:
    """Run TARGET on a test set as the server would, score it, and store the row.

    Args:
        target: a zip, a submission folder, or an experiment name or folder.
        testset: NAME (data/testsets/NAME/testset.npz) or a path to an npz; default
            data/testsets/default/testset.npz.
        time_limit_s: limit over the whole run; default the profile's.
        profile: the competition profile (name or object).
        db_url: leaderboard database (default `$HARNESS_DB_URL`, else data/leaderboard.sqlite).
        experiment_name: the leaderboard's name for it (default: derived from TARGET).
        status: called with a line saying what is happening (e.g. a spinner's update),
            since one predict call on the whole test set can run for an hour.
        hold: SIGINT and SIGTERM, held while the row and its report are stored, stay
            held until the caller closes this, having recorded what depends on the row
            (tune: the trial the row scores).

    Returns:
        `ScoreResult`; `ok=False` with a `failure` when the submission failed (that is
        stored too). Call `raise_for_failure()` to turn a failure into an exception.

    Raises:
        HarnessError: a problem with the request itself (no such target or test set).
    """
    profile = get_profile(profile)
    say = status or (lambda _line: None)
    limit = profile.time_limit_s if time_limit_s is None else time_limit_s
    if limit is not None and limit <= 0:
        raise HarnessError(f"the time limit is seconds > 0. Received: {limit}")
    ts = load_testset(testset, profile)
    with tempfile.TemporaryDirectory(prefix="harness-score-") as tmp:
        staged = run = leak = None
        warnings: list[str] = []
        failure = None
        try:
            say(f"staging {target}")
            staged = resolve_target(target, Path(tmp) / "staged", profile)
            warnings = check_source(staged.path, profile)
        except SubmissionError as e:
            failure = e.to_failure()
        if failure is None:
            say(f"running model.py on {len(ts)} images in its own process "
                f"(limit {limit:g} s)")
            with start_submission(staged.path, ts.path, profile,
                                  time_limit_s=limit) as running:
                # The child spends seconds importing TensorFlow: do our own work meanwhile.
                context = _context(ts, db_url)
                leak = staged.run and check_run(staged.run, ts.path, profile)
                run = running.wait()
            failure = run.failure
        else:
            context = _context(ts, db_url)
    db, testset_info, commit = context
    name = experiment_name or (staged.name if staged else Path(target).stem)
    result = ScoreResult(
        ok=failure is None, experiment=name,
        target_kind=staged.kind if staged else None,
        target=staged.source if staged else str(target),
        submission_sha256=staged.sha256 if staged else None, testset=testset_info,
        metrics=None, load_s=run.load_s if run else None,
        predict_s=run.predict_s if run else None, total_s=run.total_s if run else None,
        peak_rss_mb=run.peak_rss_mb if run else None, time_limit_s=limit, failure=failure,
        warnings=warnings, versions=run.versions if run else {}, db_url=db.url,
        calls=run.calls if run else [],
        stderr_tail=run.stderr_tail if run and failure else "")
    if leak:
        result.holdout_overlap = leak.overlap
        result.warnings.extend([leak.warning] if leak.warning else [])
    if result.ok:
        result.metrics = compute_metrics(ts.labels, run.predictions, profile,
                                         groups=ts.extras.get("groups"),
                                         severity=ts.extras.get("severity"))
        result.advice = recommend(result.metrics.group_accuracy)
        if testkinds.forecasts(ts.kind):
            calibration = ts.manifest.get("calibration")
            result.pseudo_private = pseudo_private(
                ts.labels, run.predictions, ts.extras["groups"], ts.extras.get("severity"),
                ts.recipe, source_index=ts.extras.get("source_index"),
                calibration=calibration and ForecastCalibration.from_dict(calibration))
    checkpoint("score:ran")
    with contextlib.ExitStack() as own:
        # The row and its report land together: Ctrl-C waits for both.
        (own if hold is None else hold).enter_context(deferred())
        result.row_id = db.add_score(_row(result, profile, commit))
        kept(f"leaderboard row {result.row_id}")
        checkpoint("score:stored")
        if result.ok:
            png = reports_dir() / f"{result.row_id:05d}_{_slug(name)}" / "confusion.png"
            result.confusion_png = str(confusion_png(
                result.metrics, png,
                f"{name} on {ts.name}: accuracy {result.metrics.accuracy:.4f}"))
    return result


def _context(ts: TestSet, db_url: str | None) -> tuple[Leaderboard, dict[str, Any], str | None]:
    """The database, the test set's identity (its file's hash: the images are never
    decompressed here) and the git commit. A damaged file is refused here, not blamed on
    the submission whose process fails to read it."""
    check_intact(ts.path, hint="rebuild it: harness testset build --force, or restore it")
    info = dict(name=ts.name, kind=ts.kind, path=str(ts.path.resolve()),
                sha256=sha256_file(ts.path), recipe_version=ts.recipe_version,
                seed=ts.manifest.get("seed"), n=len(ts),
                title=testkinds.title(ts.kind, ts.name, str(ts.path),
                                      ts.recipe.id if ts.recipe else None))
    return Leaderboard(db_url), info, git_commit()
