"""bench/fidelity.py, the one command behind the fidelity table, on a tiny subset."""

from __future__ import annotations

import json
import sys

from harness.data.synth import write_synthetic
from harness.paths import REPO_ROOT

# The bench scripts are scripts, not a package.
sys.path.insert(0, str(REPO_ROOT / "bench"))
import fidelity  # noqa: E402


def test_fidelity_builds_what_is_missing_and_prints_the_tables(tmp_path, monkeypatch, capsys):
    """From a data folder holding only a training set: clean, build, predict, analyse."""
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    write_synthetic(tmp_path / "data" / "training_set.npz", n=120, seed=0)
    out = tmp_path / "fidelity.json"
    assert fidelity.main(["--models", "none", "augmix", "--holdout", "12",
                          "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for text in ("calibrated (95%)", "held-out shifts outside the registry",
                 "overlay_heavy", "photo_overlay", "mix2", "Spearman with the calibrated"):
        assert text in printed
    res = json.loads(out.read_text())
    assert set(res["models"]) == {"none", "augmix"} and res["holdout_images"] == 12
    for r in res["models"].values():
        assert r["low"] <= r["headline"] <= r["high"]
    assert set(res["shifts"]) == set(fidelity.shifts.NAMES)
    assert {"spearman", "mean_abs_error", "accuracy"} <= set(res["shifts"]["mix"])
    # A second run reuses the inputs and predictions it cached.
    cached = sorted(p.name for p in (tmp_path / "data" / "fidelity").iterdir())
    assert fidelity.main(["--models", "none", "augmix", "--holdout", "12",
                          "--out", str(out)]) == 0
    assert sorted(p.name for p in (tmp_path / "data" / "fidelity").iterdir()) == cached
