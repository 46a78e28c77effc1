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


def bundle_rows(result: Any) -> list[dict[str, Any]]:
    """The `scores` rows of one bundle run: its plain run, then its pseudo-private one."""
    bundle = _get(result, "bundle")
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
        columns_json=json.dumps(bundle_columns(bundle)),
    )
    rows = [dict(base, testset_kind=BUNDLE, testset=base["phase"],
                 scores_json=json.dumps(_get(result, "scores", default={}), default=str))]
    pseudo = _get(result, "pseudo_private_scores")
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
