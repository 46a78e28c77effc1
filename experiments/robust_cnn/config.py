"""robust_cnn: baseline_cnn trained for robustness, the best from-scratch CPU model so far.

The augmentations are the ones the zoo in bench/RESULTS.md found to raise accuracy on
corruptions the model never saw: RandAugment (weak) and pasted overlays, on top of flips.
Everything else, the search space included, is baseline_cnn's.
"""

PARENT = "baseline_cnn"

CONFIG = {
    "epochs": 8,              # 275 s, real training split, 2 cores (bench/RESULTS.md)
    "augment": ["flip", "randaugment_weak", "overlay"],  # the zoo's most robust choices
}
