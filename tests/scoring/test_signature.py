"""harness.scoring.signature: the class model.py defines, against each profile's contract."""

from __future__ import annotations

import ast

import pytest

from harness.profile import get_profile
from harness.scoring.signature import check_class

CODABENCH_2024 = """
class Model:
    def __init__(self):
        self.w = 1

    def predict(self, X):
        return X
"""

CODALAB_2023 = """
import os

class model:
    def __init__(self, path):
        self.path = os.path.join(path, "SubmissionModel")

    def predict(self, X):
        return X
"""


def problems(source: str, profile: str) -> list[tuple[str, str]]:
    found = check_class(ast.parse(source), get_profile(profile).contract)
    return [(p.kind, p.message) for p in found]


def test_each_template_keeps_its_own_contract():
    assert problems(CODABENCH_2024, "an2dl-2024-hw1") == []
    assert problems(CODALAB_2023, "an2dl-2023-hw1") == []


def test_a_2024_model_py_under_2023_names_the_class_and_the_constructor():
    assert problems(CODABENCH_2024, "an2dl-2023-hw1") == [
        ("no_model_class", "model.py defines no class model; the server runs `from model "
                           "import model` (it defines class Model)"),
        ("bad_signature", "Model.__init__(self) takes no path; the server calls model(path) "
                          "with the submission's folder (it would fail there with TypeError)"),
    ]


def test_a_2023_model_py_under_2024_names_the_class_and_the_argument():
    assert problems(CODALAB_2023, "an2dl-2024-hw1") == [
        ("no_model_class", "model.py defines no class Model; the server runs `from model "
                           "import Model` (it defines class model)"),
        ("bad_signature", "model.__init__ needs arguments (path); the server calls Model() "
                          "with none"),
    ]


@pytest.mark.parametrize("init, ok", [
    ("def __init__(self, path):", True),
    ("def __init__(self, path=''):", True),   # a default is fine: the server passes one
    ("def __init__(self, *args):", True),
    ("def __init__(self, path, name):", False),
    ("def __init__(self):", False),
])
def test_the_2023_constructor_must_take_the_path(init, ok):
    source = (f"class model:\n    {init}\n        pass\n"
              "    def predict(self, X):\n        return X\n")
    assert (problems(source, "an2dl-2023-hw1") == []) is ok


def test_no_init_at_all_takes_no_path_unless_it_inherits_one():
    plain = "class model:\n    def predict(self, X):\n        return X\n"
    assert problems(plain, "an2dl-2023-hw1")[0][0] == "bad_signature"
    assert problems(plain.replace("class model:", "class model(Base):"), "an2dl-2023-hw1") == []
    assert problems(plain.replace("model", "Model"), "an2dl-2024-hw1") == []
