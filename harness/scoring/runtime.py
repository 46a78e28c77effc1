"""Which Python runs a submission: this one, or a cached virtualenv of the server's runtime.

A profile pins the server's packages (`[runtime] packages`). When this interpreter's
Keras has the same major version as the pinned one, it stands in for the server, as it
always has (`harness verify` checks the exact pins in a virtualenv of its own). When it
does not (the 2023 server ran TensorFlow 2.14 with Keras 2, this interpreter runs Keras
3), a model saved there cannot even load here, so every run of a submission (`score`,
`timecheck`, `pack`'s smoke run, `calibrate`) goes to a virtualenv holding exactly the
pinned packages: `runtime_python`.

That virtualenv is built once per machine (`server_python`, or `harness profile
runtime`) and cached under `$HARNESS_CACHE/venvs/<key>` (default `~/.cache/harness`),
where the key hashes the requirements and the Python version. It is built in a
temporary folder beside the cache entry and renamed into place only when pip
succeeded, so an interrupted build is never taken for a cached one; a cached one that
no longer starts is reported, with how to rebuild it.

Examples:
    >>> runtime_python(get_profile("an2dl-2024-hw1"))   # Keras 3 here: this interpreter
    >>> runtime_python(get_profile("an2dl-2023-hw1"))
    PosixPath('.../.cache/harness/venvs/6f7de6dcd8bdfbb9/bin/python')   # in the user cache
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from harness.errors import HarnessError
from harness.fsutil import temp_beside
from harness.profile import Profile

Builder = Callable[[Path, list[str]], None]
# The distributions that install the `tensorflow` and `keras` modules.
_DISTRIBUTIONS = {"keras": ("keras",), "tensorflow": ("tensorflow", "tensorflow-cpu")}


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


def _major(spec: str) -> int | None:
    """The major version a pin names ("==2.14.0" -> 2), or None for a range or none."""
    spec = spec.strip()
    if not spec.startswith("=="):
        return None
    head = spec[2:].split(".")[0]
    return int(head) if head.isdigit() else None


def _installed_major(module: str) -> int | None:
    for dist in _DISTRIBUTIONS[module]:
        try:
            head = metadata.version(dist).split(".")[0]
        except metadata.PackageNotFoundError:
            continue
        return int(head) if head.isdigit() else None
    return None


def runs_here(profile: Profile) -> bool:
    """Whether this interpreter stands in for the server: its Keras (and TensorFlow) has
    the major version the profile pins, or the profile pins none."""
    for module, dists in _DISTRIBUTIONS.items():
        pins = [profile.server_runtime[d] for d in dists if d in profile.server_runtime]
        wanted = _major(pins[0]) if pins else None
        if wanted is not None and _installed_major(module) != wanted:
            return False
    return True


def runtime_python(profile: Profile, root: Path | None = None) -> Path | None:
    """The interpreter that runs this profile's submissions: None for this one
    (`runs_here`), else the cached virtualenv of its server runtime.

    Raises:
        HarnessError: the virtualenv is not built yet (one line: how to build it), or
            it no longer starts.
    """
    if runs_here(profile):
        return None
    venv = (root or cache_root()) / "venvs" / venv_key(profile.server_requirements())
    if not venv.exists():
        raise HarnessError(
            f"profile {profile.name!r} runs submissions on its server's runtime "
            f"({', '.join(profile.server_requirements())}), which is not built on this "
            f"machine", hint=f"build it once (a minute or two, from the package index): "
                             f"harness profile runtime --profile {profile.ref}")
    return _check_cached(venv, f"the {profile.name} server runtime")


@dataclass
class RuntimeResult:
    """A profile's server runtime on this machine (`harness profile runtime`).

    Args:
        profile: the profile's name.
        requirements: its pinned packages.
        runs_here: this interpreter stands in for the server (no virtualenv needed).
        python: the virtualenv's interpreter (built now or cached).
        build_s: seconds spent building it now; None when it was cached.
    """

    profile: str
    requirements: list[str]
    runs_here: bool
    python: str
    build_s: float | None


def build_runtime(profile: Profile, builder: Builder = pip_builder,
                  status: Callable[[str], None] = lambda msg: None) -> RuntimeResult:
    """Build (once) the virtualenv of the profile's server runtime, or find it cached."""
    python, build_s = cached_venv(profile.server_requirements(), builder, status=status,
                                  what=f"the {profile.name} server runtime")
    return RuntimeResult(profile.name, profile.server_requirements(), runs_here(profile),
                         str(python), build_s)
