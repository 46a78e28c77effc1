"""Many workers, one Optuna study: local worker processes, a heartbeat, retried trials.

`harness tune --workers K` starts K processes on this machine (spawned, never forked:
TensorFlow does not survive a fork); each opens the same study in the same storage and
runs trials until this call's `--trials` are taken. Other machines join by running the
same command against the same storage URL: the study is Optuna's, and so is the
coordination (its relational storage hands each `ask` a distinct trial).

A worker can die mid-trial (killed, out of memory, a notebook disconnected). Optuna's
heartbeat handles it: every running trial writes a heartbeat; a trial whose heartbeat
is older than the grace period is failed by the next worker that starts a trial, and
`RetryHeartbeatStaleTrialCallback` enqueues a copy with the same parameters, which the
next `ask` takes first. Here the supervisor also waits for that to happen before it
hands the dead worker's slot to a new worker, so the retry runs in this call and the
call still ends with its `--trials` finished trials. It also fails stale trials every
heartbeat as a watchdog, for a worker that stalls without dying; when that worker wakes,
its trial is no longer its own: it gives the slot back and carries on.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.dburl import mask_secrets, mask_url, normalize_url
from harness.errors import HarnessError

# Trials train for minutes: a heartbeat every 10 s costs nothing, and a minute without
# one means the worker is gone (a busy CPU can delay a beat by seconds, not a minute).
HEARTBEAT_S = 10
GRACE_S = 60
MAX_RETRIES = 3
# How long a worker whose trial was failed under it waits for the retry to be queued.
REQUEUE_WAIT_S = 30
WORKER_ATTR = "worker"


def open_storage(url: str, heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S):
    """An Optuna RDBStorage with the heartbeat and retry of stale trials switched on.

    Raises:
        HarnessError: not a storage URL, no driver, or the database cannot be reached.
    """
    import warnings

    import optuna

    url = normalize_url(url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        # Workers write heartbeats while others commit trials: wait for the lock.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=int(heartbeat_s),
                grace_period=int(grace_s),
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=MAX_RETRIES))
        if url.startswith("sqlite"):
            _lock_on_begin(storage.engine)
        return storage
    except Exception as e:  # noqa: BLE001 (SQLAlchemy, the driver and Optuna raise many kinds)
        detail = mask_secrets(str(e).strip().splitlines()[0] if str(e).strip() else
                              type(e).__name__, url)
        raise HarnessError(f"cannot open the Optuna storage {mask_url(url)}: {detail}",
                           hint="give a URL such as sqlite:///path/to/file.sqlite or "
                                "postgresql://user:password@host/db, and check the server "
                                "is up") from None


def _lock_on_begin(engine) -> None:
    """Every SQLite transaction takes the database's write lock when it begins.

    Optuna hands a re-queued (waiting) trial to one worker by reading its state "FOR
    UPDATE" and setting it running. SQLite ignores FOR UPDATE, and Python's sqlite3
    begins a transaction only at the first write, so two workers asking at once both
    read "waiting" and both run the retry; the second then fails telling a trial the
    first completed (optuna/optuna#4621). BEGIN IMMEDIATE makes the read and the write
    one step; the connection's busy timeout lets the other worker wait its turn.
    (SQLAlchemy's recipe for pysqlite transactions; PostgreSQL honours FOR UPDATE.)
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin below, not sqlite3's

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened while Optuna set up lack the two hooks


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Tagged:
    """The objective, with the trial labelled by the process running it (to find the
    trial of a worker that died).

    The objective is called as `objective(trial, hold)`: once it has stored what must
    exist once per finished trial (its leaderboard row), it holds SIGINT and SIGTERM on
    `hold` (`interrupt.deferred`), which stays open until Optuna has recorded the trial
    finished; an interruption in between would leave a failed trial with a score.
    """

    objective: Callable
    number: int | None = None
    hold: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    raised: bool = False

    def __call__(self, trial):
        self.number = trial.number
        trial.set_user_attr(WORKER_ATTR, worker_id())
        try:
            return self.objective(trial, self.hold)
        except BaseException:
            self.raised = True
            raise

    def filter(self, _record) -> bool:
        """A logging filter: Optuna logs a trial that raised as failed, traceback and
        all, but the error (or the interruption) goes on to the command, which says it
        in one line."""
        return not self.raised


def still_running(trial) -> bool:
    """Whether `trial` is still this worker's: False once the heartbeat has declared it
    dead (and Optuna re-queued it). An objective checks before it writes anything that
    should exist once per finished trial, such as its leaderboard row."""
    import optuna

    frozen = trial.study._storage.get_trial(trial._trial_id)
    return frozen.state == optuna.trial.TrialState.RUNNING


def run_in_process(storage, study_name: str, objective: Callable, trials: int) -> None:
    """Run `trials` trials here (one worker: no processes to spawn)."""
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage)
    finished, attempts = 0, 0
    while finished < trials and attempts < trials * (MAX_RETRIES + 1):
        attempts += 1
        if _run_one(study, objective):
            finished += 1


def _run_one(study, objective: Callable) -> bool:
    """One trial; False when the heartbeat declared it dead while it still ran (a stall
    longer than the grace period): Optuna has already re-queued it, so it does not count."""
    import logging

    tagged = _Tagged(objective)
    # Where Optuna logs a failed trial (optuna/study/_optimize.py).
    optuna_log = logging.getLogger("optuna.study._optimize")
    optuna_log.addFilter(tagged)
    try:
        with tagged.hold:
            study.optimize(tagged, n_trials=1, catch=())
    except Exception as e:
        # Optuna refuses to tell a trial that is no longer running (ValueError, or
        # UpdateFinishedTrialError from the objective's own writes); that is a stall only
        # if the heartbeat's retry callback re-queued this trial, else a real error.
        import optuna

        no_longer_ours = isinstance(e, optuna.exceptions.UpdateFinishedTrialError) or (
            isinstance(e, ValueError) and str(e).startswith("Cannot tell a"))
        if tagged.number is None or not _requeued(study, tagged.number,
                                                  wait_s=REQUEUE_WAIT_S if no_longer_ours else 0):
            raise
        return False
    finally:
        optuna_log.removeFilter(tagged)
    return True


def _requeued(study, number: int, wait_s: float) -> bool:
    """Whether the heartbeat's retry callback has re-queued trial `number`, waiting up to
    `wait_s`: Optuna fails a stale trial and enqueues its retry in two transactions, and
    a worker that wakes to find its trial failed may look in between."""
    deadline = time.monotonic() + wait_s
    while True:
        if any(number in t.system_attrs.get("retry_history", ())
               for t in study.get_trials(deepcopy=False)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _worker(url, heartbeat_s, grace_s, study_name, objective, slots, holding, index, errors):
    """One worker process: take a slot, run one trial, until no slot is left."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=study_name,
                                  storage=open_storage(url, heartbeat_s, grace_s))
        while True:
            with slots.get_lock():
                if slots.value <= 0:
                    return
                slots.value -= 1
                holding[index] = 1
            counted = _run_one(study, objective)
            with slots.get_lock():
                holding[index] = 0
                if not counted:
                    slots.value += 1
    except HarnessError as e:
        errors.put((index, e.message, e.hint))
        raise SystemExit(3) from None  # the error went to the parent through the queue
    except BaseException as e:
        errors.put((index, mask_secrets(f"{type(e).__name__}: {e}", url), None))
        raise


def run_workers(url: str, study_name: str, objective: Callable, trials: int, workers: int,
                heartbeat_s: int = HEARTBEAT_S, grace_s: int = GRACE_S,
                max_restarts: int | None = None) -> int:
    """Run `trials` trials of `objective` (picklable) in `workers` spawned processes.

    A worker that dies without an error of its own (killed) gives its slot back once its
    trial has been failed and re-queued through the heartbeat, and a new worker takes
    it; at most `max_restarts` times (default: `trials`).

    Returns:
        How many workers were restarted.

    Raises:
        HarnessError: a worker's objective failed (its message), or too many restarts.
    """
    import multiprocessing

    import optuna

    ctx = multiprocessing.get_context("spawn")
    slots = ctx.Value("i", trials)
    holding = ctx.Array("i", workers)
    errors = ctx.Queue()
    storage = open_storage(url, heartbeat_s, grace_s)
    study = optuna.load_study(study_name=study_name, storage=storage)
    max_restarts = trials if max_restarts is None else max_restarts

    def start(index):
        p = ctx.Process(target=_worker,
                        args=(url, heartbeat_s, grace_s, study_name, objective, slots,
                              holding, index, errors))
        p.start()
        return p

    live = {i: start(i) for i in range(workers)}
    dead: dict[int, tuple[str, bool, float]] = {}  # index -> (worker id, held a slot, died)
    restarts, checked = 0, time.monotonic()
    try:
        while live or dead:
            for i, p in list(live.items()):
                p.join(timeout=0.2)
                if p.exitcode is None:
                    continue
                del live[i]
                if p.exitcode == 0:
                    continue
                if not errors.empty() or p.exitcode == 3:
                    _, message, hint = errors.get(timeout=5)
                    raise HarnessError(f"a tuning worker failed: {message}", hint=hint)
                with slots.get_lock():
                    dead[i] = (f"{socket.gethostname()}:{p.pid}", bool(holding[i]),
                               time.monotonic())
                    holding[i] = 0
            # A watchdog too: a worker that stalls (SIGSTOP, a suspended laptop) is still
            # alive, and its trial must be failed and re-queued even if no other worker
            # starts a trial to notice.
            if dead or time.monotonic() - checked >= heartbeat_s:
                _settle_dead(study, dead, slots, patience=3 * (heartbeat_s + grace_s))
                checked = time.monotonic()
            with slots.get_lock():
                wanted = min(slots.value, workers) - len(live)
            for i in [i for i in range(workers) if i not in live and i not in dead][:wanted]:
                restarts += 1
                if restarts > max_restarts:
                    raise HarnessError(f"tuning workers died {restarts} times",
                                       hint="see the workers' output above; lower --workers "
                                            "if they run out of memory")
                live[i] = start(i)
    finally:
        for p in live.values():
            p.kill()
            p.join()
    return restarts


def _settle_dead(study, dead: dict, slots, patience: float) -> None:
    """Fail stale trials (Optuna re-queues them); a dead worker's slot comes back once
    its own trial is no longer running, or after `patience` s (a worker killed before
    its first heartbeat leaves a trial Optuna can never call stale)."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    running = {t.user_attrs.get(WORKER_ATTR) for t in
               study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
    for i, (wid, held, died) in list(dead.items()):
        if wid not in running or time.monotonic() - died > patience:
            del dead[i]
            if held:
                with slots.get_lock():
                    slots.value += 1
    if dead:
        time.sleep(0.5)
