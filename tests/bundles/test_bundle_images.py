"""The Python environment standing in for a bundle's image under bubblewrap: its
package list, where it comes from, what differs from the image, built once."""

from __future__ import annotations

import os
import sys

from harness.bundles.images import PY312, build_image_environment, image_environment

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_py312_carries_its_dockerfiles_pins_and_says_the_interpreter_differs():
    env = image_environment("codalab/codalab-legacy:py312")
    assert env.requirements == PY312 and "scikit-learn==1.5.1" in env.requirements
    assert env.source.endswith("Dockerfiles/Dockerfile-py312")
    assert any(f"Python {HERE}, the image has 3.12" in d for d in env.differs) \
        or HERE == "3.12"


def test_codabenchs_default_image_says_the_py312_list_stands_in():
    env = image_environment("codalab/codalab-legacy:py37")
    assert env.requirements == PY312
    assert "do not install on" in env.differs[0] and "py312 packages stand in" in env.differs[0]


def test_an_unknown_image_says_how_to_add_it():
    env = image_environment("someone/custom:latest")
    assert env.requirements == PY312
    assert "not in harness/bundles/images.py's table" in env.differs[0]


def test_the_environment_is_built_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    built = []

    def builder(dest, requirements):
        built.append(requirements)
        (dest / "bin").mkdir(parents=True)
        os.symlink(sys.executable, dest / "bin" / "python")

    first = build_image_environment("codalab/codalab-legacy:py312", builder)
    again = build_image_environment("codalab/codalab-legacy:py312", builder)
    assert built == [PY312] and first.build_s is not None and again.build_s is None
    assert first.python == again.python and first.python.startswith(str(tmp_path))
