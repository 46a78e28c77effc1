"""harness.scoring.runtime: which Python runs a submission, and the 2023 server's runtime.

The last tests run the real TensorFlow 2.14 runtime (tests/an2dl_2023.py, built once
per machine by .ci/run): a 2023 team's submission, made there as a SavedModel folder
and as a `.keras` file, scores under the 2023 profile through `score` and `verify`,
exactly as the course zips did on CodaLab.
"""

from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pytest
from an2dl_2023 import PROFILE, make_2023_submissions, runtime_2023

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.profile import get_profile
from harness.scoring.runtime import runs_here, runtime_python


def test_this_interpreter_stands_in_for_the_2024_server_not_the_2023_one():
    assert runs_here(get_profile("an2dl-2024-hw1")) and runtime_python(
        get_profile("an2dl-2024-hw1")) is None
    assert not runs_here(get_profile(PROFILE))  # Keras 3 here, Keras 2 there


def test_a_runtime_not_built_yet_is_one_line_saying_how(tmp_path):
    with pytest.raises(HarnessError) as e:
        runtime_python(get_profile(PROFILE), root=tmp_path)
    assert "\n" not in e.value.message and "tensorflow-cpu==2.14.1" in e.value.message
    assert e.value.hint.endswith(f"harness profile runtime --profile {PROFILE}")


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    """40 images whose label is their brightness, as the tiny 2023 model says."""
    rng = np.random.default_rng(1)
    images = np.concatenate([rng.integers(0, 90, (20, 96, 96, 3)),
                             rng.integers(165, 256, (20, 96, 96, 3))]).astype(np.uint8)
    labels = np.repeat([0, 1], 20)
    return save_dataset(tmp_path_factory.mktemp("plants") / "plants.npz", images, labels)


def _zip(folder, dest):
    with zipfile.ZipFile(dest, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return dest


# One test for both formats: the 2.14 runtime's minute goes to one pytest-xdist worker.
def test_a_2023_submission_made_under_tensorflow_2_14_scores_under_its_profile(
        plants, runner, tmp_path):
    runtime_2023()
    scores = {}
    names = ["SubmissionModel", "model.keras"]
    for name, folder in zip(names, make_2023_submissions(tmp_path, names)):
        zipped = _zip(folder, tmp_path / f"{folder.name}.zip")
        out = runner.invoke(main, ["score", str(zipped), "--testset", str(plants), "--profile",
                                   PROFILE, "--db", f"sqlite:///{tmp_path / 'lb.sqlite'}",
                                   "--json"])
        assert out.exit_code == 0, out.output
        result = json.loads(out.output)
        assert result["ok"] and result["versions"]["tensorflow"] == "2.14.1"
        assert result["versions"]["keras"] == "2.14.0" and len(result["calls"]) == 1
        scores[name] = result["metrics"]["accuracy"]
    assert scores == {"SubmissionModel": 1.0, "model.keras": 1.0}

    # The same zip under the 2024 profile: the class and the constructor, in one line.
    out = runner.invoke(main, ["score", str(tmp_path / "SubmissionModel.zip"), "--testset",
                               str(plants), "--db", f"sqlite:///{tmp_path / 'lb.sqlite'}"])
    assert out.exit_code == 1
    assert "defines no class Model" in out.output and "model.__init__ needs arguments (path)" \
        in " ".join(out.output.split())

    # verify: it loads on the 2.14 runtime; this Keras 3 cannot read a Keras 2 SavedModel,
    # which says nothing against the zip.
    out = runner.invoke(main, ["verify", str(tmp_path / "SubmissionModel.zip"), "--profile",
                               PROFILE, "--n", "8", "--json"])
    assert out.exit_code == 0, out.output
    verified = json.loads(out.output)
    assert verified["loads_there"] and not verified["compared"] and verified["ok"]
    assert verified["python"] != sys.executable
