"""harness.training.tuning: Optuna trials over SEARCH_SPACE, stored where several machines
can share; worker processes, a killed worker's trial retried through the heartbeat."""

from __future__ import annotations

import datetime
import json
import math
import os
import signal
import threading
import time

import optuna
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.training.tuning import suggest


def test_two_trials_run_and_the_study_accumulates(tmp_experiments, tmp_path, small_arrays,
                                                  runner, monkeypatch):
    from harness.data.datasets import save_dataset

    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))  # no pseudo-private set built here

    data = save_dataset(tmp_path / "small.npz", *small_arrays)
    storage = f"sqlite:///{tmp_path / 'study.sqlite'}"
    out = runner.invoke(main, ["tune", "baseline_cnn", "--trials", "2", "--storage", storage,
                               "--data", str(data), "--epochs", "1", "--set", "filters=[4]",
                               "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["trials_run"] == 2 and len(result["trials"]) == 2
    assert set(result["best_params"]) == {"learning_rate", "dropout", "dense"}
    assert 0 <= result["best_value"] <= 1
    assert result["objective"] == "val_accuracy"
    study = optuna.load_study(study_name="baseline_cnn", storage=storage)
    assert len(study.trials) == 2 and study.best_trial.user_attrs["run_dir"] == result["best_run"]


def test_search_space_forms():
    trial = optuna.trial.FixedTrial({"lr": 1e-3, "depth": 3, "act": "relu", "p": 0.2})
    space = {"lr": (1e-4, 1e-2), "depth": (2, 4), "act": ["relu", "gelu"],
             "p": {"low": 0.0, "high": 0.5}}
    assert suggest(trial, space) == {"lr": 1e-3, "depth": 3, "act": "relu", "p": 0.2}
    with pytest.raises(HarnessError, match="not a range"):
        suggest(trial, {"lr": "fast"})


def test_two_workers_on_postgresql_score_each_trial_once(tmp_experiments, tmp_path,
                                                         small_arrays, runner, pg_url,
                                                         monkeypatch):
    from harness.data.datasets import save_dataset
    from harness.results.standings import read_leaderboard
    from harness.testset.builder import build

    data = save_dataset(tmp_path / "small.npz", *small_arrays)
    built = build(data=data, holdout=0.25, recipe="pp-small", name="t",
                  out_root=tmp_path / "testsets", progress=False)
    monkeypatch.chdir(tmp_path)  # the scores' pictures go to ./data/scores
    # The study and the leaderboard share the team's one PostgreSQL database, as the
    # README tells a team to do; two worker processes run one trial each.
    db = pg_url
    out = runner.invoke(main, ["tune", "baseline_cnn", "--trials", "2", "--epochs", "1",
                               "--workers", "2", "--storage", pg_url,
                               "--data", str(data), "--set", "filters=[4]", "--db", db,
                               "--testset", str(tmp_path / "testsets" / "t" / "testset.npz"),
                               "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["objective"].startswith("pseudo-private accuracy on")
    assert result["workers"] == 2 and result["restarts"] == 0
    assert ":***@" in result["storage"] and pg_url.split(":")[2].split("@")[0] not in out.output
    rows = read_leaderboard(db_url=db).rows
    assert sorted(r["experiment"] for r in rows) == ["baseline_cnn@trial_000",
                                                      "baseline_cnn@trial_001"]
    assert {r["pseudo_private"] for r in rows} == {t["value"] for t in result["trials"]}
    assert built.n_testset > 0


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'study.sqlite'}"


def _running_trial(storage, age_s: tuple[float, float] = (0.0, math.inf), timeout=60):
    """A trial mid-way: sampled and running, and started between `age_s` seconds ago.
    A window lets a test stop the worker only once its first heartbeat is in (the
    thread starts before the objective samples) and while it is still inside the
    trial, however late a loaded machine lets this poll run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        study = optuna.load_study(study_name="s", storage=storage)
        for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
            age = (datetime.datetime.now() - t.datetime_start).total_seconds()
            if "worker" in t.user_attrs and t.params and age_s[0] <= age <= age_s[1]:
                return t
        time.sleep(0.1)
    raise AssertionError("no worker started a trial")


def _failed_and_done(storage) -> tuple[list, list]:
    """Study "s"'s failed trials and its completed ones."""
    trials = optuna.load_study(study_name="s", storage=storage).trials
    return ([t for t in trials if t.state == optuna.trial.TrialState.FAIL],
            [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE])


def test_a_killed_worker_s_trial_is_retried_and_the_study_completes(storage_url):
    """The one worker is killed mid-trial: its trial is failed through the heartbeat,
    a new worker takes the slot and runs the retry with the same parameters, and the
    study ends with its trials finished. One worker, so the restart is certain: with a
    second one alive, whether it or a new worker takes the returned slot is a matter of
    timing (two workers, one stalled: the stalled-worker test; two asking at once for
    the retry: the test after this one)."""
    from tune_objectives import SleepyObjective

    from harness.dburl import normalize_url
    from harness.results.leaderboard import Leaderboard
    from harness.training.tune_workers import open_storage, run_workers

    # A short grace period keeps the test fast; 4 s, not 2, so that a live worker on a
    # loaded machine is not taken for dead.
    storage = open_storage(storage_url, heartbeat_s=1, grace_s=4)
    optuna.create_study(study_name="s", storage=storage, direction="maximize")
    result = {}

    def tune():
        # 5 s a trial, killed 1-3.5 s in: after its first heartbeat, before its end.
        result["restarts"] = run_workers(normalize_url(storage_url), "s",
                                         SleepyObjective(storage_url, 5.0), trials=2,
                                         workers=1, heartbeat_s=1, grace_s=4)

    thread = threading.Thread(target=tune)
    thread.start()
    victim = _running_trial(storage, age_s=(1.0, 3.5))
    os.kill(int(victim.user_attrs["worker"].rsplit(":", 1)[1]), signal.SIGKILL)
    thread.join(timeout=180)
    trials = [(t.number, t.state.name, t.user_attrs, t.system_attrs)
              for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert not thread.is_alive() and result.get("restarts") == 1, (result, victim.number, trials)
    failed, done = _failed_and_done(storage)
    assert [t.number for t in failed] == [victim.number] and len(done) == 2
    retry = [t for t in done if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retry) == 1 and retry[0].params == failed[0].params == victim.params
    # Every finished trial is on the leaderboard once; the killed one, unfinished, is not.
    rows = Leaderboard(storage_url).scores()
    assert sorted(r["experiment"] for r in rows) == sorted(
        f"fake@trial_{t.number:03d}" for t in done)


def test_two_workers_asking_at_once_on_sqlite_never_take_the_same_queued_trial(tmp_path):
    """A killed worker's trial comes back queued, and the next two asks can come at once.
    SQLite ignores the FOR UPDATE Optuna hands a queued trial out with: without the
    storage's own lock both would run it (what made the killed-worker test fail as
    "Cannot tell a COMPLETE trial" on a busy machine). Without that lock, the 24 asks
    here took fewer than 24 distinct trials in each of three runs."""
    from harness.training.tune_workers import open_storage

    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    for x in range(24):
        study.enqueue_trial({"x": float(x)})
    asked, start = [], threading.Barrier(2)

    def worker():
        mine = optuna.load_study(study_name="s", storage=open_storage(url))
        start.wait()
        asked.extend(mine.ask().number for _ in range(12))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(asked) == 24 and len(set(asked)) == 24


def test_unreachable_storage_is_one_line_without_the_password(tmp_experiments, runner):
    out = runner.invoke(main, ["tune", "baseline_cnn", "--trials", "1", "--storage",
                               "postgresql://team:hunter2@127.0.0.1:1/harness"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "cannot open the Optuna storage postgresql+psycopg://team:***@127.0.0.1:1" in \
        " ".join(out.output.split())
    assert "hunter2" not in out.output


def test_a_stalled_worker_s_trial_is_retried_and_the_worker_carries_on(pg_url):
    from tune_objectives import SleepyObjective

    from harness.dburl import normalize_url
    from harness.results.leaderboard import Leaderboard
    from harness.training.tune_workers import open_storage, run_workers

    storage = open_storage(pg_url, heartbeat_s=1, grace_s=4)
    optuna.create_study(study_name="s", storage=storage, direction="maximize")
    result = {}
    thread = threading.Thread(target=lambda: result.update(restarts=run_workers(
        normalize_url(pg_url), "s", SleepyObjective(pg_url, 2.0), trials=3, workers=2,
        heartbeat_s=1, grace_s=4)))
    thread.start()
    victim = _running_trial(storage)
    pid = int(victim.user_attrs["worker"].rsplit(":", 1)[1])
    os.kill(pid, signal.SIGSTOP)  # alive but silent: a suspended laptop
    try:
        deadline = time.monotonic() + 60
        while storage.get_trial(victim._trial_id).state == optuna.trial.TrialState.RUNNING:
            assert time.monotonic() < deadline, "the stalled trial was never failed"
            time.sleep(0.3)
    finally:
        os.kill(pid, signal.SIGCONT)
    thread.join(timeout=180)
    assert not thread.is_alive() and result["restarts"] == 0
    failed, done = _failed_and_done(storage)
    assert [t.number for t in failed] == [victim.number] and len(done) == 3
    assert [t.params for t in done if t.system_attrs.get("failed_trial") == victim.number] \
        == [failed[0].params]
    # The stalled run woke up after its trial was retried: it wrote no row of its own.
    assert sorted(r["experiment"] for r in Leaderboard(pg_url).scores()) == sorted(
        f"fake@trial_{t.number:03d}" for t in done)
