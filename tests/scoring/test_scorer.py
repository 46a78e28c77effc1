"""Scoring end to end: test sets, metrics against scikit-learn, stored rows, the CLI."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
from sklearn import metrics as skm

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.experiments import TEMPLATE_DIR
from harness.results.keeping import score_and_keep
from harness.results.leaderboard import Leaderboard
from harness.scoring.scorer import compute_metrics, confusion_png, score
from harness.testset.store import load_testset


@pytest.fixture
def project(tmp_path, monkeypatch, tiny_arrays):
    """A project folder (cwd) with a named test set tagged with groups and severity."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    images, labels = tiny_arrays
    folder = tmp_path / "data" / "testsets" / "mini"
    save_dataset(folder / "testset.npz", images, labels,
                 groups=np.array(["gaussian_noise", "defocus_blur", "clean"] * 8),
                 severity=np.arange(24) % 2)
    (folder / "manifest.json").write_text(json.dumps(
        {"name": "mini", "recipe_version": "1.2", "seed": 7, "source_sha256": "ab"}))
    return tmp_path


def test_metrics_equal_scikit_learns(profile):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 7, 300)  # class 7 never occurs in the labels
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 8, 300))
    m = compute_metrics(y_true, y_pred, profile, groups=y_true % 3)
    assert m.accuracy == skm.accuracy_score(y_true, y_pred)
    p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average="macro",
                                                     zero_division=0)
    assert (m.precision_macro, m.recall_macro, m.f1_macro) == pytest.approx((p, r, f), abs=1e-12)
    assert m.confusion == skm.confusion_matrix(y_true, y_pred, labels=range(8)).tolist()
    recall = skm.recall_score(y_true, y_pred, average=None, labels=range(7))
    assert list(m.per_class_recall.values())[:7] == pytest.approx(recall)
    assert m.per_class_recall["Platelet"] is None
    worst = min(m.group_accuracy.values())
    assert m.worst_group_accuracy == worst and m.group_accuracy[m.worst_group] == worst


def test_confusion_png(tmp_path, profile):
    m = compute_metrics(np.arange(8), np.arange(8), profile)
    path = confusion_png(m, tmp_path / "c" / "confusion.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_good_submission_scores_as_sklearn_and_is_stored(project, make_submission, tiny_arrays,
                                                         profile):
    images, labels = tiny_arrays
    result = score_and_keep(make_submission(), testset="mini", time_limit_s=60)
    assert result.ok and result.experiment == "sub"
    expected = images[:, 0, 0, 0].astype(np.int64) % 8
    assert result.metrics.accuracy == skm.accuracy_score(labels, expected)
    assert result.testset["recipe_version"] == "1.2" and result.testset["seed"] == 7
    assert set(result.metrics.group_accuracy) == {"gaussian_noise", "defocus_blur", "clean"}
    worst = sorted(["gaussian_noise", "defocus_blur"], key=result.metrics.group_accuracy.get)
    assert [family for family, _ in result.advice.families] == worst
    assert set(result.metrics.severity_accuracy) == {"0", "1"}
    assert (project / result.confusion_png).exists()
    (row,) = Leaderboard().scores()
    assert row["status"] == "ok" and row["accuracy"] == result.metrics.accuracy
    assert row["testset"] == "mini" and row["recipe_version"] == "1.2"
    assert row["submission_sha256"] == result.submission_sha256
    assert row["numpy_version"] == np.__version__ and row["peak_rss_mb"] > 0
    assert json.loads(row["metrics_json"])["group_accuracy"] == result.metrics.group_accuracy


def test_failure_is_a_row_never_a_score(project, make_submission):
    sub = make_submission("class Model:\n    def predict(self, X):\n        return None\n")
    result = score_and_keep(sub, testset="mini", time_limit_s=60, experiment_name="broken")
    assert not result.ok and result.metrics is None
    assert result.failure.kind == "bad_output"
    (row,) = Leaderboard().scores()
    assert row["status"] == "failed" and row["failure_kind"] == "bad_output"
    assert row["accuracy"] is None and "None" in row["failure_message"]


def test_static_check_failure_is_stored_before_any_run(project, tmp_path):
    with zipfile.ZipFile(tmp_path / "nested.zip", "w") as zf:
        zf.writestr("inner/model.py", "class Model: pass\n")
    result = score_and_keep(tmp_path / "nested.zip", testset="mini")
    assert result.failure.kind == "no_model_py" and result.total_s is None
    assert Leaderboard().scores()[0]["failure_kind"] == "no_model_py"


def test_testset_by_path_and_missing_default(project, tiny_npz, profile):
    assert load_testset(str(tiny_npz), profile).name == "tiny"
    (project / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(HarnessError, match="not a readable .npz"):
        load_testset(str(project / "bad.npz"), profile)
    save_dataset(project / "small.npz", np.zeros((2, 32, 32, 3), np.uint8), [0, 1])
    with pytest.raises(HarnessError, match="'images' has the wrong shape"):
        load_testset(str(project / "small.npz"), profile)
    shutil.rmtree(project / "data" / "testsets")
    with pytest.raises(HarnessError, match="no default one") as info:
        load_testset(None, profile)
    assert "harness testset build" in info.value.hint
    with pytest.raises(HarnessError, match="no test set named 'other'"):
        load_testset("other", profile)


def test_cli_score_prints_the_verdict_and_json(project, make_submission, runner):
    sub = make_submission()
    out = runner.invoke(main, ["score", str(sub), "--testset", "mini", "--time-limit", "60"])
    assert out.exit_code == 0, out.output
    for text in ("accuracy", "macro F1", "Recall per class", "<- worst", "Confusion matrix",
                 "predict(X)", "confusion.png", "to train against the worst families",
                 "harness train EXPERIMENT --set augment=\"['flip', "):
        assert text in out.output
    out = runner.invoke(main, ["score", str(sub), "--testset", "mini", "--json"])
    data = json.loads(out.output)
    assert data["ok"] and data["metrics"]["n"] == 24
    assert data["advice"]["augment"][0] == "flip"


def test_cli_failure_shows_traceback_and_exits_non_zero(project, make_submission, runner):
    sub = make_submission("class Model:\n    def predict(self, X):\n"
                          "        raise RuntimeError('out of ideas')\n")
    out = runner.invoke(main, ["score", str(sub), "--testset", "mini"])
    assert out.exit_code == 1
    assert "FAILED (predict_error)" in out.output
    assert "RuntimeError: out of ideas" in out.output and 'model.py", line 3' in out.output


def test_tiny_keras_model_end_to_end_through_the_template(project, tmp_path, profile,
                                                         tiny_arrays):
    import keras

    sub = tmp_path / "keras_sub"
    shutil.copytree(TEMPLATE_DIR, sub)
    keras.utils.set_random_seed(0)
    inputs = keras.Input(profile.input_shape)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(8, activation="softmax")(x))
    model.save(sub / "weights.keras")
    images = tiny_arrays[0]
    expected = np.argmax(model.predict(images.astype(np.float32), verbose=0), axis=1)
    result = score(sub, load_testset("mini", profile), profile, time_limit_s=120,
                   experiment_name="keras_tiny")
    assert result.ok, result.failure
    labels = load_testset("mini", profile).labels
    assert result.metrics.accuracy == skm.accuracy_score(labels, expected)
    assert result.versions["keras"] == keras.__version__
