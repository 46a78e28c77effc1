"""Training an experiment: one run folder, one model or a K-fold ensemble, resumable.

`train` resolves the configuration once (the experiment's CONFIG < `overrides` < the
explicit arguments), writes it to the run folder, then trains with Keras on a tf.data
pipeline (`pipeline`: cache, shuffle, batch, batched augmentation, prefetch). The
run folder's bookkeeping is `runs`; every run leaves in `experiments/NAME/runs/<stamp>/`:

- `weights.keras`, or `fold_1.keras` ... `fold_K.keras` for `folds=K` (stratified);
- `history.json` and `history.png` (loss and accuracy per epoch, per model; the
  training seconds, in all and per call when the run was resumed; each model's ending,
  `stopping.Ending`: an early stop, the epoch whose weights were kept, an unstable
  validation curve, which `train` also warns about);
- `config.json` (the resolved config, data path and fingerprint, the test-set families
  its augmentation trains on: `augment_families`), `commit.txt`;
- `submission.json` (the ensemble rule for folds, which the submission template reads).

Weights reach the run folder only when the whole run has finished, so a folder
without them is an unfinished run: `train(..., run_dir=that_folder)` resumes it from
the last finished epoch (keras.callbacks.BackupAndRestore under `backup/`).
EarlyStopping and ReduceLROnPlateau restart their patience on resume (Keras does not
back them up); a learning-rate schedule (`optim`) continues from the restored step count.

Examples:
    >>> result = train("baseline_cnn", epochs=3, seed=0)
    >>> result.val_accuracy, result.weights
    (0.71, ['experiments/baseline_cnn/runs/261122_120000/weights.keras'])
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness import interrupt
from harness.data.datasets import Dataset
from harness.errors import HarnessError
from harness.experiments import WEIGHT_SUFFIX, Experiment, get_experiment
from harness.fsutil import atomic_path, commit, write_text_atomic
from harness.jsonable import to_jsonable
from harness.profile import Profile, get_profile
from harness.progress import progress_callback
from harness.testset.store import seen_holdouts
from harness.training.augmentation import build_augmenter, recipe_families
from harness.training.config import resolve_config
from harness.training.optim import make_optimizer
from harness.training.pipeline import class_weights, make_dataset
from harness.training.runs import (
    EpochLog,
    Segments,
    backup_callback,
    commit_text,
    fresh_run_dir,
    load_training_data,
    plot_history,
    remove_backup,
    resume_name,
    saved_config,
    weight_names,
)
from harness.training.stopping import Ending, ending, stop_callbacks


@dataclass
class TrainResult:
    """What one training run produced.

    Args:
        experiment: the experiment's name.
        run_dir: the run folder.
        weights: paths of the saved models (one, or one per fold).
        history: one dict per model, metric name -> per-epoch values.
        val_accuracy: mean over models of the final (best, with early stopping) val accuracy;
            None without a validation set.
        val_loss: likewise for the loss.
        fold_val_accuracy: each model's val accuracy.
        epochs: epochs each model trained (counting epochs before a resume).
        seconds: wall time of this call.
        train_seconds: the run's training wall time over all its calls (`runs.Segments`).
        segment_seconds: each call's part of `train_seconds`, this call last.
        images_per_s: training images per second inside `fit` (this call's epochs).
        n_train: training images of the first model; n_val: its validation images.
        data: the data file (or "<arrays>").
        resumed: whether this call continued an unfinished run.
        config: the resolved configuration.
        endings: how each model's training ended (`stopping.Ending`: an early stop, the
            epoch whose weights were kept, an unstable validation curve).
        warnings: what did not stop the run, e.g. data holding a test set's holdout, or a
            validation curve too unstable to trust.
    """

    experiment: str
    run_dir: str
    weights: list[str]
    history: list[dict]
    val_accuracy: float | None
    val_loss: float | None
    fold_val_accuracy: list[float | None]
    epochs: list[int]
    seconds: float
    train_seconds: float
    segment_seconds: list[float]
    images_per_s: float
    n_train: int
    n_val: int
    data: str
    resumed: bool
    config: dict = field(repr=False)
    endings: list[Ending] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _splits(labels: np.ndarray, config: dict, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, val) index pairs: stratified K folds, or one stratified holdout."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    index = np.arange(len(labels))
    if folds > 1:
        counts = np.bincount(labels)
        if counts[counts > 0].min() < folds:
            raise HarnessError(f"every class needs at least {folds} images for {folds} folds. "
                               f"Received: counts={np.bincount(labels).tolist()}",
                               hint="use fewer --folds")
        skf = StratifiedKFold(folds, shuffle=True, random_state=config["seed"])
        return list(skf.split(index, labels))
    split = float(config["validation_split"])
    if split <= 0:
        return [(index, index[:0])]
    counts = np.bincount(labels)
    n_val = int(np.ceil(split * len(labels))) if split < 1 else int(split)
    # Stratify when every class can give a validation image; tiny sets split at random.
    stratify = labels if counts[counts > 0].min() >= 2 and n_val >= len(counts) else None
    train_idx, val_idx = train_test_split(index, test_size=split, random_state=config["seed"],
                                          stratify=stratify)
    return [(np.sort(train_idx), np.sort(val_idx))]


def _strategy(devices: list[str] | None = None, policy: str | None = None):
    """(distribution strategy, precision policy) for training.

    By default from the GPUs TensorFlow sees: MirroredStrategy across several, mixed
    precision (float16 compute, float32 variables) on any, the default strategy and
    float32 on a CPU. Given `devices`, it mirrors over exactly those and uses `policy`
    (default float32): the tests run the GPU paths on a CPU that way, since TensorFlow
    builds a MirroredStrategy over "/cpu:0" and computes mixed_float16 there.
    """
    import tensorflow as tf

    if devices is not None:
        return tf.distribute.MirroredStrategy(devices), policy or "float32"
    gpus = tf.config.list_logical_devices("GPU")
    strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    return strategy, policy or ("mixed_float16" if gpus else "float32")


@contextlib.contextmanager
def _precision(policy: str):
    """Keras' global precision policy set to `policy` inside the block, restored after:
    a library call must not leave the caller's process computing in float16."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build(exp: Experiment, config: dict, profile: Profile):
    try:
        model = exp.builder().build_model(config, profile)
    except Exception as e:
        if "imagenet" in repr(config.get("weights")) and \
                ("URL" in str(e) or "fetch" in str(e).lower() or isinstance(e, OSError)):
            raise HarnessError(f"{exp.name}: could not get the ImageNet weights ({e})",
                               hint="connect to the internet once, or train from scratch "
                                    "with --set weights=None") from e
        raise
    return _float32_output(model)


def _float32_output(model):
    """`model` with its output cast to float32 when mixed precision left it float16: Keras'
    mixed-precision guide asks for a float32 last layer (the harness's experiments give
    their softmax dtype="float32"). The cast has no weights, so `_plain_copy`'s float32
    rebuild takes the trained weights unchanged."""
    import keras

    if getattr(model, "inputs", None) is None or \
            all(keras.backend.standardize_dtype(t.dtype) == "float32" for t in model.outputs):
        return model
    outputs = [keras.layers.Activation("linear", dtype="float32")(t) for t in model.outputs]
    return keras.Model(model.inputs, outputs[0] if len(outputs) == 1 else outputs,
                       name=model.name)


def _plain_copy(exp: Experiment, config: dict, profile: Profile, model):
    """`model` as it goes into a submission: float32 and without optimizer state.

    A functional model trained in float32 is re-wrapped (same layers, uncompiled: no
    copy of the weights); under mixed precision the model is rebuilt in float32 and the
    weights copied, so the server's CPU computes in float32.
    """
    import keras

    policy = keras.mixed_precision.global_policy()
    if policy.name == "float32" and getattr(model, "inputs", None) is not None:
        return keras.Model(model.inputs, model.outputs, name=model.name)
    with _precision("float32"):
        clean = _build(exp, config, profile)
    clean.set_weights(model.get_weights())
    return clean


def _fit_one(exp, config, profile, strategy, images, labels, train_idx, val_idx, key,
             backup: Path, log: EpochLog, progress: bool, callbacks, seed: int):
    """Train one model; returns (model, (val (loss, acc) or None, its `Ending` as a dict),
    images seen, fit seconds)."""
    import keras

    keras.utils.set_random_seed(seed)
    num_classes = profile.num_classes
    batch = int(config["batch_size"])
    train_ds = make_dataset(images[train_idx], labels[train_idx], num_classes, batch,
                            build_augmenter(config["augment"], seed=seed), seed=seed)
    val_ds = (make_dataset(images[val_idx], labels[val_idx], num_classes, batch, shuffle=False)
              if len(val_idx) else None)
    steps = -(-len(train_idx) // batch)
    with strategy.scope():
        model = _build(exp, config, profile)
        model.compile(optimizer=make_optimizer(config, steps),
                      loss=keras.losses.CategoricalCrossentropy(
                          label_smoothing=float(config["label_smoothing"])),
                      metrics=["accuracy"])
    stops, early = stop_callbacks(config, "val_" if val_ds is not None else "")
    cbs = [backup_callback(str(backup / key)), *stops, log.callback(key),
           progress_callback(int(config["epochs"]), steps, key, progress), *(callbacks or [])]
    done_before = len(log.logs.get(key, []))
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=int(config["epochs"]),
                        class_weight=class_weights(config, labels[train_idx], num_classes),
                        callbacks=cbs, verbose=0)
    seconds = time.perf_counter() - start
    ran = len(history.epoch) if history.epoch else max(0, len(log.logs.get(key, [])) - done_before)
    val = tuple(model.evaluate(val_ds, verbose=0)) if val_ds is not None else None
    end = ending(key, log.history(key), int(config["epochs"]),
                 *((early.stopped_epoch, early.best_epoch) if early else ()))
    return model, (val, to_jsonable(end)), ran * len(train_idx), seconds


def train(experiment: str | Experiment, data=None, epochs: int | None = None,
          folds: int | None = None,
          seed: int | None = None, overrides: dict | None = None,
          profile: Profile | str | None = None, run_dir: str | os.PathLike | None = None,
          progress: bool = True, callbacks: list | None = None) -> TrainResult:
    """Train an experiment: one model, or `folds` models on stratified folds.

    Args:
        experiment: a name under experiments/ or a package folder.
        data: an .npz path, a `Dataset`, or (images, labels) arrays; default `default_data()`.
        epochs: overrides CONFIG["epochs"].
        folds: overrides CONFIG["folds"] (default 1). K > 1 trains K models on stratified
            folds (an ensemble); 1 trains one model with a stratified `validation_split`
            holdout.
        seed: overrides CONFIG["seed"]; seeds Keras, NumPy, Python and the splits.
        overrides: CONFIG keys to change, e.g. {"learning_rate": 3e-4}.
        profile: the competition profile.
        run_dir: where to write; default a new `runs/<stamp>/`. A folder holding an
            unfinished run is resumed with its saved config (then `data` must be the
            same data, and the other settings must be left unset).
        progress: show tqdm bars (stderr).
        callbacks: extra Keras callbacks for every model (after the harness's own).

    Returns:
        A `TrainResult`.

    Raises:
        HarnessError: unknown experiment, config key, optimizer or augmentation; bad data.
    """

    started = time.perf_counter()
    profile = get_profile(profile)
    exp = experiment if isinstance(experiment, Experiment) else get_experiment(experiment)
    saved = saved_config(exp, run_dir)
    resumed = saved is not None
    if resumed:
        if epochs is not None or seed is not None or overrides or folds is not None:
            raise HarnessError(f"{run_dir}: a resumed run keeps its saved settings",
                               hint="drop --epochs/--folds/--seed/--set when resuming")
        config = saved
        folds = int(config["folds"])
        data = data if data is not None else config["data"]
    else:
        explicit = {k: v for k, v in (("epochs", epochs), ("seed", seed), ("folds", folds))
                    if v is not None}
        config = resolve_config(exp, {**(overrides or {}), **explicit})
        folds = int(config["folds"])
    images, labels, data_name = load_training_data(data, profile)
    fingerprint = Dataset(images, labels).fingerprint()
    if resumed and fingerprint != config["data_fingerprint"]:
        raise HarnessError(f"{run_dir}: the data differs from the run's. Received: {data_name}",
                           hint=f"resume with the run's data: {config['data']}")

    warnings = seen_holdouts(images, profile)  # said before the minutes of training
    for warning in warnings if progress else ():
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    splits = _splits(labels, config, folds)
    run_dir = Path(run_dir) if resumed else fresh_run_dir(exp, run_dir)
    if not resumed:
        config.update(data=data_name, data_fingerprint=fingerprint, profile=profile.name,
                      experiment=exp.name, augment_families=recipe_families(config["augment"]))
        write_text_atomic(run_dir / "config.json", json.dumps(config, indent=2, default=str))
        write_text_atomic(run_dir / "commit.txt", commit_text())
    resume = (f"the unfinished run {run_dir} continues with: harness train {exp.name} "
              f"--resume {resume_name(exp, run_dir)}")
    interrupt.note(resume)
    strategy, policy = _strategy()
    names = weight_names(folds)
    backup = run_dir / "backup"
    backup.mkdir(exist_ok=True)
    log = EpochLog(backup / "epochs.json")
    segments = Segments(backup / "segments.json", started)
    callbacks = [segments.callback(), *(callbacks or [])]
    vals, seen, fit_seconds = [], 0, 0.0
    with _precision(policy), segments:
        for k, ((train_idx, val_idx), name) in enumerate(zip(splits, names)):
            key = Path(name).stem
            done = backup / name
            if done.exists():  # this fold finished before an interruption
                saved = json.loads((backup / f"{key}.val.json").read_text())
                # Saved before endings were kept: [loss, acc] alone; its ending from history.
                val, end = saved if saved and isinstance(saved[-1], dict) else (saved, None)
                vals.append((tuple(val) if val else None, end or to_jsonable(
                    ending(key, log.history(key), int(config["epochs"])))))
                continue
            model, val, n, secs = _fit_one(exp, config, profile, strategy, images, labels,
                                           train_idx, val_idx, key, backup, log, progress,
                                           callbacks, int(config["seed"]) + k)
            seen, fit_seconds = seen + n, fit_seconds + secs
            vals.append(val)
            write_text_atomic(backup / f"{key}.val.json", json.dumps(val))
            with atomic_path(done, suffix=WEIGHT_SUFFIX) as tmp:  # half-saved: not "done"
                _plain_copy(exp, config, profile, model).save(tmp)

    histories = [log.history(Path(n).stem) for n in names]
    endings = [Ending(**end) for _, end in vals]
    write_text_atomic(run_dir / "history.json", json.dumps(
        {"models": [{"weights": n, "history": h} for n, h in zip(names, histories)],
         "train_seconds": segments.total, "segment_seconds": segments.seconds,
         "endings": [to_jsonable(e) for e in endings]},
        indent=2))
    plot_history(histories, [Path(n).stem for n in names], run_dir / "history.png")
    settings = {"ensemble": config["ensemble"]} if folds > 1 else {}
    write_text_atomic(run_dir / "submission.json", json.dumps(settings, indent=2))
    # Weights last: their presence marks the run finished; all folds land together.
    commit([(backup / name, run_dir / name) for name in names])
    interrupt.withdraw(resume)
    remove_backup(backup)
    accs = [v[1] if v else None for v, _ in vals]
    losses = [v[0] for v, _ in vals if v]
    return TrainResult(
        experiment=exp.name, run_dir=str(run_dir), weights=[str(run_dir / n) for n in names],
        history=histories,
        val_accuracy=float(np.mean(accs)) if all(a is not None for a in accs) else None,
        val_loss=float(np.mean(losses)) if losses else None, fold_val_accuracy=accs,
        epochs=[len(h.get("loss", [])) for h in histories],
        seconds=time.perf_counter() - started, train_seconds=segments.total,
        segment_seconds=segments.seconds,
        images_per_s=seen / fit_seconds if fit_seconds else 0.0,
        n_train=len(splits[0][0]), n_val=len(splits[0][1]), data=data_name, resumed=resumed,
        config=config, endings=endings,
        warnings=warnings + [w for w in (e.warning() for e in endings) if w])


