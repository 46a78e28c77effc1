"""Metrics of one scored run: accuracy first, then what explains it.

Accuracy is the leaderboard's metric, or macro F1 where the profile says so (`metric`,
`value`; the pseudo-private forecast is of accuracy either way). Beside it: macro
precision, recall and F1 (over the classes present in the labels or the predictions, as
scikit-learn averages them), recall per class, the confusion matrix (rows: true class,
columns: predicted), and, when the test set tags its images with `groups` (corruption
families) or `severity`, accuracy per tag and the worst group. Plain numpy: scoring must
not pay for importing scikit-learn, whose figures the tests check these against.

Examples:
    >>> m = compute_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), get_profile())
    >>> round(m.accuracy, 4)
    0.6667
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.fsutil import atomic_path
from harness.profile import Profile
from harness.testset.compound import GROUP as COMPOUND


@dataclass
class Metrics:
    """Every figure of one scored run.

    Args:
        accuracy: fraction of labels right (the leaderboard's metric).
        precision_macro, recall_macro, f1_macro: unweighted means over classes.
        per_class_recall: class name -> recall (None for a class absent from the labels).
        confusion: (k, k) counts, rows true class, columns predicted class.
        class_names: the profile's class names, index = label.
        n: number of images.
        group_accuracy: group tag -> accuracy, when the test set has `groups`.
        group_counts: group tag -> number of images.
        worst_group: the group with the lowest accuracy, chains of several families
            ("compound") aside, and `worst_group_accuracy`.
        severity_accuracy: severity tag -> accuracy, when the test set has `severity`.
        metric: the profile's leaderboard metric ("accuracy" or "macro_f1"), and `value`
            its figure here.
    """

    accuracy: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    per_class_recall: dict[str, float | None]
    confusion: list[list[int]]
    class_names: list[str]
    n: int
    group_accuracy: dict[str, float] = field(default_factory=dict)
    group_counts: dict[str, int] = field(default_factory=dict)
    worst_group: str | None = None
    worst_group_accuracy: float | None = None
    severity_accuracy: dict[str, float] = field(default_factory=dict)
    metric: str = "accuracy"
    value: float | None = None


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # scikit-learn's zero_division default: an undefined ratio counts as 0.
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def _accuracy_by(tags: np.ndarray, correct: np.ndarray) -> tuple[dict[str, float], dict[str, int]]:
    tags = np.asarray(tags)
    accuracy, counts = {}, {}
    for tag in np.unique(tags):
        mask = tags == tag
        if not mask.any():
            continue  # a NaN tag equals nothing, itself included: no group to report
        key = str(tag.item() if hasattr(tag, "item") else tag)
        accuracy[key] = float(correct[mask].mean())
        counts[key] = int(mask.sum())
    return accuracy, counts


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, profile: Profile,
                    groups: np.ndarray | None = None,
                    severity: np.ndarray | None = None) -> Metrics:
    """Score predictions against labels.

    Args:
        y_true: (n,) integer labels.
        y_pred: (n,) integer predictions (already checked by `check_predictions`).
        profile: the competition profile (classes).
        groups: optional (n,) tags, e.g. the corruption family of each image.
        severity: optional (n,) tags, e.g. the corruption strength of each image.

    Returns:
        `Metrics`.
    """
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    k = profile.num_classes
    confusion = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(float)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision, recall = _safe_divide(tp, predicted), _safe_divide(tp, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    present = (support > 0) | (predicted > 0)
    correct = y_true == y_pred
    metrics = Metrics(
        accuracy=float(correct.mean()),
        precision_macro=float(precision[present].mean()),
        recall_macro=float(recall[present].mean()),
        f1_macro=float(f1[present].mean()),
        per_class_recall={name: (float(recall[i]) if support[i] else None)
                          for i, name in enumerate(profile.class_names)},
        confusion=confusion.tolist(),
        class_names=list(profile.class_names),
        n=int(len(y_true)),
        metric=profile.metric,
    )
    metrics.value = metrics.f1_macro if profile.metric == "macro_f1" else metrics.accuracy
    if groups is not None:
        metrics.group_accuracy, metrics.group_counts = _accuracy_by(groups, correct)
        # The worst family says what to augment against; the compound views mix them all.
        families = [g for g in metrics.group_accuracy if g != COMPOUND] or \
            list(metrics.group_accuracy)
        metrics.worst_group = min(families, key=metrics.group_accuracy.get)
        metrics.worst_group_accuracy = metrics.group_accuracy[metrics.worst_group]
    if severity is not None:
        metrics.severity_accuracy = _accuracy_by(severity, correct)[0]
    return metrics


def _blue(t: float) -> tuple[int, int, int]:
    """White to dark blue as t goes 0..1 (the colours of matplotlib's "Blues")."""
    light, dark = np.array([247, 251, 255]), np.array([8, 48, 107])
    return tuple(int(v) for v in np.round(light + (dark - light) * min(max(t, 0.0), 1.0)))


def confusion_png(metrics: Metrics, path: str | os.PathLike, title: str = "") -> Path:
    """Draw the confusion matrix to a PNG, atomically: counts, colour by row share.

    Drawn with Pillow, not matplotlib: importing matplotlib costs `harness score`
    about half a second of CPU, a few percent of a small model's whole run.
    """
    from PIL import Image, ImageDraw, ImageFont

    cm = np.asarray(metrics.confusion)
    k = len(cm)
    rows = np.maximum(cm.sum(axis=1, keepdims=True), 1)
    font, small = ImageFont.load_default(size=14), ImageFont.load_default(size=12)
    labels = [f"{i} {name}" for i, name in enumerate(metrics.class_names)]
    cell = 52
    left = 16 + max(int(small.getlength(t)) for t in labels)
    top, bottom = 64, 34
    image = Image.new("RGB", (left + k * cell + 16, top + k * cell + bottom), "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 8), title or f"accuracy {metrics.accuracy:.4f} (n={metrics.n})", "black", font)
    draw.text((left, 32), "predicted", "black", small)
    for j in range(k):
        draw.text((left + j * cell + cell // 2, top - 8), str(j), "black", small, anchor="ms")
    for i in range(k):
        y = top + i * cell
        draw.text((left - 8, y + cell // 2), labels[i], "black", small, anchor="rm")
        for j in range(k):
            share = cm[i, j] / rows[i, 0]
            x = left + j * cell
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=_blue(share))
            draw.text((x + cell // 2, y + cell // 2), str(cm[i, j]),
                      "white" if share > 0.5 else "black", font, anchor="mm")
    draw.text((8, top + k * cell + 10), "rows: true class, colour: share of the row", "gray",
              small)
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path
