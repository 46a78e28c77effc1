"""`harness verify`: run a zip on the server's exact runtime, in its own virtualenv.

A team that trains and packs with a newer TensorFlow or Keras gets a zip that may not
load on the server (a .keras file saved by Keras 3.15 fails on 3.4.1, course material).
`verify_zip` builds, once, a virtualenv holding only the profile's server runtime
(`profile.server_requirements()`, cached by `harness.scoring.runtime`), then runs the
zip through the same ingestion as `score` in that virtualenv and in the current
environment, both at once on the same sample, and compares the labels.

Under a profile whose runtime is not this interpreter's kind (another major Keras:
`runtime.runs_here`), a zip made for that server may not load here at all (a Keras 2
SavedModel under Keras 3): it passes when it loads there, and the labels are compared
only when it ran here too.

Examples:
    >>> result = verify_zip("submission_250101_120000.zip", get_profile())
    >>> result.loads_there, result.same_labels
    (True, True)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from harness.profile import Profile
from harness.progress import progress_bar
from harness.scoring.ingestion import start_submission
from harness.scoring.runtime import Builder, pip_builder, runs_here, server_python
from harness.scoring.targets import resolve_target
from harness.shipping.optimize import packed_rewrite
from harness.shipping.samples import sample_images

# An interpreter to use instead of building the virtualenv (tests; a server image at hand).
PYTHON_ENV = "HARNESS_SERVER_PYTHON"
# How many differing images a result lists.
MAX_LISTED = 10


@dataclass
class VerifyResult:
    """Whether a zip loads on the server's runtime and predicts what it predicts here.

    Args:
        target: the zip (or folder, or experiment) verified.
        requirements: the server runtime it ran under.
        python: the interpreter of that runtime.
        build_s: seconds spent building the runtime now (None: it was cached).
        n_images: sample size.
        loads_there: the run on the server runtime finished and passed the contract.
        failure_there: why it did not, else None.
        ok_here: the run in the current environment passed.
        failure_here: why it did not, else None.
        same_labels: both runs returned identical labels.
        n_different: how many labels differ.
        differences: the first few: {"index", "here", "there"}.
        versions_here, versions_there: python/numpy/tensorflow/keras of each run.
        verify_s: seconds for both runs.
        ok: loads there and the same labels (or, under a runtime of another kind than
            this interpreter's, loads there and did not run here).
        compared: whether "here" is this profile's kind of runtime, so that a run that
            fails here counts against the zip.
    """

    target: str
    requirements: list[str]
    python: str
    build_s: float | None
    n_images: int
    loads_there: bool
    failure_there: str | None
    ok_here: bool
    failure_here: str | None
    same_labels: bool
    n_different: int
    differences: list[dict] = field(default_factory=list)
    versions_here: dict = field(default_factory=dict)
    versions_there: dict = field(default_factory=dict)
    verify_s: float = 0.0
    ok: bool = False
    compared: bool = True


def _why(result) -> str | None:
    if result.ok:
        return None
    f = result.failure
    hint = f" (hint: {f.hint})" if f.hint else ""
    return f"[{f.kind}] {f.message}{hint}" + (
        f"\n{f.traceback.strip()[-1500:]}" if f.traceback else "")


def verify_zip(target: str | os.PathLike, profile: Profile, n: int = 64,
               data: str | os.PathLike | None = None, python: str | os.PathLike | None = None,
               builder: Builder = pip_builder,
               status: Callable[[str], None] = lambda msg: None,
               progress: bool = False, optimize: bool = True) -> VerifyResult:
    """Run a submission on the server's runtime and here; compare the labels.

    Args:
        target: a zip (also a submission folder or an experiment).
        profile: the competition profile (server runtime, time limit, threads).
        n: sample size.
        data: an npz to take the sample from (default: seeded random pixels).
        python: the server-runtime interpreter to use (default: $HARNESS_SERVER_PYTHON,
            else the cached virtualenv, built on first use).
        builder: how to build that virtualenv (see `server_python`).
        status: called with progress lines for people.
        progress: a tqdm bar (stderr) over the two runs while they finish.
        optimize: run an experiment as `pack` ships it (the CPU rewrite); False: its
            stock model.

    Returns:
        VerifyResult; `ok` is True when the zip loads there and the labels match.
    """
    build_s = None
    python = python or os.environ.get(PYTHON_ENV)
    if python is None:
        python, build_s = server_python(profile, builder, status=status)
    images = sample_images(profile, n, data)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="harness-verify-") as tmp:
        staged = resolve_target(target, Path(tmp) / "submission", profile,
                                prepare=packed_rewrite if optimize else None)
        status(f"running {Path(str(target)).name} on the server runtime and here, at once")
        # Both processes at once: each spends most of its time importing TensorFlow, so
        # the pair takes little more than one.
        with start_submission(staged.path, images, profile, python=str(python),
                              threads=profile.server_threads) as on_server, \
                start_submission(staged.path, images, profile, python=sys.executable,
                                 threads=profile.server_threads) as on_here:
            runs = progress_bar("verify", disable=not progress, unit="run")
            there, here = [run.wait() for run in runs([on_server, on_here])]
    both = there.ok and here.ok
    compared = runs_here(profile)
    diff = np.flatnonzero(there.predictions != here.predictions) if both else np.array([], int)
    same = both and len(diff) == 0
    return VerifyResult(
        target=str(target), requirements=profile.server_requirements(), python=str(python),
        build_s=build_s, n_images=len(images),
        loads_there=there.ok, failure_there=_why(there),
        ok_here=here.ok, failure_here=_why(here),
        same_labels=both and len(diff) == 0, n_different=len(diff),
        differences=[{"index": int(i), "here": int(here.predictions[i]),
                      "there": int(there.predictions[i])} for i in diff[:MAX_LISTED]],
        versions_here=here.versions, versions_there=there.versions,
        verify_s=time.monotonic() - start, compared=compared,
        ok=same or (there.ok and not here.ok and not compared))
