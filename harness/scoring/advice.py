"""What to train with next: the augmentations that counter a test set's worst families.

`harness score` reports accuracy per corruption family of the pseudo-private set; the
families a model fails on are what to augment against. `COUNTERS` names, for every
family of the recipes, the training augmentation (harness.training.augmentation's
registry) that trains against it, with independent code where the registry has it:
keras-cv's noise, colour, blur and geometry, not the test set's own corruptions, so a
model trained on the advice is not trained on the very images it is scored on.
`overlay` is the one exception (the registry's overlay wraps the test set's overlay and
occlusion families: nothing else pastes foreign pictures), which is why the fidelity
evidence checks such models on shifts the registry does not hold (bench/RESULTS.md).

When the forecast is far below the clean accuracy, the first remedy offered is not a
counter but the recipe's own chains (`CHAINS`, the `chains` augmentation): measured on
held-out shift sets no registry code made, it is the strongest training recipe found
(`EVIDENCE`; bench/RESULTS.md, "Training on the recipe's chains"). Its forecast is
optimistic, and the score says so (`harness.testset.optimism`); the counters stay as
the alternative.

Examples:
    >>> recommend({"clean": 0.98, "overlay": 0.2, "saturation": 0.3, "jpeg": 0.9,
    ...            "compound": 0.25})
    Advice(families=[('overlay', 0.2), ('saturation', 0.3), ('jpeg', 0.9)],
           augment=['flip', 'overlay', {'name': 'color', ...}, {'name': 'blur', ...}],
           chains=['flip', 'chains'])
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.testset.compound import GROUP as COMPOUND

STRONG_COLOR = {"name": "color", "brightness": 0.3, "contrast": 0.3,
                "saturation": [0.2, 0.8], "hue": 0.15}
STRONG_BLUR = {"name": "blur", "kernel": 7, "sigma": 2.5}
ROTATIONS = {"name": "geometric", "rotation": 0.5, "zoom": 0.1, "translate": 0.05}
COUNTERS: dict[str, str | dict] = {
    "gaussian_noise": {"name": "noise", "stddev": 40.0},
    "randaugment": "randaugment",
    "augmix": "augmix",
    "stain_color": STRONG_COLOR,
    "saturation": STRONG_COLOR,
    "brightness_contrast": STRONG_COLOR,
    "defocus_blur": STRONG_BLUR,
    "motion_blur": STRONG_BLUR,
    # Both lose fine detail and add block edges; blur is the nearest training view.
    "pixelate": STRONG_BLUR,
    "jpeg": STRONG_BLUR,
    # Blots and bubbles hide part of the cell, as a cut-out rectangle does.
    "stain_deposits": "cutout",
    "bubbles": "cutout",
    "occlusion": "cutout",
    "overlay": "overlay",
    "rotate_flip": ROTATIONS,
    "zoom_shear": "geometric",
}
# Every model gets the eight dihedral views: free, and blood cells have no up.
BASE = ["flip"]
WORST = 3
CHAINS = ["flip", "chains"]
# Clean accuracy minus the forecast past which the chains are offered first: every zoo
# model without them falls 0.47-0.77 below clean on pp@2 (bench/RESULTS.md).
FAR_BELOW = 0.2
# ... for a model that has learnt the task on clean cells: below this, train it longer first.
MIN_CLEAN = 0.6
EVIDENCE = ("on two held-out sets of mixed corruptions no registry code made, the zoo's "
            "two chains-trained CNNs scored 0.632-0.695 and 0.475-0.493 against 0.542 and "
            "0.332 for the best zoo model trained otherwise; bench/RESULTS.md")


@dataclass(frozen=True)
class Advice:
    """The worst families of a score and the `augment` list that trains against them.

    Args:
        families: (family, accuracy) of the worst corrupted families, worst first.
        augment: an `augment` config value: BASE, then each family's counter once.
        chains: CHAINS when the forecast is far below the clean accuracy (the first
            remedy, `augment` then the alternative), else None.
    """

    families: list[tuple[str, float]]
    augment: list
    chains: list | None = None

    def command(self, experiment: str, augment: list | None = None) -> str:
        """The `harness train` line that follows the advice (the counters, or `augment`)."""
        return f"harness train {experiment} --set augment=\"{(augment or self.augment)!r}\""


def recommend(group_accuracy: dict[str, float], worst: int = WORST) -> Advice | None:
    """Advice from a score's accuracy per group, or None when it has no known family.

    Clean images and the compound chains (every family at once) say nothing about which
    family to train against; groups with no counter (a user's own tags) are skipped. The
    compound accuracy (else the families' mean) FAR_BELOW under a clean one of at least
    MIN_CLEAN puts the recipe's chains first.
    """
    ranked = sorted((g for g in group_accuracy if g in COUNTERS), key=group_accuracy.get)
    if not ranked:
        return None
    families = [(g, float(group_accuracy[g])) for g in ranked[:worst]]
    augment = list(BASE)
    for family, _ in families:
        if COUNTERS[family] not in augment:
            augment.append(COUNTERS[family])
    forecast = group_accuracy.get(COMPOUND, sum(map(group_accuracy.get, ranked)) / len(ranked))
    clean = group_accuracy.get("clean", 0.0)
    far = clean >= MIN_CLEAN and clean - forecast >= FAR_BELOW
    return Advice(families, augment, list(CHAINS) if far else None)


__all__ = ["Advice", "CHAINS", "COUNTERS", "EVIDENCE", "recommend"]
