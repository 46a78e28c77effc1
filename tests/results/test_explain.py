"""Grad-CAM and `harness explain`, on a tiny hand-wired model whose evidence is known.

The model sees one thing: bright pixels. A 3x3 conv (stride 4) fires where the mean
brightness passes 200; global pooling and a dense head turn that into class 1, and a
constant channel into class 0. A bright square planted in a dark image decides the
class, so its heat map must peak on the square.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import terminal_stderr

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.experiments import TEMPLATE_DIR
from harness.scoring.scorer import score
from harness.testset.store import load_testset

PATCH = 16


def _tiny_model(cut_gradient: bool = False, unit: float = 1.0):
    """The bright-square model for pixels 0-255 (unit 1) or 0-1 (unit 1/255)."""
    import keras

    inputs = keras.Input((96, 96, 3))
    bright = keras.layers.Conv2D(2, 3, strides=4, padding="same", name="bright")(inputs)
    x = keras.layers.Activation("relu", name="fires")(bright)
    if cut_gradient:
        x = keras.layers.Lambda(lambda t: keras.ops.stop_gradient(t), name="cut")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(8, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="tiny_bright")
    kernel = np.zeros((3, 3, 3, 2), np.float32)
    kernel[..., 0] = 1 / 27  # mean brightness of the 3x3 window
    model.get_layer("bright").set_weights([kernel, np.array([-200.0 * unit, 1.0], np.float32)])
    dense = np.zeros((2, 8), np.float32)
    dense[0, 1], dense[1, 0] = 40.0 / unit, 1.0  # bright evidence -> class 1, the constant -> 0
    model.get_layer("head").set_weights([dense, np.zeros(8, np.float32)])
    return model


@pytest.fixture(scope="session")
def tiny_model():
    return _tiny_model()


def _image(rng, at=None):
    image = rng.integers(0, 80, (96, 96, 3)).astype(np.uint8)
    if at is not None:
        r, c = at
        image[r:r + PATCH, c:c + PATCH] = 250
    return image


@pytest.mark.parametrize("at", [(60, 20), (8, 70)])
def test_heat_map_has_the_image_size_and_peaks_on_the_planted_patch(tiny_model, at):
    from harness.results.gradcam import grad_cam

    image = _image(np.random.default_rng(0), at)[None]
    assert tiny_model.predict_on_batch(image.astype(np.float32)).argmax() == 1
    maps = grad_cam(tiny_model, image, np.array([1]))
    assert maps.shape == (1, 96, 96) and maps.dtype == np.float32
    assert maps.max() == pytest.approx(1.0) and maps.min() >= 0
    row, col = np.unravel_index(maps[0].argmax(), (96, 96))
    slack = 4  # one feature-map cell of the stride-4 conv
    assert at[0] - slack <= row < at[0] + PATCH + slack
    assert at[1] - slack <= col < at[1] + PATCH + slack
    # Far from the patch the map is cold.
    far = maps[0, (at[0] + 48) % 96, (at[1] + 48) % 96]
    assert far < 0.1


def test_the_last_feature_map_is_found_at_any_depth(tiny_model):
    import keras

    from harness.results.gradcam import find_conv_layer

    assert find_conv_layer(tiny_model).name == "fires"
    assert find_conv_layer(tiny_model, "bright").name == "bright"
    with pytest.raises(HarnessError, match="no layer named 'nope'") as e:
        find_conv_layer(tiny_model, "nope")
    assert "fires" in e.value.hint
    # A backbone nested in the model, as the transfer experiments build it, frozen.
    inputs = keras.Input((96, 96, 3))
    x = keras.layers.Rescaling(1.0)(inputs)
    inner = _tiny_model()
    inner.trainable = False
    outer = keras.Model(inputs, inner(x), name="outer")
    assert find_conv_layer(outer).name == "fires"
    from harness.results.gradcam import grad_cam

    image = _image(np.random.default_rng(1), (40, 40))[None]
    row, col = np.unravel_index(grad_cam(outer, image, np.array([1]))[0].argmax(), (96, 96))
    assert 36 <= row < 60 and 36 <= col < 60


def test_a_model_with_no_gradient_path_is_one_clear_error():
    from harness.results.gradcam import grad_cam

    with pytest.raises(HarnessError, match="cannot be differentiated"):
        grad_cam(_tiny_model(cut_gradient=True), _image(np.random.default_rng(0), (0, 0))[None],
                 np.array([1]))


# A course-template model.py: loads weights.keras from the working folder, divides by 255.
COURSE_MODEL_PY = """
import numpy as np
from tensorflow import keras


class Model:
    def __init__(self):
        self.neural_network = keras.models.load_model("weights.keras")

    def predict(self, X):
        return np.argmax(self.neural_network.predict(X / 255.0), axis=1)  # a progress bar
"""


def _testset(tmp_path):
    """Two families in which bright cells labelled 3 are confident mistakes (3 taken for
    1), dark ones labelled 5 unsure ones (5 taken for 0)."""
    rng = np.random.default_rng(2)
    images, labels, groups = [], [], []
    for family in ("clean", "noise"):
        for i in range(12):
            bright = i % 2 == 0
            corner = (rng.integers(0, 80), rng.integers(0, 80)) if bright else None
            images.append(_image(rng, corner))
            labels.append((1 if i % 4 == 0 else 3) if bright else (0 if i % 3 else 5))
            groups.append(family)
    return save_dataset(tmp_path / "ts.npz", np.stack(images), np.array(labels),
                        groups=np.array(groups))


@pytest.fixture
def explain_case(tmp_path, tiny_model):
    """The tiny model as a submission of the harness's template, and the test set."""
    folder = tmp_path / "sub"
    folder.mkdir()
    for name in ("model.py", "harness_runtime.py"):
        shutil.copy(TEMPLATE_DIR / name, folder / name)
    tiny_model.save(folder / "weights.keras")
    return folder, _testset(tmp_path)


def test_explain_draws_the_most_confident_mistakes_per_family_and_pair(explain_case, tmp_path):
    from harness.results.explain import explain, read_explanations

    folder, npz = explain_case
    before = sorted(p.name for p in folder.iterdir())
    with terminal_stderr() as err:
        result = explain(folder, testset=npz, n=3, out=tmp_path / "explain" / "sub",
                         progress=True)
    shown = err.getvalue()  # a bar per phase, for a person at a terminal
    assert "predict:" in shown and "Grad-CAM:" in shown and "galleries:" in shown
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing enters the submission
    assert result.layer == "fires" and result.models == 1 and result.n_images == 24
    assert result.input_scale == 1.0
    kinds = {(g.kind, g.key) for g in result.galleries}
    assert {("family", "clean"), ("family", "noise"), ("pair", "3-1"), ("pair", "5-0")} <= kinds
    pair = next(g for g in result.galleries if g.key == "3-1")
    assert pair.n_mistakes == 6 and len(pair.items) == 3
    confidences = [m.confidence for m in pair.items]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] > 0.99
    assert all(m.true == 3 and m.pred == 1 for m in pair.items)
    for gallery in result.galleries:
        from PIL import Image

        with Image.open(gallery.png) as sheet:
            assert sheet.width >= 3 * 192  # image and heat map side by side, per mistake
    summaries = read_explanations(tmp_path / "explain")
    assert [s["experiment"] for s in summaries] == ["sub"]
    assert json.loads((tmp_path / "explain" / "sub" / "explain.json").read_text())[
        "n_mistakes"] == result.n_mistakes


def test_cli_explain_json_and_a_numpy_submission_is_one_line(explain_case, tmp_path, runner,
                                                             tty_runner, make_submission,
                                                             monkeypatch):
    folder, npz = explain_case
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    out = tty_runner.invoke(main, ["explain", str(folder), "--testset", str(npz), "--n", "2",
                                   "--out", str(tmp_path / "x"), "--name", "tiny@1", "--json"])
    assert out.exit_code == 0, out.output
    assert not (tmp_path / "data").exists()  # its galleries, and no leaderboard database
    assert "predict:" not in out.output  # no bar under --json, even at a terminal
    result = json.loads(out.stdout)
    assert result["experiment"] == "tiny@1" and result["galleries"][0]["items"][0]["confidence"] > 0
    shown = tty_runner.invoke(main, ["explain", str(folder), "--testset", str(npz), "--n", "2",
                                     "--out", str(tmp_path / "x"), "--name", "tiny@1"])
    assert shown.exit_code == 0 and "Grad-CAM:" in shown.stderr and "galleries" in shown.stdout
    numpy_only = make_submission(name="numpy_sub")
    out = runner.invoke(main, ["explain", str(numpy_only), "--testset", str(npz)])
    assert out.exit_code == 2
    assert "not a Keras submission" in out.output and "Traceback" not in out.output
    # What pack ships from a newer Keras: a SavedModel, a graph with no layers.
    served = make_submission(name="served_sub")
    (served / "model.savedmodel").mkdir()
    (served / "model.savedmodel" / "saved_model.pb").write_bytes(b"")
    out = runner.invoke(main, ["explain", str(served), "--testset", str(npz)])
    assert out.exit_code == 2 and "SavedModel" in out.output and "Traceback" not in out.output


def test_a_course_zip_that_divides_by_255_is_fed_as_its_model_py_feeds_it(tmp_path, runner):
    import zipfile

    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "model.py").write_text(COURSE_MODEL_PY)
    _tiny_model(unit=1 / 255).save(folder / "weights.keras")
    zipped = tmp_path / "course.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    out = runner.invoke(main, ["explain", str(zipped), "--testset", str(_testset(tmp_path)),
                               "--n", "2", "--out", str(tmp_path / "out"), "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)  # model.py's progress bar kept out of the JSON
    assert result["input_scale"] == pytest.approx(1 / 255)
    pair = next(g for g in result["galleries"] if g["key"] == "3-1")
    assert pair["n_mistakes"] == 6 and pair["items"][0]["confidence"] > 0.99


def test_explain_after_score_reuses_its_labels_and_says_so(explain_case, tmp_path,
                                                           monkeypatch, profile):
    from harness.results.explain import explain

    folder, npz = explain_case
    monkeypatch.chdir(tmp_path)
    fresh = explain(folder, testset=npz, n=3, out=tmp_path / "x")
    assert fresh.predictions.startswith("predicted here")
    scored = score(folder, load_testset(npz, profile), profile)
    assert scored.ok
    result = explain(folder, testset=npz, n=3, out=tmp_path / "x")
    assert result.predictions.startswith("reused the labels harness score kept")
    assert result.accuracy == pytest.approx(scored.metrics.accuracy)
    assert {g.key for g in result.galleries} == {g.key for g in fresh.galleries}
