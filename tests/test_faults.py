"""Fault injection: interrupt every writing command, then look for debris.

Each test runs one command as a subprocess on tiny data and interrupts it several ways:
at named checkpoints (`HARNESS_TEST_CHECKPOINT`, see `harness.interrupt`: before any
write, with a temporary complete but not committed, in the middle of a commit) with
SIGINT or SIGTERM, and after fixed delays; and once with SIGKILL, whose temporary the
next run must sweep. After every interruption the output folder
must hold the complete outputs or none, no temporary file, and stderr one line and no
traceback; then the command runs again and succeeds. Every interruption is counted in
`TRIED` (printed at the end: bench/RESULTS.md quotes it, with `test_faults_results.py`,
the commands that write results, run first). The helpers are `faults.py`.

TensorFlow costs seconds per process on a loaded 2-core machine, so the commands that
need it (train, pack) share one test, interrupted at their checkpoints only.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest
from faults import (
    NUMPY_MODEL,
    TRIED,
    all_or_none,
    assert_clean_exit,
    assert_no_debris,
    harness_run,
    leaderboard_rows,
)

from harness.testset.builder import FILES


@pytest.fixture
def dirty(tmp_path):
    """A small contaminated dataset: 160 cells and the course file's kinds of dirt."""
    from harness.data.synth import write_synthetic

    write_synthetic(tmp_path / "d.npz", n=160, seed=3, contaminate=True)
    return tmp_path


def test_clean_and_synth_keep_all_or_nothing(dirty):
    out, report = dirty / "c.npz", dirty / "c.report.json"
    # `writing:c.npz`: half-way through the npz, whose zip must be closed on the way out.
    for checkpoint, sig in (("clean:inspected", "INT"), ("writing:c.npz", "TERM"),
                            ("written:c.npz", "TERM"), ("written:c.report.json", "INT"),
                            ("commit", "TERM")):
        rc, err = harness_run(["data", "clean", "d.npz", "c.npz"], dirty, checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        assert_no_debris(dirty)
        if all_or_none([out, report]):
            assert checkpoint == "commit" and "kept, complete" in err
            out.unlink(), report.unlink()
    rc, err = harness_run(["data", "clean", "d.npz", "c.npz"], dirty, delay=1.5, sig="TERM")
    assert_clean_exit(rc, err, "TERM", may_finish=True)
    assert_no_debris(dirty)
    if all_or_none([out, report]):  # finished before the signal (a quiet machine)
        out.unlink(), report.unlink()
    # SIGKILL cannot be caught: the temporary stays, and the next run sweeps it.
    rc, err = harness_run(["data", "clean", "d.npz", "c.npz"], dirty, "written:c.npz", "KILL")
    assert rc == -signal.SIGKILL and not out.exists() and not report.exists()
    assert len(list(dirty.glob(".c.npz.*.part"))) == 1
    rc, err = harness_run(["data", "clean", "d.npz", "c.npz"], dirty)
    assert rc == 0 and all_or_none([out, report]), err
    assert_no_debris(dirty)
    assert json.loads(report.read_text())["n_images"] == len(np.load(dirty / "d.npz")["labels"])

    synth = [dirty / "s.npz", dirty / "s.truth.json", dirty / "s.png"]
    for checkpoint, sig in (("synth:drawn", "TERM"), ("written:s.png", "INT")):
        rc, err = harness_run(["data", "synth", "s.npz", "--n", "40", "--contaminate"],
                              dirty, checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        assert not all_or_none(synth)
    assert_no_debris(dirty)


def test_import_and_inspect_reports_keep_all_or_nothing(dirty):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("basophil", "platelet"):
        (dirty / "pbc" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 50, 3), np.uint8)).save(
                dirty / "pbc" / name / f"{i}.png")
    rc, err = harness_run(["data", "import", "pbc", "i.npz"], dirty, "written:i.npz", "TERM")
    assert_clean_exit(rc, err, "TERM")
    assert not (dirty / "i.npz").exists()
    report = dirty / "rep"
    for checkpoint, sig in (("written:report.json", "INT"), ("commit", "INT")):
        rc, err = harness_run(["data", "inspect", "d.npz", "--report", "rep"], dirty,
                              checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        files = sorted(p.name for p in report.glob("*")) if report.exists() else []
        # The sheets and report.json land together: all of them, or nothing.
        assert files == [] or "report.json" in files and len(files) > 1, files
    assert_no_debris(dirty)
    rc, err = harness_run(["data", "import", "pbc", "i.npz"], dirty)
    assert rc == 0 and (dirty / "i.npz").exists(), err


def whole_testset(folder: Path) -> bool:
    if not all_or_none([folder / f for f in (*FILES, "manifest.json")]):
        return False
    manifest = json.loads((folder / "manifest.json").read_text())
    with np.load(folder / "testset.npz") as z:
        assert len(z["labels"]) == manifest["counts"]["testset"]
    return True


def test_testset_build_swaps_in_a_whole_folder_or_nothing(dirty):
    args = ["testset", "build", "--data", "d.npz", "--name", "t", "--recipe", "pp-small",
            "--seed", "1"]
    folder = dirty / "data" / "testsets" / "t"
    for checkpoint, sig in (("testset:expanded", "INT"), ("written:manifest.json", "TERM")):
        rc, err = harness_run(args, dirty, checkpoint, sig)
        assert_clean_exit(rc, err, sig)
        assert not folder.exists()
        assert_no_debris(dirty)
    rc, err = harness_run(args, dirty)
    assert rc == 0 and whole_testset(folder), err
    # A forced rebuild interrupted keeps the old build whole.
    rc, err = harness_run([*args, "--force"], dirty, "written:testset.npz", "TERM")
    assert_clean_exit(rc, err, "TERM")
    assert whole_testset(folder)
    assert_no_debris(dirty)


def test_score_stores_a_row_with_its_report_or_nothing(dirty):
    (dirty / "sub").mkdir()
    (dirty / "sub" / "model.py").write_text(NUMPY_MODEL)
    args = ["score", "sub", "--testset", "d.npz"]
    rc, err = harness_run(args, dirty, "score:ran", "INT")
    assert_clean_exit(rc, err, "INT")
    assert leaderboard_rows(dirty) == 0 and not (dirty / "data" / "scores").exists()
    # Held until the report is written too: both land, then the exit says so.
    rc, err = harness_run(args, dirty, "score:stored", "TERM")
    assert_clean_exit(rc, err, "TERM")
    assert leaderboard_rows(dirty) == 1 and "leaderboard row 1" in err
    assert len(list((dirty / "data" / "scores").glob("*/confusion.png"))) == 1
    rc, err = harness_run(args, dirty, delay=2.0, sig="INT")
    interrupted = assert_clean_exit(rc, err, "INT", may_finish=True)
    rows = leaderboard_rows(dirty)
    assert rows == len(list((dirty / "data" / "scores").glob("*/confusion.png")))
    assert rows == 1 + (not interrupted) or (interrupted and rows in (1, 2))
    assert_no_debris(dirty)


def test_train_and_pack_leave_an_unfinished_run_or_a_whole_one(tmp_path, profile):
    from conftest import TINY_BUILD_PY

    exp = tmp_path / "experiments" / "tiny_exp"
    exp.mkdir(parents=True)
    (exp / "config.py").write_text("CONFIG = {'seed': 0, 'epochs': 2, 'batch_size': 8}\n")
    (exp / "build.py").write_text(TINY_BUILD_PY)
    from harness.data.datasets import save_dataset

    rng = np.random.default_rng(0)
    save_dataset(tmp_path / "t.npz", rng.integers(0, 256, (32, 96, 96, 3), np.uint8),
                 np.arange(32) % 8)
    env = {"HARNESS_EXPERIMENTS": str(tmp_path / "experiments")}
    rc, err = harness_run(["train", "tiny_exp", "--data", "t.npz"], tmp_path,
                          "train:epoch:*", "TERM", env=env)
    assert_clean_exit(rc, err, "TERM")
    assert "--resume" in err
    runs = list((exp / "runs").iterdir())
    assert len(runs) == 1 and not list(runs[0].glob("*.keras"))  # unfinished, and says so
    rc, err = harness_run(["train", "tiny_exp", "--resume", "--data", "t.npz"], tmp_path,
                          env=env)
    assert rc == 0 and (runs[0] / "weights.keras").exists(), err
    assert_no_debris(tmp_path)
    rc, err = harness_run(["pack", "tiny_exp", "--out", "dist", "--no-optimize"], tmp_path,
                          "pack:smoke-ran", "INT", env=env)
    assert_clean_exit(rc, err, "INT")
    assert not list(tmp_path.glob("dist/*.zip"))
    assert_no_debris(tmp_path)


def test_zz_report_counts():
    """Print how many interruptions this module tried (run alone, in order, to count)."""
    print(f"\n{len(TRIED)} interruptions tried; none left debris or a traceback")
