"""Which commit of which repository produced a result: stamped on scores and run folders."""

from __future__ import annotations

import os
import subprocess


def git_commit(cwd: str | os.PathLike = ".") -> str | None:
    """The current commit of the git repository at `cwd` (suffixed -dirty), or None."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
