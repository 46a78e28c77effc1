"""The docs show what the code prints: docs/examples.py wrote every example block in
README.md and docs/, and these tests fail when one no longer matches.

The examples that need no trained model (synth, inspect, clean, testset build and list,
the profiles, a numpy submission's scores and failures, record and the leaderboard,
calibrate, new) run here for real on 300 synthetic images. The trained ones (train, an
experiment's score, pack, timecheck, verify, explain, report) take minutes: `python
docs/examples.py --check` runs them.
"""

from __future__ import annotations

import importlib.util
import sys

from harness.paths import REPO_ROOT


def _load_examples():
    spec = importlib.util.spec_from_file_location("docs_examples",
                                                  REPO_ROOT / "docs" / "examples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


examples = _load_examples()


def test_every_block_is_an_example_and_every_example_has_a_block():
    assert examples.unknown_or_missing() == []


def test_the_fast_examples_print_what_the_docs_show(tmp_path):
    # One test, not several sharing a fixture: xdist could run the examples once per worker.
    printed = examples.run_examples(examples.to_run(fast=True, names=[]), tmp_path)
    drifted = examples.update(printed, check=True)
    assert not drifted, ("the docs no longer show what the code prints; rewrite them with "
                         "`python docs/examples.py`:\n" + "\n".join(drifted))

    # And the comparison sees a changed word, a changed row and a changed count.
    def drift(name, old, new):
        edited = [(c, out.replace(old, new, 1)) for c, out in printed[name]]
        return examples.drift("d.md", examples.render(printed[name]), examples.BY_NAME[name],
                              edited, None)

    assert drift("clean", "kept", "kept") is None
    assert "example 'clean' drifted" in drift("clean", "kept", "retained")
    assert drift("inspect", "│ total", "│ sum") and drift("inspect", "349", "350")


def test_what_varies_from_run_to_run_is_no_drift():
    """Durations, digests, versions and column widths are masked on both sides; in a
    volatile example every number is, and nothing else."""
    before = ("Drew 349 images in 2.3 s (151 images/s).\n"
              "│ weights │  2 │ 0.1795 │\n"
              "python 3.11.7, sha256 9c9b1bc7369e, peak 491 MiB")
    after = ("Drew 349 images in 12.9 s (31 images/s).\n"
             "│ weights │   2 │   0.1795 │\n"
             "python 3.11.9, sha256 0d2c4ab1f00e, peak 1288 MiB")
    assert examples.comparable(before, False) == examples.comparable(after, False)
    trained = before.replace("0.1795", "0.2051")
    assert examples.comparable(before, False) != examples.comparable(trained, False)
    assert examples.comparable(before, True) == examples.comparable(trained, True)
    assert examples.comparable(before, True) != examples.comparable(
        trained.replace("weights", "model"), True)


def test_placeholders_are_stable(tmp_path):
    """Run stamps count up in the order they appear, the same stamp always gets the same
    placeholder, and a shown command turns back into the real one."""
    shown = examples.Placeholders(tmp_path)
    text = (f"{tmp_path}/experiments/x/runs/261202_174036 and "
            "dist/submission_261202_175352.zip, scored 2026-12-02 17:43")
    once = shown(text)
    assert once == ("~/an2dl/experiments/x/runs/261130_120000 and "
                    "dist/submission_261130_120100.zip, scored 2026-11-30 12:00")
    assert shown(text) == once
    assert shown.real("harness timecheck dist/submission_261130_120100.zip") == \
        "harness timecheck dist/submission_261202_175352.zip"
