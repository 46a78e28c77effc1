"""What `pip install .` makes of pyproject.toml: one source of metadata, a `harness`
script that starts, the version it reports, the files that ship, and shell completion.

Cheap by design: pyproject.toml is read with tomllib and checked against the tree, and
the console script is run from the wrapper pip would write for it. No wheel is built
and nothing is installed (that takes minutes: see the report of issue 23).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import subprocess
import sys

import click
import pytest
from packaging.requirements import Requirement

import harness
from harness.cli import main
from harness.paths import REPO_ROOT
from harness.profile import tomllib

PYPROJECT = REPO_ROOT / "pyproject.toml"
# What pip writes into bin/ for a console script `NAME = "module:attr"`.
SCRIPT_WRAPPER = """import re, sys
from {module} import {attr}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({attr}())
"""


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)


def _resolve(target: str):
    """`module:attr` (an entry point) or `module.attr` (a setuptools attr) to its object."""
    module, _, attr = target.rpartition(":") if ":" in target else target.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def test_pyproject_is_the_one_source_of_metadata(pyproject):
    # setuptools merges setup.cfg's [metadata] into the build: two places would drift.
    assert not (REPO_ROOT / "setup.cfg").exists() and not (REPO_ROOT / "setup.py").exists()
    project = pyproject["project"]
    assert project["name"] == "harness"
    assert project["requires-python"] == ">=3.10"
    assert (REPO_ROOT / project["readme"]).is_file()
    for req in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        Requirement(req)  # a typo here would only show when pip resolves it
    assert set(project["optional-dependencies"]) == {"cpu", "gpu", "dev", "postgres"}
    assert any(Requirement(r).name == "ruff" for r in project["optional-dependencies"]["dev"])


def test_the_version_has_one_source_and_harness_version_prints_it(pyproject, runner):
    assert pyproject["project"]["dynamic"] == ["version"]
    attr = pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert _resolve(attr) == harness.__version__
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"harness, version {harness.__version__}\n"


def test_harness_version_is_the_installed_metadata(runner):
    try:
        installed = importlib.metadata.version("harness")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("harness is not pip-installed in this interpreter (make install does it)")
    result = runner.invoke(main, ["--version"])
    assert result.output == f"harness, version {installed}\n", (
        "the installed metadata is older than harness.__version__: reinstall (make install)")


def test_the_console_script_target_is_the_cli(pyproject):
    assert pyproject["project"]["scripts"] == {"harness": "harness.cli:main"}
    assert isinstance(_resolve("harness.cli:main"), click.Group)


def test_what_ships_matches_real_files(pyproject):
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["packages"]["find"]["include"] == ["harness", "harness.*"]
    for package, globs in setuptools["package-data"].items():
        folder = REPO_ROOT.joinpath(*package.split("."))
        for glob in globs:
            assert list(folder.glob(glob)), f"{package}: {glob} matches no file"
    assert (REPO_ROOT / "harness" / "py.typed").is_file()
    assert "py.typed" in setuptools["package-data"]["harness"]
    assert pyproject["project"]["license"] == "MIT"
    for name in pyproject["project"]["license-files"]:
        text = (REPO_ROOT / name).read_text()
        assert text.startswith("MIT License") and "the harness authors" in text


def test_the_installed_script_starts_and_prints_bash_completion(pyproject, tmp_path):
    module, attr = pyproject["project"]["scripts"]["harness"].split(":")
    script = tmp_path / "harness"
    script.write_text(SCRIPT_WRAPPER.format(module=module, attr=attr))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "_HARNESS_COMPLETE": "bash_source"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "complete -o nosort -F _harness_completion harness" in out.stdout


def test_the_documented_completion_shells_all_work(runner):
    docs = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
    shells = {m for doc in docs for m in re.findall(r"_HARNESS_COMPLETE=(\w+)_source",
                                                    doc.read_text())}
    assert "bash" in shells, "README.md or docs/ should say how to turn completion on"
    for shell in shells:
        result = runner.invoke(main, [], prog_name="harness",
                               env={"_HARNESS_COMPLETE": f"{shell}_source"})
        assert result.exit_code == 0 and "_harness_completion" in result.output, shell


def test_completion_offers_the_commands(runner):
    result = runner.invoke(main, [], prog_name="harness",
                           env={"_HARNESS_COMPLETE": "bash_complete",
                                "COMP_WORDS": "harness sco", "COMP_CWORD": "1"})
    assert result.exit_code == 0 and result.output.split() == ["plain,score"]
