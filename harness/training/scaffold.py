"""Scaffolding a new experiment package (`harness new`).

A new experiment is a copy of another's `config.py`, `build.py` and `submission/`
(`--from`), by default of `baseline_cnn` (a small CNN that trains on a CPU), with the
source's name replaced by the new one wherever its files say it. Its config states only
what differs from the training defaults (`harness.training.config.DEFAULTS`).

Examples:
    >>> new_experiment("my_cnn")                        # a copy of baseline_cnn
    >>> new_experiment("my_convnext", source="convnext_tiny")
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.experiments import Experiment, experiments_root, get_experiment, is_experiment
from harness.paths import REPO_ROOT

# What `harness new NAME` copies without --from: the repository's own small CNN, so the
# scaffold is an experiment the suite trains and scores, and cannot drift from one.
TEMPLATE = "baseline_cnn"


@dataclass
class NewResult:
    """What `new_experiment` made."""

    name: str
    path: str
    source: str
    files: list[str]


def new_experiment(name: str, source: str | None = None,
                   root: str | os.PathLike | None = None) -> NewResult:
    """Create `experiments/NAME/` as a copy of another experiment.

    Args:
        name: the new experiment's name: a Python identifier, not taken yet.
        source: the experiment to copy `config.py`, `build.py` and `submission/` from
            (default: `TEMPLATE`, from the repository's experiments when `root` lacks it).
        root: the experiments folder (default: `experiments_root()`).

    Raises:
        HarnessError: a bad or taken name, or an unknown source.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise HarnessError(f"an experiment name must be a Python identifier. Received: {name!r}",
                           hint="use letters, digits and underscores, e.g. my_cnn_v2")
    root = Path(root) if root else experiments_root()
    dest = root / name
    if dest.exists():
        raise HarnessError(f"experiment {name!r} already exists. Received: {dest}",
                           hint="pick another name, or edit the existing package")
    src = _source(source, root)
    staging = root / f".{name}.part"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for item in ("config.py", "build.py", "submission"):
            path = src.path / item
            if path.is_dir():
                shutil.copytree(path, staging / item,
                                ignore=shutil.ignore_patterns("__pycache__"))
            elif path.is_file():
                shutil.copy2(path, staging / item)
        for code in staging.rglob("*.py"):
            code.write_text(re.sub(rf"\b{re.escape(src.name)}\b", name, code.read_text()))
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    return NewResult(name=name, path=str(dest), source=src.name, files=files)


def _source(source: str | None, root: Path) -> Experiment:
    if source is not None:
        return get_experiment(source, root)
    if is_experiment(root / TEMPLATE):
        return get_experiment(root / TEMPLATE)
    return get_experiment(REPO_ROOT / "experiments" / TEMPLATE)
