"""harness.scoring.metrics: the figure the profile's leaderboard ranks by."""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.scoring.metrics import compute_metrics


def test_the_headline_is_the_profiles_metric(profile):
    y_true, y_pred = np.array([0, 0, 0, 1, 2, 2]), np.array([0, 0, 0, 0, 2, 1])
    m = compute_metrics(y_true, y_pred, profile)
    assert m.metric == "accuracy" and m.value == m.accuracy == 4 / 6
    f1 = compute_metrics(y_true, y_pred, dataclasses.replace(profile, metric="macro_f1"))
    assert f1.metric == "macro_f1" and f1.value == f1.f1_macro < f1.accuracy
