"""harness.shipping.packing / `harness pack`: zip layout, atomic, reproducible, scores as
its folder."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import make_trained_experiment

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.experiments import get_experiment, record_pack
from harness.profile import get_profile
from harness.results.leaderboard import Leaderboard
from harness.results.standings import read_leaderboard
from harness.scoring.contract import SubmissionError
from harness.scoring.scorer import score
from harness.shipping.packing import pack
from harness.testset.store import load_testset


@pytest.fixture(scope="module")
def packed_setup(tmp_path_factory, _tiny_weights):
    tmp_path = tmp_path_factory.mktemp("packed")
    experiment = make_trained_experiment(tmp_path, get_profile(), weights_from=_tiny_weights)
    # Dirt a careless zip would pick up: caches, notebooks, data beside the code.
    extra = experiment / "submission"
    (extra / "__pycache__").mkdir(parents=True)
    (extra / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    (extra / "notes.ipynb").write_text("{}")
    run = experiment / "runs" / "250101_000000"
    (run / "history.json").write_text("{}")
    (run / "submission.json").write_text('{"tta": 2}')
    result = pack(experiment, get_profile(), out=tmp_path / "dist",
                  name="submission_250101_000000.zip")
    return result, experiment


@pytest.fixture
def packed(packed_setup):
    return packed_setup[0]


def test_zip_holds_the_submission_at_its_root_and_nothing_else(packed):
    with zipfile.ZipFile(packed.zip) as z:
        names = z.namelist()
        settings = json.loads(z.read("submission.json"))
    assert names == ["harness_runtime.py", "model.py", "submission.json", "weights.keras"]
    assert settings["tta"] == 2 and packed.settings["tta"] == 2
    assert [f["name"] for f in packed.files] == names
    assert packed.smoke["n_images"] == 32
    assert sorted(p.name for p in packed.zip.parent.iterdir()) == [packed.zip.name]


def test_pack_optimizes_grouped_convs_and_says_so(packed):
    (report,) = packed.optimized
    assert report["file"] == "weights.keras" and report["rewritten"] == 1 and report["kept"]
    assert report["max_abs_diff"] < 1e-4
    with zipfile.ZipFile(packed.zip) as z:
        assert "DepthwiseConv2D" in zipfile.ZipFile(z.open("weights.keras")).read(
            "config.json").decode()


def test_same_experiment_packs_to_the_same_sha256_and_scores_exactly_as_its_folder(
        packed_setup, profile, tty_runner, tmp_path):
    packed, trained_experiment = packed_setup
    result = tty_runner.invoke(main, ["pack", str(trained_experiment), "--tta", "2",
                                      "--out", str(tmp_path / "again"), "--json"])
    assert result.exit_code == 0, result.output
    assert "pack:" not in result.output  # no bar under --json, even at a terminal
    again = json.loads(result.stdout)
    assert again["sha256"] == packed.sha256
    assert again["zip"].startswith(str(tmp_path / "again" / "submission_"))

    rng = np.random.default_rng(1)
    testset = save_dataset(tmp_path / "testset.npz",
                           rng.integers(0, 256, (40, 96, 96, 3), dtype=np.uint8),
                           rng.integers(0, 8, 40))
    from_zip = score(packed.zip, load_testset(testset, profile), profile)
    from_folder = score(trained_experiment, load_testset(testset, profile), profile)
    assert from_zip.ok and from_folder.ok
    # What binds a Codabench score to this model: the zip's content, and the run.
    assert from_zip.submission_sha256 == packed.content_sha256
    assert from_folder.run.endswith("250101_000000")
    assert from_zip.metrics.accuracy == from_folder.metrics.accuracy
    assert from_zip.metrics.confusion == from_folder.metrics.confusion


def test_a_zip_whose_smoke_run_fails_is_not_left_behind(trained_experiment, profile, tmp_path):
    override = trained_experiment / "submission"
    override.mkdir()
    (override / "model.py").write_text(
        "class Model:\n    def predict(self, X):\n"
        "        raise RuntimeError('broken on purpose')\n")
    out = tmp_path / "dist"
    with pytest.raises(SubmissionError, match="broken on purpose"):
        pack(trained_experiment, profile, out=out, optimize=False)
    assert not out.exists() or list(out.iterdir()) == []


def test_a_model_py_importing_keras_cv_is_refused_before_anything_is_written(
        trained_experiment, profile, tmp_path, tty_runner):
    override = trained_experiment / "submission"
    override.mkdir()
    (override / "model.py").write_text("import keras_cv\n\n\nclass Model:\n"
                                       "    def predict(self, X):\n        return X[:, 0, 0, 0]\n")
    out = tmp_path / "dist"
    result = tty_runner.invoke(main, ["pack", str(trained_experiment), "--out", str(out)])
    assert result.exit_code == 2 and "keras_cv" in result.output
    # For a person, a bar over pack's steps, from the first.
    assert "pack:" in result.stderr and "0/3 [" in result.stderr
    assert "stage and optimize" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_codabench_score_recorded_for_a_zip_stands_beside_that_model_only(
        packed_setup, runner, tmp_path, monkeypatch):
    packed, experiment = packed_setup
    monkeypatch.setenv("HARNESS_EXPERIMENTS", str(experiment.parent))
    entry = json.loads((experiment / "runs" / "250101_000000" / "packs.json").read_text())[0]
    assert (entry["zip"], entry["sha256"], entry["content_sha256"]) == (
        packed.zip.name, packed.sha256, packed.content_sha256)
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    board = Leaderboard(db)
    row = dict(status="ok", testset="t", testset_kind="pseudo_private", accuracy=0.5,
               pseudo_private=0.45, competition=get_profile().name)
    board.add_score(dict(row, experiment="from_zip", target_kind="zip",
                         submission_sha256=packed.content_sha256))
    board.add_score(dict(row, experiment="tiny_exp", testset="t2", run_stamp="250101_000000",
                         submission_sha256="0" * 64))
    # The same name retrained (another run), and another model's row: not that zip's model.
    board.add_score(dict(row, experiment="tiny_exp", testset="t3", run_stamp="250301_000000",
                         submission_sha256="1" * 64))
    out = runner.invoke(main, ["record", str(packed.zip), "--codabench", "0.41", "--db", db])
    assert out.exit_code == 0, out.output
    assert f"for {packed.zip.name} (sha256 {packed.sha256[:12]}; tiny_exp, run " \
           f"250101_000000: packed from tiny_exp run 250101_000000)" in out.output
    assert "beside 2 score rows of that exact model" in out.output
    codabench = {(r["experiment"], r["testset"]): r["codabench"]
                 for r in read_leaderboard(db_url=db).rows}
    assert codabench == {("from_zip", "t"): 0.41, ("tiny_exp", "t2"): 0.41,
                         ("tiny_exp", "t3"): None}
    by_name = runner.invoke(main, ["record", "tiny_exp", "--codabench", "0.42", "--db", db,
                                   "--json"])
    assert by_name.exit_code == 0, by_name.output
    said = json.loads(by_name.output)["binding"]
    assert said["run_stamp"] == "250101_000000" and said["how"].startswith(
        "the latest zip packed from tiny_exp")
    assert said["zip_name"] == get_experiment(experiment).packs()[-1]["zip"]
    # A name that matches no zip, or several: one line that lists them.
    none = runner.invoke(main, ["record", "nothing_like_it", "--codabench", "0.4", "--db", db])
    assert none.exit_code != 0 and "packed zips: submission_" in none.output
    assert len(none.output.strip().splitlines()) == 2  # the line and its hint
    record_pack(experiment / "runs" / "250101_000000",
                {"zip": "submission_other.zip", "sha256": "2" * 64, "packed_at": "x"})
    several = runner.invoke(main, ["record", "submission_", "--codabench", "0.4", "--db", db])
    assert several.exit_code != 0, several.output
    assert "matches" in several.output and "submission_other.zip (tiny_exp run " in \
        several.output
