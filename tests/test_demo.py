"""The demo runs the whole loop on data it draws itself, and says what each step did."""

from __future__ import annotations

import json

from harness.cli import main
from harness.demo import demo_epochs

STEPS = ["synthesize", "inspect", "clean", "testset", "train", "score", "pack", "timecheck",
         "leaderboard", "explain", "report"]


def test_demo_epochs_shrink_with_data():
    assert demo_epochs(2000, 12) == 12
    assert demo_epochs(10_000, 12) == 2
    assert demo_epochs(100_000, 12) == 2


def test_demo_runs_every_step_end_to_end(tmp_path, tmp_experiments, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(main, ["demo", "--n", "320", "--epochs", "1", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["synthetic"] is True
    assert [s["name"] for s in result["steps"]] == STEPS
    steps = {s["name"]: s["result"] for s in result["steps"]}
    assert steps["clean"]["n_removed"] > 0
    pp = steps["score"]["pseudo_private"]
    assert steps["score"]["ok"] and pp["low"] <= pp["accuracy"] <= pp["high"]
    assert pp["method"] == "compound" and "pseudo-private" in result["steps"][5]["summary"]
    assert steps["pack"]["zip"].endswith(".zip")
    assert steps["timecheck"]["results"][0]["verdict"] == "PASS"
    [board] = result["leaderboard"]["tables"]
    assert board["kind"] == "pseudo_private" and board["forecast"]
    assert [r["experiment"] for r in board["rows"]] == ["baseline_cnn"]
    assert (tmp_path / "data" / "leaderboard.sqlite").exists()
    report = steps["report"]
    assert result["report"] == report["path"] and (tmp_path / report["path"]).is_file()
    assert report["sections"]["timechecks"] == 1 and report["sections"]["hygiene reports"] >= 1
    assert report["sections"]["training histories"] == 1
