"""Commands that only read the leaderboard never create one: on a fresh folder they say
so in one line (or show an empty board) and leave the folder as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def _snapshot(root: Path) -> list[tuple[str, int | None]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size if p.is_file() else None)
                  for p in root.rglob("*"))


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A project folder (cwd) with a file in it and no data folder, no database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    (tmp_path / "notes.txt").write_text("mine\n")
    return tmp_path


def test_leaderboard_and_report_on_a_fresh_folder_write_nothing(fresh, runner):
    before = _snapshot(fresh)
    board = runner.invoke(main, ["leaderboard"])
    assert board.exit_code == 0, board.output
    assert board.output.strip().splitlines() == [
        f"no leaderboard database at {fresh / 'data' / 'leaderboard.sqlite'} yet: harness "
        f"score TARGET creates it"]
    data = json.loads(runner.invoke(main, ["leaderboard", "--json"]).output)
    assert data["missing"] is True and data["tables"] == []
    assert runner.invoke(main, ["leaderboard", "--format", "csv"]).exit_code == 0
    other = fresh / "elsewhere" / "team.sqlite"
    for args in (["report"], ["report", "--db", str(other)]):
        out = runner.invoke(main, args)
        assert out.exit_code == 2 and "Traceback" not in out.output, out.output
        assert out.output.startswith("error: no leaderboard database at ")
        assert "nothing to report yet" in out.output
    out = runner.invoke(main, ["leaderboard", "push", "--db", f"sqlite:///{fresh / 'team.sqlite'}"])
    assert out.exit_code == 2 and "nothing to push" in out.output
    assert _snapshot(fresh) == before


def test_timecheck_keeps_its_verdict_and_creates_no_database(fresh, runner, make_submission):
    folder = make_submission()
    before = _snapshot(fresh)
    out = runner.invoke(main, ["timecheck", str(folder), "--sample", "16", "--json"])
    assert out.exit_code == 0, out.output
    added = sorted(set(_snapshot(fresh)) - set(before))
    assert [name for name, _ in added] == ["data", "data/timechecks", "data/timechecks/sub.json"]
