"""The held-out shifts: deterministic, shape-keeping, and outside the recipe's code."""

from __future__ import annotations

import ast
import sys

import numpy as np
import pytest

from harness.paths import REPO_ROOT

# The bench scripts are scripts, not a package.
sys.path.insert(0, str(REPO_ROOT / "bench"))
import shifts  # noqa: E402


@pytest.fixture(scope="module")
def cells():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 96, 96, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", shifts.NAMES)
def test_every_shift_keeps_shape_and_changes_the_images_reproducibly(name, cells):
    out, severity = shifts.shift_set(cells, name, seed=3)
    assert out.shape == cells.shape and out.dtype == np.uint8 and len(severity) == len(cells)
    assert not np.array_equal(out, cells)
    again, _ = shifts.shift_set(cells, name, seed=3)
    np.testing.assert_array_equal(out, again)


def test_shifts_import_nothing_of_the_harness():
    tree = ast.parse((REPO_ROOT / "bench" / "shifts.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "harness" not in imported
