"""How optimistic a forecast is for a model trained on the recipe's own families.

A pseudo-private set is made of its recipe's corruption families. A model whose
training augmentation drew on them (`chains` draws every one of pp@2's chains;
`overlay`, keras-cv's AugMix and RandAugment one or two) has learnt the very
corruptions it is forecast on, while the hidden set's are others: its forecast is
higher than its hidden score, by more than other models' are. The headline stays what
the set measures; the score says which families the model trained on and moves the
interval's lower end down by the optimism measured for its kind of training.

The figures are measured, not guessed: on the held-out mixed shift sets of
`bench/shifts.py` (code the registry does not share), the forecast after one real
point (the public pair) minus the accuracy there, for models trained on the recipe's
chains and for models trained on some of its families, each less the same error of the
zoo's other models (bench/RESULTS.md, "Training on the recipe's chains";
`bench/chains_optimism.py` prints them).

Examples:
    >>> from harness.testset.recipes import get_recipe
    >>> o = overlap(["overlay", "occlusion"], get_recipe("pp"))
    >>> o.kind, o.share, o.optimism
    ('some', 0.125, 0.01)
"""

from __future__ import annotations

from dataclasses import dataclass

# At least this share of the recipe's chain families trained on: "its chains".
CHAINS_SHARE = 0.5
# Headline minus accuracy on the held-out mixes, less the same for the zoo models trained
# on none of the recipe's families (bench/chains_optimism.py, bench/RESULTS.md): chains
# +0.027 (the two chains zoo models, both mixes), some +0.007 (six zoo models), rounded.
OPTIMISM = {"chains": 0.03, "some": 0.01}


@dataclass(frozen=True)
class Overlap:
    """What a scored model trained on of the recipe it is scored with.

    Args:
        families: the recipe's families its augmentation drew on, sorted.
        share: their share of the recipe's families (its chains', for a compound recipe).
        kind: "chains" (at least CHAINS_SHARE of them) or "some".
        optimism: how far above the hidden score such forecasts measured (accuracy).
    """

    families: tuple[str, ...]
    share: float
    kind: str
    optimism: float


def headline_families(recipe) -> set[str]:
    """The corruption families a recipe's headline is made of: its chains' for a
    compound recipe, else its corrupted single-family views."""
    if recipe.compound is not None:
        return set(recipe.compound["families"])
    return {f for f in recipe.families if f != "clean"}


def overlap(trained, recipe) -> Overlap | None:
    """The overlap of the families a run trained on with `recipe`'s, or None when it
    has none (or the run's families are unknown: None)."""
    own = headline_families(recipe)
    common = tuple(sorted(set(trained or ()) & own))
    if not common:
        return None
    share = len(common) / len(own)
    kind = "chains" if share >= CHAINS_SHARE else "some"
    return Overlap(common, share, kind, OPTIMISM[kind])
