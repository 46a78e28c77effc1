"""Hyper-parameter search over an experiment's SEARCH_SPACE with Optuna.

Each trial samples CONFIG overrides from SEARCH_SPACE, trains one model with
`harness.training.train` into `runs/tune_<study>/trial_<n>/`, and reports its
pseudo-private accuracy: the trial is scored by `harness.scoring.score` on the
pseudo-private test set (`--testset`, else data/testsets/default when it is built), so
every trial also lands on the leaderboard as EXPERIMENT@trial_NNN. Without a test set
the objective falls back to validation accuracy, and the result says so.

Studies live in an Optuna storage: by default a SQLite file under data/, or any database
URL. `--workers K` runs K worker processes on this machine, and other machines add
trials to the same study by running the same command with the same `--storage`
(`tune_workers`: Optuna's relational storage coordinates them, its heartbeat fails and
re-queues the trial of a worker that died).

SEARCH_SPACE entries:
- `(low, high)` floats: uniform, or log-uniform when both are positive and
  high / low >= 10 (rates, decays);
- `(low, high)` ints: an integer range;
- a list: categorical choices;
- a dict: the arguments of `suggest_float`/`suggest_int` (`low`, `high`, `log`, `step`).

Examples:
    >>> result = tune("baseline_cnn", trials=20)
    >>> result.best_params
    {'learning_rate': 0.0012, 'dropout': 0.3, 'dense': 128}
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness import interrupt
from harness.dburl import mask_url, normalize_url
from harness.errors import HarnessError
from harness.experiments import Experiment, get_experiment
from harness.paths import data_dir
from harness.profile import Profile, get_profile
from harness.testset import kinds
from harness.testset.store import DEFAULT_TESTSET, testsets_dir
from harness.training.fit import train
from harness.training.tune_workers import (
    GRACE_S,
    HEARTBEAT_S,
    open_storage,
    run_in_process,
    run_workers,
    still_running,
)


@dataclass
class TuneResult:
    """What `tune` did.

    Args:
        experiment: the experiment's name.
        study: the Optuna study name.
        storage: the storage URL (password masked).
        objective: what each trial maximises.
        trials_run: trials this call ran.
        workers: worker processes this call used; restarts: workers that died and were
            replaced (their trials failed through the heartbeat and were retried).
        best_value: the best objective over the whole study (all machines).
        best_params: its sampled parameters.
        best_run: its run folder.
        trials: one row per finished trial of the study: number, value, params, run.
    """

    experiment: str
    study: str
    storage: str
    objective: str
    trials_run: int
    workers: int
    restarts: int
    best_value: float | None
    best_params: dict
    best_run: str | None
    trials: list[dict]


def default_storage() -> str:
    """A SQLite file in the data folder: `sqlite:///.../data/tuning.sqlite`."""
    path = data_dir() / "tuning.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def suggest(trial, space: dict) -> dict:
    """Sample one override dict from SEARCH_SPACE with an Optuna trial.

    Raises:
        HarnessError: an entry in none of the accepted forms.
    """
    params = {}
    for name, spec in space.items():
        if isinstance(spec, list) and spec:
            params[name] = trial.suggest_categorical(name, spec)
        elif isinstance(spec, tuple) and len(spec) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in spec):
            params[name] = trial.suggest_int(name, *spec)
        elif isinstance(spec, tuple) and len(spec) == 2 and all(
                isinstance(v, (int, float)) for v in spec):
            low, high = float(spec[0]), float(spec[1])
            params[name] = trial.suggest_float(name, low, high,
                                               log=low > 0 and high / low >= 10)
        elif isinstance(spec, dict) and {"low", "high"} <= set(spec):
            is_int = all(isinstance(spec[k], int) for k in ("low", "high"))
            params[name] = (trial.suggest_int if is_int else trial.suggest_float)(name, **spec)
        else:
            raise HarnessError(f"SEARCH_SPACE entry {name!r} is not a range or a list of "
                               f"choices. Received: {spec!r}",
                               hint="use (low, high), [choice, ...] or "
                                    "{'low': .., 'high': .., 'log': True}")
    return params


def objective_testset(testset: str | os.PathLike | None = None) -> str | None:
    """The test set trials are scored on: `testset`, else the default one if built."""
    if testset:
        return str(testset)
    default = testsets_dir() / DEFAULT_TESTSET / "testset.npz"
    return str(default) if default.exists() else None


def _objective_name(scored_on: str | None, profile: Profile) -> str:
    """What trials maximise, in words: a forecast only on a pseudo-private set."""
    if not scored_on:
        return "val_accuracy"
    from harness.testset.store import load_testset

    ts = load_testset(scored_on, profile)
    if kinds.forecasts(ts.kind):
        return f"pseudo-private accuracy on {scored_on}"
    return f"accuracy on {kinds.subject(ts.kind, ts.name, str(ts.path))}"


@dataclass
class TrialObjective:
    """One trial: train with sampled overrides, then score on the test set (or take the
    validation accuracy). A plain object, so spawned worker processes can receive it."""

    exp: Experiment
    space: dict
    data: Any
    epochs: int | None
    overrides: dict | None
    profile: Profile
    scored_on: str | None
    keep: Callable | None
    progress: bool

    def __call__(self, trial, hold: contextlib.ExitStack) -> float:
        """Train and score one trial; `hold` as `tune_workers._Tagged` says."""
        from harness.scoring.scorer import score
        from harness.scoring.targets import stage_for_runtime
        from harness.testset.store import load_testset

        exp = self.exp
        params = suggest(trial, self.space)
        runs = exp.runs_dir / f"tune_{trial.study.study_name}"
        run_dir = runs / f"trial_{trial.number:03d}"
        if run_dir.exists():  # another machine sharing the folder took this number
            run_dir = runs / f"trial_{trial.number:03d}_{os.getpid()}"
        result = train(exp, data=self.data, epochs=self.epochs,
                       overrides={**(self.overrides or {}), **params}, profile=self.profile,
                       run_dir=run_dir, progress=self.progress)
        trial.set_user_attr("run_dir", result.run_dir)
        interrupt.checkpoint("tune:trained")
        if self.scored_on and not still_running(trial):
            # Stalled past the grace period: the trial was failed and re-queued while it
            # trained, so its retry, not this run, puts the trial on the leaderboard.
            import optuna

            raise optuna.exceptions.UpdateFinishedTrialError(
                f"trial {trial.number} was declared dead while it ran")
        if self.scored_on:
            with tempfile.TemporaryDirectory() as tmp:
                staged = stage_for_runtime(exp, Path(tmp) / "submission", result.run_dir,
                                           self.profile)
                testset = load_testset(self.scored_on, self.profile)
                scored = score(staged, testset, self.profile,
                               experiment_name=f"{exp.name}@{Path(result.run_dir).name}")
            if self.keep is not None:
                self.keep(scored, self.profile, hold=hold)
            scored.raise_for_failure()
            pp = scored.pseudo_private
            return pp.accuracy if pp is not None else scored.metrics.accuracy
        if result.val_accuracy is None:
            raise HarnessError("tuning needs a validation set. Received: validation_split=0",
                               hint="tune with --set validation_split=0.15 or with folds, "
                                    "or score trials on a test set with --testset")
        return result.val_accuracy


def tune(experiment: str | Experiment, trials: int, storage: str | None = None,
         study: str | None = None, data=None, epochs: int | None = None,
         overrides: dict | None = None, profile: Profile | str | None = None,
         testset: str | os.PathLike | None = None, keep: Callable | None = None,
         progress: bool = True, workers: int = 1, heartbeat_s: int = HEARTBEAT_S,
         grace_s: int = GRACE_S) -> TuneResult:
    """Run `trials` Optuna trials of `experiment`, adding to its study.

    Args:
        experiment: a name under experiments/ or a package folder.
        trials: how many trials this call runs (over all its workers).
        storage: an Optuna storage URL (default `default_storage()`); the same URL on
            several machines makes one study.
        study: the study name (default: the experiment's name).
        data: training data, as for `train`.
        epochs: epochs per trial (default: the experiment's).
        overrides: fixed CONFIG overrides for every trial (the search space wins).
        profile: the competition profile.
        testset: the test set each trial is scored on (see `objective_testset`).
        keep: called as `keep(score_result, profile, hold=hold)` with each trial's
            score, to keep it (`harness tune` passes `harness.results.keep_score` for
            its `--db`; picklable, for the worker processes).
        progress: progress bars while training (one worker only).
        workers: worker processes on this machine.
        heartbeat_s, grace_s: a running trial's heartbeat period, and how long without
            one before it counts as dead, is failed and retried.

    Returns:
        A `TuneResult` over the whole study, this call's trials included.
    """
    import optuna

    profile = get_profile(profile)
    exp = experiment if isinstance(experiment, Experiment) else get_experiment(experiment)
    space = exp.search_space()
    if not space:
        raise HarnessError(f"{exp.name} declares no SEARCH_SPACE in its config.py",
                           hint="add e.g. SEARCH_SPACE = {'learning_rate': (1e-4, 1e-2)}")
    if trials < 1:
        raise HarnessError(f"trials must be at least 1. Received: trials={trials}")
    if workers < 1:
        raise HarnessError(f"workers must be at least 1. Received: workers={workers}")
    storage = normalize_url(storage or default_storage())
    study_name = study or exp.name
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = open_storage(storage, heartbeat_s, grace_s)
    try:
        optuna_study = optuna.create_study(study_name=study_name, storage=rdb,
                                           direction="maximize", load_if_exists=True)
    except optuna.exceptions.StorageInternalError as e:
        raise HarnessError(f"cannot open the Optuna storage {mask_url(storage)} "
                           f"({type(e).__name__})", hint="check the server is up") from None
    scored_on = objective_testset(testset)
    objective_name = _objective_name(scored_on, profile)
    objective = TrialObjective(exp, space, data, epochs, overrides, profile, scored_on,
                               keep, progress and workers == 1)
    interrupt.note(f"finished trials stay in study {study_name!r}; the same command "
                   f"continues it")
    restarts = 0
    if workers == 1:
        run_in_process(rdb, study_name, objective, trials)
    else:
        restarts = run_workers(storage, study_name, objective, trials, workers,
                               heartbeat_s, grace_s)
    done = [t for t in optuna_study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(done, key=lambda t: t.value) if done else None
    return TuneResult(
        experiment=exp.name, study=study_name, storage=mask_url(storage),
        objective=objective_name, trials_run=trials, workers=workers, restarts=restarts,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else {},
        best_run=best.user_attrs.get("run_dir") if best else None,
        trials=[{"number": t.number, "value": t.value, "params": dict(t.params),
                 "run": t.user_attrs.get("run_dir")} for t in done])
