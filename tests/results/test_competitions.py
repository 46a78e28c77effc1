"""One database, several competitions: every read command keeps them apart and none
crashes (issue 29).

The database holds rows of both shipped profiles (8 classes and 2 classes), a bundle
run, a Codabench result bound to a zip and one recorded by name before v4; every read
command runs on it, and the report is opened in a real headless Chromium.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli import main
from harness.profile import get_profile
from harness.results import keep_bundle_run
from harness.results.leaderboard import Leaderboard
from harness.results.report import build_report
from harness.results.standings import read_leaderboard
from tests.results.test_report import CHROMEDRIVER, CHROMIUM, opened_report

NEW, OLD = "an2dl-2024-hw1", "an2dl-2023-hw1"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _score(profile_name: str, experiment: str, accuracy: float, **extra) -> dict:
    """A score as `keep_score` stores it, with the profile's own class names."""
    names = list(get_profile(profile_name).class_names)
    k = len(names)
    confusion = [[10 if i == j else 1 for j in range(k)] for i in range(k)]
    row = dict(experiment=experiment, status="ok", testset="demo",
               testset_kind="pseudo_private", testset_path="/x/demo/testset.npz",
               accuracy=accuracy, pseudo_private=accuracy - 0.1, f1_macro=accuracy - 0.05,
               profile=profile_name, competition=profile_name,
               competition_sha256=get_profile(profile_name).content_sha256,
               submission_sha256=_sha(profile_name + experiment), target_kind="zip",
               target=f"/x/{experiment}.zip", n_images=100,
               created_at="2026-11-20T10:00:00+00:00",
               metrics_json={"confusion": confusion, "class_names": names,
                             "per_class_recall": {c: 0.5 for c in names},
                             "group_accuracy": {"clean": accuracy}})
    row.update(extra)
    return row


def _bundle_run():
    column = SimpleNamespace(key="auc", title="AUC", index=0, sorting="desc")
    bundle = SimpleNamespace(title="Mini-MNIST", sha256=_sha("bundle"), leaderboards=[
        SimpleNamespace(key="main", title="Results", columns=[column])])
    return SimpleNamespace(bundle=bundle, phase=SimpleNamespace(name="Development"),
                           submission="/x/mnist_sub.zip", submission_sha256=_sha("mnist"),
                           scores={"auc": 0.93}, status="ok", total_s=2.0)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    url = f"sqlite:///{root / 'lb.sqlite'}"
    db = Leaderboard(url)
    db.add_score(_score(NEW, "cnn", 0.61))
    db.add_score(_score(NEW, "vit", 0.70))
    db.add_score(_score(OLD, "cnn", 0.88))  # the same name, another competition
    db.add_score(_score(OLD, "mobilenet", 0.91))
    db.add_score(_score(NEW, "broken", 0.0, status="failed", failure_kind="crash",
                        metrics_json=None) | {"accuracy": None, "pseudo_private": None,
                                              "f1_macro": None})
    keep_bundle_run(_bundle_run(), url)
    # Bound to the 2024 cnn's exact zip; and one recorded by name before v4.
    db.record("cnn", 0.41, phase=1, content_sha256=_sha(NEW + "cnn"),
              zip_sha256=_sha("cnn.zip"), zip_name="cnn.zip", competition=NEW)
    db.record("vit", 0.55)
    return SimpleNamespace(root=root, url=url)


def test_each_competition_shows_only_its_own_rows(mixed):
    board = read_leaderboard(db_url=mixed.url)
    assert board.competition == NEW
    scored = board.tables[0]
    assert {r["experiment"]: r["accuracy"] for r in scored.rows} == {
        "cnn": 0.61, "vit": 0.70, "broken": None}
    # The real score stands beside its own zip's model only, never beside the 2023 cnn.
    assert {r["experiment"]: r["codabench"] for r in scored.rows}["cnn"] == 0.41
    assert {r["experiment"]: r["codabench"] for r in scored.rows}["vit"] is None
    unbound = board.tables[-1]
    assert "unbound (recorded by name before v4)" in unbound.title
    assert [r["experiment"] for r in unbound.rows] == ["vit"]
    assert board.others == {OLD: 2, "Mini-MNIST": 1}
    assert board.others_line.startswith("3 rows of other competitions not shown: "
                                        "Mini-MNIST (1 row), an2dl-2023-hw1 (2 rows)")
    old = read_leaderboard(db_url=mixed.url, profile=OLD)
    assert {r["experiment"]: r["codabench"] for r in old.rows} == {
        "cnn": None, "mobilenet": None}
    bundle = read_leaderboard(db_url=mixed.url, competition="Mini-MNIST").tables
    assert [(t.titles, t.rows[0]["auc"]) for t in bundle] == [({"auc": "AUC"}, 0.93)]
    everything = read_leaderboard(db_url=mixed.url, competition="all")
    assert everything.others == {}
    assert [t.competition for t in everything.tables] == ["Mini-MNIST", OLD, NEW, NEW]


@pytest.mark.parametrize("args", [
    [], ["--format", "markdown"], ["--format", "csv"], ["--json"], ["--wide"],
    ["--competition", "all"], ["--competition", "all", "--format", "markdown"],
    ["--competition", "all", "--format", "csv"], ["--competition", "all", "--json"],
    ["--profile", OLD], ["--competition", "Mini-MNIST"], ["--competition", "nothing"],
    ["--columns", "experiment,auc,codabench", "--competition", "all"]])
def test_every_leaderboard_format_reads_a_mixed_database(mixed, runner, args):
    out = runner.invoke(main, ["leaderboard", "--db", mixed.url, *args])
    assert out.exit_code == 0, out.output
    assert "Traceback" not in out.output
    if args == ["--competition", "all", "--format", "csv"]:
        rows = list(csv.DictReader(io.StringIO(out.output)))
        assert {r["competition"] for r in rows} == {NEW, OLD, "Mini-MNIST"}
        assert [r["auc"] for r in rows if r["competition"] == "Mini-MNIST"] == ["0.93"]
    if args == ["--competition", "all", "--json"]:
        assert len(json.loads(out.output)["tables"]) == 4
    if not args:
        assert "3 rows of other competitions not shown" in out.output
    if args == ["--competition", "Mini-MNIST"]:
        assert "AUC" in out.output and "0.9300" in out.output


def test_the_report_of_each_competition_uses_its_own_class_names(mixed, tmp_path):
    # Every figure of a 2-class row beside 8-class rows (was: matplotlib's FixedLocator
    # ValueError, drawing with today's profile's 8 names).
    for competition, confusions in ((None, 2), (OLD, 2), ("Mini-MNIST", 0), ("all", 4)):
        r = build_report(tmp_path / f"{competition}.html", db_url=mixed.url,
                         competition=competition, data_dir=tmp_path)
        assert f"competition {r.competition}" in Path(r.path).read_text()
        assert r.sections["confusion matrices"] == confusions
    old = build_report(tmp_path / "old.html", db_url=mixed.url, profile=OLD,
                       data_dir=tmp_path)
    assert old.sections["confusion matrices"] == 2 and old.competition == OLD
    assert "6 rows of other competitions not shown" in old.others_line
    bundle = build_report(tmp_path / "b.html", db_url=mixed.url, competition="Mini-MNIST",
                          data_dir=tmp_path)
    assert bundle.sections["confusion matrices"] == 0  # a bundle run has no class names
    assert "AUC" in Path(bundle.path).read_text()


def test_a_score_stored_before_class_names_draws_with_its_own():
    from harness.results.competitions import class_names_of

    two = {"confusion": [[3, 1], [0, 4]], "per_class_recall": {"cat": 0.75, "dog": 1.0}}
    assert class_names_of(two) == ["cat", "dog"]
    assert class_names_of({"confusion": [[1, 0], [0, 1]]}) == ["0", "1"]
    assert class_names_of({"confusion": [[1]], "class_names": ["a", "b"]}) == ["0"]


def test_calibrate_explain_and_push_on_a_mixed_database(mixed, runner, tmp_path):
    out = runner.invoke(main, ["calibrate", "--db", mixed.url])
    assert out.exit_code != 0 and "Traceback" not in out.output
    assert out.output.count("\n") <= 3, out.output  # one line and its hint
    team = f"sqlite:///{tmp_path / 'team.sqlite'}"
    pushed = runner.invoke(main, ["leaderboard", "push", "--db", team, "--from", mixed.url,
                                  "--json"])
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.output)["competitions"] == {NEW: 3, OLD: 2, "Mini-MNIST": 1}
    for args in ([], ["--competition", "all"], ["--profile", OLD]):
        out = runner.invoke(main, ["leaderboard", "--db", team, *args])
        assert out.exit_code == 0 and "Traceback" not in out.output, out.output
    assert read_leaderboard(db_url=team).others == read_leaderboard(db_url=mixed.url).others
    # explain writes the competition its galleries belong to; the report shows only
    # those of the competition it shows.
    gallery = tmp_path / "explain" / "old" / "explain.json"
    gallery.parent.mkdir(parents=True)
    gallery.write_text(json.dumps({"experiment": "cnn", "testset": "demo", "layer": "c",
                                   "n_images": 10, "n_mistakes": 1, "accuracy": 0.9,
                                   "galleries": [], "competition": OLD}))
    mine = build_report(tmp_path / "r.html", db_url=mixed.url, data_dir=tmp_path)
    theirs = build_report(tmp_path / "r2.html", db_url=mixed.url, data_dir=tmp_path,
                          profile=OLD)
    assert "<h3>cnn on demo</h3>" not in Path(mine.path).read_text()
    assert "<h3>cnn on demo</h3>" in Path(theirs.path).read_text()


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="needs chromium and chromedriver (apt-get install chromium "
                           "chromium-driver; .ci/run installs them)")
def test_the_mixed_report_renders_in_a_real_browser(mixed, tmp_path, monkeypatch):
    r = build_report(tmp_path / "all.html", db_url=mixed.url, competition="all",
                     data_dir=tmp_path)
    with opened_report(r, tmp_path, monkeypatch) as driver:
        boards = driver.execute_script(
            "return Array.from(document.querySelectorAll('h3.board')).map(h => h.textContent)")
        assert any(b.startswith("Mini-MNIST: ") for b in boards)
        assert any(b.startswith(f"{OLD}: ") for b in boards)


def test_calibrate_pairs_each_real_score_with_its_own_zip_only(tmp_path):
    from harness.results.forecast import exact_pairs

    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    db = Leaderboard(url)
    db.add_score(_score(NEW, "cnn", 0.6, target="/x/cnn_v1.zip"))
    db.add_score(_score(NEW, "cnn", 0.7, target="/x/cnn_v2.zip",
                        submission_sha256=_sha("retrained")))
    db.add_score(_score(OLD, "old", 0.9))
    db.record("cnn", 0.41, content_sha256=_sha(NEW + "cnn"), zip_sha256=_sha("z1"),
              zip_name="cnn_v1.zip", competition=NEW)
    db.record("cnn", 0.30)  # by name, before v4
    db.record("gone", 0.5, content_sha256=_sha("gone"), zip_sha256=_sha("z3"),
              zip_name="gone.zip", competition=NEW)
    db.record("old", 0.8, content_sha256=_sha(OLD + "old"), zip_sha256=_sha("z2"),
              zip_name="old.zip", competition=OLD)
    pairs, left_out = exact_pairs(db, NEW)
    assert {k: (v["record"]["score"], v["target"]) for k, v in pairs.items()} == {
        "cnn": (0.41, "/x/cnn_v1.zip")}
    db.record("cnn", 0.52, content_sha256=_sha("retrained"), zip_sha256=_sha("z4"),
              zip_name="cnn_v2.zip", competition=NEW)
    pairs, left_out = exact_pairs(db, NEW)
    assert {k: (v["record"]["score"], v["target"]) for k, v in pairs.items()} == {
        "cnn (cnn_v1.zip)": (0.41, "/x/cnn_v1.zip"), "cnn (cnn_v2.zip)": (0.52, "/x/cnn_v2.zip")}
    assert "unbound" in left_out["cnn"] and "zip is gone" in left_out["gone"]
    assert list(exact_pairs(db, OLD)[0]) == ["old"]


def test_a_score_the_calibration_was_fitted_on_says_it_is_no_evidence(tmp_path, runner):
    from harness.results.recording import Binding, calibrated_on

    profile = get_profile(NEW)
    anchor = profile.calibration["points"][0]["experiment"]
    binding = Binding("sub.zip", "a" * 64, "b" * 64, anchor, None, "test")
    assert "not evidence" in calibrated_on(binding, profile, tmp_path)
    assert calibrated_on(Binding("sub.zip", "a" * 64, None, "mine", None, "t"), profile,
                         tmp_path) is None
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    db = Leaderboard(url)
    db.add_score(_score(NEW, anchor, 0.5))
    db.record(anchor, 0.37, content_sha256=_sha(NEW + anchor), zip_sha256=_sha("a"),
              zip_name="anchor.zip", competition=NEW)
    row, = read_leaderboard(db_url=url).rows
    assert row["fitted_on"] == profile.calibration["id"]
    out = runner.invoke(main, ["leaderboard", "--db", url])
    assert "0.3700 *" in out.output
    assert "its agreement with Codabench is the calibration itself, not evidence" in out.output


@pytest.mark.parametrize("width, dropped", [(60, True), (400, False)])
def test_the_table_fits_the_terminal_and_says_what_it_left_out(mixed, width, dropped):
    from rich.console import Console

    from harness.cli.leaderboard import render_table

    buffer = io.StringIO()
    render_table(Console(file=buffer, width=width, no_color=True), read_leaderboard(
        db_url=mixed.url))
    text = buffer.getvalue()
    tables = [line for line in text.splitlines() if line.startswith(("┏", "┃", "│"))]
    words = " ".join(text.split())
    assert ("left out to fit the terminal" in words) is dropped
    if dropped:
        assert "--wide shows every one" in words
        assert max(len(line) for line in tables[:4]) <= 60  # the scores' table fits
    wide = io.StringIO()
    render_table(Console(file=wide, width=width, no_color=True),
                 read_leaderboard(db_url=mixed.url), wide=True)
    assert "left out" not in wide.getvalue() and "scored (UTC)" in wide.getvalue()


def test_columns_picks_them_and_a_wrong_name_gets_did_you_mean(mixed, runner):
    out = runner.invoke(main, ["leaderboard", "--db", mixed.url, "--columns",
                               "experiment,accuracy"])
    assert out.exit_code == 0, out.output
    assert "┃ experiment ┃ accuracy ┃" in out.output and "codabench ┃" not in out.output
    bad = runner.invoke(main, ["leaderboard", "--db", mixed.url, "--columns",
                               "experiment,acuracy"])
    assert bad.exit_code != 0 and "unknown leaderboard column" in bad.output
    assert "did you mean 'accuracy'" in bad.output and "Traceback" not in bad.output


def test_a_submission_folder_you_zipped_is_bound_by_its_content(tmp_path, runner):
    from harness.scoring.targets import content_sha256

    folder = tmp_path / "my_submission"
    folder.mkdir()
    (folder / "model.py").write_text("class Model: pass\n")
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    Leaderboard(url).add_score(_score(NEW, "my_submission", 0.3,
                                      submission_sha256=content_sha256(folder)))
    Leaderboard(url).add_score(_score(NEW, "my_submission", 0.5, testset="other",
                                      submission_sha256=_sha("edited since")))
    out = runner.invoke(main, ["record", str(folder), "--codabench", "0.19", "--db", url])
    assert out.exit_code == 0, out.output
    assert "beside 1 score row of that exact model" in out.output
    assert {r["testset"]: r["codabench"] for r in read_leaderboard(db_url=url).rows} == {
        "demo": 0.19, "other": None}


def test_damaged_and_foreign_rows_are_shown_not_crashed_on(tmp_path, runner):
    """Rows no one here wrote: a newer harness's kind, damaged JSON, a bundle's text
    scores, a ragged confusion matrix, a competition with only a Codabench result."""
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    db = Leaderboard(url)
    ok = dict(status="ok", created_at="2026-01-01")
    db.add_score(dict(ok, experiment="b1", target_kind="bundle", testset_kind="bundle",
                      competition="Weird", scores_json="not json", columns_json='[{"key": 5}]'))
    db.add_score(dict(ok, experiment="b2", target_kind="bundle", testset_kind="bundle",
                      competition="Weird", phase="P", scores_json='{"a": "text"}',
                      columns_json='[{"key": "a", "title": "A", "sorting": "asc"}]'))
    db.add_score(dict(ok, experiment="x", testset=None, testset_kind="newer", accuracy=0.3))
    for name, metrics in (("y", "{broken"), ("z", json.dumps([1, 2])), ("w", json.dumps(
            {"confusion": [[1, 0], [0]], "per_class_recall": [1], "class_names": "ab"}))):
        db.add_score(dict(ok, experiment=name, testset="t", testset_kind="pseudo_private",
                          accuracy=0.3, competition=NEW, metrics_json=metrics))
    db.record("ghost", 0.5, competition="Nobody", zip_sha256="f" * 64)
    for competition in (NEW, "all", "Weird", "Nobody", "unknown"):
        for args in ([], ["--format", "csv"], ["--json"], ["--format", "markdown"]):
            out = runner.invoke(main, ["leaderboard", "--db", url, "--competition",
                                       competition, *args])
            assert out.exit_code == 0, (competition, args, out.output)
        out = runner.invoke(main, ["report", "--db", url, "--competition", competition,
                                   "--out", str(tmp_path / "r.html")])
        assert out.exit_code == 0, (competition, out.output)
    assert "│ b2         │ text │" in runner.invoke(main, ["leaderboard", "--db", url,
                                                         "--competition", "Weird"]).output
