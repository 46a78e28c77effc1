"""A leaderboard database that cannot be used: one line saying which, why, and what to do.

Faults a team meets: the SQLite file is damaged (or is not SQLite at all), its `scores`
table is another program's, or the URL names a driver that is not installed. Each
becomes a `HarnessError` naming the database (its password masked), what is wrong, that
it was left untouched, and how to go on. A SQLite file is checked read-only before the
engine's first connection, which would set its journal mode, so a foreign or damaged
file keeps every byte. (A server database's schema is checked by `schema.ensure_schema`,
inside a transaction.) `Leaderboard` opens its engine through `create_engine` and calls
`check_sqlite` first.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from harness.dburl import mask_url
from harness.errors import HarnessError
from harness.results.schema import KEY_COLUMNS

# The package that provides each driver module SQLAlchemy may import.
DRIVER_PACKAGES = {
    "psycopg": '"psycopg[binary]"', "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg",
    "pg8000": "pg8000", "MySQLdb": "mysqlclient", "pymysql": "pymysql",
    "pyodbc": "pyodbc", "oracledb": "oracledb",
}


def _where(url) -> str:
    """The database as a person knows it: the SQLite file, else the URL without password."""
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return mask_url(url.render_as_string(hide_password=False))


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


def _sqlite_tables(path: Path, url) -> dict[str, set[str]]:
    """Table name -> column names of a SQLite file, read read-only."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro",
                                                uri=True)) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {n: {r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')}
                    for n in names}
    except sqlite3.OperationalError:
        return {}  # busy or locked: the engine's own retries deal with that
    except sqlite3.DatabaseError as e:
        raise HarnessError(f"{_where(url)}: the leaderboard database is damaged or not "
                           f"a database ({e})", hint=_fresh_hint(url)) from None


def check_sqlite(url) -> None:
    """Refuse a SQLite file that is damaged or holds a `scores` table of another schema;
    read-only, so it stays as it was. Other tables are welcome: a team keeps its Optuna
    study and its leaderboard in one database."""
    if url.get_backend_name() != "sqlite" or not url.database or \
            not Path(url.database).is_file():
        return
    tables = _sqlite_tables(Path(url.database), url)
    missing = KEY_COLUMNS - tables["scores"] if "scores" in tables else set()
    if missing:
        raise HarnessError(f"{_where(url)}: table 'scores' is not the leaderboard's (no "
                           f"column {', '.join(sorted(missing))}): a database of another "
                           f"schema", hint=_fresh_hint(url))
