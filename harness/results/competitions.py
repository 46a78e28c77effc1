"""Which competition a stored row belongs to, and binding a Codabench result to its zip.

One database holds many competitions as a matter of course (two years of a course, each
bundle run): a score of one is never shown, ranked, plotted or fitted beside another's.
Every score row names its competition (`competition`: a profile's name, or a bundle's
title; schema version 4); a row written before says it through its `profile`, else it is
"unknown". The commands that read the leaderboard show one competition (the profile in
effect unless `--competition NAME`), and a line counting what they leave out.

A Codabench result is bound to the exact zip uploaded (`zip_sha256`) and the content it
holds (`content_sha256`, which a score row of that content has as `submission_sha256`)
and to the run it was packed from: it pairs with those score rows only. A result
recorded by name before version 4 is unbound: kept and shown, never paired.

Examples:
    >>> competition_of({"competition": None, "profile": "an2dl-2023-hw1"})
    'an2dl-2023-hw1'
    >>> others_line({"an2dl-2023-hw1": 3, "Mini-MNIST": 1})
    '4 rows of other competitions not shown: an2dl-2023-hw1 (3 rows), Mini-MNIST (1 row); ...'
"""

from __future__ import annotations

from typing import Any, Iterable

from harness.profile import Profile
from harness.results.schema import UNKNOWN_COMPETITION
from harness.words import plural

# `--competition all`: every competition, one section each.
ALL = "all"
UNBOUND = "unbound (recorded by name before v4)"


def chosen(competition: str | None, profile: Profile) -> str:
    """The competition a read command shows: `competition` ("all" for each), else the
    profile's."""
    return competition or profile.name


def competition_of(row: dict[str, Any]) -> str:
    """The competition a score row was scored under (see the module docstring)."""
    return row.get("competition") or row.get("profile") or UNKNOWN_COMPETITION


def bound(record: dict[str, Any]) -> bool:
    """Whether a Codabench result names the zip it scored (recorded since version 4)."""
    return bool(record.get("zip_sha256") or record.get("content_sha256"))


def pairs(record: dict[str, Any], score: dict[str, Any]) -> bool:
    """Whether a bound Codabench result scored this score row's exact model: the same
    content, or the same experiment's same run (the weights the zip was packed from)."""
    if not bound(record) or not score:
        return False
    same_content = (record.get("content_sha256") is not None
                    and record["content_sha256"] == score.get("submission_sha256"))
    same_zip = (record.get("zip_sha256") is not None
                and record["zip_sha256"] == score.get("submission_sha256"))
    same_run = (record.get("run_stamp") is not None
                and record["run_stamp"] == score.get("run_stamp")
                and record.get("experiment") == score.get("experiment"))
    return same_content or same_zip or same_run


def paired(records: Iterable[dict[str, Any]], score: dict[str, Any]) -> dict[str, Any] | None:
    """The latest bound Codabench result of this score row's exact model, or None."""
    found = [r for r in records if pairs(r, score)]
    return max(found, key=lambda r: r["id"]) if found else None


def record_competition(record: dict[str, Any], scores: list[dict[str, Any]]) -> str:
    """The competition of a Codabench result: as recorded, else that of a score of its
    content, else (an unbound one) of the latest score of its experiment's name."""
    if record.get("competition"):
        return record["competition"]
    mine = [s for s in scores if pairs(record, s)] or \
        [s for s in scores if s.get("experiment") == record.get("experiment")]
    return competition_of(mine[-1]) if mine else UNKNOWN_COMPETITION


def split(scores: list[dict], records: list[dict], competition: str
          ) -> tuple[list[dict], list[dict], dict[str, int]]:
    """(its score rows, its Codabench results, {other competition: rows left out})."""
    others: dict[str, int] = {}
    mine_scores, mine_records = [], []
    for s in scores:
        name = competition_of(s)
        if competition in (ALL, name):
            mine_scores.append(s)
        else:
            others[name] = others.get(name, 0) + 1
    for r in records:
        name = record_competition(r, scores)
        if competition in (ALL, name):
            mine_records.append(r)
        else:
            others[name] = others.get(name, 0) + 1
    return mine_scores, mine_records, others


def others_line(others: dict[str, int]) -> str | None:
    """The line saying what rows of other competitions a view leaves out, or None."""
    if not others:
        return None
    listed = ", ".join(f"{name} ({plural(n, 'row')})" for name, n in sorted(others.items()))
    return (f"{plural(sum(others.values()), 'row')} of other competitions not shown: "
            f"{listed}; --competition NAME shows one, --competition all every one")


def square(matrix: Any) -> bool:
    """Whether a stored confusion matrix is one to draw: k rows of k numbers, k >= 1."""
    return (isinstance(matrix, list) and len(matrix) > 0 and all(
        isinstance(row, list) and len(row) == len(matrix) and
        all(isinstance(v, (int, float)) for v in row) for row in matrix))


def class_names_of(metrics: dict[str, Any]) -> list[str]:
    """A score's own class names, index = label: as stored, else the order of its
    per-class recalls, else numbers; always as many as its confusion matrix has rows."""
    recall = metrics.get("per_class_recall")
    recall = recall if isinstance(recall, dict) else {}
    n = len(metrics["confusion"]) if square(metrics.get("confusion")) else len(recall)
    names_ = metrics.get("class_names")
    for names in (names_ if isinstance(names_, list) else None, list(recall)):
        if names and (not n or len(names) == n):
            return [str(x) for x in names]
    return [str(i) for i in range(n)]
