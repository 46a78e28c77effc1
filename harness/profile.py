"""Competition profiles: every fact about a competition, in one place.

A profile holds what the scoring server expects and runs: the input shape, the class
names in label order, the metric, the time limit, the estimated size of the hidden
test set, the server's runtime and the packages a submission may import there. Every
command takes `--profile NAME`; a second competition is a new `Profile` registered
here, not a code change elsewhere.

Examples:
    >>> from harness.profile import get_profile
    >>> p = get_profile("an2dl-2024-hw1")
    >>> p.input_shape, p.num_classes, p.time_limit_s
    ((96, 96, 3), 8, 6000)
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field

from harness.errors import HarnessError


@dataclass(frozen=True)
class Profile:
    """What one competition's scoring server expects and runs.

    Args:
        name: registry key, used by `--profile`.
        title: human name of the competition.
        input_shape: (height, width, channels) of every image; pixels are uint8 0-255.
        class_names: class names, index = label.
        class_aliases: extra folder names accepted by `harness data import`, lower case,
            mapped to labels (class names themselves always match, case-insensitively).
        metric: the leaderboard's metric.
        time_limit_s: the server's limit over the whole run (load and predict), seconds.
        hidden_test_size: estimated number of hidden test images (timecheck extrapolates to it).
        server_runtime: pip requirement of each package the server runs, exact where known.
        keras_known_to_load: newer Keras releases ("3.6": any 3.6.x) whose `.keras` files
            are known to load on the server's Keras; others newer than it get a warning.
        server_modules: top-level modules a model.py may import on the server, besides
            the standard library and the submission's own files.
        server_threads: CPU threads assumed for the server when estimating time.
        crop: how `data import` makes a square from a larger photo: "center" takes the
            central square of side `crop_fraction` times the shorter side.
        crop_fraction: see `crop`.
        calibration: the default forecast calibration (`harness.testset.calibration`):
            the compound recipe's strength fitted on public real results, used until a
            team fits its own with `harness calibrate`; {} for none.
    """

    name: str
    title: str
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    class_aliases: dict[str, int] = field(default_factory=dict)
    metric: str = "accuracy"
    time_limit_s: int = 6000
    hidden_test_size: int = 5000
    server_runtime: dict[str, str] = field(default_factory=dict)
    keras_known_to_load: tuple[str, ...] = ()
    server_modules: frozenset[str] = frozenset()
    server_threads: int = 2
    crop: str = "center"
    crop_fraction: float = 1.0
    calibration: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def label_for_folder(self, folder: str) -> int | None:
        """Label for a class folder name: a class name or an alias, case-insensitive."""
        key = folder.strip().lower()
        for label, name in enumerate(self.class_names):
            if key in (name.lower(), name.lower().replace(" ", "_")):
                return label
        return self.class_aliases.get(key)

    def may_import(self, module: str) -> bool:
        """Whether a top-level module exists on the server (stdlib or the profile's list)."""
        top = module.split(".", 1)[0]
        return top in sys.stdlib_module_names or top in self.server_modules

    def server_requirements(self) -> list[str]:
        """The pip requirements that rebuild the server's runtime, e.g. for `verify`."""
        return [f"{pkg}{spec}" for pkg, spec in self.server_runtime.items()]


AN2DL_2024_HW1 = Profile(
    name="an2dl-2024-hw1",
    title="AN2DL 2024-25 Homework 1: blood-cell classification (Codabench)",
    input_shape=(96, 96, 3),
    class_names=(
        "Basophil",
        "Eosinophil",
        "Erythroblast",
        "Immature granulocytes",
        "Lymphocyte",
        "Monocyte",
        "Neutrophil",
        "Platelet",
    ),
    # The public PBC dataset's folder names (course material).
    class_aliases={"ig": 3, "immature_granulocyte": 3, "granulocytes": 3, "erythroblasts": 2,
                   "basophils": 0, "eosinophils": 1, "lymphocytes": 4, "monocytes": 5,
                   "neutrophils": 6, "platelets": 7, "thrombocyte": 7},
    metric="accuracy",
    time_limit_s=6000,
    # BloodMNIST's val + test splits (1,712 + 3,421), the inferred source of the hidden set.
    hidden_test_size=5133,
    server_runtime={"tensorflow-cpu": "==2.17.0", "keras": "==3.4.1", "numpy": "<2"},
    # Course material: 3.5 and 3.6 files loaded on the server (a real zip of Keras 3.6.0
    # scored 0.37); 3.15 files fail there.
    keras_known_to_load=("3.5", "3.6"),
    # TensorFlow 2.17 and Keras 3.4.1 with what they install; keras_cv is NOT there.
    server_modules=frozenset({
        "numpy", "tensorflow", "keras", "h5py", "absl", "ml_dtypes", "opt_einsum",
        "google", "tensorboard", "optree", "rich", "namex", "packaging", "wrapt",
        "gast", "astunparse", "termcolor", "flatbuffers", "six", "requests",
    }),
    server_threads=2,
    # The PBC originals are 360x363; BloodMNIST takes the central 200x200 crop (course material).
    crop="center",
    crop_fraction=200 / 360,
    # The one public pair: mttcrn-gap-augmentation.zip, 0.37 on Codabench (course
    # material). Fitted by `harness calibrate` on the real data's default test set
    # (bench/RESULTS.md, "Fidelity").
    calibration={
        "id": "an2dl-2024-hw1-public-2", "profile": "an2dl-2024-hw1", "recipe": "pp@2.0",
        "strength": 3.77, "sd": 0.063, "testset": "default",
        "points": [{"experiment": "mttcrn-gap-augmentation", "codabench": 0.37,
                    "forecast": 0.3692}],
    },
)

PROFILES: dict[str, Profile] = {p.name: p for p in (AN2DL_2024_HW1,)}
DEFAULT_PROFILE = AN2DL_2024_HW1.name


def get_profile(name: str | Profile | None = None) -> Profile:
    """Look a profile up by name; an unknown name raises with "did you mean".

    Examples:
        >>> get_profile().name
        'an2dl-2024-hw1'
    """
    if isinstance(name, Profile):
        return name
    name = name or DEFAULT_PROFILE
    try:
        return PROFILES[name]
    except KeyError:
        close = difflib.get_close_matches(name, PROFILES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known profiles: {', '.join(PROFILES)}"
        raise HarnessError(f"unknown profile. Received: profile={name!r}", hint=hint) from None
