"""Test-set recipes (versioned data) and the headline aggregate over their families.

A recipe says which corruption families, at which severities, expand a holdout into a
pseudo-private test set, and which aggregate turns per-family accuracies into the one
headline figure. Recipes are data with a version: change what a recipe produces and its
version changes; the version is printed beside every score (`Recipe.id`).

The aggregates are candidates ranked by evidence, not taste: `bench/zoo.py` holds out
each family in turn and asks which aggregate of the others forecasts it best
(bench/RESULTS.md). The winner, by a rule fixed before the zoo ran, is the plain mean
over the corrupted families (clean excluded): the recipes' `aggregate`.

Examples:
    >>> r = get_recipe("pp")
    >>> r.id, r.aggregate
    ('pp@1.0', 'mean_corrupted')
    >>> headline({"clean": 0.9, "overlay": 0.5, "jpeg": 0.7}, r)
    0.6
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from harness.errors import HarnessError
from harness.testset import corruptions

ALL_SEVERITIES = list(range(1, corruptions.MAX_SEVERITY + 1))

RECIPES: dict[str, dict] = {
    "pp": {
        "version": "1.0",
        "description": "every family at severities 1-5: each holdout image appears once per "
                       "family, at one severity (balanced over classes)",
        "families": {"clean": [0], **{name: ALL_SEVERITIES for name in (
            "gaussian_noise", "randaugment", "augmix", "stain_color", "saturation",
            "brightness_contrast", "defocus_blur", "motion_blur", "jpeg", "pixelate",
            "stain_deposits", "bubbles", "overlay", "occlusion", "rotate_flip", "zoom_shear")}},
        # Chosen by bench/zoo.py (bench/RESULTS.md), not by taste.
        "aggregate": "mean_corrupted",
    },
    "pp-small": {
        "version": "1.0",
        "description": "four families at two severities: for tests and quick looks",
        "families": {"clean": [0], "gaussian_noise": [2, 4], "overlay": [2, 4],
                     "rotate_flip": [2, 4]},
        "aggregate": "mean_corrupted",
    },
}
DEFAULT_RECIPE = "pp"


@dataclass(frozen=True)
class Recipe:
    """Which families at which severities, and the headline aggregate.

    Args:
        name: registry key.
        version: changes whenever the set it builds changes.
        families: family name -> severities, in build order.
        aggregate: name in `AGGREGATES`.
        description: one line for people.
    """

    name: str
    version: str
    families: dict[str, tuple[int, ...]]
    aggregate: str
    description: str = ""

    @property
    def id(self) -> str:
        """`name@version`, printed beside every score."""
        return f"{self.name}@{self.version}"

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "aggregate": self.aggregate,
                "corruptions_version": corruptions.REGISTRY_VERSION,
                "families": {k: list(v) for k, v in self.families.items()}}


def _did_you_mean(kind: str, name: str, known) -> HarnessError:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return HarnessError(f"unknown {kind}. Received: {name!r}", hint=hint)


def get_recipe(recipe: str | Mapping | Recipe | None = None) -> Recipe:
    """A recipe by name (or from a dict with the same keys), validated.

    Raises:
        HarnessError: unknown recipe, family, severity or aggregate ("did you mean").
    """
    if isinstance(recipe, Recipe):
        return recipe
    if recipe is None or isinstance(recipe, str):
        name = recipe or DEFAULT_RECIPE
        if name not in RECIPES:
            raise _did_you_mean("recipe", name, RECIPES)
        spec = {"name": name, **RECIPES[name]}
    else:
        spec = dict(recipe)
    families = {}
    for fam, severities in spec["families"].items():
        family = corruptions.get_family(fam)
        for s in severities:
            corruptions.check_severity(family, s)
        families[fam] = tuple(int(s) for s in severities)
    if spec["aggregate"] not in AGGREGATES:
        raise _did_you_mean("aggregate", spec["aggregate"], AGGREGATES)
    return Recipe(spec["name"], str(spec["version"]), families, spec["aggregate"],
                  spec.get("description", ""))


# --- aggregates ------------------------------------------------------------------------
# Each takes cells {(family, severity): (accuracy, count)} and returns one accuracy.

def _family_accuracy(cells) -> dict[str, float]:
    """Accuracy per family, pooled over its severities (count-weighted)."""
    hits, counts = {}, {}
    for (fam, _), (acc, n) in cells.items():
        hits[fam] = hits.get(fam, 0.0) + acc * n
        counts[fam] = counts.get(fam, 0) + n
    return {f: hits[f] / counts[f] for f in hits if counts[f]}


def _corrupted(per_family: dict[str, float]) -> dict[str, float]:
    rest = {f: a for f, a in per_family.items() if f != "clean"}
    return rest or per_family


def _kind_mean(cells) -> float:
    by_kind: dict[str, list[float]] = {}
    for fam, acc in _corrupted(_family_accuracy(cells)).items():
        by_kind.setdefault(corruptions.get_family(fam).kind, []).append(acc)
    return float(np.mean([np.mean(v) for v in by_kind.values()]))


def _severity_weighted(cells) -> float:
    rest = {k: v for k, v in cells.items() if k[0] != "clean"} or cells
    weights = np.array([max(s, 1) * n for (_, s), (_, n) in rest.items()], float)
    accs = np.array([a for a, _ in rest.values()])
    return float(np.sum(weights * accs) / np.sum(weights))


def _severe(cells) -> float:
    top = {}
    for (fam, s), (acc, n) in cells.items():
        if fam != "clean" and s >= 4:
            top[(fam, s)] = (acc, n)
    return float(np.mean(list(_family_accuracy(top or cells).values())))


AGGREGATES: dict[str, Callable] = {
    "mean": lambda c: float(np.mean(list(_family_accuracy(c).values()))),
    "mean_corrupted": lambda c: float(np.mean(list(_corrupted(_family_accuracy(c)).values()))),
    "median_corrupted": lambda c: float(np.median(list(_corrupted(_family_accuracy(c)).values()))),
    "kind_mean": _kind_mean,
    "pooled": lambda c: float(sum(a * n for a, n in c.values()) / sum(n for _, n in c.values())),
    "severity_weighted": _severity_weighted,
    "severe_mean": _severe,
    "worst": lambda c: float(min(_corrupted(_family_accuracy(c)).values())),
    # What teams had: a plain local split. Kept as the baseline every other must beat.
    "clean_only": lambda c: float(_family_accuracy(c).get("clean", np.nan)),
}


def cells_from_predictions(y_true, y_pred, groups, severity) -> dict:
    """{(family, severity): (accuracy, count)} from per-image tags."""
    correct = np.asarray(y_true) == np.asarray(y_pred)
    groups = np.asarray(groups).astype(str)
    severity = np.zeros(len(groups), int) if severity is None else np.asarray(severity, int)
    cells = {}
    for fam in np.unique(groups):
        for s in np.unique(severity[groups == fam]):
            mask = (groups == fam) & (severity == s)
            cells[(str(fam), int(s))] = (float(correct[mask].mean()), int(mask.sum()))
    return cells


def aggregate(per_group_accuracy: Mapping[str, float], counts: Mapping[str, int] | None = None,
              recipe: str | Recipe | None = None, method: str | None = None,
              cells: Mapping | None = None) -> float:
    """The pseudo-private accuracy: the recipe's aggregate of per-family accuracies.

    Args:
        per_group_accuracy: family name -> accuracy (as `harness.scoring.scorer` reports it).
        counts: family name -> images (default: equal).
        recipe: the recipe whose `aggregate` to use (default: the default recipe).
        method: an `AGGREGATES` name, overriding the recipe's.
        cells: {(family, severity): (accuracy, count)}; needed by the severity-aware
            aggregates, and used instead of the first two arguments when given.

    Returns:
        The headline accuracy in [0, 1].

    Examples:
        >>> aggregate({"clean": 0.9, "overlay": 0.5, "jpeg": 0.7}, method="mean_corrupted")
        0.6
    """
    method = method or get_recipe(recipe).aggregate
    if method not in AGGREGATES:
        raise _did_you_mean("aggregate", method, AGGREGATES)
    if cells is None:
        counts = counts or {}
        cells = {(f, 0): (float(a), int(counts.get(f, 1))) for f, a in per_group_accuracy.items()}
    return AGGREGATES[method](dict(cells))


def headline(per_group_accuracy: Mapping[str, float], recipe: str | Recipe | None = None) -> float:
    """`aggregate` with the recipe's method and equal counts: the short form."""
    return aggregate(per_group_accuracy, recipe=recipe)


@dataclass
class PseudoPrivate:
    """The headline of a score on a pseudo-private test set.

    Args:
        accuracy: the pseudo-private accuracy (the recipe's aggregate).
        method: the aggregate used; `recipe`: the recipe's `name@version`.
        clean: accuracy on the clean holdout images (None if the set has none).
        per_family: family -> accuracy; `per_cell`: "family/severity" -> accuracy.
    """

    accuracy: float
    method: str
    recipe: str
    clean: float | None
    per_family: dict[str, float]
    per_cell: dict[str, float]


def recipe_for_manifest(manifest: Mapping) -> Recipe | None:
    """The recipe a test set was built with: the registered one if its name is known
    (so a newer aggregate applies), else the spec saved in the manifest; None if neither."""
    name = manifest.get("recipe")
    if name in RECIPES:
        return get_recipe(name)
    spec = manifest.get("recipe_spec")
    return get_recipe(spec) if spec else None


def pseudo_private(y_true, y_pred, groups, severity=None,
                   recipe: str | Recipe | None = None) -> PseudoPrivate:
    """Score predictions on a tagged test set: headline, clean accuracy, per family.

    Examples:
        >>> pp = pseudo_private(labels, predictions, ds.extras["groups"], ds.extras["severity"])
        >>> pp.accuracy, pp.clean
    """
    recipe = get_recipe(recipe)
    cells = cells_from_predictions(y_true, y_pred, groups, severity)
    per_family = _family_accuracy(cells)
    return PseudoPrivate(accuracy=AGGREGATES[recipe.aggregate](cells), method=recipe.aggregate,
                         recipe=recipe.id, clean=per_family.get("clean"), per_family=per_family,
                         per_cell={f"{f}/{s}": a for (f, s), (a, _) in cells.items()})
