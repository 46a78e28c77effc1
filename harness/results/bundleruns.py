"""Keeping a bundle run: the leaderboard rows of `harness bundle run`.

`harness.bundles.runner.run_bundle` runs a Codabench bundle's programs and keeps nothing;
this module stores what it returned as rows of the `scores` table, under the bundle's
own competition (its title, hash and phase), with the scores exactly as its scoring
program wrote them and its leaderboard's columns, so the standings show them under the
bundle's own titles and never beside another competition's accuracies.

The runner's `BundleRunResult` is read by field name (no import: results sits above the
bundles stage, and the runner may add fields):

- `bundle`: the loaded `Bundle` (`title`, `sha256`, `leaderboards`, each with
  `columns` of `key`, `title`, `index`, `sorting`);
- `phase`: the `Phase` run (its `name`), or the name itself;
- `submission` (the zip or folder as given) and `submission_sha256`;
- `scores`: the scores dict as the scoring program wrote it; with `pseudo_private=True`
  also `pseudo_private_scores` and `recipe` (the recipe's name), stored as a second row;
- `tasks` (and `pseudo_private_tasks`): each task's run, with its `index`, `name`,
  `status` and `scores`. A phase of several tasks is stored as Codabench's leaderboard
  shows it: one row per run, every column once per task (`columns_json` entries with
  `task` and `task_name`), `scores_json` each task's scores under its index
  (`{"0": {...}, "1": {...}}`, a failed task's `{}`), so two tasks that write the same
  key never overwrite each other;
- `status` ("ok" or "failed"), `failure_kind`, `failure_message` (or `failure` with
  `kind` and `message`), `elapsed_s` or `total_s` (the whole run, seconds).

Examples:
    >>> row_id = keep_bundle_run(run_bundle(load_bundle("mini.zip"), "sub.zip"))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.results.leaderboard import Leaderboard

# The `target_kind` of a bundle run's rows, and the `testset_kind` of its plain run and of
# its run on pseudo-private (corrupted) input data.
BUNDLE = "bundle"
BUNDLE_PSEUDO_PRIVATE = "pseudo-private"


def _get(result: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(result, name, None)
        if value is not None:
            return value
    return default


def bundle_columns(bundle: Any) -> list[dict[str, Any]]:
    """The leaderboard columns of a bundle: [{key, title, index, sorting}], in order."""
    out = []
    for board in _get(bundle, "leaderboards", default=()) or ():
        for column in _get(board, "columns", default=()) or ():
            key = _get(column, "key")
            out.append({"key": key, "title": _get(column, "title", default=key),
                        "index": _get(column, "index", default=len(out)),
                        "sorting": _get(column, "sorting", default="desc")})
    return sorted(out, key=lambda c: (c["index"] if isinstance(c["index"], int) else 0))


def task_columns(columns: list[dict[str, Any]], tasks: Any) -> list[dict[str, Any]]:
    """Every column once per task, as Codabench's leaderboard shows a phase of several
    tasks (each task all the leaderboard's columns)."""
    return [dict(c, task=_get(t, "index"), task_name=_get(t, "name"))
            for t in tasks for c in columns]


def scores_by_task(tasks: Any) -> dict[str, dict]:
    """Each finished task's scores under its index; a failed task's are {}."""
    return {str(_get(t, "index")): _get(t, "scores", default={}) if _get(t, "status") == "ok"
            else {} for t in tasks}


def bundle_rows(result: Any) -> list[dict[str, Any]]:
    """The `scores` rows of one bundle run: its plain run, then its pseudo-private one."""
    bundle = _get(result, "bundle")
    tasks = _get(result, "tasks", default=()) or ()
    pseudo_tasks = _get(result, "pseudo_private_tasks", default=()) or ()
    several = len(tasks) > 1
    phase = _get(result, "phase")
    submission = _get(result, "submission", "submission_path", default="")
    failure = _get(result, "failure")
    status = _get(result, "status") or ("ok" if _get(result, "ok", default=True) else "failed")
    base = dict(
        competition=str(_get(bundle, "title", default=_get(result, "competition",
                                                             default="unknown")))[:200],
        competition_sha256=_get(bundle, "sha256", default=_get(result, "competition_sha256")),
        phase=str(_get(phase, "name", default=phase)) if phase is not None else None,
        experiment=_get(result, "experiment", default=Path(str(submission)).stem or "submission"),
        submission_sha256=_get(result, "submission_sha256"), target=str(submission),
        target_kind=BUNDLE, status="ok" if status in ("ok", "finished", True) else "failed",
        failure_kind=_get(result, "failure_kind", default=_get(failure, "kind")),
        failure_message=_get(result, "failure_message", default=_get(failure, "message")),
        total_s=_get(result, "total_s", "elapsed_s"),
        columns_json=json.dumps(task_columns(bundle_columns(bundle), tasks) if several
                                else bundle_columns(bundle)),
    )
    if several:
        plain, pseudo = scores_by_task(tasks), scores_by_task(pseudo_tasks) or None
    else:
        plain, pseudo = _get(result, "scores", default={}), _get(result, "pseudo_private_scores")
    rows = [dict(base, testset_kind=BUNDLE, testset=base["phase"],
                 scores_json=json.dumps(plain, default=str))]
    if pseudo is not None:
        rows.append(dict(base, testset_kind=BUNDLE_PSEUDO_PRIVATE,
                         testset=str(_get(result, "recipe", "recipe_name",
                                          default="pseudo-private")),
                         scores_json=json.dumps(pseudo, default=str)))
    return rows


def keep_bundle_run(result: Any, db_url: str | None = None) -> int:
    """Store a bundle run on the leaderboard; return its (plain run's) row id.

    Args:
        result: what `harness.bundles.runner.run_bundle` returned (fields above).
        db_url: leaderboard database (default `$HARNESS_DB_URL`, else
            data/leaderboard.sqlite).
    """
    db = Leaderboard(db_url)
    ids = [db.add_score(row) for row in bundle_rows(result)]
    return ids[0]
