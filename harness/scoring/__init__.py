"""The scoring stage: run a submission exactly as the server would, and score what it says.

Owns what a target is (an experiment, a folder or a zip: `targets`), the submission
contract (`contract`), the ingestion process that runs `Model().predict(X)` in a fresh
process under the time limit (`ingestion`, with its stdlib-only `ingestion_child.py`),
the class model.py must define and how the server calls it (`signature`), which
Python runs a submission: this one or a cached virtualenv of the server's runtime
(`runtime`), the metrics (`metrics`), and `score`, which ties them to the test set it
receives (`harness.testset.store.TestSet`, loaded in the test-set stage) (`scorer`).

Examples:
    >>> from harness.scoring import score
    >>> from harness.testset import load_testset
    >>> profile = get_profile()
    >>> score("baseline_cnn", load_testset("default", profile), profile).pseudo_private.accuracy

Every name below is imported on first use, so `import harness.scoring` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "scorer": ["score", "ScoreResult"],
    "targets": ["resolve_target", "Staged"],
    "contract": ["check_source", "check_predictions", "SubmissionError", "Failure",
                 "FAILURE_KINDS"],
    "ingestion": ["run_submission", "start_submission", "IngestionResult"],
    "metrics": ["compute_metrics", "confusion_png", "Metrics"],
    "runtime": ["runtime_python", "runs_here", "build_runtime", "RuntimeResult"],
})
