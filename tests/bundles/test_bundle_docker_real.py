"""Bundles in a real Docker engine, with the worker's flags: Mini-MNIST's sample
submission scores what the bundle ships, the container's root (no DAC_OVERRIDE) writes
into a user's run folder and hands it back, and a time limit leaves no container behind.

Skipped where no Docker engine answers or codalab/codalab-legacy:py312 is not loaded
(bench/RESULTS.md, "Bundles in a real Docker engine", says how a stand-in was built)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from run_fixtures import make_bundle, make_submission

from harness.bundles import load_bundle, run_bundle
from harness.bundles.sandbox import Mount, choose_sandbox, engine_status

IMAGE = "codalab/codalab-legacy:py312"
NO_DOCKER = engine_status("docker", IMAGE)
pytestmark = [pytest.mark.skipif(NO_DOCKER is not None, reason=f"no Docker: {NO_DOCKER}"),
              pytest.mark.usefixtures("bundle_cache")]


def containers(prefix: str = "harness-") -> list[str]:
    names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"],
                           capture_output=True, text=True, check=True).stdout.split()
    return [n for n in names if n.startswith(prefix)]


def test_mini_mnist_code_submission_scores_the_bundles_own_score(tmp_path, shared_bundles):
    mnist = shared_bundles / "Mini-MNIST"
    r = run_bundle(load_bundle(mnist / "Mini-MNIST-Bundle"),
                   mnist / "mini_MNIST_code_submission.zip", out=tmp_path / "run",
                   sandbox="docker")
    assert (r.backend, r.status, r.differs) == ("docker", "ok", []), r.failure_message
    assert r.scores == {"score": 0.72} and r.network_line == "network off (--network none)"


def test_the_containers_root_writes_into_a_users_folder_and_hands_it_back(tmp_path):
    out = tmp_path / "out"
    out.mkdir(mode=0o755)
    if os.geteuid() == 0:   # as a user's run folder is to a rootful engine
        os.chown(out, 65534, 65534)
    box = choose_sandbox(IMAGE, backend="docker")
    box.open_up([out])
    with open(tmp_path / "log", "wb") as log:
        program = box.start([Mount(out, "/app/output", writable=True)],
                            ["sh", "-c", "mkdir /app/output/sub && echo x > /app/output/sub/f"],
                            log, log)
        program.proc.wait(timeout=60)
        program.stop()
    box.reclaim([out])
    assert program.proc.returncode == 0, (tmp_path / "log").read_text()
    assert {p.stat().st_uid for p in (out / "sub", out / "sub" / "f")} == {out.stat().st_uid}


def test_a_time_limit_removes_the_containers(tmp_path):
    slow = "import time\ndef predict(x):\n    time.sleep(60)\n    return x\n"
    r = run_bundle(load_bundle(make_bundle(tmp_path / "b")),
                   make_submission(tmp_path / "s", slow), time_limit=3, out=tmp_path / "run",
                   python=sys.executable, sandbox="docker")
    assert (r.backend, r.failure_kind) == ("docker", "time_limit")
    assert containers() == []
