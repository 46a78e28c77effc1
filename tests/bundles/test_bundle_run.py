"""`harness bundle run` on small synthetic bundles: scores as written, the time limit,
no network, read-only bundle and data, and each failure as one typed line with its log.

The programs are python3 one-liners run by this interpreter (`--python`), so no cached
image environment is needed; the sandbox is bubblewrap (skipped where it cannot run)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import zipfile

import pytest
from run_fixtures import make_bundle, make_submission, make_v1_bundle

from harness.bundles import archive
from harness.bundles.sandbox import bwrap_status
from harness.bundles.worker import replace_legacy_metadata_command
from harness.cli import main

NO_BWRAP = bwrap_status()
pytestmark = [pytest.mark.skipif(NO_BWRAP is not None,
                                 reason=f"no bubblewrap sandbox here: {NO_BWRAP}"),
              pytest.mark.usefixtures("bundle_cache")]


def run(runner, tmp_path, bundle, submission, *extra):
    # bubblewrap even where Docker answers: these tests read its lines and reach a
    # server on the host's loopback, which a container's network does not share.
    args = ["bundle", "run", str(bundle), str(submission), "--python", sys.executable,
            "--sandbox", "bubblewrap", "--db", str(tmp_path / "lb.sqlite"), *extra]
    return runner.invoke(main, args)


def test_json_scores_are_keyed_as_the_scoring_program_wrote_them(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["scores"] == {"acc": 1.0, "extra": 7}
    assert doc["status"] == "ok" and doc["network"] is False and doc["row_id"] >= 1
    assert doc["backend"] == "bubblewrap" and doc["phase"] == "Dev"
    assert {(p["run"], p["kind"], p["exit_code"]) for p in doc["programs"]} == {
        ("prediction", "program", None), ("prediction", "ingestion", 0),
        ("scoring", "program", 0)}


def test_scores_print_under_the_leaderboard_titles(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"))
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Accuracy" in out and "1.00" in out and "extra" in out
    assert "network off" in out and "run folder" in out


def test_a_submission_past_the_time_limit_is_stopped_with_the_workers_message(runner,
                                                                             tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    sleeper = make_submission(tmp_path / "sub", "import time\n\ndef predict(x):\n"
                              "    print('sleeping', flush=True)\n    time.sleep(60)\n")
    start = time.monotonic()
    result = run(runner, tmp_path, bundle, sleeper, "--time-limit", "2", "--json")
    elapsed = time.monotonic() - start
    doc = json.loads(result.output)
    assert result.exit_code == 1
    assert doc["failure_kind"] == "time_limit"
    assert doc["failure_message"].startswith(
        "Execution Time Limit exceeded. Limit was 2 seconds")
    assert "sleeping" in doc["log_tail"]
    ingestion = next(p for p in doc["programs"] if p["kind"] == "ingestion")
    # Stopped within a second or two of the limit (which counts from the run's start,
    # a moment before the program's).
    assert 1.5 <= ingestion["elapsed_s"] < 3.5
    assert elapsed < 2 + 5   # the whole command, with its start-up and the scoring skipped


class _Server:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize("network", [False, True])
def test_the_network_is_off_unless_asked_for(runner, tmp_path, network):
    server = _Server()
    try:
        bundle = make_bundle(tmp_path / "bundle")
        caller = make_submission(tmp_path / "sub", (
            "import socket\n\ndef predict(x):\n    try:\n"
            f"        socket.create_connection(('127.0.0.1', {server.port}), timeout=3)\n"
            "        print('reached')\n    except OSError as e:\n"
            "        print('unreachable', e)\n    return x\n"))
        result = run(runner, tmp_path, bundle, caller, "--json",
                     *(["--network"] if network else []))
        time.sleep(0.3)
    finally:
        server.close()
    doc = json.loads(result.output)
    assert doc["status"] == "ok", doc["failure_message"]
    assert doc["network"] is network
    assert server.connections == (1 if network else 0)


@pytest.mark.parametrize("target", ["/app/program/planted.txt", "/app/input_data/x.txt"])
def test_a_program_writing_into_the_bundle_fails_and_leaves_it_unchanged(runner, tmp_path,
                                                                         target):
    bundle = make_bundle(tmp_path / "bundle")
    before = archive.folder_sha256(bundle)
    writer = make_submission(tmp_path / "sub", (
        f"def predict(x):\n    open({target!r}, 'w').write('mine')\n    return x\n"))
    result = run(runner, tmp_path, bundle, writer)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "FAILED (submission error)" in out and "mounted read-only here" in out
    assert "Read-only file system" in out          # the log tail, not "no logs"
    assert archive.folder_sha256(bundle) == before


def test_a_scoring_program_writing_into_its_folder_fails(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", score_py="open('cache.txt', 'w')\n")
    before = archive.folder_sha256(bundle)
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    doc = json.loads(result.output)
    assert doc["failure_kind"] == "scoring_error"
    assert "mounted read-only here" in doc["failure_message"]
    assert archive.folder_sha256(bundle) == before


def test_a_program_failing_before_the_scoring_is_a_warning_as_on_the_worker(runner,
                                                                          tmp_path):
    bundle = make_bundle(tmp_path / "bundle", ingest_py=(
        "open('/app/output/pred.txt', 'w').write('a b c d')\nraise SystemExit(3)\n"))
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    doc = json.loads(result.output)
    assert doc["status"] == "ok" and doc["scores"]["acc"] == 1.0
    assert doc["warnings"] == ["prediction run: the ingestion program exited 3; the worker "
                               "goes on to the scoring run"]


def test_no_scores_file_is_the_workers_line_with_the_scoring_log(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", score_py="print('scored nothing')\n")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"))
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert ("FAILED (no scores file) Could not find scores file, did the scoring program "
            "output it?") in out
    assert "scored nothing" in out


def test_a_bad_scores_json_is_the_workers_line(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", score_py=(
        "open('/app/output/scores.json', 'w').write('{acc: 1')\n"))
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    doc = json.loads(result.output)
    assert result.exit_code == 1 and doc["failure_kind"] == "bad_scores"
    assert doc["failure_message"].startswith(
        "Could not decode scores json properly, it contains an error.")


def test_scores_txt_is_read_as_yaml(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", score_py=(
        "open('/app/output/scores.txt', 'w').write('acc: 0.5\\n')\n"))
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    assert json.loads(result.output)["scores"] == {"acc": 0.5}


def test_pseudo_private_on_a_bundle_without_images_says_so(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"),
                 "--pseudo-private")
    assert result.exit_code == 2
    assert "no PNG or JPEG test image to corrupt" in " ".join(result.output.split())


def test_a_bad_submission_zip_gets_its_line(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    bad = tmp_path / "sub.zip"
    bad.write_text("not a zip")
    result = run(runner, tmp_path, bundle, bad)
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "FAILED (bad submission zip)" in out and "not a zip Codabench can open" in out


def test_an_ingestion_crash_is_an_ingestion_error_with_its_traceback(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", ingest_py="raise SystemExit('no data here')\n")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    doc = json.loads(result.output)
    assert doc["failure_kind"] == "ingestion_error"
    assert "the ingestion program" in doc["failure_message"] and "exited with code 1" in \
        doc["failure_message"]
    assert "no data here" in doc["log_tail"]


def test_an_ingestion_metadata_without_command_is_the_workers_line(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", ingestion_metadata="title: no command\n")
    result = run(runner, tmp_path, bundle, make_submission(tmp_path / "sub"), "--json")
    doc = json.loads(result.output)
    assert result.exit_code == 1 and doc["failure_kind"] == "ingestion_error"
    assert doc["failure_message"].endswith("Program directory missing 'command' in metadata")


def test_a_program_writing_the_metadata_file_fails_as_on_the_worker(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle")
    sub = make_submission(tmp_path / "sub", (
        "def predict(x):\n    open('/app/output/metadata', 'w').write('x')\n    return x\n"))
    result = run(runner, tmp_path, bundle, sub, "--json")
    doc = json.loads(result.output)
    assert doc["failure_kind"] == "submission_error"
    assert "the output directory already contains a metadata file" in doc["failure_message"]


def test_a_result_submission_is_copied_to_the_prediction_output(runner, tmp_path):
    bundle = make_bundle(tmp_path / "bundle", ingest_py="print('no predictions made')\n")
    results = tmp_path / "results"
    results.mkdir()
    (results / "pred.txt").write_text("a b x d\n")
    result = run(runner, tmp_path, bundle, results, "--json")
    assert json.loads(result.output)["scores"]["acc"] == 0.75


def test_a_codalab_v1_bundle_runs_with_its_placeholders_and_scores_txt(runner, tmp_path):
    bundle = make_v1_bundle(tmp_path / "legacy")
    zipped = tmp_path / "sub.zip"
    make_submission(tmp_path / "sub")
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(tmp_path / "sub" / "model.py", "model.py")
    result = run(runner, tmp_path, bundle, zipped, "--json")
    doc = json.loads(result.output)
    assert doc["status"] == "ok", doc["failure_message"] + doc["log_tail"]
    assert doc["scores"] == {"acc": 0.75} and doc["phase"] == "Development"
    commands = {(p["run"], p["kind"]): p["command"] for p in doc["programs"]}
    assert commands[("prediction", "ingestion")] == (
        "python /app/program/ingest.py /app/input_data /app/output /app/ingested_program")
    assert commands[("scoring", "program")] == (
        "python /app/program/score.py /app/input /app/output")


@pytest.mark.parametrize("command, kind, is_scoring, during, expected", [
    ("python $program/score.py $input $output", "program", True, False,
     "python /app/program/score.py /app/input /app/output"),
    ("python $ingestion_program/ingest.py $input $output $submission_program", "ingestion",
     False, False, "python /app/program/ingest.py /app/input_data /app/output "
     "/app/ingested_program"),
    ("python $program/x.py $hidden $shared $tmp $predictions", "ingestion", True, True,
     "python /app/ingestion_program/x.py /app/input/ref /app/shared /app/output "
     "/app/input/res"),
    ("cp $predictions/* $output", "program", False, False, "cp /app/output/* /app/output"),
])
def test_legacy_placeholders_are_replaced_as_the_worker_does(command, kind, is_scoring,
                                                             during, expected):
    assert replace_legacy_metadata_command(command, kind, is_scoring, during) == expected
