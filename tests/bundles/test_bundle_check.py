"""`harness bundle check`: the real bundles check; each broken one gets its one line."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from bundle_fixtures import V2_YAML, make_v1_bundle, make_v2_bundle, writable_copy

from harness.bundles import check_bundle
from harness.cli import main

REAL = ["Mini-MNIST/Mini-MNIST-Bundle", "wheat_seeds/code_submission_bundle",
        "wheat_seeds/ingestion_during_scoring_bundle", "wheat_seeds/results_submission_bundle",
        "wheat_seeds/code_submission_bundle.zip",
        "wheat_seeds/ingestion_during_scoring_bundle.zip",
        "wheat_seeds/results_submission_bundle.zip"]


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("name", REAL)
def test_the_shipped_bundles_check(shared_bundles, name):
    result = check_bundle(shared_bundles / name)
    assert result.ok, [p.line() for p in result.problems]
    assert {g.kind for g in result.programs} >= {"scoring"}
    assert all(g.command for g in result.programs)


def test_check_prints_the_competition(runner, shared_bundles):
    result = runner.invoke(main, ["bundle", "check",
                                  str(shared_bundles / "Mini-MNIST" / "Mini-MNIST-Bundle")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    for expected in ("Mini-MNIST Digit Classification", "codalab/codalab-legacy:py312",
                     "2026-01-01", "600 s", "run_ingestion.py", "Accuracy (score, desc)",
                     "the bundle checks"):
        assert expected in out


def test_check_says_a_phase_takes_result_submissions(runner, shared_bundles):
    result = runner.invoke(main, ["bundle", "check", str(
        shared_bundles / "wheat_seeds" / "results_submission_bundle.zip")])
    assert result.exit_code == 0, result.output
    assert "takes result submissions" in " ".join(result.stdout.split())


def test_check_json_is_the_competition(runner, tmp_path):
    result = runner.invoke(main, ["bundle", "check", "--json",
                                  str(make_v2_bundle(tmp_path / "b"))])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] and doc["problems"] == []
    assert [p["name"] for p in doc["bundle"]["phases"]] == ["Development", "Final"]
    assert doc["bundle"]["phases"][0]["start"] == "2026-01-01T00:00:00+00:00"
    assert {(g["kind"], g["command"]) for g in doc["programs"]} == \
        {("ingestion", "python3 ingestion.py"), ("scoring", "python3 score.py")}


def test_check_json_lists_the_problems(runner, tmp_path):
    broken = V2_YAML.replace("      - 1\nleaderboards", "      - 5\nleaderboards")
    result = runner.invoke(main, ["bundle", "check", "--json",
                                  str(make_v2_bundle(tmp_path / "b", broken))])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert not doc["ok"] and doc["bundle"] is None
    assert [p["where"] for p in doc["problems"]] == ["phase 1 'Final'"]
    assert "task 5" in doc["problems"][0]["message"] and doc["problems"][0]["fix"]


def _no_scoring_program(root):
    text = V2_YAML.replace("    ingestion_program: ingestion_program/\n"
                           "    scoring_program: scoring_program/\n  - index: 1",
                           "    ingestion_program: ingestion_program/\n  - index: 1")
    (root / "competition.yaml").write_text(text)


def _bad_yaml(root):
    (root / "competition.yaml").write_text(V2_YAML.replace("title: Tiny Digits",
                                                           "title: Tiny Digits\n  - oops: ["))


def _missing_task(root):
    (root / "competition.yaml").write_text(V2_YAML.replace("      - 1\nleaderboards",
                                                           "      - 5\nleaderboards"))


def _metadata_without_command(root):
    (root / "scoring_program" / "metadata.yaml").write_text("description: scores it\n")


def _ingestion_without_metadata(root):
    (root / "ingestion_program" / "metadata.yaml").unlink()


def _missing_data_folder(root):
    (root / "final" / "reference_data" / "labels.csv").unlink()
    (root / "final" / "reference_data").rmdir()


def _phases_overlap(root):
    (root / "competition.yaml").write_text(V2_YAML.replace("end: 6-30-2026", "end: 8-1-2026"))


def _no_leaderboards(root):
    (root / "competition.yaml").write_text(V2_YAML.split("leaderboards:")[0])


@pytest.mark.parametrize("breaks, expected", [
    (_no_scoring_program, r"tasks\[0\] 'Dev Task': .*does not have a scoring program"),
    (_bad_yaml, r"competition.yaml line 3: bad YAML"),
    (_missing_task, r"phase 1 'Final': names task 5, which is not among the tasks \(0, 1\)"),
    (_metadata_without_command, r"scoring_program/metadata.yaml: no `command`"),
    (_ingestion_without_metadata,
     r"ingestion_program: no metadata.yaml or metadata: Program directory missing"),
    (_missing_data_folder, r'Cannot find dataset: "final/reference_data/"'),
    (_phases_overlap, r"Phases must be sequential"),
    (_no_leaderboards, r"Could not find leaderboards"),
])
def test_a_broken_bundle_gets_its_one_line(runner, tmp_path, breaks, expected):
    root = make_v2_bundle(tmp_path / "b")
    breaks(root)
    result = runner.invoke(main, ["bundle", "check", str(root)])
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1, result.stderr
    assert re.search(expected, errors[0]) and "(fix: " in errors[0]


def test_a_broken_copy_of_a_real_bundle(runner, tmp_path, shared_bundles):
    root = writable_copy(shared_bundles / "Mini-MNIST" / "Mini-MNIST-Bundle", tmp_path / "mm")
    (root / "ingestion_program" / "metadata.yaml").write_text("# no command\n")
    result = runner.invoke(main, ["bundle", "check", str(root)])
    assert result.exit_code == 2
    assert _errors(result) == [
        "error: task 0 'MNIST Classification Task': ingestion_program/metadata.yaml: no "
        "`command`: Program directory missing 'command' in metadata (fix: add `command: "
        "python3 ingestion.py` (the program to start, run in /app/program))"]


def test_a_missing_logo_is_a_warning_not_a_refusal(runner, tmp_path):
    root = make_v2_bundle(tmp_path / "b")
    (root / "logo.png").unlink()
    result = runner.invoke(main, ["bundle", "check", str(root)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "Unable to find image: logo.png" in result.stderr


def test_metadata_one_folder_down_says_where_it_is(tmp_path):
    root = make_v2_bundle(tmp_path / "b")
    (root / "scoring_program" / "inner").mkdir()
    (root / "scoring_program" / "metadata.yaml").rename(
        root / "scoring_program" / "inner" / "metadata.yaml")
    problem, = check_bundle(root).problems
    assert "one folder down, in inner/" in problem.message


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: tmp / "nowhere", "no such file or folder"),
    (lambda tmp: (tmp / "bundle.zip").write_text("not a zip") and tmp / "bundle.zip",
     "Bad zip file uploaded"),
    (lambda tmp: _zip_of(tmp, {"model.py": "x = 1\n"}), "competition.yaml is missing"),
])
def test_what_is_not_a_bundle_gets_one_line(runner, tmp_path, make, expected):
    result = runner.invoke(main, ["bundle", "check", str(make(tmp_path))])
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1 and expected in errors[0]


def _zip_of(tmp, files):
    with zipfile.ZipFile(tmp / "sub.zip", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return tmp / "sub.zip"


def test_a_codalab_v1_bundle_checks(runner, tmp_path):
    result = runner.invoke(main, ["bundle", "check", str(make_v1_bundle(tmp_path / "v1"))])
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "competition.yaml version 1" in out and "(absent from the yaml" in out
    assert "python $program/score.py $input $output" in out


def test_a_v1_program_zip_without_metadata_gets_its_one_line(runner, tmp_path):
    root = make_v1_bundle(tmp_path / "v1", programs_have_metadata=False)
    result = runner.invoke(main, ["bundle", "check", str(root)])
    assert result.exit_code == 2
    errors = _errors(result)
    assert len(errors) == 1 and "Program directory missing 'metadata.yaml/metadata'" in errors[0]
    assert errors[0].startswith("error: tasks 0, 1: ")


def test_a_bundle_folder_is_read_in_place_and_never_written(tmp_path):
    root = make_v2_bundle(tmp_path / "b")
    (root / "ingestion_program" / "metadata.yaml").write_text("command: [unclosed\n")

    def snapshot():
        return sorted((p.relative_to(root), p.stat().st_mtime_ns, p.stat().st_size)
                      for p in root.rglob("*"))

    before = snapshot()
    problem, = check_bundle(root).problems
    assert "ingestion_program/metadata.yaml line " in problem.where
    assert snapshot() == before
