"""The leaderboard: every local score and every Codabench record, in a real database.

SQLAlchemy Core over SQLite at `data/leaderboard.sqlite` by default; any SQLAlchemy URL
(`--db` or `$HARNESS_DB_URL`) lets a team share one PostgreSQL database. Two tables:

- `scores`: one flat row per `harness score` run: identity (experiment, target, the
  submission's content hash, test set name and kind, data hash, recipe version), the
  metrics (main figures as columns, per-class and per-group as JSON), timings, peak memory,
  runtime versions, git commit and time. A failed run is a row with status "failed",
  its failure kind and reason, and no metrics: failures are never scores.
- `codabench`: what the real leaderboard said (`harness record`), bound to the zip it
  scored (`harness.results.recording`).

SQLite runs in WAL mode with a busy timeout, so two scores written at the same moment
both land; PostgreSQL (the psycopg driver; `postgresql://` URLs get it) is what a team
shares. The schema is versioned (`schema`): an older database is upgraded on open, a
newer one refused. The URL is only ever shown masked (`Leaderboard.url`). The tables a
person reads, one per test set, are built from these rows by `standings`.
SQLAlchemy is imported on first use: `harness score` starts the submission's process
before it pays for that import.

Examples:
    >>> db = Leaderboard()                       # data/leaderboard.sqlite
    >>> db.record("baseline_cnn", 0.53, phase=1)
    >>> db.scores("baseline_cnn")[-1]["testset_kind"]
    'pseudo_private'
"""

from __future__ import annotations

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
from harness.results.schema import (
    SCHEMA_VERSION,
    NewerSchema,
    NotALeaderboard,
    ensure_schema,
    new_uid,
    stored_version,
    tables,
)
from harness.stamps import now_iso

DB_ENV = "HARNESS_DB_URL"
SQLITE_BUSY_MS = 30_000


def default_db() -> Path:
    """The local leaderboard: leaderboard.sqlite in the data folder."""
    return data_dir() / "leaderboard.sqlite"


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
    zip_sha256: str | None = None
    zip_name: str | None = None
    content_sha256: str | None = None
    run_stamp: str | None = None
    competition: str | None = None


class Leaderboard:
    """A connection to the leaderboard database; creates its tables on first use.

    Args:
        db_url: a SQLAlchemy URL or a SQLite file path (default: `resolve_url`).
        create: make the database (file, folder, tables) when it is not there. Commands
            that only read it (leaderboard, report, timecheck, calibrate, push's source)
            pass False: a missing database is then `missing`, reads as empty, and no
            file is left behind.
    """

    def __init__(self, db_url: str | None = None, create: bool = True):
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
        local = self.dialect == "sqlite" and url.database and url.database != ":memory:"
        # Where a person finds it: the SQLite file, else the masked URL.
        self.where = url.database if local else self.url
        self.missing = bool(not create and local and not Path(url.database).is_file())
        if self.missing:
            self.engine = None
            return
        if local:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._create(create)

    def _create(self, create: bool) -> None:
        import sqlalchemy as sa

        # Two processes opening a fresh SQLite file race to create it: the loser retries
        # (PostgreSQL serialises them with an advisory lock instead).
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    # A server database without the harness's tables, opened to read.
                    if not create and stored_version(conn) is None:
                        self.missing = True
                        return
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
               duration_s: float | None = None, **binding: str | None) -> CodabenchRecord:
        """Store what the real leaderboard said for a submission.

        `binding` names the zip it scored (`zip_sha256`, `zip_name`, `content_sha256`,
        `run_stamp`) and its `competition` (`harness.results.recording` finds them);
        without it the record is unbound: kept, never paired with a score.

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
                      score=float(codabench_score), phase=phase, duration_s=duration_s,
                      **{k: v for k, v in binding.items() if k in tables()[2].c})
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

        if self.missing:
            return []
        scores = tables()[1]
        query = sa.select(scores).order_by(scores.c.id)
        if experiment is not None:
            query = query.where(scores.c.experiment == experiment)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def codabench_records(self) -> list[dict[str, Any]]:
        import sqlalchemy as sa

        if self.missing:
            return []
        codabench = tables()[2]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in
                    conn.execute(sa.select(codabench).order_by(codabench.c.id))]


def record(experiment: str, codabench_score: float, phase: int | None = None,
           duration_s: float | None = None, db_url: str | None = None,
           **binding: str | None) -> CodabenchRecord:
    """Store what the real leaderboard said (see `Leaderboard.record`; `harness record`
    binds it to a zip through `harness.results.recording.record_submission`)."""
    return Leaderboard(db_url).record(experiment, codabench_score, phase, duration_s,
                                      **binding)


def codabench_records(db_url: str | None = None) -> list[dict[str, Any]]:
    """Every Codabench record in the database at `db_url`, oldest first; none when the
    database does not exist yet (it is not created)."""
    return Leaderboard(db_url, create=False).codabench_records()
