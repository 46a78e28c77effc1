"""The leaderboard's tables, their version, and how an older database is brought up to it.

A team's PostgreSQL database outlives any one checkout: four laptops on four harness
versions open it. So the database says which schema it has (table `harness_schema`, one
row) and every open checks it:

- version 1 is a database from before the version table (the harness up to issue 12):
  its rows get the uid they lack;
- version 2 stored scores without the kind of test set they came from: each gets one
  inferred from what it kept (`harness.testset.kinds.infer`), so an old database's clean
  accuracies never stand beside forecasts;
- version 3 stored scores without the competition they were scored under, and
  Codabench results bound to an experiment's name only: each score becomes the profile
  it names (its `profile` column), else "unknown"; a Codabench row keeps its name and no
  zip, and is shown as unbound, never paired with a score (version 4 binds a Codabench
  result to the sha256 of the zip that was uploaded);
- the current version: only columns added since (nullable, additive) are added;
- a newer version than this harness knows is refused with one line saying to update
  the harness, because writing rows an older harness does not understand would lose data.

No Alembic: Optuna's own tables, which may share the team's database, already use
`alembic_version`, and additive steps this small need no migration framework.

Every row carries a `uid` (a UUID given when it is written; rows from version 1 get one
derived from their content) so that `harness leaderboard push` can copy rows between
databases idempotently. On PostgreSQL the whole check runs under an advisory lock, so
eight processes opening a fresh database at once create it exactly once.
"""

from __future__ import annotations

import functools
import json
import uuid

from harness.testset import kinds

SCHEMA_VERSION = 4
# What a score row of an older database was scored under when it cannot be told.
UNKNOWN_COMPETITION = "unknown"
# pg_advisory_xact_lock key: any constant unlikely to clash with another application's.
_LOCK_KEY = 0x4A524E455353  # "HARNESS"-ish
_UID_NAMESPACE = uuid.UUID("5b0e7e1c-8a35-4b8e-9d0e-2f3c5a1d6e42")


class NewerSchema(Exception):
    """The database was written by a newer harness (args: its version)."""


# Columns every `scores` table of a harness leaderboard has had: without them, it is
# another program's table.
KEY_COLUMNS = frozenset({"experiment", "status", "created_at"})


class NotALeaderboard(Exception):
    """A `scores` table is there but is not the harness's (args: what is missing)."""


@functools.cache
def tables():
    """(metadata, scores, codabench, harness_schema): the schema, built on first use."""
    import sqlalchemy as sa

    metadata = sa.MetaData()
    scores = sa.Table(
        "scores", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(36)),
        sa.Column("created_at", sa.String(32), nullable=False, index=True),
        sa.Column("experiment", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_kind", sa.String(40)),
        sa.Column("failure_message", sa.Text),
        sa.Column("target_kind", sa.String(16)),
        sa.Column("target", sa.Text),
        sa.Column("submission_sha256", sa.String(64)),
        sa.Column("profile", sa.String(64)),
        # The competition: a profile's name and content hash, or a bundle's title, hash
        # and phase; a bundle's own scores and leaderboard columns, as JSON.
        sa.Column("competition", sa.String(200), index=True),
        sa.Column("competition_sha256", sa.String(64)),
        sa.Column("phase", sa.String(200)),
        sa.Column("scores_json", sa.Text),
        sa.Column("columns_json", sa.Text),
        # The experiment's run folder name (its stamp) whose weights were scored.
        sa.Column("run_stamp", sa.String(64)),
        sa.Column("testset", sa.String(200), index=True),
        # What the score is (harness.testset.kinds): only a pseudo-private one is a forecast.
        sa.Column("testset_kind", sa.String(16)),
        sa.Column("testset_path", sa.Text),
        sa.Column("testset_sha256", sa.String(64)),
        sa.Column("recipe_version", sa.String(32)),
        sa.Column("testset_seed", sa.Integer),
        sa.Column("n_images", sa.Integer),
        sa.Column("pseudo_private", sa.Float),
        sa.Column("clean_accuracy", sa.Float),
        sa.Column("accuracy", sa.Float),
        sa.Column("precision_macro", sa.Float),
        sa.Column("recall_macro", sa.Float),
        sa.Column("f1_macro", sa.Float),
        sa.Column("worst_group", sa.String(100)),
        sa.Column("worst_group_accuracy", sa.Float),
        sa.Column("metrics_json", sa.Text),
        sa.Column("load_s", sa.Float),
        sa.Column("predict_s", sa.Float),
        sa.Column("total_s", sa.Float),
        sa.Column("peak_rss_mb", sa.Float),
        sa.Column("time_limit_s", sa.Float),
        sa.Column("python_version", sa.String(32)),
        sa.Column("tensorflow_version", sa.String(32)),
        sa.Column("keras_version", sa.String(32)),
        sa.Column("numpy_version", sa.String(32)),
        sa.Column("harness_version", sa.String(32)),
        sa.Column("git_commit", sa.String(64)),
    )

    codabench = sa.Table(
        "codabench", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(36)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("experiment", sa.String(200), nullable=False, index=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("phase", sa.Integer),
        sa.Column("duration_s", sa.Float),
        # The uploaded zip (file sha256, name), the sha256 of its content as a score row's
        # `submission_sha256` has it, and the run it was packed from: NULL on rows
        # recorded by name before version 4 (unbound).
        sa.Column("zip_sha256", sa.String(64)),
        sa.Column("zip_name", sa.String(260)),
        sa.Column("content_sha256", sa.String(64)),
        sa.Column("run_stamp", sa.String(64)),
        sa.Column("competition", sa.String(200)),
    )

    version = sa.Table(
        "harness_schema", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    return metadata, scores, codabench, version


def new_uid() -> str:
    return str(uuid.uuid4())


def content_uid(row: dict) -> str:
    """A uid for a row written before rows had one: the same row (its id and content),
    the same uid, so two copies of one old database pushed by two people land once."""
    body = {k: v for k, v in row.items() if k != "uid"}
    return str(uuid.uuid5(_UID_NAMESPACE, json.dumps(body, sort_keys=True, default=str)))


def stored_version(conn) -> int | None:
    """The schema version a database says it has: None when empty, 1 before versions."""
    import sqlalchemy as sa

    names = set(sa.inspect(conn).get_table_names())
    if "harness_schema" in names:
        found = conn.execute(sa.select(tables()[3].c.version)).scalar()
        if found is not None:
            return int(found)
    return 1 if "scores" in names or "codabench" in names else None


def ensure_schema(conn) -> None:
    """Bring the database on `conn` (inside a transaction) to `SCHEMA_VERSION`.

    Raises:
        NewerSchema: the database is newer than this harness.
        NotALeaderboard: a `scores` table without the leaderboard's key columns.
    """
    import sqlalchemy as sa

    found = stored_version(conn)
    # The common case, every `harness score`: up to date, so no DDL and no lock, which
    # would queue every writer of a busy team database behind each other.
    if found == SCHEMA_VERSION and not _missing_columns(conn):
        return
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        found = stored_version(conn)
    if found is not None and found > SCHEMA_VERSION:
        raise NewerSchema(found)
    metadata, scores, codabench, version = tables()
    inspector = sa.inspect(conn)
    if "scores" in inspector.get_table_names():
        have = {c["name"] for c in inspector.get_columns("scores")}
        missing = KEY_COLUMNS - have
        if missing:
            raise NotALeaderboard(", ".join(sorted(missing)))
    metadata.create_all(conn)
    _add_missing_columns(conn)
    if found == 1:
        for table in (scores, codabench):
            _backfill_uids(conn, table)
    if found is not None and found < 3:
        _backfill_kinds(conn, scores)
    if found is not None and found < 4:
        _backfill_competitions(conn, scores)
    for table in (scores, codabench):
        conn.execute(sa.text(f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{table.name}_uid "
                             f"ON {table.name} (uid)"))
    if found != SCHEMA_VERSION:
        conn.execute(sa.delete(version))
        conn.execute(sa.insert(version).values(id=1, version=SCHEMA_VERSION))


def _missing_columns(conn) -> list:
    """The schema's columns a database lacks (one cheap query per table, no reflection)."""
    import sqlalchemy as sa

    missing = []
    for table in tables()[1:3]:
        have = set(conn.execute(sa.text(f"SELECT * FROM {table.name} WHERE 1 = 0")).keys())
        missing += [(table, c) for c in table.columns if c.name not in have]
    return missing


def _add_missing_columns(conn) -> None:
    import sqlalchemy as sa

    for table, column in _missing_columns(conn):
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _backfill_kinds(conn, scores) -> None:
    import sqlalchemy as sa

    rows = conn.execute(sa.select(scores.c.id, scores.c.pseudo_private, scores.c.testset_path,
                                  scores.c.recipe_version)
                        .where(scores.c.testset_kind.is_(None))).mappings().all()
    for row in rows:
        conn.execute(sa.update(scores).where(scores.c.id == row["id"])
                     .values(testset_kind=kinds.infer(row)))


def _backfill_competitions(conn, scores) -> None:
    """A score without a competition was scored under the profile it names, if any."""
    import sqlalchemy as sa

    missing = scores.c.competition.is_(None)
    conn.execute(sa.update(scores).where(missing & scores.c.profile.isnot(None)
                                         & (scores.c.profile != ""))
                 .values(competition=scores.c.profile))
    conn.execute(sa.update(scores).where(scores.c.competition.is_(None))
                 .values(competition=UNKNOWN_COMPETITION))


def _backfill_uids(conn, table) -> None:
    import sqlalchemy as sa

    rows = conn.execute(sa.select(table).where(table.c.uid.is_(None))).mappings().all()
    for row in rows:
        conn.execute(sa.update(table).where(table.c.id == row["id"])
                     .values(uid=content_uid(dict(row))))
