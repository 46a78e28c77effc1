"""Compound chains: plans are data, chain lengths follow the strength, levels nest."""

from __future__ import annotations

import numpy as np
import pytest

from harness.testset import compound

SPEC = {"families": {"gaussian_noise": 1.0, "overlay": 2.0, "rotate_flip": 1.0, "jpeg": 0.0},
        "severities": [1, 3, 5], "max_links": 3, "copies": 2}


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, (40, 96, 96, 3), dtype=np.uint8)


def test_a_plan_is_a_pure_function_of_its_seed():
    a, b = compound.sample_plan(50, SPEC, seed=7), compound.sample_plan(50, SPEC, seed=7)
    np.testing.assert_array_equal(a.links, b.links)
    np.testing.assert_array_equal(a.severities, b.severities)
    np.testing.assert_array_equal(a.draw, b.draw)
    assert not np.array_equal(a.links, compound.sample_plan(50, SPEC, seed=8).links)


def test_links_never_repeat_a_family_and_skip_zero_weights():
    plan = compound.sample_plan(500, SPEC, seed=0)
    assert "jpeg" not in plan.families
    assert all(len(set(row)) == len(row) for row in plan.links.tolist())
    assert set(np.unique(plan.severities)) <= {1, 3, 5}
    # overlay has twice the weight: it comes first about twice as often as the others.
    first = np.bincount(plan.links[:, 0], minlength=3) / 500
    assert first[plan.families.index("overlay")] > 0.4


@pytest.mark.parametrize("strength", [0.0, 1.0, 1.3, 2.5, 3.0])
def test_chain_lengths_average_the_strength(strength):
    lengths = compound.sample_plan(4000, SPEC, seed=1).lengths(strength)
    assert set(np.unique(lengths)) <= {int(np.floor(strength)), int(np.ceil(strength))}
    assert lengths.mean() == pytest.approx(strength, abs=0.03)


def test_an_image_at_any_strength_is_its_image_at_its_own_chain_length(images):
    """What calibration relies on: scoring every level once gives every strength exactly."""
    plan = compound.sample_plan(len(images), SPEC, seed=3)
    levels = list(compound.levels(images, plan))
    assert len(levels) == SPEC["max_links"] + 1 and levels[0] is images
    for strength in (0.5, 1.7, 2.2):
        out = compound.at_strength(images, plan, strength)
        k = plan.lengths(strength)
        for i in range(len(images)):
            np.testing.assert_array_equal(out[i], levels[k[i]][i])
    assert not np.array_equal(levels[1], images) and not np.array_equal(levels[2], levels[1])


def test_expand_tags_every_copy(images):
    labels = np.arange(len(images)) % 8
    arrays = compound.expand_compound(images, labels, SPEC, strength=1.5, seed=0)
    n = len(images) * SPEC["copies"]
    assert arrays["images"].shape == (n, 96, 96, 3) and arrays["images"].dtype == np.uint8
    assert set(arrays["groups"]) == {compound.GROUP}
    np.testing.assert_array_equal(arrays["labels"], np.tile(labels, 2))
    np.testing.assert_array_equal(arrays["source_index"], np.tile(np.arange(len(images)), 2))
    assert set(np.unique(arrays["severity"])) == {1, 2}
    # The two copies take different chains.
    assert not np.array_equal(arrays["images"][:len(images)], arrays["images"][len(images):])


def test_a_link_applies_only_the_severities_drawn_for_it(images, monkeypatch):
    """Each (family, severity) of a link runs once, on exactly the images that drew it."""
    from harness.testset import corruptions

    plan = compound.sample_plan(len(images), SPEC, seed=5)
    calls = []
    real = corruptions.Family.__call__

    def spy(self, x, severity, rng):
        calls.append((self.name, severity, len(x)))
        return real(self, x, severity, rng)

    monkeypatch.setattr(corruptions.Family, "__call__", spy)
    list(compound.levels(images, plan, upto=1))
    drawn = {(plan.families[f], int(s)) for f, s in zip(plan.links[:, 0], plan.severities[:, 0])}
    assert {(name, s) for name, s, _ in calls} == drawn and all(n > 0 for _, _, n in calls)
