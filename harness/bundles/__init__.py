"""The bundle stage: any Codabench competition bundle, checked and run as Codabench would.

Owns reading a bundle (a folder or the zip an organizer uploads) into the competition
Codabench's unpacker makes of it, v2 and older CodaLab bundles alike (`spec`, with the
dataclasses in `model`, the shared field reading in `reader`, CodaLab v1 in `legacy`,
zips and hashes in `archive`), checking it as the unpacker and the compute worker would
(`check`), and the harness's pseudo-private corruption of a phase's input images
(`pseudo`); running a submission through a bundle's own programs as the compute worker
does (`runner`: the worker's two runs in `worker`, the sandboxes in `sandbox`, the
Python standing in for an image in `images`, the typed failures in `failures`). Like
scoring it keeps nothing: the results stage stores what a run returns.

Examples:
    >>> from harness.bundles import check_bundle
    >>> check_bundle("Mini-MNIST-Bundle").ok
    True

Every name below is imported on first use, so `import harness.bundles` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "spec": ["load_bundle", "read_bundle", "Reading"],
    "model": ["Bundle", "Phase", "Task", "Leaderboard", "Column", "Page", "Problem"],
    "check": ["check_bundle", "BundleCheck"],
    "pseudo": ["corrupt_input_data", "PseudoManifest"],
    "runner": ["run_bundle", "BundleRunResult", "TaskRun"],
    "failures": ["BundleFailure"],
})
