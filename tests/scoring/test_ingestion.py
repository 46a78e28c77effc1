"""Ingestion: a submission run in its own process, as the scoring server runs it."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest

from harness.scoring.contract import SubmissionError
from harness.scoring.ingestion import run_submission

LIMIT = 60


def _model(predict_body: str, init_body: str = "pass", header: str = "") -> str:
    return (f"import numpy as np\n{header}\n\nclass Model:\n    def __init__(self):\n"
            f"        {init_body}\n\n    def predict(self, X):\n        {predict_body}\n")


def _run(sub, images, profile, **kw):
    kw.setdefault("time_limit_s", LIMIT)
    return run_submission(sub, images, profile, **kw)


def test_good_submission_returns_labels_timings_memory(make_submission, tiny_arrays, profile):
    images, _ = tiny_arrays
    result = _run(make_submission(), images, profile, threads=1)
    assert result.ok and result.failure is None
    assert result.predictions.dtype == np.int64
    assert np.array_equal(result.predictions, images[:, 0, 0, 0].astype(np.int64) % 8)
    assert result.load_s >= 0 and result.predict_s >= 0 and result.total_s > result.predict_s
    assert result.peak_rss_mb > 10
    assert result.versions["numpy"] == np.__version__
    assert result.raise_for_failure() is result


def test_keras_cv_is_refused_in_the_child_although_installed_here(make_submission, tiny_arrays,
                                                                   profile):
    assert importlib.util.find_spec("keras_cv") is not None
    # Built at run time, so only the child's import blocker can catch it.
    sub = make_submission(_model("return np.zeros(len(X), int)",
                                 init_body="importlib.import_module('keras' + '_cv')",
                                 header="import importlib"))
    result = _run(sub, tiny_arrays[0], profile)
    assert result.failure.kind == "forbidden_import"
    assert "ModuleNotFoundError: No module named 'keras_cv'" in result.failure.message
    assert "model.py" in result.failure.traceback


def test_failing_import_names_the_module(make_submission, tiny_arrays, profile):
    sub = make_submission(_model("return X", header="import not_a_module_xyz"))
    result = _run(sub, tiny_arrays[0], profile)
    assert result.failure.kind == "import_error"
    assert "No module named 'not_a_module_xyz'" in result.failure.message


@pytest.mark.parametrize("where, kind", [("init", "init_error"), ("predict", "predict_error")])
def test_exception_shows_the_submissions_traceback(make_submission, tiny_arrays, profile, where,
                                                   kind):
    boom = "raise ValueError('weights file is corrupt')"
    code = _model(boom, "pass") if where == "predict" else _model("return X", boom)
    result = _run(make_submission(code), tiny_arrays[0], profile)
    assert result.failure.kind == kind
    assert "ValueError: weights file is corrupt" in result.failure.message
    assert 'model.py", line' in result.failure.traceback
    assert "ingestion_child" not in result.failure.traceback
    with pytest.raises(SubmissionError) as info:
        result.raise_for_failure()
    assert info.value.kind == kind and info.value.traceback == result.failure.traceback


@pytest.mark.parametrize("body, match", [
    ("import os; os._exit(3)", "exited with code 3"),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by signal SIGKILL"),
])
def test_process_death_is_reported(make_submission, tiny_arrays, profile, body, match):
    result = _run(make_submission(_model(body)), tiny_arrays[0], profile)
    assert result.failure.kind == "crashed"
    assert match in result.failure.message
    assert result.exit_code != 0


def test_time_limit_kills_the_process_group(make_submission, tiny_arrays, profile):
    # The sleeping grandchild must die with it: the whole group is killed.
    body = ("import subprocess, time; subprocess.Popen(['sleep', '30']); time.sleep(30)")
    result = _run(make_submission(_model(body)), tiny_arrays[0], profile, time_limit_s=2)
    assert result.failure.kind == "time_limit"
    assert result.failure.message == "Execution Time Limit exceeded. Limit was 2 seconds"
    assert 2 <= result.total_s < 10


@pytest.mark.parametrize("body, match", [
    ("return np.eye(8)[X[:, 0, 0, 0] % 8]", "the argmax is missing"),
    ("return [1, 2, 3]", "a list of 3 items for 24 images"),
    ("return None", "predict returned None"),
])
def test_bad_output_from_the_child(make_submission, tiny_arrays, profile, body, match):
    result = _run(make_submission(_model(body)), tiny_arrays[0], profile)
    assert result.failure.kind == "bad_output"
    assert match in result.failure.message


def test_submission_cannot_touch_its_folder_or_the_test_set(make_submission, tiny_arrays,
                                                            profile):
    body = ("open('model.py', 'w').write('broken'); open('new.txt', 'w').write('x')\n"
            "        try:\n            X[0, 0, 0, 0] = 255\n"
            "        except ValueError:\n            pass\n"
            "        return np.zeros(len(X), int)")
    sub = make_submission(_model(body))
    before = {p.name: p.read_bytes() for p in sub.iterdir()}
    images = tiny_arrays[0].copy()
    original = images.copy()
    result = _run(sub, images, profile)
    assert result.ok, result.failure
    assert {p.name: p.read_bytes() for p in sub.iterdir()} == before
    assert np.array_equal(images, original)


def test_images_from_an_npz_path_are_loaded_by_the_child(make_submission, tiny_npz, tiny_arrays,
                                                         profile):
    result = _run(make_submission(), tiny_npz, profile)
    assert result.ok and result.n_images == 24
    assert np.array_equal(result.predictions, tiny_arrays[0][:, 0, 0, 0].astype(np.int64) % 8)


SERVER_SIZED_MODEL_PY = """
import numpy as np


class Model:
    def __init__(self):
        pass

    def predict(self, X):
        if len(X) > 10:
            raise MemoryError(f"{len(X)} images at once: more than the server ever sends")
        return X[:, 0, 0, 0].astype(np.int64) % 8
"""


def test_a_set_larger_than_the_hidden_set_goes_in_server_sized_calls(make_submission,
                                                                    tiny_arrays, profile):
    small = dataclasses.replace(profile, hidden_test_size=10)
    images = tiny_arrays[0]  # 24 images
    result = _run(make_submission(SERVER_SIZED_MODEL_PY), images, small)
    assert result.ok, result.failure
    np.testing.assert_array_equal(result.predictions, images[:, 0, 0, 0].astype(np.int64) % 8)
    assert [c["images"] for c in result.calls] == [10, 10, 4]
    assert all(c["peak_rss_mb"] > 0 and c["seconds"] >= 0 for c in result.calls)
    assert result.predict_s >= sum(c["seconds"] for c in result.calls) - 1e-6


def test_a_call_returning_the_wrong_number_of_labels_is_named(make_submission, tiny_arrays,
                                                              profile):
    body = _model("return X[:3, 0, 0, 0].astype(np.int64) % 8")
    small = dataclasses.replace(profile, hidden_test_size=10)
    result = _run(make_submission(body), tiny_arrays[0], small)
    assert not result.ok and result.failure.kind == "bad_output"
    assert "predict call 1 of 3" in result.failure.message


# The 2023 contract, run by this interpreter: what the ingestion does with it, not its
# TensorFlow (tests/scoring/test_runtime.py runs the real 2.14 runtime).
CODALAB_MODEL_PY = """
import os

import numpy as np


class model:
    def __init__(self, path):
        self.seen = (path, os.getcwd(), open(os.path.join(path, "weights.txt")).read())

    def predict(self, X):
        if os.environ.get("SEEN"):
            np.save(os.environ["SEEN"], np.array([*self.seen, str(X.dtype)]))
        return (X[:, 0, 0, 0].astype(np.int64) % 2)
"""


@pytest.fixture
def codalab_here(profile):
    """The 2023 profile with this interpreter's runtime: its contract, run here."""
    from harness.profile import get_profile

    return dataclasses.replace(get_profile("an2dl-2023-hw1"),
                               server_runtime=profile.server_runtime)


def test_the_2023_contract_gets_the_path_another_folder_and_float_pixels(
        make_submission, tiny_arrays, codalab_here, tmp_path, monkeypatch):
    sub = make_submission(CODALAB_MODEL_PY, metadata="", **{"weights.txt": "w1"})
    monkeypatch.setenv("SEEN", str(tmp_path / "seen.npy"))
    result = _run(sub, tiny_arrays[0], codalab_here)
    assert result.ok, result.failure
    kept = dict(zip(["path", "cwd", "weights", "dtype"], np.load(tmp_path / "seen.npy")))
    assert np.array_equal(result.predictions, tiny_arrays[0][:, 0, 0, 0] % 2)
    assert kept["path"].endswith("submission") and kept["weights"] == "w1"
    assert kept["cwd"] != kept["path"] and kept["dtype"] == "float32"


def test_a_relative_weights_path_fails_where_the_server_runs_elsewhere(
        make_submission, tiny_arrays, codalab_here):
    sub = make_submission(CODALAB_MODEL_PY.replace('os.path.join(path, "weights.txt")',
                                                   '"weights.txt"'),
                          metadata="", **{"weights.txt": "w1"})
    result = _run(sub, tiny_arrays[0], codalab_here)
    assert result.failure.kind == "init_error"
    assert result.failure.message.startswith("model(path) failed: FileNotFoundError")
    assert "os.path.join(path, NAME)" in result.failure.hint


def test_without_metadata_codalab_never_runs_it(make_submission, tiny_arrays, codalab_here):
    result = _run(make_submission(CODALAB_MODEL_PY), tiny_arrays[0], codalab_here)
    assert result.failure.kind == "missing_file" and result.exit_code is None
    assert "holds no metadata" in result.failure.message


def test_a_tensor_is_refused_where_the_server_takes_numpy_only(make_submission, tiny_arrays,
                                                               profile):
    numpy_only = dataclasses.replace(profile, contract=dataclasses.replace(
        profile.contract, predict_returns=("labels",)))
    sub = make_submission(_model("return tf.constant(X[:, 0, 0, 0] % 8)",
                                 header="import tensorflow as tf"))
    assert _run(sub, tiny_arrays[0], profile).ok
    refused = _run(sub, tiny_arrays[0], numpy_only)
    assert refused.failure.kind == "bad_output" and "TensorFlow" in refused.failure.message
