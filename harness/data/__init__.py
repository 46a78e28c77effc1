"""The data stage: load, import, draw and clean labelled image sets.

Owns the competition's npz format (`datasets`), importing image folders and course npz
files (`importing`), the real data beside the checkout (`real`), synthetic images
(`synth`: blood smears drawn by `smear`, plant leaves by `leaves`, both on a `canvas`),
and data hygiene: copy groups (`duplicates`), planted-picture search (`planted`), verdicts
and reports (`findings`, `hygiene`) and their contact sheets (`hygiene_sheets`). Nothing
here imports TensorFlow.

Examples:
    >>> from harness.data import load_dataset, inspect, clean
    >>> ds = load_dataset("data/training_set.npz")
    >>> clean("data/training_set.npz", "data/clean.npz").n_kept

Every name below is imported on first use, so `import harness.data` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "datasets": ["Dataset", "load_dataset", "save_dataset", "validate_arrays", "import_folder",
                 "ImportResult"],
    "importing": ["import_data", "import_npz"],
    "synth": ["synthesize", "write_synthetic", "SynthResult", "Synthetic"],
    "findings": ["HygieneSettings", "Finding", "Removal", "InspectReport"],
    "hygiene": ["inspect", "clean", "CleanResult", "report_json"],
    "duplicates": ["perceptual_hashes", "exact_duplicate_groups", "near_duplicate_pairs"],
})
