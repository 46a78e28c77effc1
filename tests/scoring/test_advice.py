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
