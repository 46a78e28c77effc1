"""A model.py that loads a weight file the submission lacks gets a hint naming the file
that is there and the rename that fixes it: before a run (the contract's warning) and
after one (the failure's hint). The case of the real zip irondog421-cnn-87.43.zip, here
as a tiny numpy-only folder."""

from __future__ import annotations

from harness.scoring.contract import Failure, check_source
from harness.scoring.ingestion import run_submission
from harness.scoring.weightfiles import explain_missing, missing

# What the course template does, without TensorFlow: open the weights in Model().
LOADS_WEIGHTS = """
import numpy as np


class Model:
    def __init__(self):
        with open("weights.keras", "rb") as f:
            self.bias = len(f.read())

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)
"""
RENAME = "mv CNN_87.43.keras weights.keras"


def test_the_contract_names_the_file_that_is_there_and_the_rename(make_submission, profile):
    sub = make_submission(LOADS_WEIGHTS, **{"CNN_87.43.keras": "not really keras"})
    [warning] = [w for w in check_source(sub, profile) if "weights.keras" in w]
    assert "line 7" in warning and "'CNN_87.43.keras'" in warning and RENAME in warning


def test_a_run_that_fails_on_the_missing_file_hints_the_rename(make_submission, tiny_arrays,
                                                               profile):
    sub = make_submission(LOADS_WEIGHTS, **{"CNN_87.43.keras": "not really keras"})
    result = run_submission(sub, tiny_arrays[0][:4], profile, time_limit_s=60)
    assert result.failure.kind == "init_error" and "weights.keras" in result.failure.message
    assert RENAME in result.failure.hint and "'CNN_87.43.keras'" in result.failure.hint
    # Renamed as the hint says, it runs.
    (sub / "CNN_87.43.keras").rename(sub / "weights.keras")
    assert run_submission(sub, tiny_arrays[0][:4], profile, time_limit_s=60).ok


def test_several_candidates_or_none_say_so(make_submission):
    many = make_submission(LOADS_WEIGHTS, name="many", **{"a.keras": "", "b.keras": "",
                                                          "notes.txt": ""})
    [gone] = missing(many)
    assert gone.present == ("a.keras", "b.keras")
    failure = Failure("init_error", "Model() failed: FileNotFoundError: [Errno 2] No such "
                      "file or directory: 'weights.keras'", "the traceback is the submission's")
    hint = explain_missing(failure, many).hint
    assert "'a.keras', 'b.keras'" in hint and "rename the one model.py should load" in hint
    none = make_submission(LOADS_WEIGHTS, name="none")
    assert "holds no weight file: save the trained model as weights.keras" in \
        explain_missing(failure, none).hint


def test_other_failures_keep_their_hint(make_submission):
    sub = make_submission(LOADS_WEIGHTS, **{"weights.keras": ""})
    failure = Failure("init_error", "Model() failed: ValueError: bad", "the submission's own")
    assert explain_missing(failure, sub) is failure
    assert missing(sub) == []
