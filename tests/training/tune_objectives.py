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

    def __call__(self, trial) -> float:
        from harness.results.leaderboard import Leaderboard

        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(self.seconds)
        Leaderboard(self.db_url).add_score(dict(
            experiment=f"fake@trial_{trial.number:03d}", status="ok", accuracy=x, testset="t"))
        return x
