"""Which sandbox a bundle's programs get: an engine that answers and holds the image,
else bubblewrap, else one line saying what to install; and the engine's command line,
with the worker's flags (no engine needed: a stand-in `docker` answers on PATH)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from harness.bundles.failures import BundleFailure
from harness.bundles.sandbox import (
    CAP_DROP,
    Mount,
    Sandbox,
    bwrap_status,
    choose_sandbox,
    engine_status,
)

pytestmark = pytest.mark.usefixtures("bundle_cache")

IMAGE = "codalab/codalab-legacy:py312"


def fake_engine(folder: Path, name: str, answers: bool = True) -> Path:
    """An executable `name` that answers every call (exit 0), or none (exit 1), and
    appends each call's arguments, one line, to `calls` beside it."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "$@" >> "{folder / "calls"}"\nexit {0 if answers else 1}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_client_without_an_engine_is_detected(tmp_path, monkeypatch):
    fake_engine(tmp_path / "bin", "docker", answers=False)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert engine_status("docker", IMAGE) == ("docker is installed but no engine answers: "
                                              "docker info failed")


def test_an_engine_that_answers_and_holds_the_image_is_chosen(tmp_path, monkeypatch):
    fake_engine(tmp_path / "bin", "docker")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    box = choose_sandbox(IMAGE, network=False)
    assert box.backend == "docker" and box.differs == []
    line = box.command_line([Mount(tmp_path / "prog", "/app/program"),
                             Mount(tmp_path / "out", "/app/output", writable=True)],
                            ["python3", "score.py"], "harness-x")
    assert line[:5] == ["docker", "run", "--rm", "--name", "harness-x"]
    assert [line[i + 1] for i, a in enumerate(line) if a == "--cap-drop"] == CAP_DROP
    assert "no-new-privileges" in line and line[line.index("--network") + 1] == "none"
    assert f"{(tmp_path / 'prog').resolve()}:/app/program:ro" in line
    assert f"{(tmp_path / 'out').resolve()}:/app/output" in line
    assert line[line.index("-w") + 1] == "/app/program"
    assert line[line.index("-e") + 1] == "PYTHONUNBUFFERED=1"
    assert line[-3:] == [IMAGE, "python3", "score.py"]
    assert "--network" not in choose_sandbox(IMAGE, network=True).command_line(
        [], ["true"], "n")
    assert box.network_line() == "network off (--network none)"


def test_podman_gets_its_security_option(tmp_path, monkeypatch):
    fake_engine(tmp_path / "bin", "docker", answers=False)
    fake_engine(tmp_path / "bin", "podman")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    box = choose_sandbox(IMAGE)
    assert box.backend == "podman"
    assert "label=disable" in box.command_line([], ["true"], "n")


def test_no_sandbox_at_all_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BundleFailure) as caught:
        choose_sandbox(IMAGE)
    assert caught.value.kind == "sandbox_unavailable"
    assert "apt-get install bubblewrap" in caught.value.hint


def test_a_named_sandbox_is_used_or_refused_in_one_line(tmp_path, monkeypatch):
    fake_engine(tmp_path / "bin", "docker")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(BundleFailure) as caught:
        choose_sandbox(IMAGE, backend="podman")
    assert caught.value.message == "--sandbox podman: no podman"
    assert "leave out --sandbox" in caught.value.hint
    with pytest.raises(BundleFailure, match="no sandbox called 'lxc'"):
        choose_sandbox(IMAGE, backend="lxc")
    if bwrap_status() is None:   # an engine answers, yet bubblewrap was asked for
        box = choose_sandbox(IMAGE, python=Path(sys.executable), backend="bubblewrap")
        assert box.backend == "bubblewrap"
        assert box.differs[0] == f"not in the {IMAGE} container (--sandbox bubblewrap)"


def test_an_engine_run_opens_its_writable_folders_and_hands_them_back(tmp_path,
                                                                       monkeypatch):
    """The worker drops DAC_OVERRIDE, so the container's root may write only into
    folders open to all; what it wrote is given back to the folder's owner after."""
    fake_engine(tmp_path / "bin", "docker")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "f").write_text("x")
    for path in (out, out / "sub", out / "sub" / "f"):
        path.chmod(0o700)
    box = choose_sandbox(IMAGE)
    box.open_up([out])
    assert [oct(p.stat().st_mode & 0o777) for p in (out, out / "sub", out / "sub" / "f")] \
        == ["0o777", "0o777", "0o766"]
    calls = tmp_path / "bin" / "calls"
    if os.geteuid() == 0:   # root's folders need nothing handed back; a user's do
        box.reclaim([out])
        assert "run" not in calls.read_text()
        os.chown(out, 65534, 65534)
    box.reclaim([out])
    assert calls.read_text().splitlines()[-1] == (
        f"run --rm --network none --userns host -v {out.resolve()}:/reclaim/0 "
        f"--entrypoint sh {IMAGE} -c chown -R --reference=/reclaim/0 /reclaim/0")


def test_bubblewrap_leaves_folder_modes_alone(tmp_path):
    (tmp_path / "out").mkdir(mode=0o700)
    box = Sandbox("bubblewrap", IMAGE, False, Path(sys.executable))
    box.open_up([tmp_path / "out"])
    box.reclaim([tmp_path / "out"])
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o700
