"""Recipes and the headline aggregates."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.testset import recipes


def test_default_recipe_covers_every_family_with_valid_severities():
    r = recipes.get_recipe()
    assert r.id == f"{r.name}@{r.version}" and r.aggregate in recipes.AGGREGATES
    from harness.testset.corruptions import FAMILIES

    assert set(r.families) == set(FAMILIES)


def test_aggregates_on_known_cells():
    cells = {("clean", 0): (0.9, 100), ("overlay", 1): (0.6, 50), ("overlay", 5): (0.2, 50),
             ("occlusion", 3): (0.6, 100), ("jpeg", 2): (0.8, 100)}
    agg = {m: recipes.AGGREGATES[m](cells) for m in recipes.AGGREGATES}
    assert agg["mean"] == pytest.approx((0.9 + 0.4 + 0.6 + 0.8) / 4)
    assert agg["mean_corrupted"] == pytest.approx((0.4 + 0.6 + 0.8) / 3)
    assert agg["kind_mean"] == pytest.approx((0.5 + 0.8) / 2)  # overlay kind, digital kind
    assert agg["worst"] == pytest.approx(0.4)
    assert agg["pooled"] == pytest.approx((90 + 30 + 10 + 60 + 80) / 400)
    assert agg["severe_mean"] == pytest.approx(0.2)


def test_aggregate_from_scoring_figures_and_predictions_agree():
    y = np.array([0, 1, 2, 3, 0, 1])
    p = np.array([0, 1, 0, 0, 0, 0])
    groups = np.array(["clean", "clean", "jpeg", "jpeg", "overlay", "overlay"])
    cells = recipes.cells_from_predictions(y, p, groups, np.array([0, 0, 1, 1, 2, 2]))
    per_group = {"clean": 1.0, "jpeg": 0.0, "overlay": 0.5}
    for method in ("mean", "mean_corrupted", "kind_mean"):
        assert recipes.aggregate(per_group, method=method) == pytest.approx(
            recipes.aggregate({}, cells=cells, method=method))


def test_unknown_aggregate_says_did_you_mean():
    with pytest.raises(HarnessError, match="unknown aggregate") as e:
        recipes.aggregate({"clean": 1.0}, method="kind_maen")
    assert "kind_mean" in e.value.hint
