"""Profiles as TOML files: the shipped ones, a broken one of each kind, discovery, the CLI."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.profile import (
    ProfileError,
    check_profile,
    get_profile,
    load_profile,
    project_profile,
    shipped_profiles,
)

MINIMAL = """
name = "mini"
title = "A two-class challenge"

[task]
input_shape = [32, 32, 3]
class_names = ["cat", "dog"]
time_limit_s = 120
hidden_test_size = 400

[runtime]
packages = { "tensorflow-cpu" = "==2.17.0", keras = "==3.4.1" }
"""


def write(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_both_shipped_profiles_pass_the_check():
    assert shipped_profiles() == ["an2dl-2023-hw1", "an2dl-2024-hw1"]
    for name in shipped_profiles():
        result = check_profile(get_profile(name).source)
        assert result.ok, result.mistakes
        assert result.profile.name == name  # a shipped file is named after its profile


def test_the_2024_profile_reads_as_it_was_written_in_python():
    p = get_profile("an2dl-2024-hw1")
    assert p.input_shape == (96, 96, 3) and p.num_classes == 8 and p.time_limit_s == 6000
    assert p.hidden_test_size == 5133 and p.crop_fraction == 200 / 360
    assert p.class_aliases["ig"] == 3 and p.label_for_folder("Immature_Granulocytes") == 3
    assert p.server_requirements() == ["tensorflow-cpu==2.17.0", "keras==3.4.1", "numpy<2"]
    assert p.contract.call == "Model()" and p.contract.working_dir == "submission"
    # The forecast's default calibration, to the digit: the public zip's forecast is 0.369.
    assert p.calibration == {
        "id": "an2dl-2024-hw1-public-2", "profile": "an2dl-2024-hw1", "recipe": "pp@2.0",
        "strength": 3.77, "sd": 0.063, "testset": "default",
        "points": [{"experiment": "mttcrn-gap-augmentation", "codabench": 0.37,
                    "forecast": 0.3692}]}


def test_the_2023_profile_has_the_codalab_contract():
    p = get_profile("an2dl-2023-hw1")
    assert p.class_names == ("healthy", "unhealthy") and p.input_dtype == "float32"
    assert p.contract.call == "model(path)" and p.contract.required_files == ("metadata",)
    assert p.contract.working_dir == "run" and "tensor" in p.contract.predict_returns
    assert p.images_key == "data" and p.calibration == {}


@pytest.mark.parametrize("table, key, line", [
    ("task", "input_shapes = [1, 2, 3]",
     "unknown key [task] input_shapes (did you mean 'input_shape'?)"),
    ("", 'colour = "red"', "unknown key colour (known: name, title, platform, extends, "
                              "task, runtime, contract, data, calibration)"),
    ("task", 'time_limit_s = "120"',
     "[task] time_limit_s must be a positive number of seconds. Received: a string ('120')"),
    ("task", "input_shape = [32, 32]",
     "[task] input_shape must be a list of three positive integers. Received: a list ([32, 32])"),
    ("task", "num_classes = 3", "[task] num_classes = 3 but class_names lists 2 names"),
    ("task", "class_aliases = { kitten = 2 }",
     "[task] class_aliases: kitten = 2 is not a label 0..1"),
    ("data", "class_counts = [10, 20, 30]", "[data] class_counts has 3 numbers for 2 classes"),
    ("task", 'metric = "auc"', "[task] metric: unknown value 'auc'; one of 'accuracy', 'macro_f1'"),
    ("contract", 'class_name = "my model"',
     "[contract] class_name must be a Python class name. Received: a string ('my model')"),
    ("contract", 'init_args = ["path", "config"]',
     "[contract] init_args: unknown value 'config'; one of 'path'"),
])
def test_a_broken_profile_gets_one_line_for_its_mistake(tmp_path, table, key, line):
    lines = [ln for ln in MINIMAL.splitlines()
             if not (table == "task" and ln.split(" = ")[0] == key.split(" = ")[0])]
    if f"[{table}]" in lines:  # a key set (or set again) in a table the profile has
        lines.insert(lines.index(f"[{table}]") + 1, key)
    elif table:
        lines += [f"[{table}]", key]
    else:
        lines.insert(0, key)
    result = check_profile(write(tmp_path, "\n".join(lines)))
    assert result.mistakes == [f"{tmp_path / 'p.toml'}: {line}"]


def test_a_missing_field_says_what_it_is(tmp_path):
    result = check_profile(write(tmp_path, MINIMAL.replace("hidden_test_size = 400\n", "")))
    assert result.mistakes == [f"{tmp_path / 'p.toml'}: missing [task] hidden_test_size "
                               f"(the estimated number of hidden test images)"]


def test_bad_toml_is_one_line_with_its_position(tmp_path):
    result = check_profile(write(tmp_path, 'name = "mini\n'))
    assert len(result.mistakes) == 1
    assert "not valid TOML" in result.mistakes[0] and "line 1" in result.mistakes[0]


def test_every_mistake_of_a_file_is_listed_and_loading_refuses_it(tmp_path):
    path = write(tmp_path, MINIMAL.replace('title = "A two-class challenge"', "title = 3")
                 .replace("hidden_test_size = 400", "hidden_test_size = 0"))
    assert len(check_profile(path).mistakes) == 2
    with pytest.raises(ProfileError) as e:
        get_profile(str(path))
    assert len(e.value.mistakes) == 2 and "harness profile check" in e.value.hint


def test_a_profile_by_path_and_one_that_extends_a_shipped_one(tmp_path):
    mini = get_profile(str(write(tmp_path, MINIMAL)))
    assert mini.name == "mini" and mini.num_classes == 2 and mini.contract.call == "Model()"
    child = write(tmp_path, 'extends = "an2dl-2023-hw1"\nname = "hw1-rerun"\n'
                            'title = "A rerun"\n[task]\ntime_limit_s = 900\n', "child.toml")
    p = load_profile(child)
    assert (p.name, p.time_limit_s, p.class_names) == ("hw1-rerun", 900, ("healthy",
                                                                           "unhealthy"))
    assert p.contract.class_name == "model"


def test_an_unknown_name_says_what_exists():
    with pytest.raises(HarnessError) as e:
        get_profile("an2dl-2025-hw1")
    assert "did you mean" in e.value.hint


def test_harness_toml_is_found_from_a_subfolder_and_used_by_default(tmp_path, monkeypatch):
    write(tmp_path, MINIMAL, "harness.toml")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert project_profile() == tmp_path / "harness.toml"
    assert get_profile().name == "mini"
    assert get_profile("an2dl-2024-hw1").name == "an2dl-2024-hw1"  # --profile wins


def test_cli_profile_show_and_check(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(main, ["profile", "show", "an2dl-2023-hw1", "--json"])
    assert runner.invoke(main, ["profile", "show", "--profile", "an2dl-2023-hw1", "--json"]
                         ).output == shown.output
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert doc["contract"]["class_name"] == "model" and doc["hidden_test_size"] == 1000
    assert runner.invoke(main, ["profile", "check", str(write(tmp_path, MINIMAL))]).exit_code == 0
    bad = runner.invoke(main, ["profile", "check", str(write(
        tmp_path, MINIMAL.replace("[runtime]", "[runtim]"), "bad.toml"))])
    assert bad.exit_code == 2
    assert "unknown key runtim" in bad.output and "missing table [runtime]" in bad.output
    # Every command takes the file as --profile, and a broken one stops it in one line each.
    used = runner.invoke(main, ["testset", "list", "--profile", str(tmp_path / "bad.toml")])
    assert used.exit_code == 2 and used.output.count("error:") == 2


def test_the_docs_worked_example_is_a_valid_profile(tmp_path):
    import re

    from harness.paths import REPO_ROOT

    usage = (REPO_ROOT / "docs" / "usage.md").read_text()
    example = re.search(r"```toml\n(.*?)```", usage, re.S).group(1)
    result = check_profile(write(tmp_path, example, "harness.toml"))
    assert result.ok, result.mistakes
    assert result.profile.input_shape == (128, 128, 3) and result.profile.num_classes == 3
