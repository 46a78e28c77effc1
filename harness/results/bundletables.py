"""A bundle's runs as leaderboard tables, under the bundle's own columns.

A bundle's scoring program writes whatever scores its competition ranks by (its
`scores.json`), and its `competition.yaml` names the leaderboard's columns: the
standings show those, under their titles, sorted as the bundle sorts them, never the
harness's accuracy columns. One table per phase and kind of run (the bundle's own input
data, or its pseudo-private corrupted copy). A phase of several tasks shows each column
once per task, titled "<task name>: <title>", as Codabench's leaderboard does.

Examples:
    >>> [t.title for t in bundle_tables("Mini-MNIST", db.scores())]
    ['Mini-MNIST, phase Development: scores as its scoring program wrote them']
"""

from __future__ import annotations

import json
from typing import Any

from harness.results.bundleruns import BUNDLE, BUNDLE_PSEUDO_PRIVATE

# What every bundle table shows beside the bundle's own columns.
BUNDLE_COLUMNS = ("experiment", "runs", "failures", "last_failure", "total_s",
                  "submission_sha256", "scored_at")


def _json(text: str | None, empty):
    try:
        value = json.loads(text) if text else empty
    except (TypeError, ValueError):
        return empty
    return value if isinstance(value, type(empty)) else empty


def _columns(score: dict) -> list[dict[str, Any]]:
    """The bundle's leaderboard columns a row carries; those of a damaged row read none."""
    return [c for c in _json(score.get("columns_json"), []) if isinstance(c, dict) and
            isinstance(c.get("key"), str)]


def _score(scores: dict, column: dict):
    """A column's score in a row's scores: under its task's index for a column of one
    task of several (`bundleruns.task_columns`)."""
    if "task" in column:
        scores = scores.get(str(column["task"]))
    return scores.get(column["key"]) if isinstance(scores, dict) else None


def _key(column: dict) -> str:
    """A column's name in the table: its key, per task in a phase of several tasks, never
    one of the table's own names."""
    key = f"task{column['task']}:{column['key']}" if "task" in column else column["key"]
    return f"score:{key}" if key in BUNDLE_COLUMNS else key


def _title(column: dict) -> str:
    title = str(column.get("title") or column["key"])
    return f"{column.get('task_name') or column['task']}: {title}" if "task" in column else title


def bundle_tables(competition: str, scores: list[dict]) -> list:
    """One `LeaderboardTable` per phase and kind of the bundle run rows in `scores`."""
    from harness.results.standings import LeaderboardTable, _sorted

    groups: dict[tuple, list[dict]] = {}
    for s in scores:
        groups.setdefault((s.get("phase") or "", s.get("testset_kind") or BUNDLE,
                           s.get("testset") or ""), []).append(s)
    out = []
    for (phase, kind, testset), members in sorted(groups.items()):
        newest = max(members, key=lambda s: s["id"])
        own = _columns(newest)
        keys = [_key(c) for c in own]
        titles = {k: _title(c) for k, c in zip(keys, own)}
        per_task = any("task" in c for c in own)
        rows: dict[str, dict] = {}
        for s in sorted(members, key=lambda s: s["id"]):
            row = rows.setdefault(s["experiment"], {"runs": 0, "failures": 0})
            row["runs"] += 1
            values = {k: _score(_json(s.get("scores_json"), {}), c) for k, c in zip(keys, own)}
            failed = s["status"] != "ok"
            if failed:
                row["failures"] += 1
                row["last_failure"] = s.get("failure_kind") or "failed"
            # A run of several tasks, one failed, shows the others' scores: on Codabench
            # its parent submission is Finished with its finished children's scores.
            if failed and not (per_task and any(v is not None for v in values.values())):
                continue
            row.update(values, total_s=s.get("total_s"),
                       submission_sha256=s.get("submission_sha256"),
                       scored_at=s.get("created_at"))
            if not failed:
                row["last_failure"] = None
        columns = ["experiment", *keys, *BUNDLE_COLUMNS[1:]]
        table_rows = [{c: row.get(c) for c in columns} | {"experiment": name}
                      for name, row in rows.items()]
        by = keys[0] if keys else "experiment"
        ordered = _sorted(table_rows, by)
        if own and str(own[0].get("sorting", "desc")).lower().startswith("asc"):
            present = [r for r in ordered if r.get(by) is not None][::-1]
            ordered = present + [r for r in ordered if r.get(by) is None]
        what = ("its input data corrupted by the pseudo-private recipe " + testset
                if kind == BUNDLE_PSEUDO_PRIVATE else "scores as its scoring program wrote them")
        out.append(LeaderboardTable(
            testset or phase, kind, f"{competition}, phase {phase or '?'}: {what}", False,
            columns, ordered, by, competition, titles))
    return out
