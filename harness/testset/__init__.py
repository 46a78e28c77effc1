"""The test-set stage: the pseudo-private test set that forecasts the hidden leaderboard.

Owns the corruption families (`corruptions`, with `augment_chains` and `drawing` for the
families that need them), chains of them (`compound`), the recipes that say which views
make a test set and how its headline and interval are computed (`recipes`), the fit of
the chains' strength to real Codabench results (`calibration`), the holdout split and
its leakage guard (`split`), the build itself: expansion, manifest, cache (`builder`),
and the test set's one home: where built sets live, which one `--testset` names, the
`TestSet` loaded for scoring (`store`) and what kind of set it is, what a score on it
may be called (`kinds`).

Examples:
    >>> from harness.testset import build, get_recipe
    >>> build(data="data/clean.npz", name="default").n_testset

Every name below is imported on first use, so `import harness.testset` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "builder": ["build", "list_testsets", "TestsetResult", "TestsetInfo"],
    "corruptions": ["Family", "FAMILIES", "MAX_SEVERITY", "get_family", "corrupt"],
    "recipes": ["Recipe", "RECIPES", "DEFAULT_RECIPE", "get_recipe", "pseudo_private",
                "PseudoPrivate", "headline", "bootstrap_interval"],
    "compound": ["Plan", "sample_plan", "levels", "at_strength"],
    "calibration": ["calibrate_on", "load_calibration", "ForecastCalibration", "CalibrateResult"],
    "split": ["stratified_split", "leakage_guard"],
    "store": ["load_testset", "TestSet", "testset_path", "testsets_dir", "seen_holdouts"],
})
