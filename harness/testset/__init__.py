"""The test-set stage: the pseudo-private test set that forecasts the hidden leaderboard.

Owns the corruption families (`corruptions`, with `augment_chains` and `drawing` for the
families that need them), the recipes that say which families at which severities make a
test set and how its headline is computed (`recipes`), and the build itself: stratified
holdout, leakage guard, expansion, manifest, cache (`builder`).

Examples:
    >>> from harness.testset import build, get_recipe
    >>> build(data="data/clean.npz", name="default").n_test

Every name below is imported on first use, so `import harness.testset` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "builder": ["build", "list_testsets", "TestsetResult", "TestsetInfo"],
    "corruptions": ["Family", "FAMILIES", "MAX_SEVERITY", "get_family", "corrupt"],
    "recipes": ["Recipe", "RECIPES", "DEFAULT_RECIPE", "get_recipe", "pseudo_private", "PseudoPrivate", "headline"],
})
