"""Interruptions: Ctrl-C and SIGTERM stop a command cleanly, and it says what it kept.

The CLI runs inside `handled()`: SIGINT and SIGTERM then raise `Interrupted`, a
`KeyboardInterrupt`, so every `with` block and `except BaseException` on the way out
removes its temporary files, kills its child processes and rolls back its transaction,
exactly as it does for Ctrl-C. The top of the CLI prints one line (`summary`) and exits
128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).

Writers say what they finished with `kept` (atomic writes do it themselves), and what
the user should do next with `note` (e.g. how to resume a run, `withdraw`n once it no
longer applies); `summary` reports both.
`deferred` holds the signals while several files or a row and its report are committed,
so they land together or not at all.

`checkpoint(name)` marks a point where the fault-injection tests interrupt a command:
with `HARNESS_TEST_CHECKPOINT=PATTERN[#N]` (fnmatch, the Nth match, default the first)
the process sends itself SIGINT there, or the signal named by `HARNESS_TEST_SIGNAL`
(e.g. TERM). Unset, it costs a dictionary lookup.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Iterator

CHECKPOINT_ENV = "HARNESS_TEST_CHECKPOINT"
SIGNAL_ENV = "HARNESS_TEST_SIGNAL"
SIGNALS = (signal.SIGINT, signal.SIGTERM)

_kept: list[str] = []
_notes: list[str] = []
_matches = 0


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `exit_code` is what a shell expects (128 + signal)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def how(self) -> str:
        return "Ctrl-C" if self.signum == signal.SIGINT else signal.Signals(self.signum).name


def _raise(signum, _frame):
    raise Interrupted(signum)


def _quit_starting(signum, _frame):
    sys.stderr.write(f"interrupted: harness stopped by {Interrupted(signum).how} while "
                     f"starting; nothing was written\n")
    raise SystemExit(128 + signum)


def while_starting() -> None:
    """Before the CLI's imports (seconds on a loaded machine), a signal exits quietly.

    Only when the process is the `harness` program itself (the console script or
    `python -m harness`): a program that imports the CLI keeps its own handlers.
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if Path(getattr(main, "__file__", "") or "").name == "harness" or \
            getattr(spec, "name", "") == "harness.__main__":
        for sig in SIGNALS:
            signal.signal(sig, _quit_starting)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted` inside the block (the CLI's whole run).

    Installed even when the parent ignored SIGINT (a background job): whoever sends it
    on purpose wants the command stopped, and cleanly. The previous handlers come back
    after, so calling the CLI in-process (tests, a notebook) leaves the caller's alone.
    """
    _kept.clear()
    _notes.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _handlers(_raise):
        yield


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM during the block, the previous ones after."""
    old = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during the block; deliver the first one after it.

    For commits of several things that must land together (renames of finished files, a
    leaderboard row and its report). Outside the main thread signals cannot arrive
    anyway, so it does nothing there.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    with _handlers(lambda signum, _f: pending.append(signum)):
        yield
    if pending:
        # As if it arrived now: the restored handler decides (an outer `deferred`
        # holds it again; `handled`'s raises `Interrupted`).
        signal.raise_signal(pending[0])


def kept(what: str) -> None:
    """Record something finished and kept (a file, a row), for `summary`."""
    _kept.append(str(what))


def note(text: str) -> None:
    """Record what the user should know if the command is interrupted from now on."""
    if text not in _notes:
        _notes.append(text)


def withdraw(text: str) -> None:
    """Forget a `note` that no longer holds (the run it told how to resume finished)."""
    if text in _notes:
        _notes.remove(text)


def summary(command: str, error: Interrupted) -> str:
    """One line: what was interrupted, what was kept, nothing half-written."""
    if not _kept:
        what = "nothing was written"
    elif len(_kept) <= 3:
        what = "kept, complete: " + ", ".join(_kept)
    else:
        what = f"kept {len(_kept)} complete outputs, the last {_kept[-1]}"
    line = f"{command} stopped by {error.how}; {what}; no partial files left"
    return "; ".join([line, *_notes])


def checkpoint(name: str) -> None:
    """Interrupt here when a test asks for it (see the module docstring)."""
    global _matches
    want = os.environ.get(CHECKPOINT_ENV)
    if not want:
        return
    pattern, _, nth = want.partition("#")
    if fnmatch.fnmatchcase(name, pattern):
        _matches += 1
        if _matches == int(nth or 1):
            sig = os.environ.get(SIGNAL_ENV, "INT")
            signal.raise_signal(getattr(signal, f"SIG{sig.upper().removeprefix('SIG')}"))
