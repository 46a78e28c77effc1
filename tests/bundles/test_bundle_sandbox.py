"""Which sandbox a bundle's programs get: an engine that answers and holds the image,
else bubblewrap, else one line saying what to install; and the engine's command line,
with the worker's flags (no engine needed: a stand-in `docker` answers on PATH)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.bundles.failures import BundleFailure
from harness.bundles.sandbox import CAP_DROP, Mount, choose_sandbox, engine_status

IMAGE = "codalab/codalab-legacy:py312"


def fake_engine(folder: Path, name: str, answers: bool = True) -> Path:
    """An executable `name` that answers every call (exit 0), or none (exit 1)."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\nexit {0 if answers else 1}\n")
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
