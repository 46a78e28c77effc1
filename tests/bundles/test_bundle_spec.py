"""Reading bundles as Codabench's unpacker does: the real ones, zips, v2 and CodaLab v1."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest
from bundle_fixtures import V1_YAML, V2_YAML, make_v1_bundle, make_v2_bundle

from harness.bundles import load_bundle, read_bundle
from harness.errors import HarnessError

pytestmark = pytest.mark.usefixtures("bundle_cache")

UTC = dt.timezone.utc


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def test_mini_mnist_reads_as_codabench_would(shared_bundles):
    b = load_bundle(shared_bundles / "Mini-MNIST" / "Mini-MNIST-Bundle")
    assert (b.version, b.docker_image, b.docker_image_default) == \
        ("2", "codalab/codalab-legacy:py312", False)
    phase = b.phase(0)
    assert (phase.name, phase.start, phase.end) == ("Competition Phase",
                                                    dt.datetime(2026, 1, 1, tzinfo=UTC),
                                                    dt.datetime(2027, 1, 1, tzinfo=UTC))
    # No limit in the yaml: Codabench's model default, and the phase says so.
    assert (phase.execution_time_limit_s, phase.time_limit_from) == (600.0, "default")
    task = b.tasks_of(phase)[0]
    assert task.ingestion_program.name == "ingestion_program"
    assert (task.input_data / "train_labels.csv").is_file()
    assert [(c.key, c.title, c.index) for c in b.leaderboards[0].columns] == \
        [("score", "Accuracy", 0)]


def test_wheat_seeds_variants(shared_bundles):
    during = load_bundle(shared_bundles / "wheat_seeds" / "ingestion_during_scoring_bundle")
    # No docker_image in that yaml: Codabench's default image.
    assert (during.docker_image, during.docker_image_default) == \
        ("codalab/codalab-legacy:py37", True)
    # '8-7-2019' is month first, as dateutil (Codabench's get_datetime) reads it.
    assert during.phase("development phase").start == dt.datetime(2019, 8, 7, tzinfo=UTC)
    assert during.phase(1).end == dt.datetime(2019, 12, 31, tzinfo=UTC)
    assert all(t.ingestion_only_during_scoring for t in during.tasks)
    results = load_bundle(shared_bundles / "wheat_seeds" / "results_submission_bundle")
    assert all(t.takes_result_submissions for t in results.tasks)
    code = load_bundle(shared_bundles / "wheat_seeds" / "code_submission_bundle")
    assert (code.phase("Testing Phase").end, code.phase(1).max_submissions) == (None, 1)
    assert [c.key for c in code.leaderboards[0].columns] == ["accuracy", "duration"]


@pytest.mark.parametrize("name", ["code_submission_bundle", "ingestion_during_scoring_bundle",
                                  "results_submission_bundle"])
def test_the_organizers_zips_read_like_their_folders(shared_bundles, name):
    folder = load_bundle(shared_bundles / "wheat_seeds" / name)
    zipped = load_bundle(shared_bundles / "wheat_seeds" / f"{name}.zip")
    assert zipped.title == folder.title
    assert [p.name for p in zipped.phases] == [p.name for p in folder.phases]
    assert zipped.sha256 != folder.sha256  # the zip's own hash
    for task in zipped.tasks:
        assert task.scoring_program.is_relative_to(zipped.root)
        assert (task.scoring_program / "metadata.yaml").is_file()


def test_a_zip_is_extracted_once_and_read_only(tmp_path):
    zipped = _zip_folder(make_v2_bundle(tmp_path / "b"), tmp_path / "b.zip")
    first, second = load_bundle(zipped), load_bundle(zipped)
    assert first.root == second.root
    stamp = (first.root / "competition.yaml").stat().st_mtime_ns
    assert not (first.root / "competition.yaml").stat().st_mode & 0o222
    assert (second.root / "competition.yaml").stat().st_mtime_ns == stamp


def test_a_zip_with_the_yaml_one_folder_down_is_found_with_a_warning(tmp_path):
    zipped = _zip_folder(make_v2_bundle(tmp_path / "b"), tmp_path / "b.zip", prefix="tiny/")
    reading = read_bundle(zipped)
    assert reading.bundle is not None and reading.bundle.root.name == "tiny"
    assert any("not at the root" in w.message for w in reading.warnings)


def test_folder_hash_is_stable_and_follows_contents(tmp_path):
    folder = make_v2_bundle(tmp_path / "b")
    before = load_bundle(folder).sha256
    assert load_bundle(folder).sha256 == before
    (folder / "scoring_program" / "score.py").write_text("print('other')\n")
    assert load_bundle(folder).sha256 != before


def test_dates_limits_and_defaults_of_a_v2_phase(tmp_path):
    b = load_bundle(make_v2_bundle(tmp_path / "b"))
    dev, final = b.phases
    assert (dev.start, dev.end) == (dt.datetime(2026, 1, 1, tzinfo=UTC),
                                    dt.datetime(2026, 6, 30, tzinfo=UTC))
    assert (dev.execution_time_limit_s, dev.time_limit_from) == (120.0, "execution_time_limit")
    assert final.start == dt.datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert (final.max_submissions_per_day, final.max_submissions) == (2, 100)


def test_execution_time_limit_ms_is_read_in_milliseconds(tmp_path):
    text = V2_YAML.replace("execution_time_limit: 120", "execution_time_limit_ms: 90000")
    phase = load_bundle(make_v2_bundle(tmp_path / "b", text)).phase(0)
    assert (phase.execution_time_limit_s, phase.time_limit_from) == \
        (90.0, "execution_time_limit_ms")


def test_phases_are_sorted_by_index_and_renumbered(tmp_path):
    text = V2_YAML.replace("  - index: 0\n    name: Development",
                           "  - index: 7\n    name: Development")
    text = text.replace("    start: 1-1-2026\n    end: 6-30-2026", "    start: 1-1-2027")
    text = text.replace("    start: '2026-07-01 12:30'", "    start: '2026-07-01 12:30'\n"
                        "    end: 12-1-2026")
    b = load_bundle(make_v2_bundle(tmp_path / "b", text))
    assert [(p.index, p.name) for p in b.phases] == [(0, "Final"), (1, "Development")]


def test_phase_selector_says_which_phases_there_are(tmp_path):
    b = load_bundle(make_v2_bundle(tmp_path / "b"))
    assert b.phase("1").name == "Final" and b.phase("FINAL").index == 1
    with pytest.raises(HarnessError) as e:
        b.phase("Test")
    assert "0 'Development'; 1 'Final'" in e.value.hint


def test_load_bundle_raises_the_first_problem_in_one_line(tmp_path):
    folder = make_v2_bundle(tmp_path / "b", V2_YAML.replace("terms: pages/terms.md\n", ""))
    with pytest.raises(HarnessError) as e:
        load_bundle(folder)
    assert "terms" in e.value.message and "\n" not in e.value.message


def test_a_codalab_v18_bundle_is_converted_as_codabench_converts_it(tmp_path):
    b = load_bundle(make_v1_bundle(tmp_path / "legacy"))
    assert (b.version, b.docker_image, b.docker_image_default) == \
        ("1", "codalab/codalab-legacy:py37", True)
    assert [p.title for p in b.pages] == ["overview"] and b.terms.name == "terms.html"
    # v1.8: the parallel parent is dropped; the others in phasenumber order, renumbered.
    dev, final = b.phases
    assert [(dev.index, dev.name), (final.index, final.name)] == \
        [(0, "Development"), (1, "Final")]
    # A v1 phase ends the day before the next starts; the last at the end_date.
    assert dev.end == dt.datetime(2021, 5, 31, tzinfo=UTC)
    assert final.end == dt.datetime(2021, 12, 31, tzinfo=UTC)
    assert (dev.execution_time_limit_s, final.execution_time_limit_s) == (300.0, 600.0)
    assert (dev.max_submissions_per_day, dev.max_submissions, final.max_submissions) == \
        (5, 100, 3)
    dev_task, final_task = b.tasks_of(dev)[0], b.tasks_of(final)[0]
    assert dev_task.name == "Development Task" and final_task.ingestion_only_during_scoring
    # Program and data zips come out as folders (extracted in the cache).
    assert (dev_task.scoring_program / "score.py").is_file()
    assert (final_task.input_data / "x.csv").read_text() == "2\n"
    assert dev_task.input_data == (tmp_path / "legacy" / "dev_input").resolve()
    board, = b.leaderboards
    assert (board.key, board.title) == ("RESULTS", "RESULTS")
    assert [(c.key, c.title, c.index, c.sorting, c.precision) for c in board.columns] == \
        [("acc", "acc", 0, "asc", 2), ("auc", "AUC", 1, "desc", 4)]


def test_a_v1_bundle_without_terms_is_refused(tmp_path):
    root = make_v1_bundle(tmp_path / "legacy")
    (root / "competition.yaml").write_text(V1_YAML.replace("  terms: terms.html\n", ""))
    reading = read_bundle(root)
    assert reading.bundle is None
    assert [p.where for p in reading.problems] == ["html"]


def test_a_missing_bundle_is_one_line_naming_it_once(tmp_path):
    with pytest.raises(HarnessError) as e:
        load_bundle(tmp_path / "nowhere")
    assert e.value.message.count("nowhere") == 1 and "no such file or folder" in e.value.message


def test_a_column_index_that_is_no_number_is_a_problem_not_a_crash(tmp_path):
    text = V2_YAML.replace("        key: accuracy", "        key: accuracy\n        index: first")
    reading = read_bundle(make_v2_bundle(tmp_path / "b", text))
    assert [p.where for p in reading.problems] == ["leaderboards[0].columns[0] 'accuracy'"]


def test_naming_the_yaml_reads_its_folder(tmp_path):
    folder = make_v2_bundle(tmp_path / "b")
    assert load_bundle(folder / "competition.yaml").root == folder.resolve()


def test_a_phases_tasks_come_in_the_order_codabench_runs_them(tmp_path):
    """The yaml's `tasks:` order (Codabench's unpacker creates them in it and runs a
    phase's children by pk), whatever order the phase lists them in."""
    yaml_text = V2_YAML.replace("    tasks:\n      - 1\n", "    tasks:\n      - 1\n      - 0\n")
    b = load_bundle(make_v2_bundle(tmp_path / "b", yaml_text))
    assert b.phases[1].task_indexes == (1, 0)
    assert [t.name for t in b.tasks_of(b.phases[1])] == ["Dev Task", "Final Task"]
