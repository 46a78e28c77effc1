"""Where the harness finds things and puts what it makes.

- `REPO_ROOT`: this checkout (the submission template, the shipped experiments).
- `project_folder(env, name)`: a folder a team may keep elsewhere: $ENV, else ./NAME
  when it exists, else the repository's NAME/ (experiments, and data read by default).
- `DATA_DIR`: `data/` under the working directory, where commands write what they
  generate (test sets, scores, the leaderboard, reports); git ignores it.

Examples:
    >>> data_root()            # $HARNESS_DATA, else ./data, else the repository's data/
    PosixPath('/work/main/data')
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path("data")


def project_folder(env: str, name: str) -> Path:
    """$ENV when set, else ./NAME when it exists, else the repository's NAME/."""
    if os.environ.get(env):
        return Path(os.environ[env])
    local = Path.cwd() / name
    return local if local.is_dir() else REPO_ROOT / name


def data_root() -> Path:
    """Where generated data is read from: $HARNESS_DATA, else ./data, else the
    repository's data/."""
    return project_folder("HARNESS_DATA", "data")
