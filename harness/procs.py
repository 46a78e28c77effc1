"""Child processes under a time limit: wait, kill the whole group, read the log's tail.

Scoring's ingestion and the bundle runner both start programs in a session of their
own (`start_new_session=True`, so the child leads a process group) and must stop
everything the program started within moments of the limit, with Codabench's own
words. The waiting, killing and message live here, once.

Examples:
    >>> proc = subprocess.Popen(["sleep", "9"], start_new_session=True)
    >>> wait_for(proc, time.monotonic() + 1) is None      # the deadline passed
    True
    >>> kill_group(proc)[0]                                # SIGKILLed and reaped
    9
    >>> time_limit_message(2)
    'Execution Time Limit exceeded. Limit was 2 seconds'
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

TAIL_CHARS = 3000


def format_limit(limit: float) -> str:
    """A limit in seconds as Codabench prints it: 600, or 2.5 when it is not whole."""
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"


def time_limit_message(limit: float) -> str:
    """The compute worker's message when a run passes its limit."""
    return f"Execution Time Limit exceeded. Limit was {format_limit(limit)} seconds"


def wait_for(proc: subprocess.Popen, deadline: float | None,
             tick: Callable[[], None] = lambda: None):
    """Wait for the child; return (status, rusage), or None when the deadline passed.

    `deadline` is a `time.monotonic()` value; None waits for ever. It polls (a few
    milliseconds at first, at most 50 ms) so that a limit is kept to within 50 ms,
    calling `tick` between polls (scoring's progress bar reads the child's count there).
    """
    delay = 0.002
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage
        if deadline is not None and time.monotonic() >= deadline:
            return None
        tick()
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def end_group(proc: subprocess.Popen) -> None:
    """SIGKILL what is left of the child's process group (the child itself may be gone):
    whatever a program left running goes with it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_group(proc: subprocess.Popen):
    """SIGKILL the child's whole process group and reap the child; (status, rusage)."""
    end_group(proc)
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return status, rusage


def tail(path: Path, chars: int = TAIL_CHARS) -> str:
    """The last `chars` characters of a log file ("" when there is none)."""
    path = Path(path)
    if not path.exists():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - chars))
        return f.read().decode("utf-8", "replace")
