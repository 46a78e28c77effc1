"""The submission template (submission/model.py + harness_runtime.py) that ships in every zip.

Fake model objects stand in for keras models where the test is about the arithmetic
(ensembles, TTA, chunking); one test loads real tiny .keras files through model.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import keras
import numpy as np
import pytest

from harness.experiments import TEMPLATE_DIR


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = _load("harness_runtime", TEMPLATE_DIR / "harness_runtime.py")


class FakeModel:
    """Returns `fn(batch)` and records the size of every batch it is called with."""

    def __init__(self, fn):
        self.fn = fn
        self.batches = []

    def predict_on_batch(self, batch):
        assert batch.dtype == np.float32
        self.batches.append(len(batch))
        return self.fn(batch)


def fixed(probs):
    """A model that answers the same probabilities for every image."""
    return FakeModel(lambda b: np.tile(np.asarray(probs, np.float32), (len(b), 1)))


def top_left_class(batch):
    """One-hot of (top-left pixel, channel 0) mod 4: changes under flips and rotations."""
    return np.eye(4, dtype=np.float32)[batch[:, 0, 0, 0].astype(int) % 4]


def channel_means(batch):
    """Softmax of per-channel means: invariant to every flip and rotation."""
    z = batch.mean(axis=(1, 2)) / 64.0
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (40, 8, 8, 3)).astype(np.uint8)


def test_ensemble_mean_and_vote_disagree_as_they_should(images):
    confident = fixed([0.9, 0.05, 0.05])
    lukewarm = [fixed([0.35, 0.4, 0.25]), fixed([0.35, 0.4, 0.25])]
    models = [confident, *lukewarm]
    assert set(rt.predict_labels(models, images, ensemble="mean")) == {0}
    assert set(rt.predict_labels(models, images, ensemble="vote")) == {1}


def test_vote_tie_goes_to_the_higher_mean_probability(images):
    models = [fixed([0.6, 0.4]), fixed([0.1, 0.9])]
    assert set(rt.predict_labels(models, images, ensemble="vote")) == {1}


def test_the_eight_views_are_the_eight_distinct_symmetries_of_a_square(images):
    views = [view(images) for view in rt.VIEWS]
    assert len({v.tobytes() for v in views}) == 8


@pytest.mark.parametrize("tta", [1, 3, 8])
def test_tta_averages_exactly_n_views(images, tta):
    model = FakeModel(top_left_class)
    probs = rt.predict_proba(model, images, tta=tta, chunk_size=16)
    expected = np.mean([top_left_class(view(images).astype(np.float32))
                        for view in rt.VIEWS[:tta]], axis=0)
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert sum(model.batches) == tta * len(images)


def test_tta_keeps_the_labels_of_an_invariant_model(images):
    labels = [rt.predict_labels([FakeModel(channel_means)], images, tta=t) for t in range(1, 9)]
    for other in labels[1:]:
        np.testing.assert_array_equal(other, labels[0])


def test_prediction_is_chunked_so_memory_stays_bounded():
    big = np.zeros((1000, 8, 8, 3), np.uint8)
    model = FakeModel(channel_means)
    labels = rt.predict_labels([model], big, tta=2, chunk_size=64)
    assert labels.shape == (1000,) and labels.dtype == np.int64
    assert max(model.batches) <= 64 and sum(model.batches) == 2000


@pytest.mark.parametrize("settings, message", [
    ({"tta": 0}, "tta must be 1..8"),
    ({"tta": 9}, "tta must be 1..8"),
    ({"tta": "3"}, "tta must be 1..8"),
    ({"ensemble": "median"}, "ensemble must be"),
    ({"chunk_size": 0}, "chunk_size must be"),
    ({"batch_size": 256}, "batch_size must be at most 255"),
    ({"runtime": "onnx"}, "runtime must be"),
    ({"threads": 0}, "threads must be"),
    ({"tta_passes": 3}, "unknown settings"),
])
def test_bad_submission_json_is_a_clear_error(tmp_path, settings, message):
    (tmp_path / "submission.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match=message):
        rt.read_config(tmp_path)


def test_missing_submission_json_means_defaults(tmp_path):
    assert rt.read_config(tmp_path) == rt.DEFAULTS


def test_model_py_loads_an_ensemble_of_keras_files_and_returns_int_labels(tmp_path, images):
    for f in ("model.py", "harness_runtime.py"):
        (tmp_path / f).write_text((TEMPLATE_DIR / f).read_text())
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")]
                         ).save(tmp_path / f"fold_{seed}.keras")
    (tmp_path / "submission.json").write_text(json.dumps({"tta": 2, "ensemble": "vote"}))
    sys.path.insert(0, str(tmp_path))
    saved = sys.modules.pop("harness_runtime", None)
    try:
        model = _load("submitted_model", tmp_path / "model.py").Model()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("harness_runtime", None)
        if saved is not None:
            sys.modules["harness_runtime"] = saved
    assert len(model.models) == 2 and model.config["ensemble"] == "vote"
    labels = model.predict(images)
    assert labels.shape == (len(images),) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() < 4


def test_the_template_passes_the_contract_and_keras_cv_is_refused(tmp_path, profile):
    from harness.scoring.contract import SubmissionError, check_source

    for f in ("model.py", "harness_runtime.py"):
        (tmp_path / f).write_text((TEMPLATE_DIR / f).read_text())
    check_source(tmp_path, profile)
    # keras_cv trains the models, but the server lacks it: inference must not import it.
    runtime = tmp_path / "harness_runtime.py"
    runtime.write_text("import keras_cv\n" + runtime.read_text())
    with pytest.raises(SubmissionError, match="keras_cv") as info:
        check_source(tmp_path, profile)
    assert info.value.kind == "forbidden_import"
