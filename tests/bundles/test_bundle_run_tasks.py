"""`harness bundle run` on a phase of two tasks, run as Codabench runs one: each task a
child submission of its own, its scores kept under it (both tasks write `accuracy`),
shown per task and stored per task on the leaderboard; a failing task fails only itself.

Python one-liners under this interpreter (`--python`), in the bubblewrap sandbox (skipped
where it cannot run), as in test_bundle_run.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from run_fixtures import make_submission, make_two_task_bundle

from harness.bundles.sandbox import bwrap_status
from harness.cli import main
from harness.results import read_leaderboard

NO_BWRAP = bwrap_status()
pytestmark = [pytest.mark.skipif(NO_BWRAP is not None,
                                 reason=f"no bubblewrap sandbox here: {NO_BWRAP}"),
              pytest.mark.usefixtures("bundle_cache")]


def run(runner, tmp_path, bundle, *extra):
    args = ["bundle", "run", str(bundle), str(make_submission(tmp_path / "sub")),
            "--python", sys.executable, "--db", str(tmp_path / "lb.sqlite"), *extra]
    return runner.invoke(main, args)


def leaderboard(tmp_path):
    [table] = read_leaderboard(db_url=str(tmp_path / "lb.sqlite"),
                               competition="Two Tasks").tables
    return table


def test_each_tasks_scores_come_back_apart_and_are_stored_apart(runner, tmp_path):
    result = run(runner, tmp_path, make_two_task_bundle(tmp_path / "bundle"), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [(t["index"], t["name"], t["status"], t["scores"]) for t in doc["tasks"]] == [
        (0, "Echo", "ok", {"accuracy": 1.0}), (1, "Hard", "ok", {"accuracy": 0.5})]
    assert doc["scores"] is None     # no one dict of scores for two tasks
    assert [t["folder"].rsplit("/", 1)[-1] for t in doc["tasks"]] == ["task-0", "task-1"]
    table = leaderboard(tmp_path)
    assert table.titles == {"task0:accuracy": "Echo: Accuracy",
                            "task1:accuracy": "Hard: Accuracy"}
    [row] = table.rows
    assert (row["task0:accuracy"], row["task1:accuracy"], row["failures"]) == (1.0, 0.5, 0)


def test_each_task_has_its_own_row_in_the_printed_scores(runner, tmp_path):
    result = run(runner, tmp_path, make_two_task_bundle(tmp_path / "bundle"))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("task 0 'Echo'" in line and "1.00" in line for line in lines), result.output
    assert any("task 1 'Hard'" in line and "0.50" in line for line in lines), result.output


def test_a_failing_second_task_fails_alone_as_on_codabench(runner, tmp_path):
    bundle = make_two_task_bundle(tmp_path / "bundle",
                                  hard_score_py="raise SystemExit('broken scorer')\n")
    result = run(runner, tmp_path, bundle, "--json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    easy, hard = doc["tasks"]
    assert (easy["status"], easy["scores"]) == ("ok", {"accuracy": 1.0})
    assert (hard["status"], hard["failure_kind"], hard["scores"]) == (
        "failed", "scoring_error", {})
    assert "broken scorer" in hard["log_tail"]
    assert doc["status"] == "failed" and doc["failure_kind"] == "scoring_error"
    assert doc["failure_message"].startswith("task 1 'Hard': ")
    # The hint points at the failing task's own prediction, not the first task's.
    assert doc["failure_hint"].endswith(str(Path(hard["folder"]) / "prediction" / "output"))
    assert doc["warnings"] == [
        "task 1 'Hard' failed (scoring error); the phase's other tasks ran and their scores "
        "stand, as on Codabench, where each task is a child submission of its own and the "
        "parent shows Finished once every child is done"]
    [row] = leaderboard(tmp_path).rows
    assert (row["task0:accuracy"], row["task1:accuracy"]) == (1.0, None)
    assert (row["failures"], row["last_failure"]) == (1, "scoring_error")
