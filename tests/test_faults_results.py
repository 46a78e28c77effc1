"""Fault injection, continued: the commands that write results (record, calibrate,
timecheck, report, tune), interrupted the way `test_faults.py` interrupts the others.

After each interruption: exit 130/143 with one line and no traceback; the database row
with what depends on it, or none; each file whole or absent (the previous one kept);
no temporary left; and the command runs again. All but tune run numpy-only
submissions (no TensorFlow in any process); they share one scored, recorded test set,
built once per worker and copied per test.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from faults import (
    NUMPY_MODEL,
    assert_clean_exit,
    assert_no_debris,
    harness_run,
    leaderboard_rows,
)


def test_record_stores_the_row_or_nothing_and_says_which(tmp_path):
    (tmp_path / "sub").mkdir()  # the submission folder that was zipped and uploaded
    (tmp_path / "sub" / "model.py").write_text(NUMPY_MODEL)
    args = ["record", "sub", "--codabench", "0.41", "--duration", "900"]
    for sig in ("INT", "TERM"):
        rc, err = harness_run(args, tmp_path, "record:inserted", sig)
        assert_clean_exit(rc, err, sig)
        assert leaderboard_rows(tmp_path, "codabench") == 0  # its transaction rolled back
    # Committed just before the signal: the row stays, and the line does not deny it.
    rc, err = harness_run(args, tmp_path, "record:stored", "TERM")
    assert_clean_exit(rc, err, "TERM")
    assert leaderboard_rows(tmp_path, "codabench") == 1
    assert "kept, complete: Codabench record 1" in err, err
    # Killed inside the transaction: SQLite's journal undoes it when next opened.
    rc, err = harness_run(args, tmp_path, "record:inserted", "KILL")
    assert rc == -signal.SIGKILL
    rc, err = harness_run(args, tmp_path)
    assert rc == 0 and leaderboard_rows(tmp_path, "codabench") == 2, err
    assert_no_debris(tmp_path)


@pytest.fixture(scope="module")
def _scored(tmp_path_factory):
    """A pp-small test set `t`, submission `sub` scored on it, and its Codabench record."""
    from harness.data.synth import write_synthetic
    from harness.results.keeping import score_and_keep
    from harness.results.recording import record_submission
    from harness.testset.builder import build

    root = tmp_path_factory.mktemp("scored")
    (root / "sub").mkdir()
    (root / "sub" / "model.py").write_text(NUMPY_MODEL)
    write_synthetic(root / "d.npz", n=64, seed=1)
    with contextlib.chdir(root):  # scores, their pictures and the database go under ./data
        build("d.npz", holdout=0.5, name="t", recipe="pp-small", progress=False)
        assert score_and_keep("sub", testset="t").ok
        record_submission("sub", 0.3, duration_s=900)
    return root


@pytest.fixture
def scored(_scored, tmp_path):
    shutil.copytree(_scored, tmp_path, dirs_exist_ok=True)
    return tmp_path


def assert_sweeps_a_killed_write(args, root: Path, target: Path) -> None:
    """SIGKILL with `target`'s temporary complete: it stays; the next run removes it."""
    rc, _ = harness_run(args, root, f"written:{target.name}", "KILL")
    assert rc == -signal.SIGKILL and not target.exists()
    assert len(list(target.parent.glob(f".{target.name}.*.part"))) == 1
    rc, err = harness_run(args, root)
    assert rc == 0 and target.exists(), err
    assert_no_debris(root)


def test_calibrate_replaces_its_file_whole_or_not_at_all(scored):
    args = ["calibrate", "--testset", "t"]
    path = scored / "data" / "calibration.json"
    for checkpoint, sig in (("calibrate:fitted", "INT"), ("written:calibration.json", "TERM")):
        rc, err = harness_run(args, scored, checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        assert not path.exists()
    assert_sweeps_a_killed_write(args, scored, path)
    fitted = path.read_bytes()
    assert json.loads(fitted)["points"][0]["experiment"] == "sub"
    rc, err = harness_run(args, scored, "written:calibration.json", "INT")
    assert_clean_exit(rc, err, "INT")
    assert path.read_bytes() == fitted


def test_timecheck_keeps_each_file_whole(scored):
    args = ["timecheck", "sub", "--sample", "8"]
    factor = scored / "data" / "timing_calibration.json"
    verdict = scored / "data" / "timechecks" / "sub.json"
    for checkpoint, sig in (("timecheck:measured", "INT"),
                            ("written:timing_calibration.json", "TERM")):
        rc, err = harness_run(args, scored, checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        assert not factor.exists() and not verdict.exists()
    # The server-speed factor stands on its own (a recorded duration): kept, and said so.
    rc, err = harness_run(args, scored, "written:sub.json", "INT")
    assert_clean_exit(rc, err, "INT")
    assert json.loads(factor.read_text())["experiment"] == "sub" and not verdict.exists()
    assert "kept, complete: data/timing_calibration.json" in err, err
    assert_sweeps_a_killed_write(args, scored, verdict)
    assert json.loads(verdict.read_text())["verdict"] == "PASS"


def test_report_page_is_whole_or_the_old_one(scored):
    args = ["report", "--out", "r.html"]
    page = scored / "r.html"
    rc, err = harness_run(args, scored, "written:r.html", "INT")
    assert_clean_exit(rc, err, "INT")
    assert not page.exists()
    assert_sweeps_a_killed_write(args, scored, page)
    old = page.read_bytes()
    assert old.rstrip().endswith(b"</html>")
    rc, err = harness_run(args, scored, "written:r.html", "TERM")
    assert_clean_exit(rc, err, "TERM")
    assert page.read_bytes() == old
    assert_no_debris(scored)


def trials(root: Path) -> list[tuple[int, str, int]]:
    """(number, state, leaderboard rows of that trial) for each trial of study tiny_exp."""
    with sqlite3.connect(root / "data" / "tuning.sqlite") as conn:
        states = conn.execute("SELECT number, state FROM trials ORDER BY number").fetchall()
    with sqlite3.connect(root / "data" / "leaderboard.sqlite") as conn:
        names = [r[0] for r in conn.execute("SELECT experiment FROM scores")]
    return [(n, state, names.count(f"tiny_exp@trial_{n:03d}")) for n, state in states]


def test_tune_records_a_trial_with_its_score_or_neither(scored):
    from conftest import TINY_BUILD_PY

    from harness.data.datasets import save_dataset

    exp = scored / "experiments" / "tiny_exp"
    (exp / "submission").mkdir(parents=True)
    (exp / "config.py").write_text("CONFIG = {'seed': 0, 'epochs': 1, 'batch_size': 16}\n"
                                   "SEARCH_SPACE = {'learning_rate': (1e-3, 1e-2)}\n")
    (exp / "build.py").write_text(TINY_BUILD_PY)
    # Scored by a numpy model.py: the trial's scoring process needs no TensorFlow.
    (exp / "submission" / "model.py").write_text(NUMPY_MODEL)
    rng = np.random.default_rng(0)
    save_dataset(scored / "train.npz", rng.integers(0, 256, (32, 96, 96, 3), np.uint8),
                 np.arange(32) % 8)
    args = ["tune", "tiny_exp", "--trials", "1", "--testset", "t", "--data", "train.npz"]
    env = {"HARNESS_EXPERIMENTS": str(scored / "experiments")}
    rc, err = harness_run(args, scored, "train:epoch:*", "INT", env=env)
    assert_clean_exit(rc, err, "INT")
    assert trials(scored) == [(0, "FAIL", 0)]
    # The trial's unfinished run resumes as the line says (its folder is nested in runs/).
    resume = err.split("continues with: harness ")[1].split(";")[0].split()
    assert resume[-1] == "tune_tiny_exp/trial_000", err
    rc, err = harness_run([*resume, "--data", "train.npz"], scored, env=env)
    assert rc == 0 and list(exp.glob("runs/tune_tiny_exp/trial_000/*.keras")), err
    # Interrupted while its row is stored: the trial is recorded with its score, and the
    # line no longer offers to resume the run that finished.
    rc, err = harness_run(args, scored, "score:stored", "TERM", env=env)
    assert_clean_exit(rc, err, "TERM")
    assert trials(scored) == [(0, "FAIL", 0), (1, "COMPLETE", 1)]
    assert "--resume" not in err, err
    rc, err = harness_run(args, scored, env=env)
    assert rc == 0 and trials(scored)[2] == (2, "COMPLETE", 1), err
    assert_no_debris(scored)
