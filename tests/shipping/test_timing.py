"""harness.shipping.timing / `harness timecheck`: extrapolation, verdicts, max TTA, calibration."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.shipping.timing import (
    Measurement,
    calibrate,
    estimate_s,
    load_calibration,
    max_tta_within,
    measure,
    predict_plan,
    sample_sizes,
    timecheck,
)

# 10 s fixed + 2 s per call + 0.1 s per image at 1 pass: 1000 images -> 112 s per pass.
M = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.1, passes=1, threads=2)


@pytest.fixture(autouse=True)
def calibration_file(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setenv("HARNESS_CALIBRATION", str(path))
    return path


def fake_measure(m=M):
    calls = []

    def measure_fn(folder, profile, sample, data, progress=None):
        calls.append((folder, sample))
        return m
    measure_fn.calls = calls
    return measure_fn


def test_extrapolation_scales_images_and_passes_not_the_fixed_costs():
    assert estimate_s(M, 1000) == pytest.approx(112.0)
    assert estimate_s(M, 1000, tta=3) == pytest.approx(312.0)
    assert estimate_s(M, 1000, tta=3, factor=2.0) == pytest.approx(624.0)
    # Measured at 2 passes: the per-image cost covers both, so 4 passes cost double.
    two = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.2, passes=2, threads=2)
    assert estimate_s(two, 1000) == pytest.approx(212.0)
    assert estimate_s(two, 1000, tta=4) == pytest.approx(412.0)


def test_a_last_short_chunk_costs_one_more_call_overhead():
    chunked = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.1, passes=1, threads=2,
                          chunk_size=256)
    assert estimate_s(chunked, 512) == pytest.approx(10 + 2 + 51.2)
    assert estimate_s(chunked, 500) == pytest.approx(10 + 4 + 50.0)
    assert estimate_s(chunked, 100) == pytest.approx(10 + 2 + 10.0)


def test_keras_compiles_once_per_chunk_shape_across_score_s_predict_calls():
    chunked = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.1, passes=1, threads=2,
                          chunk_size=256)
    # The server's one call: full chunks and a last one of 13 images.
    assert predict_plan(chunked, 5133) == (2, 5133)
    # `harness score` on 10,266 images: two calls of 5,133 share both shapes.
    assert predict_plan(chunked, 10266, call_size=5133) == (2, 10266)
    # 6,120 images: calls of 5,133 and 987 -> last chunks of 13 and 219 images.
    assert predict_plan(chunked, 6120, call_size=5133) == (3, 6120)
    assert estimate_s(chunked, 6120, call_size=5133) == pytest.approx(10 + 6 + 612.0)


def test_tflite_pays_one_warm_up_and_computes_its_padded_batches():
    lite = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.1, passes=1, threads=2,
                       chunk_size=256, runtime="tflite", batch_size=32)
    # 20 chunks of 256, then 13 images run as one padded batch of 32.
    assert predict_plan(lite, 5133) == (1, 5120 + 32)
    assert estimate_s(lite, 5133) == pytest.approx(10 + 2 + 0.1 * 5152)


def test_a_busy_machine_is_named_in_the_note(make_submission, profile, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    busy = Measurement(fixed_s=10.0, call_s=2.0, per_image_s=0.1, passes=1, threads=2,
                       load_avg=9.5)
    (r,) = timecheck([str(make_submission())], profile, records=[],
                     measure_fn=fake_measure(busy)).results
    assert "busy (load 9.5 on 2 cores)" in r.note


def test_sample_sizes_are_whole_chunks_when_they_fit():
    assert sample_sizes(768, 256) == (256, 768)
    assert sample_sizes(700, 256) == (256, 512)
    assert sample_sizes(300, 256) == (75, 300)
    assert sample_sizes(32, None) == (8, 32)


def test_max_tta_is_the_most_passes_that_fit():
    assert max_tta_within(M, 1000, limit_s=312.0) == 3
    assert max_tta_within(M, 1000, limit_s=311.9) == 2
    assert max_tta_within(M, 1000, limit_s=100.0) == 0
    assert max_tta_within(M, 1000, limit_s=1e9) == 8


def test_pass_and_fail_with_the_margin(make_submission, profile):
    folder = make_submission()
    report = timecheck([str(folder)], profile, test_size=1000, limit_s=400, tta=3,
                       records=[], measure_fn=fake_measure())
    (r,) = report.results
    assert r.verdict == "PASS" and r.margin_s == pytest.approx(88.0) and r.max_tta == 3
    assert report.ok and r.factor == 1.0 and r.calibration.startswith("none")
    assert "no submission.json" in r.note
    report = timecheck([str(folder)], profile, test_size=1000, limit_s=300, tta=3,
                       records=[], measure_fn=fake_measure())
    assert report.results[0].verdict == "FAIL" and not report.ok
    assert report.results[0].margin_s == pytest.approx(-12.0)


def test_a_kept_verdict_goes_under_the_name_given(make_submission, profile, tmp_path):
    folder = make_submission()
    (r,) = timecheck([str(folder)], profile, records=[], measure_fn=fake_measure(),
                     keep_dir=tmp_path / "kept", names=["baseline_cnn"]).results
    assert r.name == "baseline_cnn"
    kept = json.loads((tmp_path / "kept" / "baseline_cnn.json").read_text())
    assert kept["verdict"] == r.verdict and kept["margin_s"] == r.margin_s
    with pytest.raises(HarnessError, match="one name per target"):
        timecheck([str(folder)], profile, records=[], measure_fn=fake_measure(), names=[])


def test_defaults_come_from_the_profile(make_submission, profile):
    (r,) = timecheck([str(make_submission())], profile, records=[],
                     measure_fn=fake_measure()).results
    assert r.test_size == profile.hidden_test_size and r.limit_s == profile.time_limit_s
    assert r.estimate_s == pytest.approx(12.0 + 0.1 * profile.hidden_test_size)


def test_a_recorded_duration_calibrates_this_and_later_estimates(make_submission, profile,
                                                                 calibration_file):
    uploaded = make_submission(name="uploaded")
    other = make_submission(name="other")
    local = estimate_s(M, profile.hidden_test_size)
    records = [{"experiment": "uploaded", "duration_s": 2 * local, "created_at": "t1"},
               {"experiment": "unrelated", "duration_s": None, "created_at": "t2"}]
    (r,) = timecheck([str(uploaded)], profile, records=records, measure_fn=fake_measure()).results
    assert r.factor == pytest.approx(2.0) and r.estimate_s == pytest.approx(2 * local)
    assert r.local_estimate_s == pytest.approx(local)
    assert "uploaded's Codabench run" in r.calibration
    assert json.loads(calibration_file.read_text())["experiment"] == "uploaded"
    # A later check of another submission, with no record of its own, uses that factor.
    (later,) = timecheck([str(other)], profile, records=records, test_size=1000,
                         measure_fn=fake_measure()).results
    assert later.factor == pytest.approx(2.0) and later.estimate_s == pytest.approx(224.0)


def test_calibrate_takes_the_newest_record_with_a_duration(profile, calibration_file):
    records = [{"experiment": "e", "duration_s": 100.0, "created_at": "old"},
               {"experiment": "e", "duration_s": 300.0, "created_at": "new"},
               {"experiment": "e", "duration_s": None, "created_at": "newest"}]
    c = calibrate("e", M, profile, records)
    assert c.recorded_at == "new" and c.duration_s == 300.0
    assert load_calibration() == c


def test_bad_calibration_file_is_a_clear_error(calibration_file):
    calibration_file.write_text("{not json")
    with pytest.raises(HarnessError, match="unreadable calibration"):
        load_calibration()


def test_measure_fits_a_real_run(make_submission, profile):
    m = measure(make_submission(), profile, sample=32)
    assert m.sizes == (8, 32) and m.passes == 1 and m.threads == profile.server_threads
    assert m.fixed_s > 0 and m.per_image_s >= 0 and m.call_s >= 0


def test_cli_timecheck_json_and_exit_code(make_submission, tty_runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = make_submission()
    db = f"sqlite:///{tmp_path / 'lb.sqlite'}"
    ok = tty_runner.invoke(main, ["timecheck", str(folder), "--sample", "16", "--db", db,
                                  "--json"])
    assert ok.exit_code == 0, ok.output
    assert "timing sub" not in ok.output  # no bar under --json, even at a terminal
    out = json.loads(ok.stdout)["results"][0]
    assert out["verdict"] == "PASS" and out["max_tta"] == 8
    # The verdict is kept for `harness report`'s margin column.
    kept = json.loads((tmp_path / "data" / "timechecks" / "sub.json").read_text())
    assert kept["margin_s"] == out["margin_s"] and kept["checked_at"]
    assert not (tmp_path / "lb.sqlite").exists()  # read for durations, never created
    tight = tty_runner.invoke(main, ["timecheck", str(folder), "--sample", "16", "--db", db,
                                     "--limit", "0.001"])
    assert tight.exit_code == 1 and "FAIL" in tight.stdout
    # For a person, a bar on stderr over the two timing runs.
    assert "timing sub:" in tight.stderr and "0/2" in tight.stderr


def test_an_experiment_is_timed_as_pack_ships_it_unless_told_otherwise(trained_experiment,
                                                                       profile):
    seen = {}

    def measure_fn(folder, profile, sample, data, progress=None):
        seen[len(seen)] = (folder / "weights.keras").read_bytes()
        return M
    timecheck([str(trained_experiment)], profile, records=[], measure_fn=measure_fn)
    timecheck([str(trained_experiment)], profile, records=[], measure_fn=measure_fn,
              optimize=False)
    run = trained_experiment / "runs" / "250101_000000"
    (packed,) = (run / "packed").glob("*.keras")
    assert seen[0] == packed.read_bytes() and seen[1] == (run / "weights.keras").read_bytes()
