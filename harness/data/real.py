"""The real blood-cell data that sits beside the checkout, decoded into the
competition's npz by its own script, run with the harness's own Python.

`../shared/data/make_training_set.py` decodes `blood96_jpeg.npz` (13,837 real cells, as
dirty as the course's file) into `training_set.npz`. It needs numpy and Pillow: the
harness's environment has both, a system `python` often lacks Pillow (`No module named
'PIL'`). `make_real_data` runs the script with `sys.executable`, checks what it wrote,
and says where it went.

Examples:
    >>> make_real_data().out                    # doctest: +SKIP
    'data/training_set.npz'
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.paths import REPO_ROOT, data_dir
from harness.profile import Profile, get_profile

# Where the project keeps the real data: beside the checkout, never in it.
DEFAULT_SCRIPT = REPO_ROOT.parent / "shared" / "data" / "make_training_set.py"
NO_REAL_DATA = ("draw synthetic data instead: harness data synth data/training_set.npz "
                "--contaminate")


@dataclass
class RealDataResult:
    """What `make_real_data` wrote.

    Args:
        out: the npz written.
        n_images: images in it.
        per_class: images per class name.
        script: the script that decoded them.
        python: the Python that ran it (the harness's own).
        seconds: the script's wall time.
    """

    out: str
    n_images: int
    per_class: dict[str, int]
    script: str
    python: str
    seconds: float


def make_real_data(out: str | os.PathLike | None = None,
                   script: str | os.PathLike | None = None,
                   profile: Profile | str | None = None) -> RealDataResult:
    """Decode the real data into `out` with its script, run by this Python.

    Args:
        out: the npz to write (default: `data_dir()/training_set.npz`).
        script: `make_training_set.py` (default: `DEFAULT_SCRIPT`, beside the checkout).
        profile: names the classes in the result.

    Raises:
        HarnessError: no script there, the script failed, or it wrote no readable npz.
    """
    profile = get_profile(profile)
    out = Path(out) if out is not None else data_dir() / "training_set.npz"
    script = Path(script) if script is not None else DEFAULT_SCRIPT
    if not script.is_file():
        raise HarnessError(f"no {script}: the real data is not beside this checkout",
                           hint=f"pass --script PATH_TO/make_training_set.py, or "
                                f"{NO_REAL_DATA}")
    start = time.perf_counter()
    ran = subprocess.run([sys.executable, str(script), str(out)], capture_output=True,
                         text=True)
    seconds = time.perf_counter() - start
    if ran.returncode != 0:
        said = (ran.stderr.strip() or ran.stdout.strip() or "no output").splitlines()[-1]
        raise HarnessError(f"{script} failed with exit code {ran.returncode} under "
                           f"{sys.executable}: {said}",
                           hint="run it by hand with that Python to see the whole "
                                f"traceback: {sys.executable} {script} {out}")
    try:
        with np.load(out) as z:
            labels = np.asarray(z["labels"]).reshape(-1)  # the labels only: a few KB
    except (OSError, KeyError, ValueError) as e:
        raise HarnessError(f"{script} ran but {out} is not an npz with labels ({e})",
                           hint=f"check the script; or {NO_REAL_DATA}") from e
    counts = np.bincount(labels.astype(np.int64), minlength=profile.num_classes)
    names = list(profile.class_names) + [f"class {k}" for k in
                                         range(profile.num_classes, len(counts))]
    return RealDataResult(out=str(out), n_images=int(len(labels)),
                          per_class={names[k]: int(c) for k, c in enumerate(counts)},
                          script=str(script), python=sys.executable, seconds=seconds)
