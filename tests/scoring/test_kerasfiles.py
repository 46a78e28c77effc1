"""harness.scoring.kerasfiles: the Keras version a .keras file was saved by, and the one
line a run that could not load it ends in.

Fast: the .keras files here are zips holding only a metadata.json, which is all the
version check reads. A real file from a real newer Keras is in
tests/shipping/test_crossversion.py.
"""

from __future__ import annotations

import json
import zipfile

from harness.scoring.contract import Failure, check_source
from harness.scoring.kerasfiles import (
    WAY_OUT,
    explain_failure,
    newer,
    saved_keras_version,
    server_keras,
    version_tuple,
    version_warnings,
)


def fake_keras_file(path, version):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": version,
                                                "date_saved": "2026-11-30@02:00:49"}))
    return path


def test_versions_compare_as_releases_not_strings():
    assert version_tuple("3.15.1") == (3, 15, 1)
    assert version_tuple("3.10.0.dev2024") == (3, 10, 0)
    assert newer("3.15.1", "3.4.1") and not newer("3.4.1", "3.4.1")
    assert not newer("3.4.0", "3.4.1") and not newer(None, "3.4.1") and not newer("3.5", None)


def test_the_server_keras_is_the_profiles_exact_pin(profile):
    assert server_keras(profile) == "3.4.1"


def test_metadata_gives_the_saving_version(tmp_path):
    assert saved_keras_version(fake_keras_file(tmp_path / "w.keras", "3.15.1")) == "3.15.1"
    (tmp_path / "broken.keras").write_text("not a zip")
    assert saved_keras_version(tmp_path / "broken.keras") is None


def test_check_source_warns_about_a_newer_keras_file_in_one_line(make_submission, profile):
    folder = make_submission()
    fake_keras_file(folder / "weights.keras", "3.15.1")
    fake_keras_file(folder / "old.keras", "3.4.1")
    warnings = check_source(folder, profile)
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "weights.keras (Keras 3.15.1)" in warnings[0] and "old.keras" not in warnings[0]
    assert "3.4.1" in warnings[0] and WAY_OUT in warnings[0]
    assert version_warnings(make_submission(name="plain"), profile) == []


def test_a_load_failure_becomes_the_version_mismatch_with_the_way_out(tmp_path):
    fake_keras_file(tmp_path / "weights.keras", "3.15.1")
    traceback = ("Traceback (most recent call last):\n  File ...\nTypeError: GlorotUniform."
                 "__init__() got an unexpected keyword argument 'input_axes'\n\nDuring "
                 "handling of the above exception, another exception occurred:\n...")
    failure = Failure("init_error", "Model() failed: TypeError: <class 'Functional'> could "
                      "not be deserialized properly.\nconfig={...}", "hint", traceback)
    explained = explain_failure(failure, tmp_path, "3.4.1")
    assert explained.kind == "keras_version" and explained.traceback == traceback
    assert explained.message == (
        "weights.keras (Keras 3.15.1) saved by a Keras newer than the 3.4.1 that ran it, "
        "which cannot load it (TypeError: GlorotUniform.__init__() got an unexpected "
        "keyword argument 'input_axes')")
    assert "\n" not in explained.message and explained.hint == WAY_OUT
    # Another failure, or a file the runtime's Keras can read, is left as it was.
    assert explain_failure(failure, tmp_path, "3.15.1") is failure
    predict = Failure("predict_error", "predict(X) failed: ValueError")
    assert explain_failure(predict, tmp_path, "3.4.1") is predict


def test_a_missing_weights_file_is_not_blamed_on_the_keras_version(tmp_path):
    """A real course zip holds CNN_87.43.keras (Keras 3.6.0) and loads 'weights.keras'."""
    fake_keras_file(tmp_path / "CNN_87.43.keras", "3.6.0")
    failure = Failure("init_error", "Model() failed: ValueError: File not found: "
                      "filepath=weights.keras. Please ensure the file is an accessible "
                      "`.keras` zip file.")
    assert explain_failure(failure, tmp_path, "3.4.1") is failure


def test_releases_known_to_load_on_the_server_get_no_warning(make_submission, profile):
    """Course zips saved by Keras 3.6.0 load on 3.4.1; 3.7 is not known to."""
    folder = make_submission()
    fake_keras_file(folder / "course.keras", "3.6.0")
    fake_keras_file(folder / "patch.keras", "3.5.2")
    assert version_warnings(folder, profile) == []
    fake_keras_file(folder / "later.keras", "3.7.0")
    fake_keras_file(folder / "much_later.keras", "3.15.1")
    [warning] = version_warnings(folder, profile)
    assert "later.keras (Keras 3.7.0)" in warning and "much_later.keras" in warning
    assert "course.keras" not in warning and "patch.keras" not in warning
    # A run that fails to load one still names it: knowing is not proof for every model.
    failure = Failure("init_error", "Model() failed: TypeError: could not be deserialized")
    assert "course.keras (Keras 3.6.0)" in explain_failure(failure, folder, "3.4.1").message


def test_a_keras_3_file_on_the_2023_keras_2_names_tensorflows_own_loader(tmp_path):
    from harness.scoring.kerasfiles import WAY_OUT_KERAS2

    fake_keras_file(tmp_path / "weights.keras", "3.4.1")
    # What TensorFlow 2.14's Keras says of a Keras 3 file (measured in its virtualenv).
    failure = Failure("init_error", "model(path) failed: TypeError: Could not deserialize "
                      "class 'Functional' because its parent module keras.src.models."
                      "functional cannot be imported.")
    explained = explain_failure(failure, tmp_path, "2.14.0")
    assert explained.kind == "keras_version" and explained.hint == WAY_OUT_KERAS2
    assert "weights.keras (Keras 3.4.1) saved by a Keras newer than the 2.14.0" in \
        explained.message and "tf.saved_model.load" in WAY_OUT_KERAS2


def test_a_model_format_the_servers_runtime_does_not_load_is_a_warning(make_submission,
                                                                       profile):
    from harness.profile import get_profile

    folder = make_submission()
    (folder / "SubmissionModel" / "variables").mkdir(parents=True)
    for name in ("saved_model.pb", "keras_metadata.pb"):
        (folder / "SubmissionModel" / name).write_bytes(b"")
    warnings = check_source(folder, profile)
    assert warnings == ["SubmissionModel is a savedmodel model, which the an2dl-2024-hw1 "
                        "server's runtime (tensorflow-cpu==2.17.0, keras==3.4.1, numpy<2) "
                        "does not load (it loads keras, h5, tf_savedmodel)"]
    (folder / "metadata").touch()
    (folder / "model.py").write_text("class model:\n    def __init__(self, path):\n        "
                                     "pass\n\n    def predict(self, X):\n        return X\n")
    assert check_source(folder, get_profile("an2dl-2023-hw1")) == []
