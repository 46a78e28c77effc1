"""`harness verify`: run a zip on the server's exact runtime, in its own virtualenv.

A team that trains and packs with a newer TensorFlow or Keras gets a zip that may not
load on the server (a .keras file saved by Keras 3.15 fails on 3.4.1, course material).
`verify_zip` builds, once, a virtualenv holding only the profile's server runtime
(`profile.server_requirements()`), cached under `$HARNESS_CACHE/venvs/<key>` (default
`~/.cache/harness`), where the key hashes the requirements and the Python version;
then it runs the zip through the same ingestion as `score` in that virtualenv and in
the current environment, both at once on the same sample, and compares the labels.

The virtualenv is built in a temporary folder beside the cache entry and renamed into
place only when pip succeeded, so an interrupted build is never taken for a cached one;
a cached one that no longer starts is reported, with how to rebuild it.

Examples:
    >>> result = verify_zip("submission_250101_120000.zip", get_profile())
    >>> result.loads_there, result.same_labels
    (True, True)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from harness.errors import HarnessError
from harness.fsutil import temp_beside
from harness.profile import Profile
from harness.scoring.ingestion import start_submission
from harness.scoring.targets import resolve_target
from harness.shipping.samples import sample_images

# An interpreter to use instead of building the virtualenv (tests; a server image at hand).
PYTHON_ENV = "HARNESS_SERVER_PYTHON"
# How many differing images a result lists.
MAX_LISTED = 10

Builder = Callable[[Path, list[str]], None]


def cache_root() -> Path:
    """Where the harness caches things: $HARNESS_CACHE, else ~/.cache/harness."""
    return Path(os.environ.get("HARNESS_CACHE") or Path.home() / ".cache" / "harness")


def venv_key(requirements: list[str]) -> str:
    """A short hash of the requirements and this Python's version: one venv per pair."""
    text = "\n".join(sorted(requirements)) + f"\npython{sys.version_info[0]}.{sys.version_info[1]}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pip_builder(dest: Path, requirements: list[str]) -> None:
    """Create a virtualenv at `dest` and pip-install `requirements` into it."""
    def run(cmd):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise HarnessError(f"building a virtualenv failed: {' '.join(cmd[:4])} ... "
                               f"exited {done.returncode}: {done.stderr.strip()[-800:]}",
                               hint="pip needs a package index (PyPI or a mirror via "
                                    "PIP_INDEX_URL); or point HARNESS_SERVER_PYTHON at an "
                                    "interpreter with the server's runtime")

    run([sys.executable, "-m", "venv", str(dest)])
    run([str(dest / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "--disable-pip-version-check", *requirements])


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _check_cached(venv: Path, what: str) -> Path:
    """The cached virtualenv's interpreter, if it still starts (Python moved or upgraded,
    a half-deleted folder: it does not); else one line saying how to rebuild it."""
    python = venv_python(venv)
    why = None
    try:
        done = subprocess.run([str(python), "-c", "import sys"], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            why = f"exited {done.returncode}: {done.stderr.strip()[-200:]}"
    except (OSError, subprocess.TimeoutExpired) as e:
        why = str(e)[:200]
    if why is None:
        return python
    raise HarnessError(f"{venv}: the cached virtualenv of {what} no longer runs "
                       f"({python} {why})",
                       hint=f"delete it and the next verify rebuilds it: rm -rf {venv}")


def cached_venv(requirements: list[str], builder: Builder = pip_builder,
                root: Path | None = None, status: Callable[[str], None] = lambda msg: None,
                what: str = "the server runtime") -> tuple[Path, float | None]:
    """The interpreter of a virtualenv holding `requirements`, cached, built on first use.

    Args:
        requirements: what the virtualenv holds; with the Python version, its cache key.
        builder: makes a virtualenv at a path with requirements (default: venv + pip).
        root: the cache root (default `cache_root()`).
        status: called with a line of progress for people (the build takes minutes).
        what: the virtualenv's name in those lines.

    Returns:
        (path of its python, seconds spent building, or None when it was cached).
    """
    venvs = (root or cache_root()) / "venvs"
    final = venvs / venv_key(requirements)
    if final.exists():
        return _check_cached(final, what), None
    status(f"building {what} ({', '.join(requirements)}) in {final}; "
           f"once only, it takes a minute or two")
    start = time.monotonic()
    # Beside the entry, named for this process: a build killed outright is swept later.
    tmp = temp_beside(final, directory=True)
    try:
        builder(tmp, requirements)
        if not venv_python(tmp).exists():
            raise HarnessError(f"the virtualenv build left no interpreter at {venv_python(tmp)}")
        try:
            os.rename(tmp, final)
        except OSError:
            # Another build finished first; use it.
            if not venv_python(final).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    status(f"{what} ready in {time.monotonic() - start:.0f} s")
    return venv_python(final), time.monotonic() - start


def server_python(profile: Profile, builder: Builder = pip_builder, root: Path | None = None,
                  status: Callable[[str], None] = lambda msg: None) -> tuple[Path, float | None]:
    """The interpreter of the cached virtualenv holding the profile's
    `server_requirements()`, built on first use (see `cached_venv`)."""
    return cached_venv(profile.server_requirements(), builder, root, status)


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
        ok: loads there and the same labels.
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
               status: Callable[[str], None] = lambda msg: None) -> VerifyResult:
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
        staged = resolve_target(target, Path(tmp) / "submission", profile)
        status(f"running {Path(str(target)).name} on the server runtime and here, at once")
        # Both processes at once: each spends most of its time importing TensorFlow, so
        # the pair takes little more than one.
        with start_submission(staged.path, images, profile, python=str(python),
                              threads=profile.server_threads) as on_server, \
                start_submission(staged.path, images, profile,
                                 threads=profile.server_threads) as on_here:
            there, here = on_server.wait(), on_here.wait()
    both = there.ok and here.ok
    diff = np.flatnonzero(there.predictions != here.predictions) if both else np.array([], int)
    return VerifyResult(
        target=str(target), requirements=profile.server_requirements(), python=str(python),
        build_s=build_s, n_images=len(images),
        loads_there=there.ok, failure_there=_why(there),
        ok_here=here.ok, failure_here=_why(here),
        same_labels=both and len(diff) == 0, n_different=len(diff),
        differences=[{"index": int(i), "here": int(here.predictions[i]),
                      "there": int(there.predictions[i])} for i in diff[:MAX_LISTED]],
        versions_here=here.versions, versions_there=there.versions,
        verify_s=time.monotonic() - start, ok=both and len(diff) == 0)
