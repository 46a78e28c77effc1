"""A Codabench competition bundle read into `Bundle`, as Codabench's unpacker reads it.

`load_bundle(path)` takes a bundle folder or a zip as an organizer uploads it and returns
the competition (`harness.bundles.model`), or raises one `HarnessError` naming the first
thing Codabench would refuse. `read_bundle(path)` returns every problem instead (what
`harness bundle check` prints). A `version: 2` yaml is read here, following
codalab/codabench `src/apps/competitions/unpackers/v2.py`; an older CodaLab one
(version 1, 1.5 or 1.8, or none) by `harness.bundles.legacy`, as its `V15Unpacker` does.
Where the two unpacker versions disagree: the default image is
`codalab/codalab-legacy:py37` (one later version says `:py3`), and the time limit is read
from `execution_time_limit` or `execution_time_limit_ms` (`Phase.time_limit_from` says
which). A logo that is missing is a warning, not a refusal: the bundle still runs.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.bundles import archive, legacy
from harness.bundles.model import Bundle, Column, Leaderboard, Page, Phase, Problem, Task
from harness.bundles.reader import Reader
from harness.errors import HarnessError
from harness.fsutil import sha256_file

__all__ = ["load_bundle", "read_bundle", "Reading", "Bundle", "Phase", "Task",
           "Leaderboard", "Column", "Page", "Problem", "DEFAULT_IMAGE"]

DEFAULT_IMAGE = "codalab/codalab-legacy:py37"
_FILES = ("ingestion_program", "input_data", "scoring_program", "reference_data")


@dataclass
class Reading:
    """What reading a bundle found: the bundle (None when a problem stops it), and the
    `draft`: as much of it as could be read, problems or not (what a check goes on with)."""

    bundle: Bundle | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    draft: Bundle | None = None


def load_bundle(path: str | Path) -> Bundle:
    """The competition in a bundle folder or zip.

    Raises:
        HarnessError: the path is not a bundle Codabench would accept; the message is
            the first problem, the hint its fix (`harness bundle check` lists them all).

    Examples:
        >>> load_bundle("Mini-MNIST-Bundle").phase(0).execution_time_limit_s
        600.0
    """
    reading = read_bundle(path)
    if reading.bundle is None:
        first = reading.problems[0]
        more = len(reading.problems) - 1
        where = "" if first.where == str(Path(path).expanduser()) else f"{first.where}: "
        raise HarnessError(
            f"{path}: not a bundle Codabench would accept: {where}{first.message}",
            hint=first.fix + (f"; {more} more problem(s): harness bundle check {path}"
                              if more else ""))
    return reading.bundle


def read_bundle(path: str | Path) -> Reading:
    """Read a bundle, keeping every problem and warning found (nothing raises)."""
    source = Path(path).expanduser()
    if not source.exists():
        return Reading(None, [Problem(str(source), "no such file or folder",
                                      "name a bundle folder or its zip")])
    if source.is_file() and source.name == archive.YAML_NAME:
        source = source.parent  # the yaml named: its folder is the bundle
    try:
        if source.is_dir():
            folder, sha256 = source.resolve(), archive.folder_sha256(source)
        else:
            sha256 = sha256_file(source)
            folder = archive.extracted(source, sha256)
    except zipfile.BadZipFile:
        return Reading(None, [Problem(str(source), "Bad zip file uploaded. (not a zip)",
                                      "upload the bundle folder zipped, or name the folder")])
    found = archive.find_yaml(folder)
    if not found:
        return Reading(None, [Problem(
            str(source), "competition.yaml is missing, at the root and one folder down",
            "put competition.yaml at the bundle's root")])
    if len(found) > 1:
        names = ", ".join(str(p.parent.relative_to(folder)) for p in found)
        return Reading(None, [Problem(str(source), f"several competition.yaml one folder "
                                      f"down ({names})", "upload one bundle per zip")])
    reader = Reader(found[0].parent)
    if found[0].parent != folder:
        reader.warn(str(source), f"competition.yaml is in {found[0].parent.name}/, not at "
                    "the root: Codabench refuses such a zip ('competition.yaml is missing "
                    "from zip')", "zip the bundle from inside its folder")
    bundle = _read(reader, found[0], source, sha256)
    problems, warnings = reader.problems, reader.warnings
    return Reading(None if problems else bundle, problems, warnings, bundle)


def _yaml(reader: Reader, path: Path) -> dict | None:
    """competition.yaml parsed, or None with one problem naming the line."""
    try:
        doc = yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        reader.problem("competition.yaml", f"not UTF-8 text ({e.reason} at byte {e.start})",
                       "save competition.yaml as UTF-8")
        return None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"competition.yaml line {mark.line + 1}" if mark else "competition.yaml"
        what = " ".join(str(getattr(e, "problem", None) or e).split())
        reader.problem(where, f"bad YAML: {what}",
                       "fix the indentation or quoting there (a value holding ': ' or "
                       "'#' needs quotes)")
        return None
    if not isinstance(doc, dict):
        reader.problem("competition.yaml", f"holds {type(doc).__name__}, not a mapping of "
                       "settings", "start competition.yaml with `version: 2` and `title:`")
        return None
    return doc


def _read(reader: Reader, yaml_path: Path, source: Path, sha256: str) -> Bundle | None:
    doc = _yaml(reader, yaml_path)
    if doc is None:
        return None
    version = str(doc.get("version", "1"))
    if version in legacy.VERSIONS:
        parts = legacy.read(reader, doc)
    elif version == "2":
        parts = _v2(reader, doc)
    else:
        reader.problem("competition.yaml", f"version {version!r}: A suitable version could "
                       "not be found for this competition.", "write `version: 2`")
        return None
    image = doc.get("docker_image" if version == "2" else "competition_docker_image")
    logo = _logo(reader, doc.get("image"))
    title = doc.get("title")
    if not title:
        reader.warn("competition.yaml", "no `title`", "give the competition a `title`")
    return Bundle(root=reader.root, source=source.resolve(), sha256=sha256, version=version,
                  title=str(title or source.stem), docker_image=str(image or DEFAULT_IMAGE),
                  docker_image_default=not image, logo=logo,
                  warnings=tuple(reader.warnings), **parts)


def _logo(reader: Reader, value) -> Path | None:
    # Codabench refuses a bundle whose logo is missing; it is only a picture, and a
    # shipped bundle must still check and run, so here it is a warning.
    if not value:
        reader.warn("competition.yaml", "An image for this competition could not be found "
                    "in the yaml", "add `image: logo.png` and the picture")
        return None
    path = reader.inside(value, "image", "the logo")
    if path is not None and not path.is_file():
        reader.warn("image", f"Unable to find image: {value} (Codabench refuses the "
                    "upload)", f"add {value} to the bundle")
        return None
    return path


def _v2(reader: Reader, doc: dict) -> dict:
    pages = []
    if not isinstance(doc.get("pages"), list):
        reader.problem("competition.yaml", "no `pages` list (the unpacker reads every page)",
                       "add `pages:` with `- title: Overview` and `file: pages/overview.md`")
    for i, page in enumerate(doc.get("pages") or []):
        where = f"pages[{i}]"
        if not isinstance(page, dict) or "file" not in page:
            reader.problem(where, "a page without `file`", "give each page `title` and `file`")
            continue
        path = reader.text_file(page["file"], where, "the page")
        if path is not None:
            pages.append(Page(str(page.get("title") or page["file"]), path))
    tasks = _v2_tasks(reader, doc)
    _v2_solutions(reader, doc, {t.index for t in tasks})
    terms = None
    if "terms" not in doc:
        reader.problem("competition.yaml", "A file containing the terms of this competition "
                       "has not been supplied", "add `terms: pages/terms.md` and the page")
    else:
        terms = reader.text_file(doc["terms"], "terms", "the terms")
    return dict(pages=tuple(pages), terms=terms, tasks=tuple(tasks),
                phases=_v2_phases(reader, doc, {t.index for t in tasks}),
                leaderboards=_v2_leaderboards(reader, doc))


def _v2_tasks(reader: Reader, doc: dict) -> list[Task]:
    if not isinstance(doc.get("tasks"), list) or not doc["tasks"]:
        reader.problem("competition.yaml", "No tasks listed in this competition",
                       "add `tasks:` with an index, a scoring_program and the data")
        return []
    tasks: list[Task] = []
    for i, raw in enumerate(doc["tasks"]):
        if not isinstance(raw, dict):
            reader.problem(f"tasks[{i}]", "a task that is not a mapping", "give its fields")
            continue
        name = raw.get("name") or raw.get("key")
        where = f"tasks[{i}] {name!r}" if name else f"tasks[{i}]"
        index = raw.get("index")
        if index is None:
            reader.problem(where, f"ERROR: No index for task: {name}", "give the task an `index`")
            continue
        if index in {t.index for t in tasks}:
            reader.problem(where, f"ERROR: Duplicate task indexes. Index: {index}",
                           "give every task its own `index`")
            continue
        if "key" in raw:
            reader.warn(where, f"task {index} is the key {raw['key']!r} of a task on a "
                        "Codabench server: its programs are not in the bundle",
                        "ship the task's programs and data in the bundle to run it here")
            tasks.append(Task(index, str(name), None, None, None, None, key=str(raw["key"])))
            continue
        if "scoring_program" not in raw:
            reader.problem(where, f'ERROR: Task "{name or index}" does not have a scoring '
                           "program", "add `scoring_program: scoring_program/` to the task")
        files = {k: reader.entry(raw[k], where, k) if k in raw else None for k in _FILES}
        tasks.append(Task(index=index, name=str(name or f"Task {index}"),
                          ingestion_only_during_scoring=bool(
                              raw.get("ingestion_only_during_scoring", False)), **files))
    return tasks


def _v2_solutions(reader: Reader, doc: dict, task_indexes: set) -> None:
    seen = set()
    for i, raw in enumerate(doc.get("solutions") or []):
        where = f"solutions[{i}]"
        if not isinstance(raw, dict) or "index" not in raw:
            reader.problem(where, "ERROR: No index for solution", "give the solution an `index`")
            continue
        if not isinstance(raw.get("tasks"), list):
            reader.problem(where, "Could not find tasks for solution",
                           "list the task indexes the solution solves under `tasks`")
        elif not set(raw["tasks"]) <= task_indexes:
            reader.problem(where, f"ERROR: Solution missing task index pointers "
                           f"({sorted(set(raw['tasks']) - task_indexes)})",
                           f"name tasks among {sorted(task_indexes)}")
        if raw["index"] in seen:
            reader.problem(where, f"ERROR: Duplicate solution indexes. Index: {raw['index']}",
                           "give every solution its own `index`")
        seen.add(raw["index"])
        if "key" not in raw:
            if "path" not in raw:
                reader.problem(where, 'Solution missing "path"', "give the solution's folder")
            else:
                reader.entry(raw["path"], where, "the solution")


def _v2_phases(reader: Reader, doc: dict, task_indexes: set) -> tuple[Phase, ...]:
    raw_phases = doc.get("phases")
    if not isinstance(raw_phases, list) or not raw_phases:
        reader.problem("competition.yaml", "Unable to find any phases for this competition",
                       "add `phases:` with a name, a start and its tasks")
        return ()
    ordered = sorted((p for p in raw_phases if isinstance(p, dict)),
                     key=lambda p: p.get("index", 0) if isinstance(p.get("index", 0), int) else 0)
    phases = []
    for index, raw in enumerate(ordered):
        name = str(raw.get("name") or f"Phase {index}")
        where = f"phase {index} {name!r}"
        tasks = raw.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            reader.problem(where, "Phases must contain at least one task to be valid",
                           "list the phase's task indexes under `tasks`")
            tasks = []
        for task in tasks:
            if task not in task_indexes:
                reader.problem(where, f"names task {task!r}, which is not among the tasks "
                               f"({', '.join(map(str, sorted(task_indexes))) or 'none'})",
                               "name a task index listed under `tasks:`")
        if raw.get("start") in (None, ""):
            # Codabench compares every phase's start with today: a phase needs one.
            reader.problem(where, "no `start` date", "give the phase a `start`")
        start = reader.date(raw.get("start"), where, "start")
        limit, limit_from = reader.time_limit(raw, where)
        phases.append(Phase(
            index=index, name=name, start=start, end=reader.date(raw.get("end"), where, "end"),
            execution_time_limit_s=limit, time_limit_from=limit_from,
            max_submissions_per_day=reader.count(raw.get("max_submissions_per_day"), where,
                                                 "max_submissions_per_day", 5),
            max_submissions=reader.count(raw.get("max_submissions"), where,
                                         "max_submissions", 100),
            task_indexes=tuple(t for t in tasks if t in task_indexes)))
    reader.phase_order(phases)
    return tuple(phases)


def _v2_leaderboards(reader: Reader, doc: dict) -> tuple[Leaderboard, ...]:
    raw = doc.get("leaderboards")
    if not isinstance(raw, list) or not raw:
        reader.problem("competition.yaml", "Could not find leaderboards in the competition "
                       "yaml", "add `leaderboards:` with a key, a title and its columns")
        return ()
    boards = []
    for i, board in enumerate(raw):
        where = f"leaderboards[{i}]"
        if not isinstance(board, dict):
            reader.problem(where, "a leaderboard that is not a mapping", "give its fields")
            continue
        key = str(board.get("key") or "")
        if not key:
            reader.problem(where, "a leaderboard without `key`", "give the leaderboard a `key`")
        columns = []
        if not isinstance(board.get("columns"), list) or not board["columns"]:
            reader.problem(where, "a leaderboard without `columns`",
                           "list its columns, each with the `key` the scoring program writes")
        for j, col in enumerate(board.get("columns") or []):
            if not isinstance(col, dict) or not col.get("key"):
                reader.problem(f"{where}.columns[{j}]", "a column without `key`",
                               "give the column the `key` its score has in scores.json")
                continue
            where_col = f"{where}.columns[{j}] {col['key']!r}"
            columns.append(Column(key=str(col["key"]), title=str(col.get("title") or col["key"]),
                                  index=reader.count(col.get("index"), where_col, "index", j),
                                  sorting=str(col.get("sorting") or "desc"),
                                  precision=reader.count(col.get("precision"), where_col,
                                                         "precision", 2),
                                  hidden=bool(col.get("hidden", False))))
        boards.append(Leaderboard(key, str(board.get("title") or key),
                                  tuple(sorted(columns, key=lambda c: c.index))))
    return tuple(boards)
