"""`harness data real`: the real data's own script, run with the harness's Python, and
where its output went. A tiny stand-in script here: the real one decodes 13,837 images."""

from __future__ import annotations

import json
import sys

from harness.cli import main

# Like ../shared/data/make_training_set.py: `python SCRIPT OUT.npz`; it also says which
# Python ran it, and fails as a system python without Pillow does.
FAKE_SCRIPT = """
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
if out.stem == "no_pil":
    sys.exit("Traceback (most recent call last):\\nModuleNotFoundError: No module named 'PIL'")
out.parent.mkdir(parents=True, exist_ok=True)
labels = np.arange(16, dtype=np.uint8).reshape(-1, 1) % 8
np.savez_compressed(out, images=np.zeros((16, 96, 96, 3), np.uint8), labels=labels)
Path(sys.argv[1] + ".python").write_text(sys.executable)
print(f"wrote {out}")
"""


def _script(tmp_path):
    script = tmp_path / "shared" / "make_training_set.py"
    script.parent.mkdir()
    script.write_text(FAKE_SCRIPT)
    return script


def test_real_runs_the_script_with_the_harness_python_and_says_where(runner, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "data"))
    script = _script(tmp_path)
    result = runner.invoke(main, ["data", "real", "--script", str(script)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "data" / "training_set.npz"  # the default: the data folder's file
    assert out.is_file() and (tmp_path / "data" / "training_set.npz.python").read_text() \
        == sys.executable
    flat = "".join(result.output.split())  # rich wraps long paths
    assert f"Wrote16realimagesto{out}" in flat
    assert sys.executable in flat and "harnessdatainspect" in flat
    as_json = json.loads(runner.invoke(main, ["data", "real", str(tmp_path / "x.npz"),
                                              "--script", str(script), "--json"]).output)
    assert as_json["n_images"] == 16 and as_json["per_class"]["Basophil"] == 2
    assert as_json["python"] == sys.executable and as_json["out"] == str(tmp_path / "x.npz")


def test_a_failing_script_is_one_line_with_its_last_words(runner, tmp_path):
    result = runner.invoke(main, ["data", "real", str(tmp_path / "no_pil.npz"),
                                  "--script", str(_script(tmp_path))])
    assert result.exit_code != 0 and "Traceback" not in result.output
    flat = "".join(result.output.split())
    assert "Nomodulenamed'PIL'" in flat and sys.executable in flat
    assert not (tmp_path / "no_pil.npz").exists()


def test_without_the_real_data_it_says_how_to_go_on(runner, tmp_path):
    result = runner.invoke(main, ["data", "real", "--script", str(tmp_path / "none.py")])
    assert result.exit_code != 0
    assert "the real data is not beside this checkout" in result.output
    assert "harness data synth" in result.output
