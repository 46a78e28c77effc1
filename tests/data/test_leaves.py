"""harness.data.leaves and `data synth` under the 2023 profile: synthetic plant leaves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from harness.data import leaves
from harness.data.synth import synthesize
from harness.errors import HarnessError
from harness.profile import get_profile

PLANTS = get_profile("an2dl-2023-hw1")


def _redness(image: np.ndarray) -> float:
    """Mean red minus green over plant-coloured pixels (greener than blue): brown spots
    and yellowing raise it."""
    r, g, b = (image[..., i] for i in range(3))
    plant = g > b + 15
    return float((r[plant] - g[plant]).mean())


def test_a_leaf_is_a_pure_function_of_its_generator():
    a = leaves.draw_leaf(np.random.default_rng([1, 2]), "healthy")
    b = leaves.draw_leaf(np.random.default_rng([1, 2]), "healthy")
    assert a.shape == (96, 96, 3) and a.dtype == np.float32 and np.array_equal(a, b)
    with pytest.raises(ValueError, match="unknown leaf kind"):
        leaves.draw_leaf(np.random.default_rng(0), "wilted")


def test_unhealthy_leaves_carry_brown_spots_healthy_ones_green():
    healthy = [leaves.draw_leaf(np.random.default_rng([0, i]), "healthy") for i in range(24)]
    sick = [leaves.draw_leaf(np.random.default_rng([0, i]), "unhealthy") for i in range(24)]
    green = [float((h[..., 1] > h[..., 0] + 20).mean()) for h in healthy]
    assert min(green) > 0.1  # a leaf covers a good part of every image
    assert np.mean([_redness(s) for s in sick]) > np.mean([_redness(h) for h in healthy]) + 8


def test_synth_under_the_2023_profile_draws_its_two_classes_in_the_course_mix():
    data = synthesize(200, seed=0, profile=PLANTS, contaminate=True)
    assert data.images.shape[1:] == (96, 96, 3) and set(data.labels.tolist()) == {0, 1}
    assert data.truth["n_clean"] == 200 and set(data.truth["foreign"]) == {"cartoon_face",
                                                                            "poster"}
    counts = np.bincount(synthesize(200, seed=0, profile=PLANTS).labels)
    assert abs(counts[0] / 200 - 3199 / 5200) < 0.02


def test_a_profile_that_names_no_drawing_is_one_line():
    with pytest.raises(HarnessError, match=r"names nothing for `data synth` to draw") as e:
        synthesize(10, profile=dataclasses.replace(PLANTS, synthetic=""))
    assert "blood-smear, leaves" in e.value.hint
    with pytest.raises(HarnessError, match="classes without a drawing=\\['ripe'\\]"):
        synthesize(10, profile=dataclasses.replace(PLANTS, class_names=("healthy", "ripe")))
