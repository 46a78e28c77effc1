"""The standings: each experiment's latest score on each test set beside its Codabench
record, one table per test set.

A forecast and an accuracy on someone's own file are different numbers, so they never
share a column: rows are grouped by test set and its kind (`harness.testset.kinds`), and
only a pseudo-private set's table has the forecast, its interval, the calibration's
real points and the gap to Codabench. Within a table, `≈` (`tied_with_leader`) marks a
forecast within the test set's sampling noise of the leader's. Experiments recorded on
Codabench and never scored here come last, in a table of their own.

Examples:
    >>> board = read_leaderboard()
    >>> [(t.testset, t.kind) for t in board.tables]
    [('default', 'pseudo_private'), ('default/holdout', 'holdout'), ('real240', 'own')]
    >>> board.tables[0].rows[0]["pseudo_private"]
    0.3692
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.profile import Profile, get_profile
from harness.registry import unknown
from harness.results import competitions
from harness.results.bundletables import BUNDLE, bundle_tables
from harness.results.leaderboard import Leaderboard
from harness.testset import kinds

# The columns of a leaderboard row, in display order.
ROW_COLUMNS = (
    "experiment", "pseudo_private", "pp_low", "pp_high", "tied_with_leader", "holdout_overlap",
    "trained_on_recipe", "calibration_points", "accuracy", "clean_accuracy", "f1_macro",
    "worst_group", "worst_group_accuracy",
    "codabench", "codabench_phase", "codabench_zip", "fitted_on", "gap", "testset",
    "testset_kind", "recipe_version",
    "predict_s", "total_s", "peak_rss_mb", "runs", "failures", "last_failure",
    "submission_sha256", "scored_at",
)
# What only a forecast has: a table of scores on any other kind of set leaves them out.
FORECAST_COLUMNS = ("pseudo_private", "pp_low", "pp_high", "tied_with_leader",
                    "trained_on_recipe", "calibration_points", "clean_accuracy", "gap")
# Experiments only recorded on Codabench; every row, in any table, names its set and kind.
CODABENCH_COLUMNS = ("experiment", "codabench", "codabench_phase", "codabench_zip", "testset",
                     "testset_kind")


def kind_of(score: dict) -> str:
    """The kind of set a stored score is on (inferred for rows stored without one)."""
    return score.get("testset_kind") or kinds.infer(score)


def matches(score: dict, testset: str | None) -> bool:
    """Whether a stored score is on `testset` (its name or its path; None: any)."""
    return testset is None or bool({testset, str(Path(testset).resolve())}
                                   & {score.get("testset"), score.get("testset_path")})


def check_sort(sort: str) -> None:
    if sort not in ROW_COLUMNS:
        raise unknown("sort column", sort, ROW_COLUMNS, "columns: " + ", ".join(ROW_COLUMNS))


def rows(db: Leaderboard, testset: str | None = None,
         sort: str = "pseudo_private") -> list[dict[str, Any]]:
    """One row per experiment and test set: its latest ok score beside its Codabench record.

    Args:
        db: the leaderboard.
        testset: only scores on this test set (name or path as stored); default all.
        sort: a column of `ROW_COLUMNS`; numbers sort high to low, text A to Z,
            missing values last; rows of one test set stay together.

    Returns:
        Dicts with the keys of `ROW_COLUMNS` (forecast columns None off pseudo-private
        sets); `failures` counts failed runs and `last_failure` is the kind of the
        latest run when that run failed.
    """
    return [r for table in tables(db, testset, sort) for r in table.rows]


@dataclass
class LeaderboardTable:
    """The scores on one test set: one table, never mixed with another set's.

    Args:
        testset: its name (None: experiments only recorded on Codabench).
        kind: what kind of set (`harness.testset.kinds`; None for those).
        title: what its numbers are, in words.
        forecast: True when its headline is a forecast (a pseudo-private set).
        columns: the keys of its rows, in display order.
        rows: one per experiment, sorted.
        sort: the column they are sorted by: the one asked for, or accuracy where the
            table has no such column (a forecast, off a pseudo-private set).
        competition: the competition its rows were scored under.
        titles: headers of columns that are not the harness's own (a bundle's
            leaderboard columns: key -> title).
    """

    testset: str | None
    kind: str | None
    title: str
    forecast: bool
    columns: list[str]
    rows: list[dict[str, Any]]
    sort: str
    competition: str | None = None
    titles: dict[str, str] = field(default_factory=dict)


def _kind_rank(kind: str | None) -> int:
    # A kind this harness does not know (a newer harness's row) sorts last, not crashes.
    return kinds.KINDS.index(kind) if kind in kinds.KINDS else len(kinds.KINDS)


def tables(db: Leaderboard, testset: str | None = None, sort: str = "pseudo_private",
           competition: str = competitions.ALL, fitted: dict[str, str] | None = None
           ) -> list[LeaderboardTable]:
    """The standings of one competition (`competitions.ALL`: each in turn) as one table
    per test set (see `rows`): pseudo-private sets first, then holdouts, shift sets and
    the user's own files, each by name; then a bundle's runs under its own columns;
    Codabench results not scored here, and those recorded by name before v4, last.
    `fitted` ({experiment, zip name or sha256: calibration id},
    `harness.results.recording.fitted_on`) fills `fitted_on` where a calibration was
    fitted on a row's Codabench score."""
    return split_tables(db, testset, sort, competition, fitted)[0]


def split_tables(db: Leaderboard, testset: str | None = None, sort: str = "pseudo_private",
                 competition: str = competitions.ALL, fitted: dict[str, str] | None = None
                 ) -> tuple[list[LeaderboardTable], dict[str, int]]:
    """`tables`, and {other competition: rows left out}."""
    check_sort(sort)
    scores, records, others = competitions.split(db.scores(), db.codabench_records(),
                                                 competition)
    names = sorted({competitions.competition_of(s) for s in scores}
                   | {competitions.record_competition(r, scores) for r in records}
                   ) if competition == competitions.ALL else [competition]
    out = []
    for name in names:
        mine = [s for s in scores if competitions.competition_of(s) == name]
        theirs = [r for r in records if competitions.record_competition(r, scores) == name]
        out += _competition_tables(name, mine, theirs, testset, sort, fitted or {})
    return out, others


def _competition_tables(competition, scores, records, testset, sort, fitted):
    latest: dict[tuple, dict] = {}
    counts: dict[tuple, list] = {}
    bundle = []
    for r in scores:
        if not matches(r, testset):
            continue
        if r.get("target_kind") == BUNDLE:
            bundle.append(r)
            continue
        key = (kind_of(r), r["testset"], r["experiment"])
        tally = counts.setdefault(key, [0, 0, None, r])
        tally[0] += 1
        tally[3] = r
        if r["status"] == "ok":
            latest[key] = r
            tally[2] = None
        else:
            tally[1] += 1
            tally[2] = r["failure_kind"]
    records = [r for r in records if competitions.bound(r)] + \
        [r for r in records if not competitions.bound(r)]
    groups: dict[tuple, list] = {}
    for key, (n_runs, n_failed, last_failure, last) in counts.items():
        kind, name, experiment = key
        score = latest.get(key, {})
        groups.setdefault((kind, name), []).append(
            (_row(experiment, name, kind, score, competitions.paired(records, score),
                  n_runs, n_failed, last_failure, fitted), latest.get(key, last)))
    out = []
    for (kind, name), members in sorted(groups.items(), key=lambda g: (
            _kind_rank(g[0][0]), str(g[0][1]))):
        forecast = kinds.forecasts(kind)
        newest = max((score for _, score in members), key=lambda s: s["id"])
        columns = [c for c in ROW_COLUMNS if forecast or c not in FORECAST_COLUMNS]
        group = [row for row, _ in members]
        if forecast:
            _mark_ties(group)
        group = [{c: row[c] for c in columns} for row in group]
        by = sort if sort in columns else "accuracy"
        out.append(LeaderboardTable(
            name, kind, kinds.title(kind, name, newest.get("testset_path"),
                                        newest.get("recipe_version")),
            forecast, columns, _sorted(group, by), by, competition))
    out += bundle_tables(competition, bundle)
    used = {id(rec) for rec in records if any(competitions.pairs(rec, s) for s in scores)}
    only = [{"experiment": rec["experiment"], "codabench": rec["score"],
             "codabench_phase": rec["phase"], "codabench_zip": rec.get("zip_name"),
             "testset": None, "testset_kind": None}
            for rec in records if competitions.bound(rec) and id(rec) not in used]
    unbound = [{"experiment": rec["experiment"], "codabench": rec["score"],
                "codabench_phase": rec["phase"], "codabench_zip": None, "testset": None,
                "testset_kind": None}
               for rec in records if not competitions.bound(rec)]
    for title, group in ((kinds.title(None, None), only),
                         (f"Codabench results {competitions.UNBOUND}: paired with no "
                          f"score", unbound)):
        if group:
            by = sort if sort in CODABENCH_COLUMNS else "experiment"
            out.append(LeaderboardTable(None, None, title, False, list(CODABENCH_COLUMNS),
                                        _sorted(group, by), by, competition))
    return out


def stored_metrics(score: dict) -> dict:
    """A score's metrics_json (older scores lack later keys; a damaged one reads empty)."""
    try:
        stored = json.loads(score.get("metrics_json") or "{}")
    except (TypeError, ValueError):
        return {}
    return stored if isinstance(stored, dict) else {}


def _mark_ties(rows: list[dict]) -> None:
    """Mark rows whose sampling interval overlaps the leader's (one test set's rows).

    Models scored on one test set share its calibration's error, so the test set's
    sampling noise alone says whether a lead is real.
    """
    group = [r for r in rows if r["pseudo_private"] is not None and r["_sampling"]]
    if group:
        leader = max(group, key=lambda r: r["pseudo_private"])
        for r in group:
            r["tied_with_leader"] = r is not leader and r["_high"] >= leader["_low"]


def _row(experiment, testset, kind, score, record, runs, failures,
         last_failure, fitted) -> dict[str, Any]:
    stored = stored_metrics(score)
    # The headline's interval and calibration (scores before them have none).
    headline = stored.get("pseudo_private") or {}
    forecast = score.get("pseudo_private") if kinds.forecasts(kind) else None
    cb = record["score"] if record else None
    return {
        "experiment": experiment,
        "pseudo_private": forecast,
        "pp_low": headline.get("low"),
        "pp_high": headline.get("high"),
        "tied_with_leader": None,
        # Holdout images its run trained on: > 0 makes the forecast an inflated one.
        "holdout_overlap": stored.get("holdout_overlap"),
        # "chains" or "some": its run trained on the recipe's own families, so the
        # forecast runs high (harness.testset.optimism); pp_low already carries it.
        "trained_on_recipe": headline.get("trained_on_kind"),
        "calibration_points": headline.get("calibration_points"),
        "accuracy": score.get("accuracy"),
        "clean_accuracy": score.get("clean_accuracy"),
        "f1_macro": score.get("f1_macro"),
        "worst_group": score.get("worst_group"),
        "worst_group_accuracy": score.get("worst_group_accuracy"),
        "codabench": cb,
        "codabench_phase": record["phase"] if record else None,
        "codabench_zip": record.get("zip_name") if record else None,
        # A calibration fitted on this very score: their agreement is no evidence.
        "fitted_on": next((fitted[k] for k in (record.get("zip_sha256"),
                                               record.get("zip_name"), experiment)
                           if k in fitted), None) if record else None,
        # The gap measures the local forecast of the hidden score: on any other set
        # there is no forecast to measure.
        "gap": None if forecast is None or cb is None else forecast - cb,
        "testset": testset,
        "testset_kind": kind,
        "recipe_version": score.get("recipe_version"),
        "predict_s": score.get("predict_s"),
        "total_s": score.get("total_s"),
        "peak_rss_mb": score.get("peak_rss_mb"),
        "runs": runs,
        "failures": failures,
        "last_failure": last_failure,
        "submission_sha256": score.get("submission_sha256"),
        "scored_at": score.get("created_at"),
        "_sampling": headline.get("sampling_low") is not None,
        "_low": headline.get("sampling_low"),
        "_high": headline.get("sampling_high"),
    }


def _sorted(rows: list[dict], column: str) -> list[dict]:
    present = [r for r in rows if r.get(column) is not None]
    missing = [r for r in rows if r.get(column) is None]
    numeric = all(isinstance(r[column], (int, float)) for r in present)
    # A bundle's scoring program may write text where numbers are expected: sort as text.
    present.sort(key=lambda r: (-r[column] if numeric else str(r[column]),
                                str(r["experiment"])))
    # Experiments with no forecast yet (only failures, or scored before headlines):
    # they follow, by accuracy.
    fallback = "accuracy" if column == "pseudo_private" else "experiment"
    return present + (_sorted(missing, fallback) if fallback != column and missing
                      else sorted(missing, key=lambda r: r["experiment"]))


@dataclass
class LeaderboardResult:
    """The standings: one `LeaderboardTable` per test set, each sorted by `sort`.

    Args:
        tables: the tables, pseudo-private sets first.
        testset: the test set asked for, or None for all.
        sort: the column sorted by.
        db_url: the database (its password masked); `where`: the SQLite file, else that.
        missing: there is no leaderboard database there yet (and none was created).
        competition: the competition shown (`competitions.ALL`: every one).
        others: {other competition: its rows left out}; `others_line` says it.
    """

    tables: list[LeaderboardTable]
    testset: str | None
    sort: str
    db_url: str
    where: str
    missing: bool = False
    competition: str = competitions.ALL
    others: dict[str, int] = field(default_factory=dict)

    @property
    def others_line(self) -> str | None:
        return competitions.others_line(self.others)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every table's rows, in order (each row says its test set and kind)."""
        return [r for t in self.tables for r in t.rows]


def read_leaderboard(testset: str | None = None, sort: str = "pseudo_private",
                     db_url: str | None = None, competition: str | None = None,
                     profile: Profile | str | None = None) -> LeaderboardResult:
    """The latest local score per experiment and test set joined with the Codabench
    result of its exact zip, one table per test set, of one competition (`competition`,
    else `profile`'s, else today's profile's; "all": each); a missing database reads
    as empty, and stays missing.

    Examples:
        >>> read_leaderboard(testset="default").tables[0].rows[0]["experiment"]
        'baseline_cnn'
    """
    from harness.results.recording import fitted_on

    profile = get_profile(profile)
    competition = competitions.chosen(competition, profile)
    db = Leaderboard(db_url, create=False)
    found, others = split_tables(db, testset, sort, competition, fitted_on(profile))
    return LeaderboardResult(found, testset, sort, db.url, db.where, missing=db.missing,
                             competition=competition, others=others)
