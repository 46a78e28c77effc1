"""Which Python stands in for a bundle's Docker image when no container engine runs it.

Codabench runs each program in the competition's `docker_image`. Without Docker or
Podman (or without that image pulled), the bubblewrap sandbox runs it with the host's
system folders and a cached virtualenv holding the image's pinned pip packages, first
on PATH as `python3` and `python`. The lists come from the images' Dockerfiles in
codalab/codalab-dockers (`Dockerfiles/Dockerfile-py312`, `-py39`, `-py37`).

The venv is built once per machine in the user cache (`harness.scoring.runtime.
cached_venv`, keyed by the list and this Python's version), on the first run that
needs it or ahead of time with `harness bundle runtime IMAGE` (`.ci/run` does so).
What differs from the image is said, never hidden: this interpreter's
version (the image may pin 3.12, here it is whatever runs the harness), the system
packages (the host's, not the image's Debian), and, for images whose pins no longer
install on a current Python (py37, py39: numpy 1.17 / 1.22 have no wheels for it),
that the py312 list stands in for them. An image the table does not know runs on the
py312 list too, with that said in the differences and how to add it here.

Examples:
    >>> env = image_environment("codalab/codalab-legacy:py312")
    >>> env.requirements[:2], env.source
    (['Cython==3.0.12', 'numpy==1.26.4'], 'codalab/codalab-dockers Dockerfiles/Dockerfile-py312')
    >>> image_python("codalab/codalab-legacy:py312", status=print)   # built on first use
    PosixPath('.../.cache/harness/venvs/87e2aa9e121429fa/bin/python')
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.scoring.runtime import Builder, cached_venv, pip_builder

PY312 = ["Cython==3.0.12", "numpy==1.26.4", "scipy==1.11.4", "scikit-learn==1.5.1",
         "pandas==2.2.3", "pyyaml==6.0.2", "imutils==0.5.4", "numba==0.61.2",
         "threadpoolctl==3.6.0", "matplotlib==3.8.4", "psutil==7.0.0"]
_DOCKERFILES = "codalab/codalab-dockers Dockerfiles/Dockerfile-"

# image tag -> (its Python, its pins as its Dockerfile says, or None where they do not
# install on a current Python and the py312 list stands in).
KNOWN = {
    "codalab/codalab-legacy:py312": ("3.12", PY312),
    # Python 3.9, numpy 1.22.4, scipy 1.8.1, scikit-learn 1.1.1, pandas 1.4.2,
    # tensorflow 2.9.1, theano: no wheels for a current interpreter.
    "codalab/codalab-legacy:py39": ("3.9", None),
    # Python 3.7, numpy 1.17.2, scikit-learn 0.21.3, pandas 0.25: Codabench's default
    # image when a bundle names none.
    "codalab/codalab-legacy:py37": ("3.7", None),
    "codalab/codalab-legacy:py3": ("3.7", None),
}


@dataclass(frozen=True)
class ImageEnvironment:
    """The environment that stands in for one Docker image under bubblewrap.

    Args:
        image: the bundle's docker_image.
        requirements: the pip packages its virtualenv holds.
        source: where that list comes from.
        differs: what is not as in the image, one phrase each.
    """

    image: str
    requirements: list[str]
    source: str
    differs: list[str] = field(default_factory=list)


def image_environment(image: str) -> ImageEnvironment:
    """The package list standing in for `image`, and what differs from the real image."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    known = KNOWN.get(image)
    if known is None:
        return ImageEnvironment(
            image, PY312, _DOCKERFILES + "py312",
            [f"{image} is not in harness/bundles/images.py's table: the "
             f"codalab-legacy:py312 packages stand in (add the image's pip list to KNOWN "
             f"there)", f"Python {here}, the image's own interpreter unknown",
             "the host's system programs, not the image's"])
    python, pins = known
    tag = image.rsplit(":", 1)[-1]
    differs = [] if python == here else [f"Python {here}, the image has {python}"]
    if pins is None:
        differs.insert(0, f"the {tag} image's pins ({_DOCKERFILES}{tag}) do not install on "
                          f"Python {here}: the py312 packages stand in")
        pins, tag = PY312, "py312"
    differs.append("the host's system programs, not the image's Debian")
    return ImageEnvironment(image, pins, _DOCKERFILES + tag, differs)


def image_python(image: str, builder: Builder = pip_builder, root: Path | None = None,
                 status: Callable[[str], None] = lambda msg: None) -> Path:
    """The interpreter of the cached virtualenv standing in for `image`, built on first
    use (a minute or two, from the package index; HarnessError when pip fails)."""
    env = image_environment(image)
    return cached_venv(env.requirements, builder, root, status,
                       what=f"the Python environment standing in for {image}")[0]



@dataclass
class ImageRuntime:
    """The environment standing in for an image on this machine (`harness bundle runtime`).

    Args:
        image, requirements, source, differs: as `ImageEnvironment`.
        python: its interpreter.
        build_s: seconds spent building it now; None when it was cached.
    """

    image: str
    requirements: list[str]
    source: str
    differs: list[str]
    python: str
    build_s: float | None


def build_image_environment(image: str, builder: Builder = pip_builder,
                            status: Callable[[str], None] = lambda msg: None) -> ImageRuntime:
    """Build (once) the virtualenv standing in for `image`, or find it cached."""
    env = image_environment(image)
    python, build_s = cached_venv(env.requirements, builder, status=status,
                                  what=f"the Python environment standing in for {image}")
    return ImageRuntime(image, env.requirements, env.source, env.differs, str(python), build_s)
