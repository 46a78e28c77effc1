"""harness.shipping.tflite and the template's TFLite path: twins that agree, or Keras.

One tiny CNN is converted once per module (a converter process costs seconds); the
rest reuse it or stand in for the converter.
"""

from __future__ import annotations

import json
import shutil
import zipfile

import keras
import numpy as np
import pytest
from conftest import load_submission

from harness.experiments import TEMPLATE_DIR
from harness.profile import get_profile
from harness.shipping import packing, tflite
from harness.shipping.packing import add_tflite, pack
from harness.shipping.tflite import ConvertReport, convert_file

SHAPE = (16, 16, 3)


def tiny_cnn(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(SHAPE), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.DepthwiseConv2D(3, padding="same"),
        keras.layers.LayerNormalization(), keras.layers.Dense(6, activation="gelu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4, activation="softmax")])


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (40, *SHAPE)).astype(np.uint8)


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory, images):
    """A template submission with two tiny models and their converted twins."""
    folder = tmp_path_factory.mktemp("tflite_ensemble")
    for f in ("model.py", "harness_runtime.py"):
        shutil.copy(TEMPLATE_DIR / f, folder / f)
    reports = []
    for seed in (1, 2):
        tiny_cnn(seed).save(folder / f"fold_{seed}.keras")
        reports.append(convert_file(folder / f"fold_{seed}.keras", folder / f"fold_{seed}.tflite",
                                    images[:16]))
    return folder, reports


def _settings(folder, **settings):
    (folder / "submission.json").write_text(json.dumps(settings))


def test_a_twin_that_agrees_is_kept_and_says_so(ensemble):
    folder, reports = ensemble
    for report in reports:
        assert report.kept and report.same_labels and report.max_abs_diff < 1e-4
        assert "same labels on 16 images" in report.reason and report.size_bytes > 0
    assert sorted(p.name for p in folder.glob("*.tflite")) == ["fold_1.tflite", "fold_2.tflite"]


def test_the_template_runs_the_twins_with_tta_and_votes_as_keras_does(ensemble, images):
    folder, _ = ensemble
    common = {"tta": 3, "ensemble": "vote", "chunk_size": 16}
    # batch_size 7 divides neither a chunk nor the 40 images: every slice path is taken.
    _settings(folder, runtime="tflite", threads=1, batch_size=7, **common)
    lite = load_submission(folder)
    _settings(folder, **common)
    plain = load_submission(folder)
    assert [type(m).__name__ for m in lite.models] == ["TFLiteModel"] * 2
    assert all(isinstance(m, keras.Model) for m in plain.models)
    np.testing.assert_array_equal(lite.predict(images), plain.predict(images))


def test_with_a_gpu_the_template_falls_back_to_keras(ensemble, monkeypatch):
    import tensorflow as tf

    folder, _ = ensemble
    _settings(folder, runtime="tflite", threads=1)
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["/physical_device:GPU:0"] if kind == "GPU" else [])
    model = load_submission(folder)
    assert all(isinstance(m, keras.Model) for m in model.models)


def test_a_twin_that_disagrees_is_discarded(ensemble, images, tmp_path, monkeypatch):
    folder, _ = ensemble
    shutil.copy(folder / "fold_1.keras", tmp_path / "w.keras")
    # The converter's output is the fixture's (no second converter process), and its
    # probabilities come out in reverse class order: a twin wrong on most images.
    monkeypatch.setattr(tflite, "_convert",
                        lambda src, dst: shutil.copy(folder / "fold_1.tflite", dst) and None)
    real = tflite.tflite_probabilities
    monkeypatch.setattr(tflite, "tflite_probabilities", lambda p, x, b: real(p, x, b)[:, ::-1])
    report = convert_file(tmp_path / "w.keras", tmp_path / "w.tflite", images[:8])
    assert not report.kept and not (tmp_path / "w.tflite").exists()
    assert "TFLite twin discarded" in report.reason


def test_a_converter_that_crashes_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(tflite, "CONVERT_SCRIPT",
                        "import sys; sys.exit('LLVM ERROR: Failed to infer result type(s).')")
    report = convert_file(tmp_path / "w.keras", tmp_path / "w.tflite", np.zeros((1, *SHAPE)))
    assert not report.kept and report.max_abs_diff is None
    assert report.reason == ("the TFLite converter failed: "
                             "LLVM ERROR: Failed to infer result type(s).")


def test_one_discarded_twin_leaves_the_whole_ensemble_on_keras(ensemble, tmp_path, monkeypatch):
    folder, _ = ensemble
    for name in ("fold_1.keras", "fold_2.keras", "fold_1.tflite"):
        shutil.copy(folder / name, tmp_path / name)
    _settings(tmp_path, tta=2)
    answers = iter([ConvertReport(kept=True, reason="ok"),
                    ConvertReport(kept=False, reason="2 of 16 labels differ")])
    monkeypatch.setattr(packing, "convert_file", lambda src, dst, sample, **kw: next(answers))
    runtime, records = add_tflite(tmp_path, None, get_profile())
    assert runtime == "keras" and [r["kept"] for r in records] == [True, False]
    assert not list(tmp_path.glob("*.tflite"))
    assert json.loads((tmp_path / "submission.json").read_text()) == {"tta": 2,
                                                                       "runtime": "keras"}


def test_pack_runtime_tflite_ships_both_and_smoke_runs_the_twin(trained_experiment, tmp_path):
    result = pack(trained_experiment, get_profile(), out=tmp_path / "dist", runtime="tflite",
                  n_smoke=8, name="lite.zip")
    assert result.runtime == "tflite" and result.converted[0]["kept"]
    with zipfile.ZipFile(result.zip) as z:
        assert "weights.keras" in z.namelist() and "weights.tflite" in z.namelist()
        settings = json.loads(z.read("submission.json"))
    assert settings["runtime"] == "tflite" and settings["threads"] == get_profile().server_threads


def test_a_short_answer_from_the_interpreter_is_an_error_not_fewer_labels(ensemble, images):
    # XNNPACK on TF 2.17 answers a batch of 256 with 0 rows: never let that through.
    rt = tflite.template_runtime()
    model = rt.TFLiteModel(str(ensemble[0] / "fold_1.tflite"), batch_size=4)
    model.interpreter.get_tensor = lambda index: np.zeros((1, 4), np.float32)
    with pytest.raises(RuntimeError, match="answered 1 rows for a batch of 4"):
        model.predict_on_batch(images[:6].astype(np.float32))
