"""Keeping a score: its leaderboard row and its confusion picture, landed together.

`harness.scoring.score` measures a submission and keeps nothing; this module keeps
what it measured. `score_and_keep` is what `harness score` calls. `harness tune`
keeps each trial's score through `keep_score`, which the command line hands to
`harness.training.tune` (training sits below this stage and does not import it).

Examples:
    >>> result = score_and_keep("baseline_cnn", testset="default")
    >>> result.row_id, result.confusion_png
    (12, '.../data/scores/00012_baseline_cnn/confusion.png')
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from harness import __version__
from harness.gitinfo import git_commit
from harness.interrupt import checkpoint, deferred, kept
from harness.paths import data_dir
from harness.profile import Profile, get_profile
from harness.results.leaderboard import Leaderboard
from harness.scoring.metrics import confusion_png
from harness.scoring.scorer import ScoreResult, score
from harness.stamps import now_iso, slug
from harness.testset.store import load_testset


def reports_dir() -> Path:
    """Where each score's pictures go: the data folder's scores/."""
    return data_dir() / "scores"



def score_row(result: ScoreResult, profile: Profile, commit: str | None) -> dict[str, Any]:
    """The leaderboard row of a score, a failure included."""
    m, ts = result.metrics, result.testset
    row = dict(
        created_at=now_iso(), experiment=result.experiment,
        status="ok" if result.ok else "failed",
        failure_kind=result.failure.kind if result.failure else None,
        failure_message=result.failure.message if result.failure else None,
        target_kind=result.target_kind, target=result.target,
        submission_sha256=result.submission_sha256, profile=profile.name,
        competition=profile.name, competition_sha256=profile.content_sha256,
        run_stamp=Path(result.run).name if getattr(result, "run", None) else None,
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
                                 if k != "accuracy"})
        if result.pseudo_private is not None:
            row.update(pseudo_private=result.pseudo_private.accuracy,
                       clean_accuracy=result.pseudo_private.clean)
            row["metrics_json"]["pseudo_private"] = vars(result.pseudo_private)
        row["metrics_json"]["calls"] = result.calls
        row["metrics_json"]["holdout_overlap"] = result.holdout_overlap
    return row


def keep_score(result: ScoreResult, profile: Profile, db_url: str | None = None,
               hold: contextlib.ExitStack | None = None,
               db: Leaderboard | None = None) -> ScoreResult:
    """Store a score's row on the leaderboard and draw its confusion matrix.

    Args:
        result: what `harness.scoring.score` returned.
        profile: the competition it was scored for.
        db_url: leaderboard database (default `$HARNESS_DB_URL`, else
            data/leaderboard.sqlite); or `db`, one already open.
        hold: SIGINT and SIGTERM, held while the row and its picture are written, stay
            held until the caller closes this, having recorded what depends on the row
            (tune: the trial the row scores).

    Returns:
        `result`, with `row_id`, `db_url` and `confusion_png` set.
    """
    db = db or Leaderboard(db_url)
    with contextlib.ExitStack() as own:
        # The row and its picture land together: Ctrl-C waits for both.
        (own if hold is None else hold).enter_context(deferred())
        result.row_id = db.add_score(score_row(result, profile, git_commit()))
        result.db_url = db.url
        kept(f"leaderboard row {result.row_id}")
        checkpoint("score:stored")
        if result.ok:
            png = reports_dir() / f"{result.row_id:05d}_{slug(result.experiment)}" / "confusion.png"
            result.confusion_png = str(confusion_png(
                result.metrics, png, f"{result.experiment} on {result.testset['name']}: "
                                     f"accuracy {result.metrics.accuracy:.4f}"))
    return result


def score_and_keep(target: str | os.PathLike, testset: str | os.PathLike | None = None,
                   db_url: str | None = None, profile: Profile | str | None = None,
                   **options) -> ScoreResult:
    """`harness score`: load the test set (`harness.testset.load_testset`: NAME, a path
    to an npz, or None for the default one), score TARGET on it (`harness.scoring.score`,
    which takes `options`) and keep it. The database is checked first (not created: a
    request that fails leaves none behind), so a bad URL or a damaged file is said
    before the submission runs, not after. A `quick=True` run is returned unkept: it
    lacks the per-family figures a leaderboard row holds."""
    profile = get_profile(profile)
    ts = load_testset(testset, profile)
    if options.get("quick"):
        return score(target, ts, profile, **options)
    Leaderboard(db_url, create=False)
    return keep_score(score(target, ts, profile, **options), profile, db_url=db_url)
