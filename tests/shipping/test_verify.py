"""harness.shipping.verify / `harness verify`: the server-runtime virtualenv cache and the
comparison.

No real virtualenv is built here: the "server" interpreter is this one, or a wrapper
script around it that changes what the submission sees; the cache logic runs with a
fake builder.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import terminal_stderr

from harness.cli import main
from harness.errors import HarnessError
from harness.scoring.runtime import cache_root, server_python, venv_key
from harness.shipping.packing import write_zip
from harness.shipping.verify import verify_zip

# Predicts like conftest's GOOD_MODEL_PY; an environment variable shifts the labels or
# breaks the import, standing in for a runtime where the zip behaves differently.
MODEL_PY = """
import os

import numpy as np

if os.environ.get("FAKE_BROKEN"):
    raise ImportError("cannot import name 'Foo' from 'keras.layers'")


class Model:
    def predict(self, X):
        return (X[:, 0, 0, 0].astype(np.int64) + int(os.environ.get("FAKE_SHIFT", 0))) % 8
"""


@pytest.fixture
def zip_path(make_submission, tmp_path):
    folder = make_submission(MODEL_PY)
    write_zip(folder, tmp_path / "sub.zip")
    return tmp_path / "sub.zip"


def wrapper(tmp_path, **env):
    """An executable standing in for another interpreter: this one, with `env` set."""
    script = tmp_path / "server-python"
    exports = "".join(f"export {k}={v}\n" for k, v in env.items())
    script.write_text(f"#!/bin/sh\n{exports}exec {sys.executable} \"$@\"\n")
    script.chmod(0o755)
    return str(script)


def fake_builder(calls, fail=False):
    def build(dest, requirements):
        calls.append(list(requirements))
        (dest / "bin").mkdir(parents=True)
        (dest / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
        (dest / "bin" / "python").chmod(0o755)
        if fail:
            raise KeyboardInterrupt  # an interrupted pip install
    return build


def test_venv_key_follows_the_requirements_not_their_order():
    a = venv_key(["keras==3.4.1", "numpy<2"])
    assert a == venv_key(["numpy<2", "keras==3.4.1"])
    assert a != venv_key(["keras==3.5.0", "numpy<2"])


def test_cache_root_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))
    assert cache_root() == tmp_path


def test_the_runtime_is_built_once_then_cached(profile, tmp_path):
    calls, messages = [], []
    python, build_s = server_python(profile, fake_builder(calls), root=tmp_path,
                                    status=messages.append)
    assert build_s is not None and calls == [profile.server_requirements()]
    assert python == tmp_path / "venvs" / venv_key(calls[0]) / "bin" / "python"
    assert "building the server runtime" in messages[0]
    again, build_s = server_python(profile, fake_builder(calls), root=tmp_path)
    assert again == python and build_s is None and len(calls) == 1


def test_a_cached_runtime_that_no_longer_runs_says_how_to_rebuild(profile, tmp_path):
    python, _ = server_python(profile, fake_builder([]), root=tmp_path)
    python.write_text("#!/nonexistent/python3.11\n")  # the base Python was removed
    with pytest.raises(HarnessError, match="no longer runs") as e:
        server_python(profile, fake_builder([]), root=tmp_path)
    assert "rm -rf" in e.value.hint


def test_an_interrupted_build_is_not_cached(profile, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        server_python(profile, fake_builder([], fail=True), root=tmp_path)
    assert list((tmp_path / "venvs").iterdir()) == []


def test_a_build_without_an_interpreter_is_an_error(profile, tmp_path):
    with pytest.raises(HarnessError, match="no interpreter"):
        server_python(profile, lambda dest, reqs: None, root=tmp_path)
    assert list((tmp_path / "venvs").iterdir()) == []


def test_same_labels_there_and_here(zip_path, profile):
    with terminal_stderr() as err:
        r = verify_zip(zip_path, profile, n=16, python=sys.executable, progress=True)
    assert "verify:" in err.getvalue() and "0/2" in err.getvalue()  # a bar over both runs
    assert r.ok and r.loads_there and r.same_labels and r.n_different == 0
    assert r.python == sys.executable and r.build_s is None and r.n_images == 16


def test_labels_that_differ_there_are_listed(zip_path, profile, tmp_path):
    r = verify_zip(zip_path, profile, n=16, python=wrapper(tmp_path, FAKE_SHIFT=1))
    assert r.loads_there and not r.same_labels and not r.ok
    assert r.n_different == 16 and len(r.differences) == 10
    d = r.differences[0]
    assert d["there"] == (d["here"] + 1) % 8


def test_cli_reports_a_zip_that_does_not_load_there(zip_path, tty_runner, tmp_path,
                                                    monkeypatch):
    monkeypatch.setenv("HARNESS_SERVER_PYTHON", wrapper(tmp_path, FAKE_BROKEN=1))
    result = tty_runner.invoke(main, ["verify", str(zip_path), "--n", "8", "--json"])
    assert result.exit_code == 1, result.output
    assert "verify:" not in result.output  # no bar under --json, even at a terminal
    out = json.loads(result.stdout)
    assert not out["loads_there"] and out["ok_here"]
    assert "cannot import name" in out["failure_there"]
    assert "FAKE_BROKEN" not in os.environ
    shown = tty_runner.invoke(main, ["verify", str(zip_path), "--n", "8"])
    assert shown.exit_code == 1 and "verify:" in shown.stderr and "NOT OK" in shown.stdout
