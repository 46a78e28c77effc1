"""A run folder's bookkeeping: where runs and data live, and what a run leaves behind.

A run folder (`experiments/NAME/runs/<stamp>/`) holds `config.json` and `commit.txt` from
its start, the per-epoch log, each call's seconds and Keras backups under `backup/` while
it trains, then `history.json` (with the seconds of every call that trained it),
`history.png`, `submission.json` and, last of all, the weights: a folder
without weights is an unfinished run, which `unfinished_run` finds and `fit.train` resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from harness.data.datasets import Dataset, load_dataset, validate_arrays
from harness.errors import HarnessError
from harness.experiments import WEIGHT_SUFFIX, Experiment, get_experiment
from harness.fsutil import atomic_path, read_json, write_text_atomic
from harness.gitinfo import git_commit
from harness.interrupt import checkpoint
from harness.paths import REPO_ROOT, data_dir
from harness.training.config import DEFAULTS

TRAINING_SPLIT = Path("testsets") / "default" / "train.npz"
TRAINING_SET = Path("training_set.npz")


def default_data() -> Path:
    """The training split of the default test set if built, else the data folder's
    training_set.npz.

    The test-set builder writes its training split so the pseudo-private holdout never
    leaks into training; the raw training set is the fallback.
    """
    root = data_dir()
    for candidate in (root / TRAINING_SPLIT, root / TRAINING_SET):
        if candidate.is_file():
            return candidate
    raise HarnessError(f"no training data: neither {root / TRAINING_SPLIT} nor "
                       f"{root / TRAINING_SET} exists",
                       hint=f"pass --data PATH, or put the competition's training_set.npz "
                            f"in {root}/ (the data folder: $HARNESS_DATA, else ./data)")


def load_training_data(data, profile) -> tuple[np.ndarray, np.ndarray, str]:
    """(images, labels, name) from an npz path, a `Dataset`, (images, labels) arrays, or
    None for `default_data()`; the name is what config.json records ("<arrays>")."""
    if data is None:
        data = default_data()
    if isinstance(data, Dataset):
        return data.images, data.labels, str(data.path or "<arrays>")
    if isinstance(data, tuple):
        images, labels = validate_arrays(*data, profile, source="training arrays")
        return images, labels, "<arrays>"
    ds = load_dataset(data, profile)
    return ds.images, ds.labels, str(data)


def commit_text() -> str:
    """`commit.txt`: the repository's commit when the run started, and whether its tree
    was dirty."""
    commit = git_commit(REPO_ROOT)
    if commit is None:
        return "commit: unknown\ndirty: unknown\n"
    head, dirty = commit.removesuffix("-dirty"), commit.endswith("-dirty")
    return f"commit: {head}\ndirty: {str(dirty).lower()}\n"



def weight_names(folds: int) -> list[str]:
    return ["weights" + WEIGHT_SUFFIX] if folds == 1 else \
        [f"fold_{k}{WEIGHT_SUFFIX}" for k in range(1, folds + 1)]


class EpochLog:
    """Keeps each model's per-epoch logs in the run folder, so a resume keeps them."""

    def __init__(self, path: Path):
        self.path = path
        self.logs = json.loads(path.read_text()) if path.exists() else {}

    def callback(self, key: str):
        import keras

        log = self

        class Log(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                entry = {k: float(v) for k, v in (logs or {}).items()}
                epochs = log.logs.setdefault(key, [])
                del epochs[epoch:]
                epochs.append(entry)
                write_text_atomic(log.path, json.dumps(log.logs))
                checkpoint(f"train:epoch:{key}")
        return Log()

    def history(self, key: str) -> dict:
        epochs = self.logs.get(key, [])
        names = sorted({k for e in epochs for k in e})
        return {k: [e.get(k) for e in epochs] for k in names}


class Segments:
    """The wall seconds of each `train` call on one run (a segment: the first call, then
    one per resume), kept under `backup/` so an interrupted call's time still counts.

    Used as a context manager around the training, it writes the running call's time at
    every epoch's end (`callback`; a killed process keeps its time to its last finished
    epoch) and when the block ends, normally or by an exception or Ctrl-C.
    """

    def __init__(self, path: Path, started: float):
        self.path, self.started = path, started
        self.seconds = json.loads(path.read_text()) if path.exists() else []
        self.seconds.append(0.0)

    def tick(self) -> None:
        self.seconds[-1] = round(time.perf_counter() - self.started, 3)
        write_text_atomic(self.path, json.dumps(self.seconds))

    @property
    def total(self) -> float:
        return round(sum(self.seconds), 3)

    def callback(self):
        import keras

        tick = self.tick

        class Tick(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                tick()
        return Tick()

    def __enter__(self) -> Segments:
        return self

    def __exit__(self, *exc) -> None:
        self.tick()


def backup_callback(path: str):
    """BackupAndRestore that skips the last epoch's backup: the run saves its weights
    right after, and a big model's weights and optimizer state take seconds to write."""
    import keras

    class Backup(keras.callbacks.BackupAndRestore):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 < self.params["epochs"]:
                super().on_epoch_end(epoch, logs)
    return Backup(path)


def plot_history(histories: list[dict], names: list[str], path: Path) -> Path:
    """Loss and accuracy per epoch (train dashed, validation solid), one colour per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, (history, name) in enumerate(zip(histories, names)):
        colour = f"C{i}"
        for ax, metric in zip(axes, ("loss", "accuracy")):
            for key, style in ((metric, "--"), (f"val_{metric}", "-")):
                if history.get(key):
                    epochs = range(1, len(history[key]) + 1)
                    ax.plot(epochs, history[key], style, color=colour, label=f"{name} {key}")
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
    return path



def saved_config(exp: Experiment, run_dir) -> dict | None:
    """The saved config when `run_dir` holds an unfinished run (to resume), else None;
    DEFAULTS fill the keys it predates."""
    if run_dir is None or not (Path(run_dir) / "config.json").exists():
        return None
    if any(Path(run_dir).glob(f"*{WEIGHT_SUFFIX}")):
        raise HarnessError(f"{run_dir}: this run already finished; nothing to resume",
                           hint=f"start a new one: harness train {exp.name}")
    saved = read_json(Path(run_dir) / "config.json", "the run's saved config",
                      hint=f"this run cannot resume; start a new one: harness train {exp.name}")
    # A run started before a key existed trained as its default says (lr_schedule).
    return {**DEFAULTS, **saved}


def fresh_run_dir(exp: Experiment, run_dir) -> Path:
    """A new run folder: `run_dir` (created; must be empty) or a new `runs/<stamp>/`."""
    if run_dir is None:
        return exp.new_run_dir()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if any(run_dir.iterdir()):
        raise HarnessError(f"{run_dir}: run folder is not empty and holds no unfinished run",
                           hint="give an empty or new folder")
    return run_dir


def unfinished_run(experiment: str | Experiment, run: str | os.PathLike | None = None) -> Path:
    """The run to resume: `run` (a folder, or a stamp under the experiment's runs/), or the
    newest run that has a config but no weights."""
    exp = experiment if isinstance(experiment, Experiment) else get_experiment(experiment)
    if run is not None:
        path = Path(run) if Path(run).is_dir() else exp.runs_dir / str(run)
        if not (path / "config.json").exists():
            raise HarnessError(f"no run to resume. Received: {run}",
                               hint=f"runs live under {exp.runs_dir}")
        return path
    candidates = sorted(p for p in exp.runs_dir.glob("*") if (p / "config.json").exists()
                        and not any(p.glob(f"*{WEIGHT_SUFFIX}"))) if exp.runs_dir.is_dir() else []
    if not candidates:
        raise HarnessError(f"{exp.name} has no unfinished run to resume",
                           hint=f"start one: harness train {exp.name}")
    return candidates[-1]


def resume_name(exp: Experiment, run_dir: Path) -> str:
    """What `unfinished_run` finds `run_dir` by: its path under runs/ (a tuning trial's
    run is nested there, so its name alone is not found), else its whole path."""
    return str(run_dir.relative_to(exp.runs_dir) if run_dir.is_relative_to(exp.runs_dir)
               else run_dir)


def remove_backup(backup: Path) -> None:
    shutil.rmtree(backup, ignore_errors=True)
