"""The bench scripts are scripts, not a package: their folder goes on the path here."""

from __future__ import annotations

import sys

from harness.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
