"""The newest TensorFlow and Keras the package index serves for CPU, in a cached virtualenv.

The cross-version tests train and pack there, as a team does on Colab or Kaggle, then
verify the zip on the server's runtime. Like `harness verify`'s server runtime it lives
in the user cache (`$HARNESS_CACHE/venvs/<key>`, `harness.scoring.runtime.cached_venv`)
and is built once per machine: `.ci/run` builds it before `make test`, so its minutes
are not counted in the suite's; a test that finds it missing builds it, and skips with
the reason when no package index answers.

The harness itself is not pip-installed there: the tests run it with the checkout on
PYTHONPATH, so one cached virtualenv serves every checkout on the machine (worktrees,
CI) and always runs the code under test, not the one it was built from. It holds the
harness's requirements from pyproject.toml except those the train, pack and verify path
never imports (keras-cv and its tensorflow-datasets, optuna), which would add minutes.

Build it:  .venv/bin/python tests/newer_runtime.py
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, a dependency there
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from harness.scoring.runtime import cached_venv  # noqa: E402

# Unpinned: the newest each time the cache is empty (its key stays the same, so a machine
# keeps the versions it built until the cache is cleared).
NEWEST = ["tensorflow-cpu", "keras"]
NOT_NEEDED = {"keras", "keras-cv", "optuna"}
WHAT = "the newest TensorFlow and Keras"


def requirements() -> list[str]:
    """NEWEST plus pyproject.toml's dependencies that the tests' path imports."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    needed = [req for req in dependencies if re.split(r"[<>=!~ ;\[]", req)[0] not in NOT_NEEDED]
    return NEWEST + needed


def newer_python(status=lambda msg: None) -> Path:
    """The cached virtualenv's interpreter, built on first use (HarnessError if pip fails)."""
    return cached_venv(requirements(), status=status, what=WHAT)[0]


def env(**extra: str) -> dict[str, str]:
    """The environment to run the harness with in that virtualenv."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


if __name__ == "__main__":
    python = newer_python(status=print)
    print(python)
