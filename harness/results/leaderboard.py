"""The leaderboard: every local score and every Codabench record, in a real database.

SQLAlchemy Core over SQLite at `data/leaderboard.sqlite` by default; any SQLAlchemy URL
(`--db` or `$HARNESS_DB_URL`) lets a team share one PostgreSQL database. Two tables:

- `scores`: one flat row per `harness score` run: identity (experiment, target, the
  submission's content hash, test set name, data hash, recipe version), the metrics
  (main figures as columns, per-class and per-group as JSON), timings, peak memory,
  runtime versions, git commit and time. A failed run is a row with status "failed",
  its failure kind and reason, and no metrics: failures are never scores.
- `codabench`: what the real leaderboard said (`harness record`).

SQLite runs in WAL mode with a busy timeout, so two scores written at the same moment
both land; PostgreSQL (the psycopg driver; `postgresql://` URLs get it) is what a team
shares. The schema is versioned (`schema`): an older database is upgraded on open, a
newer one refused. The URL is only ever shown masked (`Leaderboard.url`).
SQLAlchemy is imported on first use: `harness score` starts the submission's process
before it pays for that import.

Examples:
    >>> db = Leaderboard()                       # data/leaderboard.sqlite
    >>> db.record("baseline_cnn", 0.53, phase=1)
    >>> rows = db.rows(testset="default")
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.dburl import mask_secrets, mask_url, normalize_url
from harness.errors import HarnessError
from harness.interrupt import checkpoint, kept
from harness.paths import data_dir
from harness.results.dbfaults import check_sqlite, create_engine
from harness.results.schema import (SCHEMA_VERSION, NewerSchema, NotALeaderboard, ensure_schema,
                                    new_uid, tables)

DB_ENV = "HARNESS_DB_URL"
SQLITE_BUSY_MS = 30_000


# The columns of a leaderboard row, in display order.
ROW_COLUMNS = (
    "experiment", "pseudo_private", "pp_low", "pp_high", "tied_with_leader", "holdout_overlap",
    "calibration_points", "accuracy", "clean_accuracy", "f1_macro", "worst_group",
    "worst_group_accuracy",
    "codabench", "codabench_phase", "gap", "testset", "recipe_version", "predict_s",
    "total_s", "peak_rss_mb", "runs", "failures", "last_failure", "submission_sha256",
    "scored_at",
)


def default_db() -> Path:
    """The local leaderboard: leaderboard.sqlite in the data folder."""
    return data_dir() / "leaderboard.sqlite"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def resolve_url(db_url: str | None = None) -> str:
    """The database URL: the argument, else $HARNESS_DB_URL, else data/leaderboard.sqlite."""
    url = db_url or os.environ.get(DB_ENV)
    if url:
        return normalize_url(url) if "://" in url else f"sqlite:///{Path(url).resolve()}"
    return f"sqlite:///{default_db().resolve()}"


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


@dataclass
class CodabenchRecord:
    """One score the real leaderboard gave, as stored."""

    id: int
    experiment: str
    score: float
    phase: int | None
    duration_s: float | None
    created_at: str


class Leaderboard:
    """A connection to the leaderboard database; creates its tables on first use.

    Args:
        db_url: a SQLAlchemy URL or a SQLite file path (default: `resolve_url`).
    """

    def __init__(self, db_url: str | None = None):
        import sqlalchemy as sa

        self._url = resolve_url(db_url)
        # What results, messages and logs show: never the password.
        self.url = mask_url(self._url)
        try:
            url = sa.engine.make_url(self._url)
        except sa.exc.ArgumentError:
            raise HarnessError(f"not a database URL. Received: {self.url!r}",
                               hint="e.g. sqlite:///data/leaderboard.sqlite or "
                                    "postgresql://user@host/harness") from None
        self.dialect = url.get_backend_name()
        check_sqlite(url)
        if self.dialect == "sqlite" and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._create()

    def _create(self) -> None:
        import sqlalchemy as sa

        # Two processes opening a fresh SQLite file race to create it: the loser retries
        # (PostgreSQL serialises them with an advisory lock instead).
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    ensure_schema(conn)
                return
            except NewerSchema as e:
                raise HarnessError(
                    f"the leaderboard database {self.url} has schema version {e.args[0]}, "
                    f"newer than this harness knows ({SCHEMA_VERSION})",
                    hint="update the harness on this machine (git pull, then make "
                         "install) before writing to it") from None
            except NotALeaderboard as e:
                raise HarnessError(f"{self.url} has a scores table that is not a harness "
                                   f"leaderboard (no column {e.args[0]})",
                                   hint="point --db at another database") from None
            except sa.exc.DBAPIError as e:
                if attempt == 4 or not isinstance(e, (sa.exc.OperationalError,
                                                      sa.exc.IntegrityError,
                                                      sa.exc.ProgrammingError)):
                    raise HarnessError(
                        f"cannot open the leaderboard database {self.url}: "
                        f"{mask_secrets(str(e.orig).strip().splitlines()[0], self._url)}",
                        hint="check the path or --db URL, and that the server is up"
                    ) from None
                time.sleep(0.1 * (attempt + 1))

    def add_score(self, row: dict[str, Any]) -> int:
        """Store one run (ok or failed) as a flat row; return its id."""
        scores = tables()[1]
        values = {k: v for k, v in row.items() if k in scores.c}
        values.setdefault("created_at", now_iso())
        values.setdefault("uid", new_uid())
        for key in ("metrics_json",):
            if values.get(key) is not None and not isinstance(values[key], str):
                values[key] = json.dumps(values[key], sort_keys=True)
        with self.engine.begin() as conn:
            return conn.execute(scores.insert().values(**values)).inserted_primary_key[0]

    def record(self, experiment: str, codabench_score: float, phase: int | None = None,
               duration_s: float | None = None) -> CodabenchRecord:
        """Store what the real leaderboard said for an experiment.

        Raises:
            HarnessError: the score is not an accuracy in 0..1, or the duration is negative.
        """
        if not 0.0 <= float(codabench_score) <= 1.0:
            raise HarnessError(f"a Codabench score is an accuracy in 0..1. "
                               f"Received: {codabench_score}",
                               hint=f"write {codabench_score:g}% as {codabench_score / 100:g}"
                               if 1 < codabench_score <= 100 else "e.g. 0.713 for 71.3%")
        if duration_s is not None and duration_s < 0:
            raise HarnessError(f"a duration is seconds >= 0. Received: {duration_s}")
        values = dict(created_at=now_iso(), experiment=experiment,
                      score=float(codabench_score), phase=phase, duration_s=duration_s)
        with self.engine.begin() as conn:
            new_id = conn.execute(tables()[2].insert().values(uid=new_uid(), **values)
                                  ).inserted_primary_key[0]
            checkpoint("record:inserted")
        # Committed: an interruption from here on must not say that nothing was written.
        kept(f"Codabench record {new_id}")
        checkpoint("record:stored")
        return CodabenchRecord(id=new_id, **values)

    def scores(self, experiment: str | None = None) -> list[dict[str, Any]]:
        """Every stored run, oldest first (optionally of one experiment)."""
        import sqlalchemy as sa

        scores = tables()[1]
        query = sa.select(scores).order_by(scores.c.id)
        if experiment is not None:
            query = query.where(scores.c.experiment == experiment)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def codabench_records(self) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        codabench = tables()[2]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in
                    conn.execute(sa.select(codabench).order_by(codabench.c.id))]

    def rows(self, testset: str | None = None,
             sort: str = "pseudo_private") -> list[dict[str, Any]]:
        """One row per experiment (and test set): its latest ok score beside its Codabench record.

        Args:
            testset: only scores on this test set (name or path as stored); default all.
            sort: a column of `ROW_COLUMNS`; numbers sort high to low, text A to Z,
                missing values last.

        Returns:
            Dicts with the keys of `ROW_COLUMNS`; `failures` counts failed runs and
            `last_failure` is the kind of the latest run when that run failed.
        """
        if sort not in ROW_COLUMNS:
            import difflib

            close = difflib.get_close_matches(sort, ROW_COLUMNS, n=1)
            raise HarnessError(f"unknown sort column. Received: {sort!r}",
                               hint=f"did you mean {close[0]!r}?" if close
                               else "columns: " + ", ".join(ROW_COLUMNS))
        wanted = {testset, str(Path(testset).resolve())} if testset else set()
        runs = [r for r in self.scores()
                if testset is None or wanted & {r["testset"], r["testset_path"]}]
        latest: dict[tuple, dict] = {}
        counts: dict[tuple, list] = {}
        for r in runs:
            key = (r["experiment"], r["testset"])
            tally = counts.setdefault(key, [0, 0, None])
            tally[0] += 1
            if r["status"] == "ok":
                latest[key] = r
                tally[2] = None
            else:
                tally[1] += 1
                tally[2] = r["failure_kind"]
        codabench: dict[str, dict] = {}
        for rec in self.codabench_records():
            codabench[rec["experiment"]] = rec
        rows = []
        for key, (n_runs, n_failed, last_failure) in counts.items():
            rows.append(_row(key[0], key[1], latest.get(key, {}), codabench.get(key[0]),
                             n_runs, n_failed, last_failure))
        scored = {k[0] for k in counts}
        rows += [_row(name, None, {}, rec, 0, 0, None) for name, rec in codabench.items()
                 if name not in scored]
        _mark_ties(rows)
        return _sorted(rows, sort)


def _stored(score: dict) -> dict:
    """A score's metrics_json (older scores lack later keys; a damaged one reads empty)."""
    try:
        return json.loads(score.get("metrics_json") or "{}")
    except (TypeError, ValueError):
        return {}


def _mark_ties(rows: list[dict]) -> None:
    """Mark rows whose sampling interval overlaps the leader's on the same test set.

    Models scored on one test set share its calibration's error, so the test set's
    sampling noise alone says whether a lead is real.
    """
    by_testset: dict[Any, list[dict]] = {}
    for r in rows:
        if r["pseudo_private"] is not None and r.pop("_sampling", None):
            by_testset.setdefault(r["testset"], []).append(r)
    for group in by_testset.values():
        leader = max(group, key=lambda r: r["pseudo_private"])
        for r in group:
            r["tied_with_leader"] = r is not leader and r["_high"] >= leader["_low"]
    for r in rows:
        for key in ("_sampling", "_low", "_high"):
            r.pop(key, None)


def _row(experiment, testset, score, record, runs, failures, last_failure) -> dict[str, Any]:
    accuracy = score.get("accuracy")
    stored = _stored(score)
    # The headline's interval and calibration (scores before them have none).
    headline = stored.get("pseudo_private") or {}
    # The gap measures the local forecast of the hidden score: the pseudo-private headline
    # where the test set has one, else plain accuracy.
    forecast = score.get("pseudo_private")
    forecast = accuracy if forecast is None else forecast
    cb = record["score"] if record else None
    return {
        "experiment": experiment,
        "pseudo_private": score.get("pseudo_private"),
        "pp_low": headline.get("low"),
        "pp_high": headline.get("high"),
        "tied_with_leader": None,
        # Holdout images its run trained on: > 0 makes the forecast an inflated one.
        "holdout_overlap": stored.get("holdout_overlap"),
        "calibration_points": headline.get("calibration_points"),
        "accuracy": accuracy,
        "clean_accuracy": score.get("clean_accuracy"),
        "f1_macro": score.get("f1_macro"),
        "worst_group": score.get("worst_group"),
        "worst_group_accuracy": score.get("worst_group_accuracy"),
        "codabench": cb,
        "codabench_phase": record["phase"] if record else None,
        "gap": None if forecast is None or cb is None else forecast - cb,
        "testset": testset,
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
    present = [r for r in rows if r[column] is not None]
    missing = [r for r in rows if r[column] is None]
    numeric = all(isinstance(r[column], (int, float)) for r in present)
    present.sort(key=lambda r: (-r[column] if numeric else r[column], r["experiment"]))
    # Scores on plain test sets have no pseudo-private figure: they follow, by accuracy.
    fallback = "accuracy" if column == "pseudo_private" else "experiment"
    return present + (_sorted(missing, fallback) if fallback != column and missing
                      else sorted(missing, key=lambda r: r["experiment"]))


def record(experiment: str, codabench_score: float, phase: int | None = None,
           duration_s: float | None = None, db_url: str | None = None) -> CodabenchRecord:
    """Store what the real leaderboard said (see `Leaderboard.record`)."""
    return Leaderboard(db_url).record(experiment, codabench_score, phase, duration_s)


@dataclass
class LeaderboardResult:
    """The comparison table: rows in `columns` order, sorted by `sort`."""

    rows: list[dict[str, Any]]
    columns: list[str]
    testset: str | None
    sort: str
    db_url: str


def read_leaderboard(testset: str | None = None, sort: str = "pseudo_private",
                db_url: str | None = None) -> LeaderboardResult:
    """The latest local score per experiment joined with its Codabench record.

    Examples:
        >>> read_leaderboard(testset="default").rows[0]["experiment"]
        'baseline_cnn'
    """
    db = Leaderboard(db_url)
    return LeaderboardResult(db.rows(testset, sort), list(ROW_COLUMNS), testset, sort, db.url)
