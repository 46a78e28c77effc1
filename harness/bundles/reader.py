"""Reading a competition.yaml's fields as Codabench's unpackers do, one problem at a time.

`Reader` holds what both unpackers (v2 in `spec`, CodaLab v1 in `legacy`) share: the
problems and warnings found so far (every one is kept, so `harness bundle check` lists
them all), a file entry of the yaml resolved to a folder in the bundle, dates parsed like
Codabench's `get_datetime`, and its rule that phases follow one another.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

from dateutil import parser as dateparser

from harness.bundles import archive
from harness.bundles.model import Phase, Problem

DEFAULT_TIME_LIMIT_S = 600.0  # Codabench's Phase.execution_time_limit model default
_UUID = re.compile(r"^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$", re.I)


class Reader:
    """The bundle's root folder and the problems and warnings found in it so far."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(self, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(where, message, fix))

    def warn(self, where: str, message: str, fix: str) -> None:
        self.warnings.append(Problem(where, message, fix))

    def inside(self, value, where: str, what: str) -> Path | None:
        """The bundle path a yaml entry names, or None (with a problem) when it is not one."""
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"{what} is {value!r}, not a path in the bundle",
                         f"give {what} as a path relative to competition.yaml")
            return None
        path = (self.root / value.strip()).resolve()
        if not path.is_relative_to(self.root.resolve()):
            self.problem(where, f"{what} {value!r} points outside the bundle",
                         "keep every file the yaml names inside the bundle")
            return None
        return path

    def text_file(self, value, where: str, what: str, empty_ok: bool = False) -> Path | None:
        """A page or the terms: the file must exist and (v2) hold something."""
        path = self.inside(value, where, what)
        if path is None:
            return None
        if not path.is_file():
            self.problem(where, f"Unable to find page: {value}",
                         f"add {value} to the bundle or correct {what} in competition.yaml")
            return None
        if not empty_ok and not path.read_bytes().strip():
            self.problem(where, f"Page '{value}' is empty, it must contain content.",
                         f"write the {what} into {value}")
        return path

    def entry(self, value, where: str, what: str) -> Path | None:
        """A program or data entry as a folder: the folder itself, or a zip extracted.

        A value Codabench would take for the key of a dataset already on its server (a
        UUID) is not in the bundle: a warning, and None.
        """
        if isinstance(value, str) and _UUID.match(value.strip()) and \
                not (self.root / value.strip()).exists():
            self.warn(where, f"{what} {value!r} is the key of a dataset on a Codabench "
                      "server, not a file in the bundle: it cannot run here",
                      f"put the {what} folder in the bundle and name its path")
            return None
        path = self.inside(value, where, what)
        if path is None:
            return None
        if path.is_dir():
            return path
        if not path.exists():
            self.problem(where, f'Cannot find dataset: "{value}" ({what})',
                         f"add the folder {value} to the bundle or correct {what}")
            return None
        try:
            return archive.extracted(path)
        except zipfile.BadZipFile:
            self.problem(where, f"{what} {value!r} is a file, not a folder or a zip",
                         f"make {value} a folder (or a zip of one)")
            return None

    def date(self, value, where: str, what: str) -> dt.datetime | None:
        """A date as Codabench's get_datetime reads it (dateutil, month first), in UTC."""
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime.combine(value, dt.time())
        else:
            try:
                moment = dateparser.parse(str(value))
            except (ValueError, OverflowError):
                self.problem(where, f"{what} {value!r} is not a date",
                             f"write {what} like 2026-01-31 or 1-31-2026 (month first)")
                return None
        return moment.replace(tzinfo=dt.timezone.utc)

    def count(self, value, where: str, what: str, default: int | None) -> int | None:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(where, f"{what} is {value!r}, not a whole number",
                         f"write {what} as a number such as 5")
            return default
        return value

    def time_limit(self, phase: dict, where: str) -> tuple[float, str]:
        """The phase's time limit in seconds, and which field gave it.

        Codabench's unpacker has read `execution_time_limit` (seconds; what real bundles
        write) and, in a later version, `execution_time_limit_ms`; a falsy value leaves
        the model's default of 600 s, as the unpacker's `if execution_time_limit:` does.
        """
        for field, scale in (("execution_time_limit", 1.0), ("execution_time_limit_ms", 1e-3)):
            value = phase.get(field)
            if value in (None, 0, ""):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                self.problem(where, f"{field} is {value!r}, not a number",
                             f"write {field} as a number of "
                             f"{'seconds' if scale == 1 else 'milliseconds'}")
                break
            return float(value) * scale, field
        return DEFAULT_TIME_LIMIT_S, "default"

    def phase_order(self, phases: list[Phase]) -> None:
        """Codabench's _validate_phase_ordering: each phase ends before the next starts."""
        for first, second in zip(phases, phases[1:]):
            where = f"phase {first.index} {first.name!r}"
            if first.end is None:
                self.problem(where, f"Phase: {first.name} must have an end time because "
                             "it has a phase after it.", f"give {first.name!r} an `end`")
            elif second.start is not None and second.start < first.end:
                self.problem(f"phase {second.index} {second.name!r}",
                             f"Phases must be sequential. Phase: {second.name} starts "
                             f"before Phase: {first.name} has ended",
                             f"start {second.name!r} after {first.end:%Y-%m-%d %H:%M}")
            elif second.start == first.end:
                self.problem(f"phase {second.index} {second.name!r}",
                             f"Phases dates conflict. Phase: {second.name} should start "
                             f"after Phase: {first.name} has ended",
                             f"start {second.name!r} after {first.end:%Y-%m-%d %H:%M}")
