"""What kind of test set a file is, decided from what the harness knows about it, and
what a score on it is called: a forecast only on a pseudo-private set."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from harness.cli import main
from harness.data.datasets import save_dataset
from harness.errors import HarnessError
from harness.results.leaderboard import Leaderboard
from harness.testset.builder import build
from harness.testset.store import load_testset


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A built pseudo-private set `t`, a shift set `blur` declared by its builder (a copy
    of t's files, recipe and all, with "kind": "shift"), and the user's own real240.npz."""
    root = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (32, 96, 96, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(8), 4)
    data = save_dataset(root / "d.npz", images, labels)
    testsets = root / "data" / "testsets"
    build(data, holdout=0.5, name="t", recipe="pp-small", out_root=testsets, progress=False)
    (testsets / "blur").mkdir()
    shutil.copy(testsets / "t" / "testset.npz", testsets / "blur" / "testset.npz")
    manifest = json.loads((testsets / "t" / "manifest.json").read_text())
    (testsets / "blur" / "manifest.json").write_text(json.dumps(
        {**manifest, "name": "blur", "kind": "shift"}))
    save_dataset(root / "real240.npz", images[:8], labels[:8])
    return root


@pytest.fixture
def here(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    return project


def test_each_file_gets_the_kind_the_harness_knows_it_to_be(here, profile):
    built = load_testset("t", profile)
    assert built.kind == "pseudo_private" and built.recipe.id == "pp-small@2.0+s1.00"
    holdout = load_testset("data/testsets/t/holdout.npz", profile)
    assert (holdout.kind, holdout.name, holdout.recipe) == ("holdout", "t/holdout", None)
    own = load_testset(str(here / "real240.npz"), profile)
    assert (own.kind, own.name, own.recipe) == ("own", "real240", None)
    # Declared by its builder: a shift set, no forecast, though its files carry a recipe.
    shift = load_testset("blur", profile)
    assert (shift.kind, shift.recipe) == ("shift", None)
    # A holdout.npz the manifest beside it does not count is not that set's holdout.
    stray = here / "stray" / "holdout.npz"
    save_dataset(stray, *(np.zeros((3, 96, 96, 3), np.uint8), [0, 1, 2]))
    shutil.copy(here / "data" / "testsets" / "t" / "manifest.json", stray.parent)
    assert load_testset(str(stray), profile).kind == "own"


def test_testset_list_names_each_sets_kind(here, runner):
    listed = json.loads(runner.invoke(main, ["testset", "list", "--json"]).output)
    assert [(r["name"], r["kind"]) for r in listed] == [("blur", "shift"),
                                                        ("t", "pseudo_private")]
    table = runner.invoke(main, ["testset", "list"])
    assert table.exit_code == 0 and "shift" in table.output, table.output


def test_a_declared_kind_must_be_one_the_harness_knows_and_can_be(here, profile, tmp_path):
    folder = tmp_path / "x"
    save_dataset(folder / "testset.npz", np.zeros((4, 96, 96, 3), np.uint8), [0, 1, 2, 3])
    (folder / "manifest.json").write_text(json.dumps({"name": "x", "kind": "shfit"}))
    with pytest.raises(HarnessError, match="unknown test-set kind 'shfit'") as info:
        load_testset(str(folder / "testset.npz"), profile)
    assert "did you mean 'shift'" in info.value.hint
    (folder / "manifest.json").write_text(json.dumps({"name": "x", "kind": "pseudo_private"}))
    with pytest.raises(HarnessError, match="declares a pseudo-private set, but it names no "
                                           "recipe"):
        load_testset(str(folder / "testset.npz"), profile)


def test_a_score_that_is_no_forecast_is_never_called_one(here, make_submission, runner,
                                                         tmp_path):
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    sub = str(make_submission())
    lines = {}
    for testset in ("t", "data/testsets/t/holdout.npz", "blur", str(here / "real240.npz")):
        out = runner.invoke(main, ["score", sub, "--testset", testset, "--db", db])
        assert out.exit_code == 0, out.output
        # As one line, however wrapped; stdout: the forecast comes first on stderr.
        lines[testset] = " ".join(out.stdout.split())
    assert lines["t"].startswith("pseudo-private ")
    assert " on holdout.npz of test set t, clean: not a forecast of the hidden score" in \
        lines["data/testsets/t/holdout.npz"]
    assert " on shift set blur: not a forecast of the hidden score" in lines["blur"]
    own = lines[str(here / "real240.npz")]
    assert own.startswith("accuracy ") and "pseudo-private" not in own
    assert " on real240.npz, your own file: not a forecast of the hidden score" in own
    stored = [(r["testset"], r["testset_kind"], r["pseudo_private"] is not None)
              for r in Leaderboard(db).scores()]
    assert stored == [("t", "pseudo_private", True), ("t/holdout", "holdout", False),
                      ("blur", "shift", False), ("real240", "own", False)]
    data = json.loads(runner.invoke(main, ["score", sub, "--testset", "blur", "--db", db,
                                           "--json"]).output)
    assert data["testset"]["kind"] == "shift" and data["pseudo_private"] is None
    assert data["testset"]["title"] == "accuracy on shift set blur: not a forecast"
