"""The leaderboard database, Codabench records, and the printed table.

Every test that takes `db_url` runs twice: on a SQLite file and on a fresh database of
the session's real PostgreSQL server (tests/pg_server.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from harness.cli import main
from harness.cli.leaderboard import render_table
from harness.dburl import normalize_url
from harness.errors import HarnessError
from harness.results.leaderboard import Leaderboard, record
from harness.results.push import push
from harness.results.schema import SCHEMA_VERSION
from harness.results.standings import read_leaderboard
from harness.results.standings import rows as standing_rows

GOLDEN = Path(__file__).parent / "golden" / "leaderboard_table.txt"


def _sha(experiment: str) -> str:
    """The content sha256 of an experiment's one model, in these tests."""
    return hashlib.sha256(experiment.encode()).hexdigest()


def _bind(db, experiment, score, **extra):
    """A Codabench result bound to the zip of `experiment`'s model (see `_sha`)."""
    return db.record(experiment, score, content_sha256=_sha(experiment),
                     zip_sha256=_sha(experiment + ".zip"), zip_name=f"{experiment}.zip",
                     competition="an2dl-2024-hw1", **extra)


def _score_row(experiment, accuracy, testset="mini", status="ok", **extra):
    """A stored score of competition an2dl-2024-hw1, on pseudo-private set `testset`
    unless `testset_kind` says."""
    row = dict(experiment=experiment, status=status, testset=testset,
               testset_kind="pseudo_private", testset_path=None,
               accuracy=accuracy, f1_macro=None if accuracy is None else accuracy - 0.05,
               worst_group="noise" if accuracy else None,
               worst_group_accuracy=None if accuracy is None else accuracy - 0.2,
               recipe_version="1", predict_s=12.5, total_s=20.0, peak_rss_mb=812.4,
               submission_sha256=_sha(experiment),
               metrics_json={"per_class_recall": {"a": 1.0}},
               created_at="2026-11-20T10:00:00+00:00", competition="an2dl-2024-hw1")
    row.update(extra)
    return row


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'lb.sqlite'}"


def _create_old_scores_table(url):
    """What the harness before schema versions made: no uid, no version table."""
    old = sa.Table("scores", sa.MetaData(),
                   sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                   *(sa.Column(c, sa.String(32)) for c in ("created_at", "experiment", "status")),
                   sa.Column("accuracy", sa.Float))
    engine = sa.create_engine(normalize_url(url))
    with engine.begin() as conn:
        old.create(conn)
        conn.execute(old.insert(), [dict(created_at="2026-01-01", experiment="old", status="ok",
                                         accuracy=0.4)] * 2)
    engine.dispose()


@pytest.fixture
def filled(db_url):
    db = Leaderboard(db_url)
    db.add_score(_score_row("cnn_small", 0.61, pseudo_private=0.50))
    db.add_score(_score_row("cnn_small", 0.64, pseudo_private=0.52,
                            created_at="2026-11-21T09:30:00+00:00"))
    db.add_score(_score_row("cnn_small", None, status="failed", failure_kind="time_limit"))
    db.add_score(_score_row("convnext", 0.83, predict_s=401.0, peak_rss_mb=2950.0,
                            pseudo_private=0.74, clean_accuracy=0.95))
    db.add_score(_score_row("convnext", 0.71, testset="other", testset_kind="own",
                            testset_path="/x/other.npz"))
    _bind(db, "cnn_small", 0.47, phase=1, duration_s=300)
    _bind(db, "convnext", 0.69, phase=1)
    _bind(db, "convnext", 0.72, phase=2)
    _bind(db, "only_on_codabench", 0.30)
    return db_url


def _write_many(args):
    url, worker, start = args
    start.wait()  # every process opens the fresh database at the same moment
    db = Leaderboard(url)
    for i in range(15):
        db.add_score(_score_row(f"w{worker}", i / 100, metrics_json={"i": i, "w": worker},
                                submission_sha256=f"{worker:02d}{i:02d}" * 16))
        if i % 5 == 0:
            db.record(f"w{worker}", (worker * 15 + i) / 1000, phase=i)
    return worker


def test_eight_processes_at_once_lose_no_row_and_mix_none(db_url):
    # Eight processes create a fresh database together and write interleaved scores and
    # records: every row must land once, each with its own content.
    ctx = multiprocessing.get_context("fork")
    start = ctx.Manager().Barrier(8)
    with ctx.Pool(8) as pool:
        assert sorted(pool.map(_write_many, [(db_url, w, start) for w in range(8)])) == \
            list(range(8))
    db = Leaderboard(db_url)
    rows = db.scores()
    assert len(rows) == 8 * 15 and len({r["uid"] for r in rows}) == 8 * 15
    seen = set()
    for row in rows:
        data = json.loads(row["metrics_json"])
        w, i = data["w"], data["i"]
        assert row["experiment"] == f"w{w}" and row["accuracy"] == i / 100
        assert row["submission_sha256"] == f"{w:02d}{i:02d}" * 16
        seen.add((w, i))
    assert seen == {(w, i) for w in range(8) for i in range(15)}
    records = db.codabench_records()
    assert sorted((r["experiment"], r["score"], r["phase"]) for r in records) == sorted(
        (f"w{w}", (w * 15 + i) / 1000, i) for w in range(8) for i in (0, 5, 10))


def test_latest_ok_score_joins_latest_codabench_record(filled):
    rows = {(r["experiment"], r["testset"]): r for r in read_leaderboard(db_url=filled).rows}
    small = rows[("cnn_small", "mini")]
    assert small["accuracy"] == 0.64 and small["runs"] == 3 and small["failures"] == 1
    assert small["last_failure"] == "time_limit"
    assert rows[("convnext", "mini")]["last_failure"] is None
    assert small["codabench"] == 0.47 and small["gap"] == pytest.approx(0.52 - 0.47)
    assert rows[("convnext", "mini")]["codabench"] == 0.72
    # Codabench beside an accuracy on the user's own file, and no gap: it is no forecast.
    other = rows[("convnext", "other")]
    assert other["codabench"] == 0.72 and "gap" not in other and "pseudo_private" not in other
    assert rows[("only_on_codabench", None)] == {
        "experiment": "only_on_codabench", "codabench": 0.30, "codabench_phase": None,
        "codabench_zip": "only_on_codabench.zip", "testset": None, "testset_kind": None}
    only_mini = read_leaderboard(testset="mini", db_url=filled).rows
    assert [r["experiment"] for r in only_mini] == ["convnext", "cnn_small", "only_on_codabench"]
    by_gap = read_leaderboard(testset="mini", sort="gap", db_url=filled).rows
    assert [r["experiment"] for r in by_gap][:2] == ["cnn_small", "convnext"]


def test_bad_sort_column_and_bad_record(db_url):
    with pytest.raises(HarnessError, match="unknown sort column") as info:
        read_leaderboard(sort="acuracy", db_url=db_url)
    assert "did you mean 'accuracy'" in info.value.hint
    with pytest.raises(HarnessError, match="accuracy in 0..1"):
        record("x", 71.3, db_url=db_url)


def test_database_of_an_older_harness_is_upgraded(db_url):
    _create_old_scores_table(db_url)
    Leaderboard(db_url).add_score(_score_row("new", 0.5, f1_macro=0.4))
    rows = Leaderboard(db_url).scores()
    assert [(r["experiment"], r["accuracy"]) for r in rows] == [
        ("old", 0.4), ("old", 0.4), ("new", 0.5)]
    assert rows[2]["f1_macro"] == 0.4
    # The two identical old rows are still two rows, each with its own identity.
    assert len({r["uid"] for r in rows}) == 3 and all(rows[i]["uid"] for i in range(3))
    assert [r["testset_kind"] for r in rows] == ["own", "own", "pseudo_private"]
    engine = sa.create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM harness_schema")).scalar() == \
            SCHEMA_VERSION
    engine.dispose()


def test_database_of_a_newer_harness_is_refused_in_one_line(db_url, runner):
    Leaderboard(db_url).record("x", 0.5)
    engine = sa.create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE harness_schema SET version = :v"),
                     {"v": SCHEMA_VERSION + 1})
    engine.dispose()
    with pytest.raises(HarnessError, match="newer than this harness knows") as info:
        Leaderboard(db_url)
    assert "update the harness" in info.value.hint
    out = runner.invoke(main, ["leaderboard", "--db", db_url])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.output.splitlines()[0].startswith("error: the leaderboard database ")


def test_push_copies_local_rows_once(db_url, tmp_path, runner):
    local = f"sqlite:///{tmp_path / 'local.sqlite'}"
    mine = Leaderboard(local)
    mine.add_score(_score_row("cnn_small", 0.61))
    mine.add_score(_score_row("cnn_small", None, status="failed", failure_kind="crash"))
    _bind(mine, "cnn_small", 0.47, phase=1)
    Leaderboard(db_url).add_score(_score_row("teammate", 0.70))
    first = push(db_url, local)
    assert (first.scores_copied, first.scores_present, first.codabench_copied) == (2, 0, 1)
    out = runner.invoke(main, ["leaderboard", "push", "--db", db_url, "--from", local,
                               "--json"])
    assert out.exit_code == 0, out.output
    again = json.loads(out.output)
    assert (again["scores_copied"], again["scores_present"], again["codabench_copied"],
            again["codabench_present"]) == (0, 2, 0, 1)
    team = Leaderboard(db_url)
    assert sorted(r["experiment"] for r in team.scores()) == [
        "cnn_small", "cnn_small", "teammate"]
    assert [r["score"] for r in team.codabench_records()] == [0.47]
    rows = {r["experiment"]: r for r in read_leaderboard(db_url=db_url).rows}
    assert rows["cnn_small"]["runs"] == 2 and rows["cnn_small"]["codabench"] == 0.47
    with pytest.raises(HarnessError, match="both are"):
        push(local, local)


def test_headline_first_and_gap_measures_the_forecast(filled):
    rows = read_leaderboard(testset="mini", db_url=filled).rows
    assert [r["experiment"] for r in rows] == ["convnext", "cnn_small", "only_on_codabench"]
    convnext, cnn_small = rows[0], rows[1]
    assert convnext["gap"] == pytest.approx(0.74 - 0.72)
    assert cnn_small["gap"] == pytest.approx(0.52 - 0.47)


def test_rows_without_headline_follow_by_accuracy(db_url):
    db = Leaderboard(db_url)
    db.add_score(_score_row("old_low", 0.50))  # scored on the set before it had headlines
    db.add_score(_score_row("old_high", 0.90))
    db.add_score(_score_row("pp", 0.60, pseudo_private=0.40))
    assert [r["experiment"] for r in standing_rows(db)] == ["pp", "old_high", "old_low"]


def test_one_table_per_test_set_and_only_a_pseudo_private_one_forecasts(db_url, runner):
    db = Leaderboard(db_url)
    db.add_score(_score_row("cnn", 0.80, pseudo_private=0.41,
                            metrics_json=_headline(0.41, 0.31, 0.51, 0.38, 0.44)))
    db.add_score(_score_row("cnn", 0.3875, testset="real240", testset_kind="own",
                            testset_path="/x/real240.npz"))
    db.add_score(_score_row("cnn", 0.93, testset="mini/holdout", testset_kind="holdout",
                            testset_path="/x/testsets/mini/holdout.npz"))
    db.add_score(_score_row("vit", 0.55, testset="blur", testset_kind="shift",
                            testset_path="/x/testsets/blur/testset.npz"))
    # An accuracy that once sat beside forecasts: a row stored with no kind is inferred.
    db.add_score(_score_row("zip", 0.70, testset="real240", testset_kind=None,
                            testset_path="/x/real240.npz"))
    _bind(db, "cnn", 0.40)
    board = read_leaderboard(db_url=db_url)
    assert [(t.testset, t.kind, t.forecast) for t in board.tables] == [
        ("mini", "pseudo_private", True), ("mini/holdout", "holdout", False),
        ("blur", "shift", False), ("real240", "own", False)]
    assert [r["experiment"] for r in board.tables[3].rows] == ["zip", "cnn"]
    for table in board.tables[1:]:
        assert table.sort == "accuracy"
        assert not {"pseudo_private", "pp_low", "gap", "calibration_points"} & set(table.columns)
        assert all(set(r) == set(table.columns) for r in table.rows)
    table = runner.invoke(main, ["leaderboard", "--db", db_url]).output
    assert "pseudo-private set mini (1): forecast of the hidden score" in table
    assert "accuracy on real240.npz, your own file: not a forecast (sorted by accuracy)" in table
    assert "accuracy on holdout.npz of test set mini, clean: not a forecast" in table
    assert "accuracy on shift set blur: not a forecast" in table
    lines = table.splitlines()
    at = next(i for i, line in enumerate(lines) if "your own file" in line)
    assert lines[0] == "competition an2dl-2024-hw1"
    assert "forecast" in lines[3] and "forecast" not in lines[at + 2]  # the header rows
    assert "0.3875" in lines[at + 5]  # cnn, below zip
    data = json.loads(runner.invoke(main, ["leaderboard", "--db", db_url, "--json"]).output)
    assert [t["kind"] for t in data["tables"]] == ["pseudo_private", "holdout", "shift", "own"]
    assert data["tables"][3]["rows"][1]["accuracy"] == 0.3875
    assert "pseudo_private" not in data["tables"][3]["rows"][1]
    md = runner.invoke(main, ["leaderboard", "--db", db_url, "--format", "markdown"]).output
    assert md.count("**") == 8 and "| experiment | accuracy | codabench |" in md
    only = read_leaderboard(testset="real240", db_url=db_url)
    assert [t.testset for t in only.tables] == ["real240"]


def test_a_database_from_before_kinds_is_upgraded_with_them(db_url):
    Leaderboard(db_url)
    engine = sa.create_engine(normalize_url(db_url))
    with engine.begin() as conn:  # as a version-2 harness left it
        conn.execute(sa.text("ALTER TABLE scores DROP COLUMN testset_kind"))
        conn.execute(sa.text("UPDATE harness_schema SET version = 2"))
        for experiment, pp, path, recipe, status in (
                ("headline", 0.4, "/x/t/testset.npz", "pp@2.0+s3.77", "ok"),
                ("failed", None, "/x/t/testset.npz", "pp@2.0+s3.77", "failed"),
                ("clean", None, "/x/t/holdout.npz", None, "ok"),
                ("mine", None, "/x/real240.npz", None, "ok")):
            conn.execute(sa.text(
                "INSERT INTO scores (uid, created_at, experiment, status, pseudo_private, "
                "testset, testset_path, recipe_version) VALUES (:u, '2026-01-01', :e, :s, "
                ":pp, 't', :p, :r)"),
                {"u": experiment, "e": experiment, "s": status, "pp": pp, "p": path, "r": recipe})
    engine.dispose()
    kinds = {r["experiment"]: r["testset_kind"] for r in Leaderboard(db_url).scores()}
    assert kinds == {"headline": "pseudo_private", "failed": "pseudo_private",
                     "clean": "holdout", "mine": "own"}
    engine = sa.create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM harness_schema")).scalar() == \
            SCHEMA_VERSION
    engine.dispose()


def test_printed_table_matches_the_golden_file(filled):
    buffer = io.StringIO()
    render_table(Console(file=buffer, width=100, no_color=True, force_terminal=False),
                 read_leaderboard(testset="mini", db_url=filled), wide=True)
    assert buffer.getvalue() == GOLDEN.read_text()


def test_cli_record_and_formats(db_url, runner, tmp_path):
    upload = tmp_path / "cnn.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        zf.writestr("model.py", "class Model: pass\n")
    out = runner.invoke(main, ["record", str(upload), "--codabench", "0.53", "--phase", "1",
                               "--duration", "420", "--db", db_url])
    assert out.exit_code == 0, out.output
    assert "recorded Codabench 0.5300 (phase 1), ran 420 s for cnn.zip (sha256 " in out.output
    assert "it stands beside 0 score rows of that exact model" in out.output
    md = runner.invoke(main, ["leaderboard", "--format", "markdown", "--db", db_url]).output
    assert md.splitlines()[0] == "**an2dl-2024-hw1: recorded on Codabench, not scored here**"
    assert md.splitlines()[4] == "| cnn | 0.5300 | 1 | cnn.zip |"
    csv_out = runner.invoke(main, ["leaderboard", "--format", "csv", "--db", db_url]).output
    assert csv_out.splitlines()[0].startswith("competition,experiment,pseudo_private,pp_low,")
    data = json.loads(runner.invoke(main, ["leaderboard", "--json", "--db", db_url]).output)
    assert data["tables"][0]["rows"][0]["codabench"] == 0.53
    # One way to ask for JSON: --json; --format is for people and documents.
    twice = runner.invoke(main, ["leaderboard", "--format", "json", "--db", db_url])
    assert twice.exit_code == 2 and "'json' is not one of" in twice.output
    bad = runner.invoke(main, ["record", str(upload), "--codabench", "53", "--db", db_url])
    assert bad.exit_code == 2 and "0.53" in bad.output
    # A group now (for `push`), `leaderboard` alone is still the table.
    table = runner.invoke(main, ["leaderboard", "--db", db_url])
    assert table.exit_code == 0
    assert "recorded on Codabench, not scored here" in table.output


def test_the_password_never_shows(pg_url, runner, caplog, tmp_path, monkeypatch):
    from harness.dburl import passwords

    monkeypatch.chdir(tmp_path)  # push's default source: data/leaderboard.sqlite
    Leaderboard(str(tmp_path / "data" / "leaderboard.sqlite")).record("local", 0.1)
    secret = passwords(pg_url)[0]
    masked = pg_url.replace(secret, "***").replace("postgresql:", "postgresql+psycopg:")
    outputs = [runner.invoke(main, ["record", "cnn", "--codabench", "0.5", "--db", pg_url,
                                    "--json"]).output,
               runner.invoke(main, ["leaderboard", "--db", pg_url, "--json"]).output,
               runner.invoke(main, ["leaderboard", "push", "--db", pg_url, "--json"]).output]
    assert json.loads(outputs[1])["db_url"] == masked
    assert masked in outputs[2]
    wrong = pg_url.replace(secret, secret + "x")
    outputs.append(runner.invoke(main, ["leaderboard", "--db", wrong]).output)
    assert "cannot open the leaderboard database" in outputs[-1]
    down = pg_url.rsplit(":", 1)[0] + ":1/none"
    outputs.append(runner.invoke(main, ["leaderboard", "--db", down]).output)
    assert "cannot open the leaderboard database" in outputs[-1]
    for text in outputs + [caplog.text]:
        assert secret not in text


def _headline(pp, low, high, s_low, s_high, points=1):
    return {"pseudo_private": {"accuracy": pp, "low": low, "high": high, "sampling_low": s_low,
                               "sampling_high": s_high, "calibration_points": points}}


def test_forecast_interval_real_points_and_ties_with_the_leader(db_url, runner):
    db = Leaderboard(db_url)
    db.add_score(_score_row("lead", 0.9, pseudo_private=0.50,
                            metrics_json=_headline(0.50, 0.40, 0.60, 0.47, 0.53)))
    db.add_score(_score_row("close", 0.9, pseudo_private=0.48,
                            metrics_json=_headline(0.48, 0.38, 0.58, 0.45, 0.51)))
    db.add_score(_score_row("behind", 0.9, pseudo_private=0.40,
                            metrics_json=_headline(0.40, 0.30, 0.50, 0.37, 0.43)))
    db.add_score(_score_row("old", 0.9, pseudo_private=0.45))  # scored before intervals
    _bind(db, "lead", 0.52)
    rows = {r["experiment"]: r for r in read_leaderboard(db_url=db_url).rows}
    assert [rows[e]["tied_with_leader"] for e in ("lead", "close", "behind", "old")] == \
        [False, True, False, None]
    assert (rows["lead"]["pp_low"], rows["lead"]["pp_high"]) == (0.40, 0.60)
    assert rows["lead"]["calibration_points"] == 1 and rows["old"]["pp_low"] is None
    table = runner.invoke(main, ["leaderboard", "--db", db_url]).output
    assert "0.4800 [0.38-0.58] ≈" in table and "0.5000 [0.40-0.60]" in table
    assert "≈: within the test set's sampling noise of the leader" in table
