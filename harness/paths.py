"""Where the harness finds things and puts what it makes.

- `REPO_ROOT`: this checkout (the submission template, the shipped experiments).
- `project_folder(env, name)`: a folder a team may keep elsewhere: $ENV, else ./NAME
  when it exists, else the repository's NAME/ (the experiments).
- `data_dir()`: the one data folder every command reads and writes (datasets, test
  sets, scores, the leaderboard, reports, timechecks): $HARNESS_DATA when set, else
  ./data under the working directory. It is read at each call, never frozen at import,
  so a script (or a test) that sets $HARNESS_DATA moves every command with it.

Examples:
    >>> data_dir()                         # no $HARNESS_DATA
    PosixPath('data')
    >>> os.environ["HARNESS_DATA"] = "/scratch/team"
    >>> data_dir() / "testsets"
    PosixPath('/scratch/team/testsets')
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "HARNESS_DATA"


def project_folder(env: str, name: str) -> Path:
    """$ENV when set, else ./NAME when it exists, else the repository's NAME/ (./NAME
    for a harness installed without its checkout, whose parent is site-packages)."""
    if os.environ.get(env):
        return Path(os.environ[env])
    local = Path.cwd() / name
    shipped = REPO_ROOT / name
    return shipped if not local.is_dir() and shipped.is_dir() else local


def data_dir() -> Path:
    """The data folder: $HARNESS_DATA when set and non-empty, else `data` relative to the
    working directory."""
    return Path(os.environ.get(DATA_ENV) or "data")
