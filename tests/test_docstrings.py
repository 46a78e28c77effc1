"""Docstrings stay true: the pure modules' examples run, and every dotted harness name
in a docstring, help text or doc resolves to something that exists."""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import re

import numpy as np
import pytest

from harness.paths import REPO_ROOT

# Modules whose examples need no data folder, trained run or server: each has examples
# and they must pass as written.
PURE = [
    "harness.catalog", "harness.dburl", "harness.errors", "harness.imageops",
    "harness.paths", "harness.profile_schema", "harness.registry", "harness.stamps",
    "harness.testset.kinds", "harness.experiments", "harness.scoring.advice",
    "harness.scoring.signature", "harness.scoring.metrics", "harness.testset.compound",
    "harness.testset.split", "harness.testset.corruptions", "harness.testset.drawing",
    "harness.testset.augment_chains", "harness.training.config", "harness.training.optim",
    "harness.shipping.crossversion", "harness.fsutil", "harness.contactsheet",
    "harness.scoring.weightfiles", "harness.training.stopping", "harness.testset.optimism",
]
NAME = re.compile(r"(?<![\w./-])harness(?:\.[A-Za-z_]\w*)+")
# Files named like modules: the project's profile file.
NOT_NAMES = {"harness.toml"}


def namespace() -> dict:
    """What the examples assume is at hand: numpy, the active profile and its contract,
    an experiment lookup, and a few images with labels."""
    from harness.experiments import get_experiment
    from harness.profile import get_profile

    rng = np.random.default_rng(0)
    return {"np": np, "ast": ast, "get_profile": get_profile, "profile": get_profile(),
            "contract": get_profile().contract, "get_experiment": get_experiment,
            "images": rng.integers(0, 256, (20, 96, 96, 3), dtype=np.uint8),
            "labels": rng.integers(0, 8, 20)}


@pytest.mark.parametrize("name", PURE)
def test_the_examples_of_a_pure_module_run_as_written(name):
    module = importlib.import_module(name)
    environ = dict(os.environ)
    try:
        result = doctest.testmod(module, extraglobs=namespace(), report=True,
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:  # an example may set a variable (paths: $HARNESS_DATA); the next test must not see it
        os.environ.clear()
        os.environ.update(environ)
    assert result.attempted, f"{name} has no examples"
    assert not result.failed, f"{result.failed} example(s) of {name} fail (printed above)"


def _texts():
    for path in sorted((REPO_ROOT / "harness").rglob("*.py")):
        yield path, path.read_text()
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        yield path, path.read_text()


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    for attr in parts[i:]:
        if not hasattr(obj, attr):
            return False
        obj = getattr(obj, attr)
    return True


def test_every_dotted_harness_name_resolves():
    stale = sorted({f"{path.relative_to(REPO_ROOT)}: {m.group(0)}"
                    for path, text in _texts() for m in NAME.finditer(text)
                    if m.group(0) not in NOT_NAMES and "__main__" not in m.group(0)
                    and not resolves(m.group(0))})
    assert not stale, "names that no longer exist:\n" + "\n".join(stale)


def test_a_stale_name_is_caught():
    assert resolves("harness.testset.recipes.RECIPES")
    assert not resolves("harness.recipes.RECIPES")
