"""notebooks/train_on_gpu.ipynb runs top to bottom, so it cannot rot.

The notebook's parameters cell (tagged "parameters") is replaced by a tiny run on the
CPU: the harness already installed, a small npz, baseline_cnn shrunk, one epoch. Then
what docs/notebook.md tells a team to do on its machine: `harness verify` and
`harness score` on the zip the notebook packed.
"""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "notebooks" / "train_on_gpu.ipynb"


def parameterized(notebook, **values):
    """The notebook with its parameters cell's assignments replaced by `values`."""
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    names = {line.split("=")[0].strip() for line in cell.source.splitlines()
             if "=" in line and not line.startswith("#")}
    assert names == set(values), f"the notebook's parameters are {sorted(names)}"
    cell.source = "\n".join(f"{k} = {v!r}" for k, v in values.items())
    return notebook


def test_the_committed_notebook_is_small_and_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert NOTEBOOK.stat().st_size < 20_000
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_notebook_trains_packs_and_its_zip_verifies_and_scores(
        tmp_path, tmp_experiments, small_arrays, runner, monkeypatch):
    data = save_dataset(tmp_path / "team.npz", *small_arrays)
    notebook = parameterized(
        nbformat.read(NOTEBOOK, as_version=4), REPO_URL="unused", INSTALL=False,
        DATA=str(data), EXPERIMENT="baseline_cnn", EPOCHS=1,
        OVERRIDES={"filters": [4], "dense": 8, "batch_size": 16,
                   # the test set's own chains, a numpy step of the tf.data pipeline
                   "augment": ["flip", "chains"]}, OUT=str(tmp_path / "dist"))
    work = tmp_path / "work"
    work.mkdir()
    # The kernel inherits this process's environment: HARNESS_EXPERIMENTS included.
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute()
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "val accuracy" in printed and "models ship as keras" in printed, printed

    [zip_path] = (tmp_path / "dist").glob("submission_*.zip")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    verified = runner.invoke(main, ["verify", str(zip_path), "--n", "8", "--python",
                                    sys.executable, "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["same_labels"]
    scored = runner.invoke(main, ["score", str(zip_path), "--testset", str(data), "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["metrics"]["accuracy"] is not None


@pytest.fixture(autouse=True)
def _quiet_kernel(monkeypatch):
    # The kernel prints TensorFlow's C++ notices otherwise; they would fill the outputs.
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
