"""harness.shipping.crossversion: from a Keras newer than the server's to a zip it loads.

The first tests run in this suite's own runtime (the server's TensorFlow 2.17 / Keras
3.4.1, from constraints.txt). The last one crosses real versions: a cached virtualenv
with the newest TensorFlow and Keras the package index serves (tests/newer_runtime.py,
built by .ci/run before `make test`) trains a tiny experiment for one step, packs it
and verifies the zip on the server's runtime, as a team on Colab does; and saves a
model with its own `model.save`, which `score` and `verify` must name in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile

import keras
import numpy as np
import pytest
from conftest import TINY_BUILD_PY, make_trained_experiment
from newer_runtime import env as newer_env
from newer_runtime import newer_python

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.experiments import get_experiment
from harness.profile import get_profile
from harness.scoring.kerasfiles import WAY_OUT, server_keras
from harness.shipping.crossversion import choose_format
from harness.shipping.optimize import optimize_file
from harness.shipping.packing import pack
from harness.shipping.verify import server_python


def test_auto_ships_a_savedmodel_exactly_when_the_keras_here_is_newer(profile):
    newer = choose_format(profile, "auto", keras_here="3.15.1")
    assert newer.format == "savedmodel"
    assert "3.15.1" in newer.why and "3.4.1" in newer.why and "TFSMLayer" in newer.why
    assert choose_format(profile, "auto", keras_here="3.4.1").format == "keras"
    assert choose_format(profile, "auto", keras_here="3.3.3").format == "keras"
    assert choose_format(profile, "keras", keras_here="3.15.1").format == "keras"
    with pytest.raises(HarnessError, match="unknown format"):
        choose_format(profile, "onnx")


def test_a_savedmodel_zip_loads_here_and_predicts_the_keras_files_labels(
        tmp_path, profile, _tiny_weights, submission_model):
    experiment = make_trained_experiment(tmp_path, profile, weights_from=_tiny_weights)
    result = pack(experiment, profile, out=tmp_path / "dist", format="savedmodel")
    names = [f["name"] for f in result.files]
    assert result.format == "savedmodel" and "asked for" in result.format_why
    assert "weights.savedmodel/saved_model.pb" in names
    assert not any(n.endswith(".keras") for n in names)
    assert result.optimized and result.optimized[0]["rewritten"]  # exported after the rewrite
    with zipfile.ZipFile(result.zip) as z:
        z.extractall(tmp_path / "unzipped")
    images = np.random.default_rng(3).integers(0, 256, (16, 96, 96, 3), dtype=np.uint8)
    served = submission_model(tmp_path / "unzipped").predict(images)
    keras_files = submission_model(get_experiment(experiment).stage(tmp_path / "staged"))
    np.testing.assert_array_equal(served, keras_files.predict(images))


def test_packing_a_newer_keras_file_under_the_servers_says_so_in_one_line(tmp_path, profile):
    """A run trained on Colab, packed here: the optimizer's load is the first to fail."""
    path = tmp_path / "weights.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps({"class_name": "Functional", "config": {}}))
    with pytest.raises(HarnessError) as raised:
        optimize_file(path, tmp_path / "out.keras", np.zeros((2, 96, 96, 3), np.uint8))
    assert raised.value.message.startswith(
        f"weights.keras (Keras 3.15.1) saved by a Keras newer than the {keras.__version__} "
        f"that ran it, which cannot load it (")
    assert "\n" not in raised.value.message and raised.value.hint == WAY_OUT


# Crossing real versions --------------------------------------------------------------

# Runs in the newest-Keras virtualenv: train one step, pack, verify on the server's
# runtime; then a user's own model.save beside a model.py that loads it, verified too.
NEWER_SCRIPT = r'''
import json, sys, time
from pathlib import Path

spec = json.loads(Path(sys.argv[1]).read_text())
seconds = {}
start = time.perf_counter()
import keras, tensorflow as tf
from harness.profile import get_profile
from harness.shipping import pack, verify_zip
from harness.training import train

profile = get_profile()
step = time.perf_counter()
seconds["import"] = step - start


def lap(name):
    global step
    now = time.perf_counter()
    seconds[name], step = now - step, now


trained = train("tiny_exp", data=spec["data"], epochs=1, overrides={"batch_size": 32},
                progress=False)
lap("train")
packed = pack("tiny_exp", profile, out=spec["out"], data=spec["data"])
lap("pack")
verified = verify_zip(packed.zip, profile, n=24, data=spec["data"],
                      python=spec["server_python"])
lap("verify")
user = Path(spec["user"])
user.mkdir()
keras.models.load_model(trained.weights[0], compile=False).save(user / "model.keras")
(user / "model.py").write_text(spec["user_model_py"])
users = verify_zip(user, profile, n=24, data=spec["data"], python=spec["server_python"])
lap("verify_user")
Path(spec["result"]).write_text(json.dumps({
    "keras": keras.__version__, "tensorflow": tf.__version__, "steps": trained.n_train,
    "zip": str(packed.zip), "format": packed.format, "format_why": packed.format_why,
    "files": [f["name"] for f in packed.files], "optimized": packed.optimized,
    "verify": {k: getattr(verified, k) for k in ("ok", "same_labels", "n_images",
               "versions_here", "versions_there", "failure_there")},
    "user_verify": {k: getattr(users, k) for k in ("ok", "ok_here", "loads_there",
                    "failure_there")},
    "seconds": seconds}))
'''

# What a team writes around its own `model.save("model.keras")`.
USER_MODEL_PY = """
import os

import keras
import numpy as np


class Model:
    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.model = keras.models.load_model(os.path.join(here, "model.keras"))

    def predict(self, X):
        return np.argmax(self.model.predict(X, verbose=0), axis=1)
"""


def server_runtime_python(profile) -> str:
    """This suite's interpreter when it is the server's exact runtime (make installs it
    from constraints.txt), else `harness verify`'s cached one."""
    import tensorflow as tf

    if keras.__version__ == server_keras(profile) and \
            tf.__version__ == profile.server_runtime["tensorflow-cpu"].lstrip("="):
        return sys.executable
    return str(server_python(profile)[0])


def cross(root):
    """Run NEWER_SCRIPT in the newest-Keras virtualenv under `root`; its result and root."""
    try:
        newer = newer_python()
    except HarnessError as e:
        pytest.skip(f"no virtualenv with the newest TensorFlow and Keras, and none could be "
                    f"built (offline?): {e.message[:200]}")
    profile = get_profile()
    experiment = root / "experiments" / "tiny_exp"
    experiment.mkdir(parents=True)
    (experiment / "config.py").write_text("CONFIG = {'seed': 0}\n")
    (experiment / "build.py").write_text(TINY_BUILD_PY)
    rng = np.random.default_rng(5)
    data = save_dataset(root / "tiny.npz", rng.integers(0, 256, (24, 96, 96, 3), np.uint8),
                        np.repeat(np.arange(8), 3).astype(np.uint8))
    spec = {"data": str(data), "out": str(root / "dist"), "user": str(root / "user"),
            "result": str(root / "result.json"), "user_model_py": USER_MODEL_PY,
            "server_python": server_runtime_python(profile)}
    (root / "spec.json").write_text(json.dumps(spec))
    (root / "script.py").write_text(NEWER_SCRIPT)
    start = time.monotonic()
    done = subprocess.run([str(newer), str(root / "script.py"), str(root / "spec.json")],
                          env=newer_env(HARNESS_EXPERIMENTS=str(root / "experiments")),
                          cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((root / "result.json").read_text())
    result["wall_s"] = time.monotonic() - start
    print(f"\ncrossed {result['keras']} -> {server_keras(profile)}: {result['seconds']}, "
          f"{result['wall_s']:.1f} s in all")
    return result


# One test, so that pytest-xdist runs the newer virtualenv's minute on one worker only.
def test_packed_under_the_newest_keras_verifies_on_the_servers_and_model_save_is_named(
        tmp_path, runner, monkeypatch, profile):
    result = cross(tmp_path)
    server = server_keras(profile)

    # A zip packed under the newest Keras: a SavedModel, same labels on the server's runtime.
    assert result["keras"] != server, "the index served no newer Keras"
    assert result["format"] == "savedmodel" and result["keras"] in result["format_why"]
    assert "weights.savedmodel/saved_model.pb" in result["files"]
    assert result["optimized"][0]["rewritten"]
    verify = result["verify"]
    assert verify["versions_here"]["keras"] == result["keras"]
    assert verify["versions_there"]["keras"] == server
    assert verify["ok"] and verify["same_labels"] and verify["n_images"] == 24, verify

    # A user's own model.save: verify (run by the newer Keras) and score (run here, on
    # the server's runtime) name the two versions and the way out in one line.
    expected = (f"model.keras (Keras {result['keras']}) saved by a Keras newer than the "
                f"{server} that ran it, which cannot load it")
    user = result["user_verify"]
    assert user["ok_here"] and not user["loads_there"] and not user["ok"]
    assert user["failure_there"].startswith(f"[keras_version] {expected}")
    assert WAY_OUT in user["failure_there"].splitlines()[0]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    out = runner.invoke(main, ["score", str(tmp_path / "user"), "--testset",
                               str(tmp_path / "tiny.npz")])
    assert out.exit_code != 0
    text = " ".join(out.output.split())  # rich wraps long lines at the terminal's width
    assert "FAILED (keras_version)" in text and expected in text, out.output
    assert f"hint: {WAY_OUT}" in text


def test_packed_for_the_2023_server_it_loads_and_predicts_alike_on_tensorflow_2_14(
        tmp_path, runner, monkeypatch):
    from an2dl_2023 import PROFILE, runtime_2023

    runtime_2023()
    profile = get_profile(PROFILE)
    make_trained_experiment(tmp_path, profile)
    monkeypatch.setenv("HARNESS_EXPERIMENTS", str(tmp_path / "experiments"))
    rng = np.random.default_rng(2)
    data = save_dataset(tmp_path / "plants.npz", rng.integers(0, 256, (16, 96, 96, 3), np.uint8),
                        np.repeat([0, 1], 8))
    packed = pack("tiny_exp", profile, out=tmp_path / "dist", data=data, n_smoke=8)
    names = {f["name"] for f in packed.files}
    # Keras 2.14 reads no Keras 3 file: a SavedModel, TensorFlow's own format, behind the
    # template, whose class the 2023 server imports as `model`, and CodaLab's marker.
    assert packed.format == "savedmodel" and "tf.saved_model.load" in packed.format_why
    assert "metadata" in names and "weights.savedmodel/saved_model.pb" in names
    assert not any(n.endswith(".keras") for n in names)
    with zipfile.ZipFile(packed.zip) as z:
        assert "model = Model" in z.read("model.py").decode()

    out = runner.invoke(main, ["verify", str(packed.zip), "--profile", PROFILE, "--n", "8",
                               "--json"])
    verified = json.loads(out.output)
    assert out.exit_code == 0 and verified["ok"] and verified["same_labels"], out.output
    assert verified["versions_there"]["keras"] == "2.14.0" and verified["compared"] is False
