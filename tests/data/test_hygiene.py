"""Data hygiene against planted truth: nothing planted survives, no clean cell is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import Dataset, load_dataset, save_dataset
from harness.data.hygiene import inspect, report_json
from harness.data.synth import synthesize
from harness.fsutil import sha256_file


@pytest.fixture(scope="module")
def dirty():
    """480 synthetic cells plus the course's dirt (8 copies of the rarer picture)."""
    return synthesize(480, seed=0, contaminate=True)


@pytest.fixture(scope="module")
def report(dirty):
    return inspect(Dataset(dirty.images, dirty.labels))


@pytest.fixture
def dirty_npz(tmp_path, dirty):
    return save_dataset(tmp_path / "dirty.npz", dirty.images, dirty.labels)


def _removed(report):
    return {r.index: r for r in report.removals()}


def test_every_planted_picture_is_removed_as_planted(dirty, report):
    removed = _removed(report)
    for picture, indices in dirty.truth["foreign"].items():
        assert indices, picture
        assert all(removed[i].rule == "planted" for i in indices), picture


def test_every_conflicting_copy_is_removed(dirty, report):
    removed = _removed(report)
    for pair in dirty.truth["conflicting"]:
        assert all(removed[i].rule == "conflicting_labels" for i in pair)


def test_one_copy_of_same_label_duplicates_stays_and_no_clean_image_goes(dirty, report):
    removed = _removed(report)
    same = [p for p in dirty.truth["duplicates"] if p not in dirty.truth["conflicting"]]
    assert same
    for pair in same:
        assert min(pair) not in removed and removed[max(pair)].rule == "duplicate"
    planted = {i for idx in dirty.truth["foreign"].values() for i in idx}
    allowed = planted | {i for p in dirty.truth["conflicting"] for i in p} | {max(p) for p in same}
    assert set(removed) == allowed
    assert report.n_kept == len(dirty.images) - len(allowed)


def test_report_is_json_and_lists_every_removed_index(report):
    doc = json.loads(json.dumps(report_json(report)))
    assert len(doc["removed"]) == report.n_removed == sum(doc["removed_by_rule"].values())
    groups = {f["group"]: f for f in doc["findings"]}
    for r in doc["removed"]:
        assert r["index"] in groups[r["group"]]["indices"] and r["rule"] in doc["reasons"]


def test_clean_cli_writes_clean_npz_and_report_and_leaves_input(runner, dirty_npz, report,
                                                                 tmp_path):
    before = sha256_file(dirty_npz)
    out = tmp_path / "clean.npz"
    result = runner.invoke(main, ["data", "clean", str(dirty_npz), str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert sha256_file(dirty_npz) == before
    assert json.loads(result.output)["n_removed"] == report.n_removed
    cleaned = load_dataset(out)
    assert len(cleaned) == report.n_kept
    doc = json.loads(out.with_suffix(".report.json").read_text())
    original = load_dataset(dirty_npz)
    keep = np.setdiff1d(np.arange(len(original)), [r["index"] for r in doc["removed"]])
    np.testing.assert_array_equal(cleaned.images, original.images[keep])
    np.testing.assert_array_equal(cleaned.labels, original.labels[keep])


def test_clean_refuses_to_overwrite_its_input(runner, dirty_npz):
    result = runner.invoke(main, ["data", "clean", str(dirty_npz), str(dirty_npz)])
    assert result.exit_code == 2 and "never overwrites its input" in result.output


def test_inspect_cli_writes_a_sheet_per_finding(runner, dirty_npz, tmp_path):
    folder = tmp_path / "report"
    result = runner.invoke(main, ["data", "inspect", str(dirty_npz), "--report", str(folder)])
    assert result.exit_code == 0, result.output
    assert "planted pictures" in result.output
    for rule in ("planted", "conflicting_labels", "duplicate"):
        assert (folder / f"{rule}.png").stat().st_size > 1000
    assert json.loads((folder / "report.json").read_text())["n_removed"] > 0


@pytest.mark.parametrize("command", [["inspect"], ["clean", "OUT"]])
def test_broken_npz_is_one_clear_error(runner, tmp_path, command):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    args = ["data", command[0], str(broken)] + [str(tmp_path / a) for a in command[1:]]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert "not a readable .npz" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "OUT").exists()


def test_hygiene_never_imports_tensorflow():
    code = ("import sys, numpy as np\n"
            "from harness.data.hygiene import inspect\n"
            "from harness.data.datasets import Dataset\n"
            "x = np.random.default_rng(0).integers(0, 256, (40, 96, 96, 3), dtype=np.uint8)\n"
            "x[1] = x[0]\n"
            "inspect(Dataset(x, np.arange(40) % 8))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'keras_cv')))\n")
    root = str(Path(__file__).resolve().parents[2])  # this checkout's harness, not another
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "[]"
