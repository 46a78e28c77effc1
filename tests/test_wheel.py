"""A wheel installed without its checkout packs: `pip install .` as on a GPU notebook,
then `harness pack` of a team's experiment from a folder outside the checkout. The
submission template (harness/submission_template/) must be in the wheel for that.

Slow (a wheel build in pip's isolated environment, then a pack: about a minute), so it
runs where CI=true (`.ci/run`, which runs `make test`), or with HARNESS_WHEEL_TEST=1.
Building needs setuptools>=77 from the package index, as `pip install .` itself does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from harness.paths import REPO_ROOT

CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.skipif(
    not (CI or os.environ.get("HARNESS_WHEEL_TEST") == "1"),
    reason="builds and installs a wheel (about a minute): runs under CI=true or "
           "HARNESS_WHEEL_TEST=1")
# What `pip install .` reads: the package and its metadata, nothing else of the checkout.
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "harness"]


def _build_wheel(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO_ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "wheel"), str(src)],
                           capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        reason = f"could not build the wheel: {built.stderr.strip()[-500:]}"
        if CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)  # offline: no setuptools>=77 for the build
    [wheel] = (tmp_path / "wheel").glob("harness-*.whl")
    return wheel


def test_a_wheel_installed_without_the_checkout_packs_an_experiment(tmp_path,
                                                                    trained_experiment):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        assert {"harness/submission_template/model.py",
                "harness/submission_template/harness_runtime.py"} <= set(z.namelist())
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HARNESS_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)  # the installed wheel, never the checkout
    where = subprocess.run([sys.executable, "-c", "import harness; print(harness.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip().startswith(str(site))
    # tmp_path holds experiments/tiny_exp with a trained run: a team's own folder.
    packed = subprocess.run([sys.executable, "-m", "harness", "pack", "tiny_exp", "--out",
                             "dist", "--json"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    [zip_path] = (tmp_path / "dist").glob("*.zip")
    with zipfile.ZipFile(zip_path) as z:
        assert {"model.py", "harness_runtime.py", "weights.keras"} <= set(z.namelist())
