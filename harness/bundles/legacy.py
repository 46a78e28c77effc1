"""An older CodaLab bundle (competition.yaml version 1, 1.5 or 1.8) read into a Bundle.

Follows codalab/codabench `src/apps/competitions/unpackers/v1.py` (`V15Unpacker`), which
converts these bundles on upload: pages from the `html` mapping (title -> file, `terms`
required); `phases` a mapping sorted by `phasenumber`, the first dropped for a v1.8
bundle (any phase with `is_parallel_parent` or `parent_phasenumber`: it is the parent);
each phase named by its `label`, starting at `start_date`, ending a day before the next
one starts (the last at the competition's `end_date`), with one task of its own made of
the phase's `ingestion_program`, `input_data`, `scoring_program` and `reference_data`
(zip files in the bundle, or folders) and `ingestion_program_only_during_scoring`;
`max_submissions_per_day` 5 and `max_submissions` 100 unless set; and the leaderboard
from `leaderboard: {leaderboards: {KEY: {label}}, columns: {KEY: {leaderboard, label,
rank, numeric_format, sort, hidden}}}`, columns in `rank` order.
"""

from __future__ import annotations

import datetime as dt

from harness.bundles.model import Column, Leaderboard, Page, Phase, Task
from harness.bundles.reader import Reader

VERSIONS = ("1", "1.5", "1.8")
_FILES = ("ingestion_program", "input_data", "scoring_program", "reference_data")


def read(reader: Reader, doc: dict) -> dict:
    """The Bundle fields of a v1 yaml: pages, terms, tasks, phases, leaderboards."""
    pages, terms = _pages(reader, doc)
    phases, tasks = _phases(reader, doc)
    return dict(pages=pages, terms=terms, phases=phases, tasks=tasks,
                leaderboards=_leaderboards(reader, doc))


def _pages(reader: Reader, doc: dict) -> tuple[tuple[Page, ...], object]:
    html = doc.get("html")
    if not isinstance(html, dict):
        reader.problem("competition.yaml", "HTML pages could not be found in the yaml file",
                       "add `html:` mapping each page title to its file, `terms` among them")
        return (), None
    if "terms" not in html:
        reader.problem("html", "A file containing the terms of the competition could not be "
                       "located for this competition", "add `terms: terms.html` under `html:`")
    pages, terms = [], None
    for title, value in html.items():
        path = reader.text_file(value, f"html.{title}", f"the page {title!r}", empty_ok=True)
        if title == "terms":
            terms = path
        elif path is not None:
            pages.append(Page(str(title), path))
    return tuple(pages), terms


def _phases(reader: Reader, doc: dict) -> tuple[tuple[Phase, ...], tuple[Task, ...]]:
    raw = doc.get("phases")
    if not isinstance(raw, dict) or not raw:
        reader.problem("competition.yaml", "No phases could be found for this competition",
                       "add `phases:` with `1: {phasenumber: 1, label: ..., start_date: ...}`")
        return (), ()
    listed = [p for p in raw.values() if isinstance(p, dict)]
    for key, value in raw.items():
        if not isinstance(value, dict) or not isinstance(value.get("phasenumber"), (int, float)):
            reader.problem(f"phases.{key}", "a phase without a numeric `phasenumber`",
                           "give every phase its `phasenumber`")
            return (), ()
    listed.sort(key=lambda p: p["phasenumber"])
    if any(p.get("is_parallel_parent") or p.get("parent_phasenumber") for p in listed):
        listed = listed[1:]  # v1.8: the first phase is the parallel parent, not run
    starts = []
    for p in listed:
        where = f"phase {p['phasenumber']} {p.get('label')!r}"
        if "start_date" not in p:
            reader.problem(where, "no `start_date`", "give the phase a `start_date`")
        if "label" not in p:
            reader.problem(where, "no `label`", "give the phase a `label` (its name)")
        starts.append(reader.date(p.get("start_date"), where, "start_date"))
    end_date = doc.get("end_date")
    last_end = None if end_date in (None, "null") else \
        reader.date(end_date, "competition.yaml", "end_date")
    phases, tasks = [], []
    for index, p in enumerate(listed):
        name = str(p.get("label") or f"Phase {index}")
        where = f"phase {index} {name!r}"
        following = starts[index + 1] if index + 1 < len(starts) else None
        end = following - dt.timedelta(days=1) if following else (
            last_end if index + 1 == len(listed) else None)
        limit, limit_from = reader.time_limit(p, where)
        files = {k: reader.entry(p[k], where, k) if k in p else None for k in _FILES}
        tasks.append(Task(index=index, name=f"{name} Task", ingestion_only_during_scoring=bool(
            p.get("ingestion_program_only_during_scoring", False)), **files))
        phases.append(Phase(
            index=index, name=name, start=starts[index], end=end,
            execution_time_limit_s=limit, time_limit_from=limit_from,
            max_submissions_per_day=reader.count(p.get("max_submissions_per_day"), where,
                                                 "max_submissions_per_day", 5),
            max_submissions=reader.count(p.get("max_submissions"), where,
                                         "max_submissions", 100),
            task_indexes=(index,)))
    reader.phase_order(phases)
    return tuple(phases), tuple(tasks)


def _leaderboards(reader: Reader, doc: dict) -> tuple[Leaderboard, ...]:
    board = doc.get("leaderboard")
    fix = ("write `leaderboard: {leaderboards: {RESULTS: {label: Results}}, columns: "
           "{score: {leaderboard: {label: Results}, label: Score}}}`")
    if not isinstance(board, dict):
        reader.problem("competition.yaml", "Could not find leaderboard in the competition "
                       "yaml", fix)
        return ()
    boards, columns = board.get("leaderboards"), board.get("columns")
    if not isinstance(boards, dict) or not boards:
        reader.problem("leaderboard", "Could not find leaderboards declared on the "
                       "competition leaderboard", fix)
        return ()
    if not isinstance(columns, dict) or not columns:
        reader.problem("leaderboard", "Could not find columns declared on the competition "
                       "leaderboard", fix)
        return ()
    ranked = sorted(((str(k), v) for k, v in columns.items() if isinstance(v, dict)),
                    key=lambda kv: kv[1].get("rank", 1))
    members: dict[str, list[Column]] = {str(k): [] for k in boards}
    labels = {str(k): str((v or {}).get("label", k)).lower() for k, v in boards.items()}
    for index, (key, col) in enumerate(ranked):
        owner = col.get("leaderboard")
        if not isinstance(owner, dict) or "label" not in owner:
            reader.problem(f"leaderboard.columns.{key}", "a column without its `leaderboard`",
                           "point the column at its leaderboard (`leaderboard: *RESULTS`)")
            continue
        column = Column(key=key, title=str(col.get("label") or key), index=index,
                        sorting=str(col.get("sort") or "desc"),
                        precision=reader.count(col.get("numeric_format"),
                                               f"leaderboard.columns.{key}", "numeric_format", 2),
                        hidden=bool(col.get("hidden", False)))
        for board_key, label in labels.items():
            if str(owner["label"]).lower() == label:
                members[board_key].append(column)
    # Codabench titles a converted leaderboard by its key.
    return tuple(Leaderboard(k, k, tuple(cols)) for k, cols in members.items())
