"""`harness list KIND`: every registry shows what it holds; a wrong kind says which exist."""

from __future__ import annotations

import json

import pytest

from harness.catalog import KINDS, list_kind
from harness.cli import main


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_lists_its_registry_with_a_line_each(kind):
    result = list_kind(kind)
    assert result.entries and all(e.name and e.description for e in result.entries)


def test_the_lists_are_the_registries_themselves():
    from harness.testset.corruptions import FAMILIES
    from harness.training.optim import OPTIMIZERS

    assert [e.name for e in list_kind("families").entries] == FAMILIES.names()
    assert [e.name for e in list_kind("optimizers").entries] == OPTIMIZERS.names()
    assert "baseline_cnn" in [e.name for e in list_kind("experiments").entries]
    assert "an2dl-2023-hw1" in [e.name for e in list_kind("profiles").entries]


def test_list_prints_a_table_or_json_and_refuses_an_unknown_kind(runner):
    shown = runner.invoke(main, ["list", "recipes"])
    assert shown.exit_code == 0 and "pp-small" in shown.output and "[@VERSION]" in shown.output
    as_json = json.loads(runner.invoke(main, ["list", "augmentations", "--json"]).output)
    assert as_json["kind"] == "augmentations" and {"name": "flip"}.items() <= \
        as_json["entries"][0].items()
    wrong = runner.invoke(main, ["list", "familes"])
    assert wrong.exit_code == 2 and "did you mean 'families'?" in wrong.output
