"""`harness report`: every section on one page, the same bytes twice, and a real browser.

One small world serves every test: three scored experiments on a pseudo-private set
(one with a forecast interval and calibration, one trained here with a run history,
one a zip), and scores on three other kinds of set (a built holdout, a shift set, a
user's own file), two Codabench records, a timecheck verdict, a hygiene report with a
contact sheet and an explain summary with a gallery.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import terminal_stderr

from harness.cli import main
from harness.contactsheet import contact_sheet
from harness.profile import get_profile
from harness.results.leaderboard import Leaderboard
from harness.results.report import build_report, calibration_view, forecast_fields

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# What works headless in a container, with nothing fetched from the network.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,1800")
STAMP = re.compile(r"generated \S+")


@contextlib.contextmanager
def opened_report(report, tmp_path, monkeypatch):
    """The built report open in headless Chromium, every image loaded and drawn: yields
    the driver, and quits it after the block."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    monkeypatch.setenv("SE_AVOID_STATS", "true")  # selenium phones home otherwise
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.get(Path(report.path).resolve().as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "return document.readyState === 'complete' && "
            "Array.from(document.images).every(i => i.complete)"))
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.naturalWidth])")
        assert len(images) == report.images
        assert [alt for alt, width in images if not width > 0] == []
        yield driver
    finally:
        driver.quit()


def _sha(experiment: str) -> str:
    """The content sha256 of an experiment's one model, in these tests."""
    return hashlib.sha256(experiment.encode()).hexdigest()


def _bound(common: dict, **row) -> dict:
    """A score row whose content is its experiment's one model (`_sha`)."""
    return dict(common, submission_sha256=_sha(row["experiment"]), **row)


def _metrics(rng, profile, **extra):
    families = ["clean", "gaussian_noise", "occlusion"]
    cm = rng.integers(0, 10, (8, 8))
    cm[np.diag_indices(8)] += 50
    accuracy = {f: float(rng.uniform(0.3, 0.95)) for f in families}
    return {"per_class_recall": {c: float(rng.uniform(0.4, 1)) for c in profile.class_names},
            "confusion": cm.tolist(), "group_accuracy": accuracy,
            "group_counts": {f: 60 for f in families}, "n": int(cm.sum()), **extra}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_world")
    data = root / "data"
    profile = get_profile()
    rng = np.random.default_rng(0)
    exp = root / "experiments" / "alpha"
    run = exp / "runs" / "250101_000000"
    run.mkdir(parents=True)
    (exp / "config.py").write_text("CONFIG = {}\n")
    (exp / "build.py").write_text("def build_model(config, profile):\n    pass\n")
    (run / "weights.keras").write_bytes(b"")
    # history.json as harness train writes it: no history.png, so the report draws it.
    (run / "history.json").write_text(json.dumps({
        "models": [{"weights": "weights.keras", "history": {
            "loss": [1.2, 0.8, 0.6], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.0, 0.9, 0.8],
            "val_accuracy": [0.6, 0.65, 0.7]}}],
        "train_seconds": 95.2, "segment_seconds": [41.0, 54.2]}))
    (run / "config.json").write_text(json.dumps({
        "optimizer": "adamw", "learning_rate": 0.0003, "lr_schedule": "cosine",
        "warmup_epochs": 1, "epochs": 3, "batch_size": 64, "folds": 1,
        "augment": ["flip", "rotate"]}))
    db_url = f"sqlite:///{data / 'lb.sqlite'}"
    db = Leaderboard(db_url)
    common = {"status": "ok", "testset": "demo", "testset_kind": "pseudo_private",
              "testset_path": "/x/demo/testset.npz",
              "n_images": 400, "predict_s": 4.2, "peak_rss_mb": 900.0,
              "created_at": "2026-11-20T10:00:00+00:00", "competition": profile.name}
    # The headline as scoring stores it: interval, sampling interval, calibration.
    db.add_score(_bound(common, experiment="alpha", target_kind="experiment", target=str(exp),
                      accuracy=0.62, pseudo_private=0.55, clean_accuracy=0.9, f1_macro=0.6,
                      metrics_json=_metrics(rng, profile, holdout_overlap=12, pseudo_private={
                          "accuracy": 0.55, "low": 0.45, "high": 0.66, "sampling_low": 0.47,
                          "sampling_high": 0.64, "calibration": "cal@2",
                          "calibration_points": 2})))
    db.add_score(_bound(common, experiment="beta", target_kind="zip", target="/x/beta.zip",
                      accuracy=0.70, pseudo_private=0.66, clean_accuracy=0.93, f1_macro=0.68,
                      predict_s=9.5, metrics_json=_metrics(rng, profile, pseudo_private={
                          "accuracy": 0.66, "low": 0.61, "high": 0.71, "sampling_low": 0.63,
                          "sampling_high": 0.69, "calibration": "cal@2",
                          "calibration_points": 2})))
    db.add_score(_bound(common, experiment="gamma", target_kind="zip", target="/x/gamma.zip",
                      accuracy=0.50, pseudo_private=0.41, clean_accuracy=0.8, f1_macro=0.45,
                      predict_s=1.0, metrics_json=_metrics(rng, profile)))
    db.add_score(_bound(common, experiment="delta", status="failed", failure_kind="model_init",
                      failure_message="no weights.keras", target_kind="zip"))
    # Accuracies that are no forecast: each its own table, named for what it is.
    for experiment, name, kind, path, accuracy in (
            ("alpha", "demo/holdout", "holdout", "/x/demo/holdout.npz", 0.91),
            ("beta", "blur", "shift", "/x/blur/testset.npz", 0.52),
            ("beta", "real240", "own", "/x/real240.npz", 0.3875)):
        db.add_score(_bound(common, experiment=experiment, testset=name, testset_kind=kind,
                          testset_path=path, target_kind="zip", target=f"/x/{experiment}.zip",
                          accuracy=accuracy, f1_macro=accuracy - 0.05,
                          metrics_json=_metrics(rng, profile)))
    for experiment, score in (("alpha", 0.38), ("beta", 0.47)):  # bound to their zips
        db.record(experiment, score, content_sha256=_sha(experiment),
                  zip_sha256=_sha(f"{experiment}.zip"), zip_name=f"{experiment}.zip",
                  competition=profile.name)
    (data / "timechecks").mkdir()
    (data / "timechecks" / "alpha.json").write_text(json.dumps(
        {"name": "alpha", "verdict": "PASS", "margin_s": 5012.0, "estimate_s": 988.0,
         "limit_s": 6000.0, "test_size": 5133, "max_tta": 8}))
    tiles = rng.integers(0, 255, (6, 96, 96, 3), dtype=np.uint8)
    sheet = contact_sheet(tiles, data / "demo" / "hygiene" / "planted.png", title="planted")
    (data / "demo" / "hygiene" / "report.json").write_text(json.dumps(
        {"dataset": "data/demo/training_set.npz", "n_images": 100, "n_removed": 6,
         "n_kept": 94, "removed_by_rule": {"planted": 6, "duplicate": 0},
         "class_counts": {"before": {"Basophil": 13}, "after": {"Basophil": 12}},
         "sheets": {"planted": str(sheet)}}))
    gallery = contact_sheet(np.concatenate([tiles, tiles], axis=2),
                            data / "explain" / "alpha" / "family_clean.png", title="clean")
    (data / "explain" / "alpha" / "explain.json").write_text(json.dumps(
        {"experiment": "alpha", "testset": "demo", "layer": "conv", "n_images": 120,
         "n_mistakes": 30, "accuracy": 0.75, "galleries": [
             {"kind": "family", "key": "clean", "title": "clean: 6 mistakes", "png": str(gallery),
              "n_images": 60, "n_mistakes": 6, "items": []}]}))
    return SimpleNamespace(root=root, data=data, db_url=db_url, profile=profile)


def _build(world, out, **kwargs):
    return build_report(out, db_url=world.db_url, data_dir=world.data, profile=world.profile,
                        **kwargs)


@pytest.fixture(scope="module")
def built(world):
    """The world's report on test set demo, built once (a build draws every figure)."""
    return _build(world, world.root / "out" / "report.html", testset="demo")


def test_the_report_holds_every_section(built):
    r = built
    # By the forecast, high first; a submission that only failed comes last.
    assert r.experiments == ["beta", "alpha", "gamma", "delta"]
    # Calibration points: alpha's and beta's records, and the profile's public pair.
    assert r.sections == {"leaderboard tables": 1, "leaderboard rows": 4,
                          "calibration points": 3, "heat maps": 2,
                          "confusion matrices": 3, "training histories": 1, "timechecks": 1,
                          "explain galleries": 1, "hygiene reports": 1}
    html = Path(r.path).read_text()
    assert html.count("<img") == r.images == 1 + 2 + 3 + 1 + 1 + 1
    assert html.count('src="data:image/png;base64,') == r.images
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert "0.6100 – 0.7100" in html and "cal@2 (2 points)" in html
    assert html.count("≈ </span>") == 1  # alpha's sampling interval reaches beta's
    assert "5012 (PASS)" in html and "+0.1700" in html  # alpha's margin; alpha's gap
    assert "1 of 1 runs failed, the latest: model_init" in html
    assert html.count(">trained on the holdout</span>") == 1  # alpha saw 12 holdout images
    assert ("trained 95 s over 2 segments (41 + 54) · adamw, learning rate 0.0003, cosine "
            "after 1 warm-up epoch, 3 epochs, batch 64, augment flip, rotate") in html
    assert r.size_bytes == os.path.getsize(r.path)


def test_regenerating_gives_the_same_bytes_apart_from_the_timestamp(world, built, tmp_path):
    with terminal_stderr() as err:  # a bar for a person does not change the page
        again = _build(world, tmp_path / "again.html", testset="demo",
                       generated_at="2030-01-01T00:00:00+00:00", progress=True)
    assert "report figures:" in err.getvalue() and "0/3" in err.getvalue()  # 3 scored
    a, b = Path(built.path).read_bytes(), (tmp_path / "again.html").read_bytes()
    assert a != b and built.generated_at in a.decode() and again.generated_at in b.decode()
    assert STAMP.sub("", a.decode()) == STAMP.sub("", b.decode())
    assert [p.name for p in tmp_path.iterdir()] == ["again.html"]  # no .part file left


def test_an_empty_leaderboard_gives_a_page_that_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    Leaderboard(url)  # a database with no scores yet (a missing one is refused: test_read_only)
    r = build_report(tmp_path / "r.html", db_url=url, data_dir=tmp_path)
    html = (tmp_path / "r.html").read_text()
    assert r.experiments == [] and r.images == 1  # the calibration plot, the profile's point
    assert "No scores yet" in html and "None yet: <code>harness explain" in html


def test_forecast_fields_read_the_interval_wherever_scoring_stores_it():
    row = {"pseudo_private": 0.6, "accuracy": 0.7}
    assert forecast_fields(row, {}) == {"value": 0.6, "low": None, "high": None,
                                        "calibration": None, "calibration_points": None,
                                        "tied": False}
    on_row = dict(row, pp_low=0.5, pp_high=0.7, calibration_points=3, tied_with_leader=True)
    assert forecast_fields(on_row, {}) == {"value": 0.6, "low": 0.5, "high": 0.7,
                                           "calibration": None, "calibration_points": 3,
                                           "tied": True}
    stored = {"pseudo_private": {"low": 0.4, "high": 0.8, "calibration": "default-1pt"}}
    assert forecast_fields(row, stored)["calibration"] == "default-1pt"
    assert forecast_fields(row, stored)["high"] == 0.8
    # An accuracy on a set that is not pseudo-private is no forecast.
    assert forecast_fields({"pseudo_private": None, "accuracy": 0.7}, {})["value"] is None


def test_scores_on_four_kinds_of_set_are_four_tables_and_only_one_forecasts(world, tmp_path):
    r = _build(world, tmp_path / "all.html")
    assert r.sections["leaderboard tables"] == 4 and r.sections["leaderboard rows"] == 7
    # Only forecasts are plotted against Codabench: the profile's point, alpha's and beta's.
    assert r.sections["calibration points"] == 3
    html = (tmp_path / "all.html").read_text()
    boards = html.split('<h2 id="calibration">')[0].split('<h3 class="board"')[1:]
    titles = [b.split(">", 1)[1].split("</h3>")[0] for b in boards]
    assert titles == [
        "pseudo-private set demo: forecast of the hidden score",
        "accuracy on holdout.npz of test set demo, clean: not a forecast",
        "accuracy on shift set blur: not a forecast",
        "accuracy on real240.npz, your own file: not a forecast"]
    headers = [re.findall(r"<th>([^<]*)</th>", b) for b in boards]
    assert "forecast" in headers[0] and "95% interval" in headers[0]
    for others in headers[1:]:
        assert others[:2] == ["experiment", "accuracy"]
        assert not {"forecast", "95% interval", "gap", "calibration"} & set(others)
    assert "0.3875" in boards[3] and all("0.3875" not in b for b in boards[:3])
    assert 'href="#exp-7">beta @ real240</a>' in boards[3]


def test_the_calibration_plot_joins_its_real_points_and_the_recorded_ones(world, tmp_path):
    from harness.testset.calibration import CALIBRATION_FILE

    (tmp_path / CALIBRATION_FILE).write_text(json.dumps({
        "id": "team-2pt-abc", "profile": world.profile.name, "recipe": "pp@2.0",
        "strength": 1.7, "sd": 0.04, "points": [
            {"experiment": "z1", "forecast": 0.7, "codabench": 0.4},
            {"experiment": "alpha", "forecast": 0.1, "codabench": 0.38}]}))
    entries = [{"label": "alpha", "forecast": {"value": 0.55},
                "row": {"experiment": "alpha", "codabench": 0.38}},
               {"label": "gamma", "forecast": {"value": 0.41},
                "row": {"experiment": "gamma", "codabench": None}}]
    view = calibration_view(entries, world.profile, tmp_path)
    # alpha once, with its current forecast; gamma has no Codabench score.
    assert [(p["experiment"], p["forecast"], p["source"]) for p in view["points"]] == [
        ("alpha", 0.55, "leaderboard"), ("z1", 0.7, "calibration")]
    assert view["line"] == pytest.approx((0.02 / 0.15, 0.38 - 0.55 * 0.02 / 0.15))
    assert view["about"].startswith("team-2pt-abc: strength 1.7") and view["note"] is None
    (tmp_path / CALIBRATION_FILE).write_text("{ broken")
    assert "not a calibration file" in calibration_view(entries, world.profile, tmp_path)["note"]


def test_cli_report_json_and_an_unknown_testset_is_one_line(world, tmp_path, tty_runner):
    runner = tty_runner
    out = runner.invoke(main, ["report", "--out", str(tmp_path / "r.html"), "--db",
                               world.db_url, "--testset", "demo", "--json"])
    assert out.exit_code == 0, out.output
    assert "report figures" not in out.output  # no bar under --json, even at a terminal
    assert json.loads(out.stdout)["sections"]["leaderboard rows"] == 4
    out = runner.invoke(main, ["report", "--out", str(tmp_path / "r2.html"), "--db",
                               world.db_url, "--testset", "dmeo"])
    assert out.exit_code == 2 and "no scores on test set 'dmeo'" in out.output
    assert "scored test sets: blur, demo, demo/holdout, real240" in out.output
    assert "Traceback" not in out.output
    assert not (tmp_path / "r2.html").exists()


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                    reason="needs chromium and chromedriver (apt-get install chromium "
                           "chromium-driver; .ci/run installs them)")
def test_the_report_renders_in_a_real_browser(built, tmp_path, monkeypatch):
    By = pytest.importorskip("selenium.webdriver.common.by").By

    with opened_report(built, tmp_path, monkeypatch) as driver:
        def names():
            return [row.find_element(By.TAG_NAME, "a").text for row in
                    driver.find_elements(By.CSS_SELECTOR, "#leaderboard-1 tbody tr")]

        assert names() == ["beta", "alpha", "gamma", "delta"]
        header = {th.text: th for th in
                  driver.find_elements(By.CSS_SELECTOR, "#leaderboard-1 thead th")}
        header["predict s"].click()
        assert names() == ["beta", "alpha", "gamma", "delta"]  # 9.5, 4.2, 1.0, blank last
        header["predict s"].click()
        assert names() == ["gamma", "alpha", "beta", "delta"]  # low first, blank still last
        header["Codabench"].click()
        assert names() == ["beta", "alpha", "gamma", "delta"]  # 0.47, 0.38, then the blanks
        header["experiment"].click()
        assert names() == ["gamma", "delta", "beta", "alpha"]
        assert driver.save_screenshot(str(tmp_path / "report.png"))
        assert (tmp_path / "report.png").stat().st_size > 10_000
