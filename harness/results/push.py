"""`harness leaderboard push`: one person's local rows into the team's database.

Someone who scored offline (a train, a notebook without the VPN) has rows in their own
`data/leaderboard.sqlite`. `push` copies every score and Codabench record the team's
database lacks, matched by the rows' `uid`, so running it twice, or pushing a copy of
the same file from two machines, adds nothing the second time. Rows keep their content
and time; the team's database numbers them anew.

Examples:
    >>> push("postgresql://alice:***@db.lab/harness").scores_copied
    12
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import HarnessError
from harness.results.competitions import competition_of
from harness.results.leaderboard import Leaderboard, default_db
from harness.results.schema import tables


@dataclass
class PushResult:
    """What `push` copied.

    Args:
        source, target: the two databases (URLs masked).
        scores_copied, scores_present: score rows copied, and those the target had.
        codabench_copied, codabench_present: the same for Codabench records.
        competitions: {competition: score rows copied}: each keeps its own, so the team's
            database shows them apart (`harness.results.competitions`).
    """

    source: str
    target: str
    scores_copied: int
    scores_present: int
    codabench_copied: int
    codabench_present: int
    competitions: dict[str, int] = field(default_factory=dict)


def push(target_url: str, source_url: str | None = None) -> PushResult:
    """Copy the rows of `source_url` (default data/leaderboard.sqlite) that `target_url`
    lacks into it, in one transaction.

    Raises:
        HarnessError: no target, no source database, or the target is the source.
    """
    if not target_url:
        raise HarnessError("push needs the team's database. Received: no --db",
                           hint="harness leaderboard push --db postgresql://user@host/harness"
                                " (or set HARNESS_DB_URL)")
    source = Leaderboard(source_url or str(default_db()), create=False)
    if source.missing:
        raise HarnessError(f"no leaderboard database at {source.where}: nothing to push",
                           hint="score something here first, or name the local database "
                                "with --from PATH")
    target = Leaderboard(target_url)
    if source.engine.url == target.engine.url:
        raise HarnessError(f"push copies one database into another, but both are "
                           f"{target.url}",
                           hint="give the team's database with --db and the local one "
                                "with --from")
    import sqlalchemy as sa

    counts, by_competition = [], {}
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in tables()[1:3]:
            present = set(write.execute(sa.select(table.c.uid)).scalars())
            rows = [dict(r) for r in read.execute(sa.select(table).order_by(table.c.id))
                    .mappings()]
            new = [{k: v for k, v in r.items() if k != "id"} for r in rows
                   if r["uid"] not in present]
            if new:
                write.execute(_insert_ignoring_present(table, write.dialect.name), new)
            if table.name == "scores":
                for r in new:
                    name = competition_of(r)
                    by_competition[name] = by_competition.get(name, 0) + 1
            counts += [len(new), len(rows) - len(new)]
    return PushResult(source.url, target.url, *counts, competitions=by_competition)


def _insert_ignoring_present(table, dialect: str):
    # A push racing another push of the same rows: the unique uid index decides, and the
    # loser's copies are skipped instead of failing the whole push.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        return table.insert()
    return insert(table).on_conflict_do_nothing(index_elements=["uid"])
