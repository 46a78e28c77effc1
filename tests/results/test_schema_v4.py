"""Schema version 4: every score row knows its competition, a Codabench result its zip.

A version-3 database is built here with the raw SQL of version 3's columns (what the
harness before version 4 made), on SQLite and on the session's real PostgreSQL, and
opened by this harness.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from harness.dburl import normalize_url
from harness.results import keep_bundle_run
from harness.results.leaderboard import Leaderboard
from harness.results.schema import SCHEMA_VERSION

V3_SCORES = (
    "uid VARCHAR(36), created_at VARCHAR(32) NOT NULL, experiment VARCHAR(200) NOT NULL, "
    "status VARCHAR(16) NOT NULL, failure_kind VARCHAR(40), failure_message TEXT, "
    "target_kind VARCHAR(16), target TEXT, submission_sha256 VARCHAR(64), "
    "profile VARCHAR(64), testset VARCHAR(200), testset_kind VARCHAR(16), testset_path TEXT, "
    "testset_sha256 VARCHAR(64), recipe_version VARCHAR(32), testset_seed INTEGER, "
    "n_images INTEGER, pseudo_private FLOAT, clean_accuracy FLOAT, accuracy FLOAT, "
    "precision_macro FLOAT, recall_macro FLOAT, f1_macro FLOAT, worst_group VARCHAR(100), "
    "worst_group_accuracy FLOAT, metrics_json TEXT, load_s FLOAT, predict_s FLOAT, "
    "total_s FLOAT, peak_rss_mb FLOAT, time_limit_s FLOAT, python_version VARCHAR(32), "
    "tensorflow_version VARCHAR(32), keras_version VARCHAR(32), numpy_version VARCHAR(32), "
    "harness_version VARCHAR(32), git_commit VARCHAR(64)")
V3_CODABENCH = ("uid VARCHAR(36), created_at VARCHAR(32) NOT NULL, "
                "experiment VARCHAR(200) NOT NULL, score FLOAT NOT NULL, phase INTEGER, "
                "duration_s FLOAT")


def make_v3(url: str, rows=(("a2024", "an2dl-2024-hw1"), ("a2023", "an2dl-2023-hw1"),
                            ("old", None))) -> None:
    """A leaderboard as the version-3 harness left it: scores under two profiles and one
    with no profile, and a Codabench result recorded by name."""
    engine = sa.create_engine(normalize_url(url))
    key = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else \
        "INTEGER PRIMARY KEY AUTOINCREMENT"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE scores (id {key}, {V3_SCORES})"))
        conn.execute(sa.text(f"CREATE TABLE codabench (id {key}, {V3_CODABENCH})"))
        conn.execute(sa.text("CREATE TABLE harness_schema (id INTEGER PRIMARY KEY, "
                             "version INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO harness_schema VALUES (1, 3)"))
        for i, (experiment, profile) in enumerate(rows):
            conn.execute(sa.text(
                "INSERT INTO scores (uid, created_at, experiment, status, profile, testset, "
                "testset_kind, accuracy, submission_sha256) VALUES (:u, '2026-01-01', :e, "
                "'ok', :p, 'mini', 'own', 0.5, :h)"),
                {"u": f"u{i}", "e": experiment, "p": profile, "h": f"{i:02d}" * 32})
        conn.execute(sa.text("INSERT INTO codabench (uid, created_at, experiment, score) "
                             "VALUES ('c1', '2026-01-02', 'a2024', 0.41)"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'lb.sqlite'}"


def test_a_version_3_database_is_upgraded_with_competitions(db_url):
    make_v3(db_url)
    db = Leaderboard(db_url, create=False)
    assert {r["experiment"]: r["competition"] for r in db.scores()} == {
        "a2024": "an2dl-2024-hw1", "a2023": "an2dl-2023-hw1", "old": "unknown"}
    record, = db.codabench_records()
    # Recorded by name only: kept, and bound to no zip.
    assert record["score"] == 0.41 and record["zip_sha256"] is None
    engine = sa.create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM harness_schema")).scalar() == \
            SCHEMA_VERSION == 4
    engine.dispose()


def _bundle_result(**extra):
    column = SimpleNamespace(key="accuracy", title="Accuracy", index=0, sorting="desc")
    bundle = SimpleNamespace(title="Mini-MNIST", sha256="cd" * 32, leaderboards=[
        SimpleNamespace(key="main", title="Results", columns=[column])])
    fields = dict(bundle=bundle, phase=SimpleNamespace(index=0, name="Development"),
                  submission="/x/sub.zip", submission_sha256="ef" * 32,
                  scores={"accuracy": 0.9}, status="ok", failure_kind=None,
                  failure_message=None, total_s=3.5)
    fields.update(extra)
    return SimpleNamespace(**fields)


def test_a_bundle_run_is_kept_under_its_own_competition(db_url):
    row_id = keep_bundle_run(_bundle_result(pseudo_private_scores={"accuracy": 0.7},
                                            recipe="compound"), db_url)
    plain, pseudo = Leaderboard(db_url).scores()
    assert plain["id"] == row_id
    assert (plain["competition"], plain["phase"], plain["experiment"], plain["target_kind"],
            plain["testset_kind"]) == ("Mini-MNIST", "Development", "sub", "bundle", "bundle")
    assert plain["competition_sha256"] == "cd" * 32
    assert json.loads(plain["scores_json"]) == {"accuracy": 0.9}
    assert json.loads(plain["columns_json"]) == [
        {"key": "accuracy", "title": "Accuracy", "index": 0, "sorting": "desc"}]
    assert (pseudo["testset_kind"], pseudo["testset"]) == ("pseudo-private", "compound")
    assert json.loads(pseudo["scores_json"]) == {"accuracy": 0.7}


def test_a_failed_bundle_run_is_kept_as_a_failure(tmp_path):
    url = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    failure = SimpleNamespace(kind="time_limit", message="Execution Time Limit exceeded")
    keep_bundle_run(_bundle_result(status="failed", failure_kind=None, failure=failure,
                                   scores=None), url)
    row, = Leaderboard(url).scores()
    assert (row["status"], row["failure_kind"]) == ("failed", "time_limit")
