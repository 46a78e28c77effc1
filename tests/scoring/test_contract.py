"""The submission contract: static checks of model.py and checks of predict's output."""

from __future__ import annotations

import numpy as np
import pytest

from harness.scoring.contract import SubmissionError, check_predictions, check_source

N = 6


def _bad_output(pred, profile, match):
    with pytest.raises(SubmissionError, match=match) as info:
        check_predictions(pred, N, profile)
    assert info.value.kind == "bad_output"
    return info.value


def test_integer_labels_pass_and_whole_floats_become_int64(profile):
    out = check_predictions(np.array([0, 1, 2, 7, 7, 3], np.uint8), N, profile)
    assert out.dtype == np.int64 and out.tolist() == [0, 1, 2, 7, 7, 3]
    assert check_predictions([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], N, profile).tolist() == list(range(6))


def test_probabilities_say_the_argmax_is_missing(profile):
    probs = np.random.default_rng(0).dirichlet(np.ones(8), size=N)
    err = _bad_output(probs, profile, r"shape \(6, 8\).*the argmax is missing")
    assert "np.argmax" in err.hint


def test_one_hot_rows_say_the_argmax_is_missing(profile):
    _bad_output(np.eye(8)[[0, 1, 2, 3, 4, 5]], profile, "the argmax is missing")


def test_wrong_length_says_both_lengths(profile):
    _bad_output(np.zeros(4, np.int64), profile, "4 labels for 6 images")


def test_list_of_wrong_length(profile):
    _bad_output([1, 2, 3], profile, "a list of 3 items for 6 images")


def test_floats_not_whole(profile):
    _bad_output(np.array([0.5, 1, 2, 3, 4, 5]), profile, "not whole numbers")


def test_nan(profile):
    _bad_output(np.array([np.nan, 1, 2, 3, 4, 5]), profile, "1 NaN")


def test_none_asks_for_a_return(profile):
    err = _bad_output(None, profile, "predict returned None")
    assert "return" in err.hint


def test_out_of_range_labels(profile):
    _bad_output(np.array([0, 1, 2, 3, 4, 8]), profile, r"out of range \(min 0, max 8\)")


def test_good_source_passes_and_warns_about_missing_weights(make_submission, profile):
    sub = make_submission(
        "import numpy as np\nimport keras\nimport helpers\n"
        "class Model:\n    def __init__(self, tta=1):\n"
        "        self.m = keras.models.load_model('weights.keras')\n"
        "    def predict(self, X):\n        return helpers.f(X)\n",
        **{"helpers.py": "import os\ntry:\n    import keras_cv\nexcept ImportError:\n"
                         "    keras_cv = None\ndef f(X):\n    return X\n"})
    warnings = check_source(sub, profile)
    assert len(warnings) == 1 and "'weights.keras'" in warnings[0]


@pytest.mark.parametrize("code, kind, match", [
    ("x = 1\n", "no_model_class", "no class Model"),
    ("class Model:\n    def __init__(self):\n        pass\n", "no_predict", "no predict"),
    ("class Model:\n    def __init__(self, path):\n        pass\n"
     "    def predict(self, X):\n        return X\n", "bad_signature", r"needs arguments \(path\)"),
    ("class Model:\n    def predict(self):\n        return 1\n", "bad_signature", "takes no X"),
    ("import numpy as np\nimport keras_cv\nclass Model:\n    def predict(self, X):\n"
     "        return X\n", "forbidden_import", "line 2 imports 'keras_cv'"),
    ("class Model:\n    def predict(self, X)\n", "import_error", "SyntaxError"),
])
def test_bad_sources(make_submission, profile, code, kind, match):
    with pytest.raises(SubmissionError, match=match) as info:
        check_source(make_submission(code), profile)
    assert info.value.kind == kind


def test_forbidden_import_in_a_shipped_helper_module(make_submission, profile):
    sub = make_submission("from utils import f\nclass Model:\n    def predict(self, X):\n"
                          "        return f(X)\n", **{"utils.py": "import sklearn\n"})
    with pytest.raises(SubmissionError, match="utils.py line 1 imports 'sklearn'"):
        check_source(sub, profile)


def test_no_model_py(make_submission, profile):
    with pytest.raises(SubmissionError, match="no model.py") as info:
        check_source(make_submission(None), profile)
    assert info.value.kind == "no_model_py"


def test_model_py_in_a_subfolder_says_how_to_zip(make_submission, profile):
    sub = make_submission(None)
    (sub / "inner").mkdir()
    (sub / "inner" / "model.py").write_text("class Model: pass\n")
    with pytest.raises(SubmissionError, match="sits in the subfolder inner/") as info:
        check_source(sub, profile)
    assert "zip -r ../sub.zip ." in info.value.hint


def test_predict_needing_more_than_x(make_submission, profile):
    sub = make_submission("class Model:\n    def predict(self, X, batch):\n        return X\n")
    with pytest.raises(SubmissionError, match=r"besides X \(batch\)"):
        check_source(sub, profile)


def test_a_2024_zip_under_the_2023_profile_is_refused_in_one_line(make_submission):
    from harness.profile import get_profile

    with pytest.raises(SubmissionError) as e:
        check_source(make_submission(), get_profile("an2dl-2023-hw1"))
    message = e.value.message
    assert "\n" not in message and e.value.kind == "missing_file"
    assert "holds no metadata" in message and "defines no class model" in message
    assert "Model.__init__(self) takes no path; the server calls model(path)" in message


def test_rows_are_argmaxed_where_the_server_accepts_them(profile):
    import dataclasses

    def accepting(*kinds):
        return dataclasses.replace(profile, contract=dataclasses.replace(
            profile.contract, predict_returns=("labels", *kinds)))

    probs = np.array([[0.1, 0.9] + [0.0] * 6, [0.7, 0.3] + [0.0] * 6])
    assert check_predictions(probs, 2, accepting("probabilities")).tolist() == [1, 0]
    onehot = np.eye(8)[[3, 5]]
    assert check_predictions(onehot, 2, accepting("onehot")).tolist() == [3, 5]
    with pytest.raises(SubmissionError, match="not one-hot"):
        check_predictions(probs, 2, accepting("onehot"))
