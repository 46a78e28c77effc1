"""harness.training.fit and the `train`/`new` commands: run folders, folds, resume, errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.experiments import get_experiment, read_commit
from harness.gitinfo import git_commit
from harness.paths import REPO_ROOT
from harness.training import default_data, resolve_config, train, unfinished_run
from harness.training.augmentation import AUGMENTATIONS, build_augmenter
from harness.training.fit import _strategy as _real_strategy
from harness.training.scaffold import new_experiment

# A baseline_cnn small enough to train an epoch in a second or two.
TINY = {"filters": [4], "dense": 8, "batch_size": 16}


def test_run_folder_holds_everything_and_stages_a_working_submission(
        tmp_path, small_arrays, submission_model):
    images, labels = small_arrays
    result = train("baseline_cnn", data=small_arrays, epochs=2, seed=0,
                   overrides={**TINY, "augment": ["flip", "noise", "mixup"],
                              "class_weights": True, "optimizer": "lion"},
                   run_dir=tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "commit.txt", "config.json", "history.json", "history.png", "submission.json",
        "weights.keras"]
    config = json.loads((run / "config.json").read_text())
    assert config["optimizer"] == "lion" and config["seed"] == 0 and config["epochs"] == 2
    assert "commit:" in (run / "commit.txt").read_text()
    assert read_commit(run) == git_commit(REPO_ROOT)
    history = json.loads((run / "history.json").read_text())["models"][0]["history"]
    assert len(history["loss"]) == len(history["val_accuracy"]) == 2
    assert result.epochs == [2] and 0 <= result.val_accuracy <= 1 and result.images_per_s > 0
    assert result.segment_seconds == [result.train_seconds] and 0 < result.train_seconds
    assert result.n_train + result.n_val == len(labels)

    model = submission_model(get_experiment("baseline_cnn").stage(tmp_path / "sub", run=run))
    predicted = model.predict(images[:5])
    assert predicted.shape == (5,) and predicted.dtype == np.int64
    assert set(predicted) <= set(range(8))


def test_folds_write_one_model_each_and_the_ensemble_rule(tmp_path, small_arrays,
                                                          submission_model):
    result = train("baseline_cnn", data=small_arrays, epochs=1, folds=2,
                   overrides={**TINY, "ensemble": "vote"}, run_dir=tmp_path / "run",
                   progress=False)
    run = tmp_path / "run"
    assert [p.rsplit("/", 1)[-1] for p in result.weights] == [
        "fold_1.keras", "fold_2.keras"]
    assert json.loads((run / "submission.json").read_text()) == {"ensemble": "vote"}
    assert len(result.fold_val_accuracy) == 2 and result.n_train + result.n_val == 32
    model = submission_model(get_experiment("baseline_cnn").stage(tmp_path / "sub", run=run))
    assert len(model.models) == 2 and model.config["ensemble"] == "vote"
    assert model.predict(small_arrays[0][:4]).shape == (4,)


class Interrupt(Exception):
    pass


class InterruptAfter(keras.callbacks.Callback):
    """Stands in for a killed process: raises at the end of epoch `at` (0-based)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise Interrupt


class RecordEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_interrupted_run_resumes_to_the_same_epoch_count(tmp_experiments, small_arrays):
    with pytest.raises(Interrupt):
        train("baseline_cnn", data=small_arrays, epochs=2, overrides=TINY, progress=False,
              callbacks=[InterruptAfter(0)])
    run = unfinished_run("baseline_cnn")
    assert not list(run.glob("*.keras"))
    # As a run started before lr_schedule existed saved it: it resumes on the default.
    saved = json.loads((run / "config.json").read_text())
    del saved["lr_schedule"], saved["warmup_epochs"]
    (run / "config.json").write_text(json.dumps(saved))
    record = RecordEpochs()
    result = train("baseline_cnn", data=small_arrays, run_dir=run, progress=False,
                   callbacks=[record])
    assert result.resumed and record.epochs == [1]     # epoch 0 was not rerun
    assert result.epochs == [2] and (run / "weights.keras").exists()
    assert not (run / "backup").exists()
    with pytest.raises(HarnessError, match="no unfinished run"):
        unfinished_run("baseline_cnn")


class RecordRates(keras.callbacks.Callback):
    """(epoch, optimizer iterations, learning rate) as each epoch begins."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        # Under mixed precision the wrapper's own count stays 0; the inner one's steps.
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        self.rates.append((epoch, int(optimizer.iterations.numpy()),
                           float(keras.ops.convert_to_numpy(optimizer.learning_rate))))


# Mixed precision (the GPU path) wraps the optimizer in a LossScaleOptimizer; the
# schedule reads its inner optimizer's step count, which must come back too.
@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_a_resumed_run_continues_its_cosine_schedule(tmp_experiments, small_arrays,
                                                     monkeypatch, policy):
    _forced_strategy(monkeypatch, policy=policy)
    cosine = {**TINY, "lr_schedule": "cosine", "reduce_lr": 0, "learning_rate": 1e-3}
    first = RecordRates()
    with pytest.raises(Interrupt):
        train("baseline_cnn", data=small_arrays, epochs=2, overrides=cosine, progress=False,
              callbacks=[first, InterruptAfter(0)])
    run = unfinished_run("baseline_cnn")
    assert json.loads((run / "config.json").read_text())["lr_schedule"] == "cosine"
    resumed = RecordRates()
    train("baseline_cnn", data=small_arrays, run_dir=run, progress=False, callbacks=[resumed])
    steps = 2  # 27 training images in batches of 16
    assert first.rates == [(0, 0, pytest.approx(1e-3))]
    # Half-way through a two-epoch cosine: half the rate, not the restart's full rate.
    assert resumed.rates == [(1, steps, pytest.approx(5e-4))]


def test_a_resumed_run_counts_the_training_seconds_of_every_segment(tmp_experiments,
                                                                    small_arrays):
    from rich.console import Console

    from harness.cli.train import _show_train

    with pytest.raises(Interrupt):
        train("baseline_cnn", data=small_arrays, epochs=2, overrides=TINY, progress=False,
              callbacks=[InterruptAfter(0)])
    run = unfinished_run("baseline_cnn")
    [first] = json.loads((run / "backup" / "segments.json").read_text())
    assert first > 0
    result = train("baseline_cnn", data=small_arrays, run_dir=run, progress=False)
    assert result.segment_seconds[0] == first and len(result.segment_seconds) == 2
    assert 0 < result.segment_seconds[1] <= result.seconds
    assert result.train_seconds == pytest.approx(sum(result.segment_seconds))
    history = json.loads((run / "history.json").read_text())
    assert history["train_seconds"] == result.train_seconds
    assert history["segment_seconds"] == result.segment_seconds
    console = Console(record=True, width=400)
    _show_train(console, result)
    assert f"trained {result.train_seconds:.0f} s over 2 segments (" in console.export_text()


def test_resume_from_the_cli_continues_the_latest_unfinished_run(tmp_experiments, tmp_path,
                                                                 small_arrays, runner):
    from harness.data.datasets import save_dataset

    data = save_dataset(tmp_path / "small.npz", *small_arrays)
    with pytest.raises(Interrupt):
        train("baseline_cnn", data=data, epochs=2, overrides=TINY, progress=False,
              callbacks=[InterruptAfter(0)])
    out = runner.invoke(main, ["train", "baseline_cnn", "--resume", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["resumed"] and result["epochs"] == [2]
    assert len(result["segment_seconds"]) == 2
    assert result["train_seconds"] == pytest.approx(sum(result["segment_seconds"]))


def test_training_on_a_test_sets_holdout_is_said_before_and_after(tmp_experiments, tmp_path,
                                                                 small_arrays, runner,
                                                                 monkeypatch):
    from harness.data.datasets import save_dataset

    monkeypatch.chdir(tmp_path)
    images, labels = small_arrays
    save_dataset(tmp_path / "data/testsets/t/holdout.npz", images[:8], labels[:8])
    data = save_dataset(tmp_path / "all.npz", images, labels)
    out = runner.invoke(main, ["train", "baseline_cnn", "--data", str(data), "--epochs", "1",
                               "--set", "filters=[4]", "--set", "dense=8", "--json"])
    assert out.exit_code == 0, out.output
    [warning] = json.loads(out.output)["warnings"]
    assert warning.startswith("this data holds 8 of the 8 holdout images of test set t")


def test_unknown_augmentation_gets_did_you_mean():
    with pytest.raises(HarnessError, match="unknown augmentation") as info:
        resolve_config(get_experiment("baseline_cnn"), {"augment": ["flip", "cutmixx"]})
    assert info.value.hint == "did you mean 'cutmix'?"
    with pytest.raises(HarnessError, match="no parameter 'strength'"):
        build_augmenter([{"name": "noise", "strength": 3}])


def test_the_runtime_key_is_checked_where_every_config_is():
    exp = get_experiment("baseline_cnn")
    assert resolve_config(exp)["runtime"] == "keras"
    assert resolve_config(exp, {"runtime": "tflite"})["runtime"] == "tflite"
    with pytest.raises(HarnessError, match="runtime must be one of keras, tflite"):
        resolve_config(exp, {"runtime": "onnx"})


@pytest.mark.parametrize("args, message", [
    (["--set", "learning_rat=0.1"], "did you mean 'learning_rate'?"),
    (["--set", "epochs=many"], "epochs must be a int"),
    (["--set", "augment"], "--set takes key=value"),
    (["--set", "optimizer=sgd"], "unknown optimizer"),
    (["--set", "lr_schedule=cosine"], "add --set reduce_lr=0"),
])
def test_bad_set_is_one_clear_line(runner, tmp_experiments, args, message):
    out = runner.invoke(main, ["train", "baseline_cnn", *args])
    assert out.exit_code == 2
    assert message in out.output and "Traceback" not in out.output


def test_every_augmentation_keeps_shapes_and_pixel_range():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = tf.constant(rng.integers(0, 256, (4, 96, 96, 3)).astype("float32"))
    labels = tf.one_hot([0, 1, 2, 3], 8)
    for name in AUGMENTATIONS:
        out, mixed = build_augmenter([name], seed=0)(images, labels)
        assert out.shape == images.shape and mixed.shape == labels.shape, name
        assert 0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 255, name
        assert np.allclose(tf.reduce_sum(mixed, axis=1), 1), name


def test_default_data_prefers_the_testset_training_split(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))
    with pytest.raises(HarnessError, match="no training data"):
        default_data()
    (tmp_path / "training_set.npz").write_bytes(b"")
    assert default_data() == tmp_path / "training_set.npz"
    split = tmp_path / "testsets" / "default" / "train.npz"
    split.parent.mkdir(parents=True)
    split.write_bytes(b"")
    assert default_data() == split


def test_new_scaffolds_from_template_or_another_experiment(tmp_experiments, runner, profile):
    out = runner.invoke(main, ["new", "my_cnn", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["files"] == ["build.py", "config.py"]
    assert json.loads(out.output)["source"] == "baseline_cnn"
    exp = get_experiment("my_cnn")
    # The template is baseline_cnn itself, renamed: it cannot drift from what is tested.
    template = get_experiment(REPO_ROOT / "experiments" / "baseline_cnn")
    assert exp.config() == template.config() and exp.search_space() == template.search_space()
    model = exp.builder().build_model(exp.config(), profile)
    assert model.output_shape == (None, profile.num_classes) and model.name == "my_cnn"
    assert "baseline_cnn" not in (exp.path / "config.py").read_text()
    copied = new_experiment("base2", source="baseline_cnn")
    assert copied.source == "baseline_cnn"
    assert get_experiment("base2").config() == get_experiment("baseline_cnn").config()
    for name, message in (("my_cnn", "already exists"), ("2fast", "Python identifier")):
        out = runner.invoke(main, ["new", name])
        assert out.exit_code == 2 and message in out.output


# The GPU paths of `train`, run on the CPU: TensorFlow computes mixed_float16 there and
# builds a MirroredStrategy over "/cpu:0", so `_strategy` is told to do what it does on
# one GPU (mixed precision) and on several (mirroring).
def _forced_strategy(monkeypatch, devices=None, policy="float32"):
    import tensorflow as tf

    from harness.training import fit

    def strategy():
        if devices is None:
            return tf.distribute.get_strategy(), policy
        return _real_strategy(devices=devices, policy=policy)
    monkeypatch.setattr(fit, "_strategy", strategy)


class _Capture(keras.callbacks.Callback):
    """Keeps the model `fit` trains, to look at its layers' precision."""

    def on_train_begin(self, logs=None):
        self.trained = self.model


def test_mixed_precision_keeps_the_last_layer_and_the_saved_weights_float32(
        tmp_path, small_arrays, monkeypatch):
    _forced_strategy(monkeypatch, policy="mixed_float16")
    capture = _Capture()
    train("baseline_cnn", data=small_arrays, epochs=1, seed=0, overrides=TINY,
          run_dir=tmp_path / "run", progress=False, callbacks=[capture])
    trained = capture.trained
    assert trained.get_layer(index=2).compute_dtype == "float16"  # the conv: mixed for real
    assert trained.layers[-1].compute_dtype == "float32"
    assert keras.backend.standardize_dtype(trained.outputs[0].dtype) == "float32"
    # train() gives the caller's process its float32 policy back.
    assert keras.mixed_precision.global_policy().name == "float32"
    saved = keras.models.load_model(tmp_path / "run" / "weights.keras", compile=False)
    assert {layer.compute_dtype for layer in saved.layers} == {"float32"}
    assert {w.dtype for w in saved.get_weights()} == {np.dtype("float32")}


def test_a_float16_softmax_gets_a_float32_output_under_mixed_precision():
    from harness.training import fit

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input(shape=(4,))
        half = keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(inputs))
        assert half.outputs[0].dtype == "float16"
        cast = fit._float32_output(half)
        assert keras.backend.standardize_dtype(cast.outputs[0].dtype) == "float32"
        assert len(cast.get_weights()) == len(half.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_a_one_device_mirrored_strategy_trains_as_without_it(tmp_path, small_arrays,
                                                              monkeypatch):
    """Within the noise of CPU training itself: two plain runs with one seed differ by
    about 3e-4 in loss and 0.008 in the largest weight (threaded reductions), and a
    mirrored run differs from a plain one by as much (bench/RESULTS.md)."""
    results, strategies = {}, {}
    for name, devices in (("default", None), ("mirrored", ["/cpu:0"])):
        _forced_strategy(monkeypatch, devices=devices)
        capture = _Capture()
        # No dropout: its random masks come from another generator under a strategy.
        results[name] = train("baseline_cnn", data=small_arrays, epochs=1, seed=0,
                              overrides={**TINY, "dropout": 0.0}, run_dir=tmp_path / name,
                              progress=False, callbacks=[capture])
        strategies[name] = type(capture.trained.distribute_strategy).__name__
    assert strategies["mirrored"] == "MirroredStrategy" != strategies["default"]
    plain, mirrored = results["default"], results["mirrored"]
    assert sorted(p.name for p in (tmp_path / "mirrored").iterdir()) == \
        sorted(p.name for p in (tmp_path / "default").iterdir())
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(mirrored.history[0][key], plain.history[0][key], rtol=2e-3)
    a, b = (keras.models.load_model(r.weights[0], compile=False).get_weights()
            for r in (plain, mirrored))
    for x, y in zip(a, b):
        assert np.linalg.norm(x - y) <= 0.02 * np.linalg.norm(x) + 1e-6
