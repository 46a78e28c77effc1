"""Recipes and the headline aggregates."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.testset import recipes


def test_default_recipe_covers_every_family_with_valid_severities():
    r = recipes.get_recipe()
    assert r.id.startswith(f"{r.name}@{r.version}") and r.aggregate in recipes.AGGREGATES
    from harness.testset.corruptions import FAMILIES

    assert set(r.families) == set(FAMILIES)
    assert set(r.compound["families"]) == set(FAMILIES) - {"clean"}


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


def test_versions_by_name_newest_first():
    assert recipes.get_recipe("pp").version == "2.0"
    assert recipes.get_recipe("pp@1").id == "pp@1.0"
    assert recipes.get_recipe("pp@2.0", strength=3.25).id == "pp@2.0+s3.25"
    assert recipes.get_recipe("pp@1").aggregate == "mean_corrupted"
    with pytest.raises(HarnessError, match="no version 7") as e:
        recipes.get_recipe("pp@7")
    assert "1.0" in e.value.hint


def test_strength_must_fit_the_chain():
    with pytest.raises(HarnessError, match="strength must lie in 0..8"):
        recipes.get_recipe("pp", strength=9)


def test_a_manifest_keeps_its_own_version_and_strength():
    built = recipes.get_recipe("pp@1")
    assert recipes.recipe_for_manifest({"recipe": "pp", "recipe_spec": built.as_dict()}).id == \
        "pp@1.0"
    compound = recipes.get_recipe("pp", strength=2.5)
    assert recipes.recipe_for_manifest({"recipe_spec": compound.as_dict()}).id == "pp@2.0+s2.50"


def test_compound_headline_is_the_accuracy_on_the_chains():
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3])
    p = np.array([0, 1, 2, 3, 0, 0, 0, 3])
    groups = np.array(["clean"] * 2 + ["jpeg"] * 2 + ["compound"] * 4)
    pp = recipes.pseudo_private(y, p, groups, np.array([0, 0, 1, 1, 2, 2, 3, 3]),
                                recipes.get_recipe("pp", strength=2.0))
    assert pp.accuracy == pytest.approx(0.5) and pp.method == "compound"
    assert pp.per_family["jpeg"] == 1.0 and pp.clean == 1.0
    assert pp.low <= 0.5 <= pp.high


def test_bootstrap_interval_covers_and_narrows():
    rng = np.random.default_rng(0)
    small = rng.random(200) < 0.6
    large = rng.random(5000) < 0.6
    lo_s, hi_s = recipes.bootstrap_interval(small)
    lo_l, hi_l = recipes.bootstrap_interval(large)
    assert lo_s < 0.6 < hi_s and lo_l < 0.6 < hi_l
    assert hi_l - lo_l < (hi_s - lo_s) / 3
    # Two identical copies of each image are one observation, not two.
    assert recipes.bootstrap_interval(np.repeat(small, 2), np.repeat(np.arange(200), 2)) == \
        pytest.approx((lo_s, hi_s), abs=0.01)


def test_a_calibration_widens_the_interval_by_its_forecast_error():
    from harness.testset.calibration import ForecastCalibration

    y = np.zeros(2000, int)
    p = (np.random.default_rng(1).random(2000) < 0.4).astype(int)
    groups = np.full(2000, "compound")
    recipe = recipes.get_recipe("pp", strength=4.0)
    bare = recipes.pseudo_private(y, p, groups, recipe=recipe)
    cal = ForecastCalibration("c1", "an2dl-2024-hw1", "pp@2.0", 4.0, sd=0.05,
                              points=({"experiment": "x", "codabench": 0.6, "forecast": 0.6},))
    wide = recipes.pseudo_private(y, p, groups, recipe=recipe, calibration=cal)
    assert bare.calibration is None and wide.calibration == "c1" and wide.calibration_points == 1
    assert (wide.sampling_low, wide.sampling_high) == (bare.sampling_low, bare.sampling_high)
    assert wide.high - wide.low > bare.high - bare.low + 2 * 1.96 * 0.05 * 0.8
