"""A leaderboard database that cannot be used: one line saying which, why, and what to do.

Three faults a team meets: the database file is damaged (or is not SQLite at all), it
belongs to something else (`--db data/tuning.sqlite`, Optuna's, instead of the
leaderboard), or its URL names a driver that is not installed. Each becomes a
`HarnessError` naming the database (its password hidden), what is wrong, that the
database was left untouched, and how to go on. `Leaderboard` opens its engine through
`create_engine` and calls `check_schema` before creating its tables.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from harness.errors import HarnessError, redact_url

# The package that provides each driver module SQLAlchemy may import.
DRIVER_PACKAGES = {
    "psycopg": '"psycopg[binary]"', "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg",
    "pg8000": "pg8000", "MySQLdb": "mysqlclient", "pymysql": "pymysql",
    "pyodbc": "pyodbc", "oracledb": "oracledb",
}
# Columns any leaderboard table has had since the first version.
CORE_COLUMNS = {"scores": {"id", "experiment", "created_at", "status"},
                "codabench": {"id", "experiment", "score"}}


def _where(url) -> str:
    """The database as a person knows it: the SQLite file, else the URL without password."""
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return redact_url(url.render_as_string(hide_password=True))


def _fresh_hint(url) -> str:
    if url.get_backend_name() == "sqlite" and url.database:
        return (f"it was left untouched; to start a new leaderboard, move it away "
                f"(mv {url.database} {url.database}.broken) or pass --db NEW.sqlite")
    return ("it was left untouched; to start a new leaderboard, pass --db with a database "
            "of its own")


def create_engine(url, **kwargs):
    """`sqlalchemy.create_engine`, with a missing driver or unknown kind as one line;
    a damaged database met by any later statement becomes one line too."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url, **kwargs)
    except ImportError as e:
        package = DRIVER_PACKAGES.get(e.name or "", e.name)
        raise HarnessError(f"{_where(url)}: the database driver {e.name!r} is not installed",
                           hint=f"pip install {package}") from None
    except sa.exc.NoSuchModuleError:
        raise HarnessError(f"{_where(url)}: unknown kind of database "
                           f"{url.drivername!r}",
                           hint="use sqlite:///PATH or postgresql://user@host/db") from None

    def damaged(context):
        # "file is not a database", "database disk image is malformed": plain
        # DatabaseError, unlike a busy or missing database (OperationalError), which the
        # callers retry or report themselves.
        if type(context.sqlalchemy_exception) is sa.exc.DatabaseError:
            reason = str(context.original_exception).splitlines()[0][:120]
            raise HarnessError(f"{_where(url)}: the leaderboard database is damaged or not "
                               f"a database ({reason})", hint=_fresh_hint(url))

    sa.event.listen(engine, "handle_error", damaged)
    return engine


def _tables(engine, url) -> dict[str, set[str]]:
    """Table name -> column names. A SQLite file is read read-only, before the engine's
    first connection sets its journal mode: a foreign or damaged file stays as it was."""
    if url.get_backend_name() == "sqlite" and url.database:
        import sqlite3

        if not Path(url.database).exists():
            return {}
        try:
            with contextlib.closing(sqlite3.connect(
                    f"{Path(url.database).resolve().as_uri()}?mode=ro", uri=True)) as conn:
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")]
                return {n: {r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')}
                        for n in names}
        except sqlite3.OperationalError:
            return {}  # busy or locked: the engine's own retries deal with that
        except sqlite3.DatabaseError as e:
            raise HarnessError(f"{_where(url)}: the leaderboard database is damaged or not "
                               f"a database ({e})", hint=_fresh_hint(url)) from None
    import sqlalchemy as sa

    try:
        inspector = sa.inspect(engine)
        return {n: {c["name"] for c in inspector.get_columns(n)}
                for n in inspector.get_table_names()}
    except sa.exc.OperationalError as e:
        reason = str(e.orig).strip().splitlines()[0][:200] if e.orig else str(e)[:200]
        raise HarnessError(f"{_where(url)}: cannot reach the leaderboard database ({reason})",
                           hint="check the host, port, user and password in --db or "
                                "$HARNESS_DB_URL, and that the server runs") from None


def check_schema(engine, url) -> None:
    """Refuse a database that holds another schema: tables named like the leaderboard's
    without their columns, or (a SQLite file) only another application's tables."""
    tables = _tables(engine, url)
    names = set(tables)
    for table, core in CORE_COLUMNS.items():
        if table in names:
            missing = core - tables[table]
            if missing:
                raise HarnessError(
                    f"{_where(url)}: table {table!r} is not the leaderboard's (no column "
                    f"{', '.join(sorted(missing))}): a database of another schema",
                    hint=_fresh_hint(url))
    foreign = sorted(names - set(CORE_COLUMNS))
    is_file = url.get_backend_name() == "sqlite" and url.database
    if is_file and foreign and not names & set(CORE_COLUMNS):
        shown = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
        raise HarnessError(f"{_where(url)}: holds another application's tables ({shown}), "
                           f"not a leaderboard", hint=_fresh_hint(url))

