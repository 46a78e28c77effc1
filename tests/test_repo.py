"""Promises about the checkout itself: nothing in it names one machine's folders, and
running the examples and the suite leaves it as it was (tests/checkout.py)."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess

import checkout
import pytest

from harness.paths import REPO_ROOT

# Where one machine keeps things: a home, root's home, a scratch or a work folder.
MACHINE_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/|/Users/)[A-Za-z]")


def test_no_tracked_file_holds_a_path_of_one_machine():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    found = []
    for name in listed.stdout.decode().split("\0"):
        path = REPO_ROOT / name
        if not name or not path.is_file() or path.suffix in (".keras", ".png", ".h5"):
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
                  for m in MACHINE_PATH.finditer(text)]
    assert not found, "machine paths (make them relative):\n" + "\n".join(found)


def test_the_checkout_status_sees_a_file_a_test_leaves(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    if subprocess.run(["git", "init", "-q", str(repo)], capture_output=True).returncode:
        pytest.skip("git is not installed")
    before = checkout.status(repo)
    assert before == ""
    (repo / "out.json").write_text("{}")
    assert checkout.changes(before, checkout.status(repo)) == ["now: ?? out.json"]
    (repo / "sub").mkdir()
    assert checkout.status(repo / "sub") is None  # not the top of a checkout: no promise
    assert checkout.status(tmp_path) is None      # no checkout at all (an sdist)


@pytest.mark.parametrize("module", ["harness.fsutil", "harness.contactsheet"])
def test_the_examples_that_write_files_leave_the_checkout_clean(module, monkeypatch):
    before = checkout.status(REPO_ROOT)
    if before is None:
        pytest.skip("not a git checkout")
    monkeypatch.chdir(REPO_ROOT)  # where a person runs them, and where they once wrote
    result = doctest.testmod(importlib.import_module(module), report=True)
    assert result.attempted and not result.failed
    assert checkout.changes(before, checkout.status(REPO_ROOT)) == []
    assert not {"out.json", "sheet.png"} & set(os.listdir(REPO_ROOT))
