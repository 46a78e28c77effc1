"""A bundle run of a phase of several tasks on the leaderboard: each task's scores kept
under it, on the plain run's row and on the pseudo-private one, under per-task columns."""

from __future__ import annotations

from types import SimpleNamespace

from harness.results import keep_bundle_run, read_leaderboard


def _task(index, name, scores, status="ok"):
    return SimpleNamespace(index=index, name=name, scores=scores, status=status)


def test_the_pseudo_private_row_keeps_each_tasks_scores_apart(tmp_path):
    column = SimpleNamespace(key="accuracy", title="Accuracy", index=0, sorting="desc")
    bundle = SimpleNamespace(title="Two Tasks", sha256="b" * 64, leaderboards=[
        SimpleNamespace(key="main", title="Results", columns=[column])])
    # Task 1 failed on the plain data, so only task 0 ran again on the corrupted copy.
    run = SimpleNamespace(
        bundle=bundle, phase=SimpleNamespace(name="Dev"), submission="/x/sub.zip",
        submission_sha256="s" * 64, status="failed", failure_kind="scoring_error",
        tasks=[_task(0, "Echo", {"accuracy": 1.0}), _task(1, "Hard", {}, "failed")],
        pseudo_private_tasks=[_task(0, "Echo", {"accuracy": 0.75})], recipe="pp@2.0",
        total_s=1.0)
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    keep_bundle_run(run, url)
    tables = {t.kind: t for t in read_leaderboard(db_url=url, competition="Two Tasks").tables}
    assert set(tables) == {"bundle", "pseudo-private"}
    for kind, echo in (("bundle", 1.0), ("pseudo-private", 0.75)):
        [row] = tables[kind].rows
        assert tables[kind].titles["task1:accuracy"] == "Hard: Accuracy"
        assert (row["task0:accuracy"], row["task1:accuracy"]) == (echo, None)
