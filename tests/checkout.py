"""The checkout's own state, for the promise that running the suite leaves it as it was.

`status(root)` is `git status --porcelain` of the checkout at `root` (None where `root`
is not the top of a git checkout: an sdist, or an unpacked copy inside another
repository); `changes(before, after)` is what the suite added, removed or altered.
tests/conftest.py takes the status when the session starts and fails the session when
it ends with changes (in the controlling process only, so it holds under `-n 2` too).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def status(root: Path) -> str | None:
    """`git status --porcelain` of the checkout at `root`, or None where there is none."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != Path(root).resolve():
        return None
    return _git(root, "status", "--porcelain", "--untracked-files=all")


def changes(before: str, after: str) -> list[str]:
    """Lines of `after` that `before` lacks or that `before` had and `after` lost."""
    old, new = set(before.splitlines()), set(after.splitlines())
    return sorted(f"now: {line}" for line in new - old) + \
        sorted(f"was: {line}" for line in old - new)
