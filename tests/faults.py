"""What every fault-injection test module shares: run a command and interrupt it, and the
checks made after (exit status and its one line, debris, all-or-none outputs).

`TRIED` counts every interruption of the session's modules (`test_faults.py` prints it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import harness

REPO = Path(harness.__file__).resolve().parent.parent
TRIED: list[str] = []


def harness_run(args, cwd: Path, checkpoint: str | None = None, sig: str = "INT",
                delay: float | None = None, env: dict | None = None):
    """Run `harness ARGS` in `cwd`; interrupt it at `checkpoint` or after `delay` seconds.

    Returns (exit status, stderr).
    """
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3",
                "HARNESS_CACHE": str(cwd / ".cache"), **(env or {})}
    full_env.pop("HARNESS_DB_URL", None)
    if checkpoint:
        full_env.update(HARNESS_TEST_CHECKPOINT=checkpoint, HARNESS_TEST_SIGNAL=sig)
    proc = subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, env=full_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(getattr(signal, f"SIG{sig}"))
    _, err = proc.communicate(timeout=300)
    if checkpoint or delay is not None:
        TRIED.append(f"{args[0]} {checkpoint or f'{delay}s'} {sig}")
    return proc.returncode, err


def assert_clean_exit(rc: int, err: str, sig: str = "INT", may_finish: bool = False) -> bool:
    """Interrupted: exit 130/143 and one line saying so; True if it was interrupted."""
    assert "Traceback" not in err, err
    if rc == 0 and may_finish:
        return False
    if rc == -getattr(signal, f"SIG{sig}") and not err:
        # A signal in the interpreter's own start-up, before any harness code: the
        # default action ends it, and nothing of the command has run, let alone written.
        return True
    assert rc == 128 + getattr(signal, f"SIG{sig}"), (rc, err)
    lines = [line for line in err.splitlines() if line.startswith("interrupted:")]
    # Before the CLI is up (imports take seconds on a loaded machine) it says so instead.
    assert len(lines) == 1 and ("no partial files left" in lines[0]
                                or "nothing was written" in lines[0]), err
    return True


def assert_no_debris(root: Path) -> None:
    debris = [p for p in root.rglob("*") if ".part" in p.name or p.name.endswith(".building")]
    assert debris == [], debris


def all_or_none(paths: list[Path]) -> bool:
    """True when all exist; asserts none does otherwise."""
    present = [p.exists() for p in paths]
    assert all(present) or not any(present), dict(zip(paths, present))
    return all(present)


# A numpy-only model.py: its process starts in a fraction of a second, no TensorFlow.
NUMPY_MODEL = """
import numpy as np


class Model:
    def predict(self, X):
        return X[:, 0, 0, 0].astype(np.int64) % 8
"""


def leaderboard_rows(root: Path, table: str = "scores") -> int:
    """Rows of `table` in root/data/leaderboard.sqlite (0 when there is no database)."""
    import sqlite3

    db = root / "data" / "leaderboard.sqlite"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
