"""harness.scoring.predicting and .predictions: the headline's images first, `--quick`,
and labels kept and reused, not predicted twice."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.scoring import predicting
from harness.scoring.ingestion import run_submission
from harness.scoring.scorer import compute_metrics, score
from harness.testset.recipes import pseudo_private
from harness.testset.store import load_testset

GROUPS = np.array(["compound", "clean", "gaussian_noise"] * 8)


@pytest.fixture
def project(tmp_path, monkeypatch, tiny_arrays):
    """A project folder (cwd) with a tiny pseudo-private set: 8 compound views (the
    headline of pp-small@2), 8 clean, 8 noisy."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    images, labels = tiny_arrays
    folder = tmp_path / "data" / "testsets" / "mini"
    save_dataset(folder / "testset.npz", images, labels, groups=GROUPS,
                 severity=np.where(GROUPS == "clean", 0, 2 + 2 * (np.arange(24) % 2)),
                 source_index=np.arange(24) % 8)
    (folder / "manifest.json").write_text(json.dumps({"name": "mini", "recipe": "pp-small"}))
    return tmp_path


@pytest.fixture
def runs(monkeypatch):
    """Every ingestion run `score` starts, as the number of images it was given."""
    started, real = [], predicting.start_submission

    def counting(folder, images, profile, **kw):
        started.append(len(images) if isinstance(images, np.ndarray) else "whole file")
        return real(folder, images, profile, **kw)

    monkeypatch.setattr(predicting, "start_submission", counting)
    return started


def test_a_whole_run_gives_the_numbers_of_one_run_over_every_image(project, make_submission,
                                                                     profile, runs):
    sub = make_submission()
    events = []
    result = score(sub, load_testset("mini", profile), profile,
                   on_headline=lambda pp, n: events.append((pp.accuracy, n, list(runs))))
    # The headline's 8 images went first, in a run of their own, announced before the rest.
    assert runs == [8, 16] and events[0][1:] == (8, [8])
    assert events[0][0] == result.pseudo_private.accuracy
    ts = load_testset("mini", profile)
    today = run_submission(sub, ts.path, profile).predictions  # one run, every image in order
    assert result.metrics == compute_metrics(ts.labels, today, profile, groups=GROUPS,
                                             severity=ts.extras["severity"])
    assert result.pseudo_private == pseudo_private(
        ts.labels, today, GROUPS, ts.extras["severity"], ts.recipe,
        source_index=ts.extras["source_index"])
    assert result.reused == 0 and result.n_scored == 24 and not result.quick
    assert len(result.calls) == 2 and result.predict_s == pytest.approx(
        sum(c["seconds"] for c in result.calls), abs=0.05)


def test_quick_stops_at_the_headline_and_a_whole_run_then_predicts_the_rest(
        project, make_submission, runs, profile):
    sub = make_submission()
    quick = score(sub, load_testset("mini", profile), profile, quick=True)
    assert runs == [8] and quick.quick and quick.n_scored == 8
    assert quick.metrics.group_counts == {"compound": 8} and quick.advice is None
    whole = score(sub, load_testset("mini", profile), profile)
    assert runs == [8, 16] and whole.reused == 8
    # The quick headline and its interval are the whole run's.
    q, w = quick.pseudo_private, whole.pseudo_private
    assert (q.accuracy, q.low, q.high) == (w.accuracy, w.low, w.high)


def test_a_second_score_reuses_the_kept_labels_and_says_so(project, make_submission, runner,
                                                           runs, profile):
    sub = make_submission()
    first = runner.invoke(main, ["score", str(sub), "--testset", "mini"])
    assert first.exit_code == 0, first.output
    assert "reused" not in first.output and "scored: the submission as given" in first.output
    assert len(runs) == 2
    second = runner.invoke(main, ["score", str(sub), "--testset", "mini", "--json"])
    assert second.exit_code == 0, second.output
    assert len(runs) == 2  # no predict child this time
    again = json.loads(second.stdout)
    assert again["reused"] == 24 and again["predict_s"] is not None
    shown = runner.invoke(main, ["score", str(sub), "--testset", "mini"])
    assert "reused the kept labels of 24 images" in shown.output and len(runs) == 2
    # Another model (one byte of model.py) meets the images afresh.
    (sub / "model.py").write_text((sub / "model.py").read_text() + "\n")
    assert score(sub, load_testset("mini", profile), profile).reused == 0 and len(runs) == 4


def test_cli_quick_prints_the_forecast_first_and_keeps_no_row(project, make_submission,
                                                              runner):
    sub = make_submission()
    out = runner.invoke(main, ["score", str(sub), "--testset", "mini", "--quick"])
    assert out.exit_code == 0, out.output
    assert out.stderr.index("forecast: pseudo-private") < out.stdout.index("--quick")
    assert "from the 8 images it rests on" in out.stderr
    assert "the forecast and its interval are the whole run's" in " ".join(out.stdout.split())
    assert not (project / "data" / "leaderboard.sqlite").exists()


def test_cli_hands_score_the_rewrite_pack_applies_unless_no_optimize(monkeypatch, runner):
    from harness.cli import score as score_cli
    from harness.shipping.optimize import packed_rewrite

    handed = []

    def keep(target, **options):
        handed.append(options["prepare"])
        raise SystemExit(0)
    monkeypatch.setattr(score_cli, "score_and_keep", keep)
    runner.invoke(main, ["score", "some_experiment", "--json"])
    runner.invoke(main, ["score", "some_experiment", "--json", "--no-optimize"])
    assert handed == [packed_rewrite, None]


SLOW_AFTER_THE_HEADLINE = """
import time

import numpy as np


class Model:
    def predict(self, X):
        if len(X) > 8:
            time.sleep(60)
        return np.zeros(len(X), int)
"""


def test_the_time_limit_holds_over_both_runs_in_the_servers_words(project, make_submission,
                                                                   profile):
    result = score(make_submission(SLOW_AFTER_THE_HEADLINE), load_testset("mini", profile),
                   profile, time_limit_s=12)
    assert result.failure.kind == "time_limit"
    assert result.failure.message == "Execution Time Limit exceeded. Limit was 12 seconds"
