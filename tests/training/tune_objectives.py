"""Fast objectives for the tuning-worker tests: picklable (spawned workers import this
module by name), slow enough to be killed mid-trial, and writing the leaderboard as a
real trial does."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class SleepyObjective:
    db_url: str
    seconds: float

    def __call__(self, trial, hold) -> float:
        import optuna

        from harness.interrupt import deferred
        from harness.results.leaderboard import Leaderboard
        from harness.training.tune_workers import still_running

        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(self.seconds)
        if not still_running(trial):  # as TrialObjective does before it scores
            raise optuna.exceptions.UpdateFinishedTrialError("declared dead")
        hold.enter_context(deferred())  # as score does for TrialObjective
        Leaderboard(self.db_url).add_score(dict(
            experiment=f"fake@trial_{trial.number:03d}", status="ok", accuracy=x, testset="t"))
        return x
