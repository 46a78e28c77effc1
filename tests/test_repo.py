"""Promises about the checkout itself: nothing in it names one machine's folders."""

from __future__ import annotations

import re
import subprocess

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
