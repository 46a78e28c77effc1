"""The advice `harness score` gives: which augmentations train against the worst families."""

from __future__ import annotations

from harness.scoring.advice import COUNTERS, recommend
from harness.testset.recipes import SINGLE_FAMILIES
from harness.training.augmentation import resolve


def test_every_recipe_family_has_a_valid_counter():
    assert set(COUNTERS) == set(SINGLE_FAMILIES)
    for spec in COUNTERS.values():
        resolve(spec)  # raises on an unknown augmentation or parameter


def test_advice_names_the_three_worst_families_and_counters_them_once():
    groups = {"clean": 0.1, "compound": 0.05, "overlay": 0.2, "saturation": 0.3,
              "stain_color": 0.35, "jpeg": 0.9, "mine": 0.0}
    advice = recommend(groups)
    assert advice.families == [("overlay", 0.2), ("saturation", 0.3), ("stain_color", 0.35)]
    # saturation and stain_color share one counter: it appears once.
    assert advice.augment == ["flip", "overlay", COUNTERS["saturation"]]
    assert advice.command("baseline_cnn").startswith(
        "harness train baseline_cnn --set augment=\"['flip', 'overlay', {'name': 'color'")


def test_no_advice_without_a_known_family():
    assert recommend({"clean": 0.9, "compound": 0.3}) is None
    assert recommend({}) is None


def test_far_below_clean_the_recipes_chains_come_first_and_the_counters_stay():
    from harness.scoring.advice import CHAINS, EVIDENCE
    from harness.training.augmentation import recipe_families

    far = recommend({"clean": 0.95, "compound": 0.35, "overlay": 0.3, "jpeg": 0.8})
    assert far.chains == CHAINS and "chains" in CHAINS
    assert far.command("baseline_cnn", far.chains) == \
        "harness train baseline_cnn --set augment=\"['flip', 'chains']\""
    assert far.augment == ["flip", "overlay", COUNTERS["jpeg"]]  # the alternative, kept
    assert len(recipe_families(CHAINS)) == len(SINGLE_FAMILIES)
    assert "0.000" not in EVIDENCE  # the measured figures, not placeholders
    # Close to clean, or a model that has not learnt the clean task: the counters only.
    assert recommend({"clean": 0.95, "compound": 0.85, "overlay": 0.8}).chains is None
    assert recommend({"clean": 0.31, "compound": 0.09, "overlay": 0.08}).chains is None
