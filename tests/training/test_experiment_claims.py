"""What the shipped experiments say about their training time is measured: every
paragraph of a docstring, and every comment, of experiments/*/ that claims a duration
or a speed names the data it was measured on (real or synthetic) and where the figure
comes from (bench/RESULTS.md or an issue). `harness new` copies these files and `harness
list experiments` prints their first line, so a guess here becomes every team's guess."""

from __future__ import annotations

import ast
import io
import re
import tokenize

import pytest

from harness.paths import REPO_ROOT

# A duration or a speed: "a minute", "6 min 52 s", "311 s", "2 hours", "the speed of".
CLAIM = re.compile(r"\bminutes?\b|\bhours?\b|\d[\d.,]*\s?(?:s|sec|min)\b|\bspeed\b|"
                   r"\b(?:faster|slower)\b", re.IGNORECASE)
DATA = re.compile(r"\breal\b|\bsynthetic\b", re.IGNORECASE)
SOURCE = re.compile(r"bench/RESULTS\.md|\bissue \d+")
FILES = sorted(p for p in (REPO_ROOT / "experiments").glob("*/*.py") if "runs" not in p.parts)


def _texts(source: str) -> list[str]:
    """The module docstring's paragraphs and each comment, each as one line."""
    doc = ast.get_docstring(ast.parse(source)) or ""
    texts = [" ".join(p.split()) for p in re.split(r"\n\s*\n", doc) if p.strip()]
    texts += [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type == tokenize.COMMENT]
    return texts


def unmeasured(source: str) -> list[str]:
    """The claims of a duration or speed in `source` that name no data or no source."""
    return [t for t in _texts(source)
            if CLAIM.search(t) and not (DATA.search(t) and SOURCE.search(t))]


def test_the_rule_catches_the_claim_that_was_wrong():
    old = "baseline_cnn: a small from-scratch CNN that trains in about a minute on a 2-core CPU."
    assert unmeasured(f'"""{old}"""') == [old]
    assert unmeasured('X = 1  # 275 s, real training split, 2 cores (bench/RESULTS.md)\n') == []
    assert unmeasured('"""convnext: the second seed team\'s model."""') == []  # an ordinal


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_time_an_experiment_claims_is_measured_and_says_on_what(path):
    assert unmeasured(path.read_text()) == []


def test_baseline_cnn_states_its_measured_time_where_harness_list_shows_it():
    from harness.catalog import list_kind

    entries = {e.name: e for e in list_kind("experiments").entries}
    line = entries["baseline_cnn"].description
    assert "6 min 52 s" in line and "real" in line and "about a minute" not in line
