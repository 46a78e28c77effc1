"""Corrupt or foreign state, and the machinery behind clean interruptions.

Each piece of state a team keeps (the leaderboard database, built test sets, run
folders, settings files, temporaries of a killed process) is damaged here on purpose:
the harness must answer with one line naming the file, what is wrong and how to fix
it, exit 2, and leave the file as it was. Also unit tests of `fsutil.transaction`,
the stale-temporary sweep and `interrupt.deferred`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading

import numpy as np
import pytest

from harness import interrupt
from harness.cli import main
from harness.data.datasets import save_dataset
from harness.fsutil import atomic_path, transaction, write_text_atomic


def one_line_error(result, *needles: str) -> str:
    """Exit 2, an `error:` line and at most a hint line; every needle in it."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    return result.stderr


def damaged_databases(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    good = tmp_path / "good.sqlite"
    with sqlite3.connect(good) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [("a" * 500,)] * 200)
    data = good.read_bytes()
    malformed = tmp_path / "malformed.sqlite"
    malformed.write_bytes(data[:100] + b"\0" * 50 + data[150:9000])
    other_schema = tmp_path / "other.sqlite"
    with sqlite3.connect(other_schema) as conn:
        conn.execute("CREATE TABLE scores (player TEXT, points INTEGER)")
    return {junk: "damaged", malformed: "damaged", other_schema: "another schema"}


def test_damaged_or_foreign_leaderboards_are_left_untouched(tmp_path, runner):
    for path, what in damaged_databases(tmp_path).items():
        before = path.read_bytes()
        result = runner.invoke(main, ["leaderboard", "--db", str(path)])
        one_line_error(result, str(path), what, "left untouched", f"mv {path}", "--db")
        assert path.read_bytes() == before
        assert not path.with_name(path.name + "-wal").exists()


def test_database_urls_never_show_their_password(tmp_path, runner):
    # A driver that is not installed names the package to install.
    result = runner.invoke(main, ["leaderboard", "--db", "mysql://ann:s3cr3t@db.example/lb"])
    err = one_line_error(result, "MySQLdb", "pip install mysqlclient", "ann:***@")
    assert "s3cr3t" not in result.output + err
    # Unreachable (psycopg installed) or no driver: either way one line, no password.
    result = runner.invoke(main, ["leaderboard", "--db", "postgresql://ann:s3cr3t@127.0.0.1:1/x"])
    err = one_line_error(result, "ann:***@")
    assert "s3cr3t" not in result.output + err


@pytest.fixture
def project(tmp_path, monkeypatch, tiny_arrays, make_submission):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    folder = tmp_path / "data" / "testsets" / "t"
    save_dataset(folder / "testset.npz", *tiny_arrays)
    make_submission()
    return folder


@pytest.mark.parametrize("manifest, needle", [
    (None, "manifest is missing"),
    ("{not json", "not valid JSON"),
    (json.dumps({"name": "t", "counts": {"testset": 999}}), "does not match testset.npz"),
])
def test_a_test_set_with_a_bad_manifest_says_rebuild(project, runner, manifest, needle):
    if manifest is not None:
        (project / "manifest.json").write_text(manifest)
    result = runner.invoke(main, ["score", "sub", "--testset", "t"])
    one_line_error(result, "data/testsets/t/manifest.json", needle,
                   "harness testset build --name t --force")
    assert not (project.parent.parent / "leaderboard.sqlite").exists()


def test_submission_json_that_is_not_json(project, runner, tmp_path):
    # In a submission: the server's template would crash reading it; refused first.
    (project / "manifest.json").write_text(json.dumps({"name": "t"}))
    (tmp_path / "sub" / "harness_runtime.py").write_text("")
    (tmp_path / "sub" / "submission.json").write_text("{tta: 2")
    result = runner.invoke(main, ["score", "sub", "--testset", "t"])
    assert result.exit_code == 1 and "FAILED (bad_settings)" in result.output
    # In a run folder: packing names the file.
    run = tmp_path / "experiments" / "exp" / "runs" / "250101_000000"
    run.mkdir(parents=True)
    (run.parent.parent / "config.py").write_text("CONFIG = {}\n")
    (run.parent.parent / "build.py").write_text("def build_model(config, profile): pass\n")
    (run / "weights.keras").write_bytes(b"not really weights")
    (run / "submission.json").write_text("[1, 2")
    result = runner.invoke(main, ["pack", "exp", "--run", str(run), "--out", "dist"])
    one_line_error(result, str(run / "submission.json"), "not valid JSON")
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_a_run_folder_without_weights_says_resume(project, runner, tmp_path):
    run = tmp_path / "experiments" / "exp" / "runs" / "250101_000000"
    run.mkdir(parents=True)
    (run.parent.parent / "config.py").write_text("CONFIG = {}\n")
    (run.parent.parent / "build.py").write_text("def build_model(config, profile): pass\n")
    (run / "config.json").write_text("{}")
    result = runner.invoke(main, ["pack", "exp", "--run", str(run), "--out", "dist"])
    one_line_error(result, str(run), "no .keras weights", "--resume 250101_000000")


def test_a_killed_writers_temporaries_are_swept_by_the_next_write(tmp_path):
    target = tmp_path / "out.json"
    dead = tmp_path / ".out.json.999999999.abc.part"  # beyond any pid_max: not running
    alive = tmp_path / f".out.json.{os.getpid()}.xyz.part"  # a writer still at work
    other = tmp_path / ".other.json.999999999.abc.part"  # another target's: not ours
    for path in (dead, alive, other):
        path.write_text("half")
    write_text_atomic(target, "{}")
    assert target.read_text() == "{}" and not dead.exists()
    assert alive.exists() and other.exists()


def test_a_transaction_commits_every_file_or_none(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with transaction():
            write_text_atomic(tmp_path / "data.txt", "data")
            assert not (tmp_path / "data.txt").exists()  # not before the end
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with transaction():
        write_text_atomic(tmp_path / "data.txt", "data")
        with atomic_path(tmp_path / "report.txt") as tmp:
            tmp.write_text("report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt", "report.txt"]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach the main thread only")
def test_deferred_holds_a_signal_until_the_block_is_done():
    done = []
    with pytest.raises(interrupt.Interrupted) as e:
        with interrupt.handled():
            with interrupt.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("after the signal, still inside")
    assert done and e.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is not interrupt._raise  # restored after
