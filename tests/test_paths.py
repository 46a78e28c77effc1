"""The one data folder: $HARNESS_DATA, else ./data, decided at each call."""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.cli import main
from harness.paths import REPO_ROOT, data_dir


def test_the_data_folder_is_harness_data_else_dot_data_read_at_each_call(monkeypatch, tmp_path):
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    assert data_dir() == Path("data")
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "elsewhere"))
    assert data_dir() == tmp_path / "elsewhere"
    monkeypatch.setenv("HARNESS_DATA", "")
    assert data_dir() == Path("data")


def test_the_test_session_never_sees_the_checkouts_data_folder():
    here = data_dir().resolve()
    assert not here.is_relative_to(REPO_ROOT), here


def test_every_command_reads_and_writes_where_harness_data_says(monkeypatch, tmp_path, runner,
                                                               tiny_npz):
    # Built, listed and reported from one folder named by the variable, from another cwd.
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "team"))
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    out = runner.invoke(main, ["testset", "build", "--data", str(tiny_npz), "--holdout", "0.5",
                               "--recipe", "pp-small", "--name", "t", "--json"])
    assert out.exit_code == 0, out.output
    assert Path(json.loads(out.output)["path"]) == tmp_path / "team" / "testsets" / "t"
    listed = runner.invoke(main, ["testset", "list", "--json"])
    assert [r["name"] for r in json.loads(listed.output)] == ["t"]
    assert not (tmp_path / "data").exists()


def test_an_install_without_its_checkout_keeps_experiments_in_the_working_folder(
        tmp_path, monkeypatch):
    from harness import experiments, paths

    monkeypatch.delenv("HARNESS_EXPERIMENTS", raising=False)
    monkeypatch.chdir(tmp_path)
    # Installed as a wheel, the package's parent is site-packages: never write there.
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "site-packages")
    assert paths.project_folder("HARNESS_EXPERIMENTS", "experiments") == \
        tmp_path / "experiments"
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "config.py").write_text("CONFIG = {}\n")
    (tmp_path / "e" / "build.py").write_text("")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "weights.keras").write_bytes(b"")
    # The submission template ships inside the package: staging needs no checkout.
    staged = experiments.get_experiment(tmp_path / "e").stage(tmp_path / "sub", tmp_path / "run")
    assert {"model.py", "harness_runtime.py", "weights.keras"} <= set(os.listdir(staged))
    assert experiments.TEMPLATE_DIR.parent == Path(experiments.__file__).resolve().parent
