"""How close is `harness timecheck`'s estimate to a measured full run, on both runtimes?

For each model and runtime, builds a submission folder as `harness pack` would (the
template, untrained weights: speed does not depend on them, and nothing is
downloaded; ConvNeXt rewritten by `optimize_model`; for `tflite` its twin made by
`convert_file` and `{"runtime": "tflite", "threads": <profile>}`), estimates the run
on N images with `harness.shipping.timing.measure` + `estimate_s` (a run of one chunk
and one of `--sample` images), then runs the same folder through the ingestion on N
images and compares the measured total with the estimate. Both under the profile's
thread budget, on this machine, so no calibration factor is involved.

To tell a systematic cause from a drifting machine, every `predict_on_batch` call of
every run is timed (a wrapper around the template's models, in the same process) and
the machine's load average is read before and after each run: the rows hold
ms/image of the timing runs' steady chunks, of the full run's first and second half,
and the first chunk's (compile or warm-up) cost.

    PYTHONPATH=. python bench/timecheck.py [--n IMAGES] [--data data/training_set.npz]
        [--models baseline_cnn convnext_tiny] [--runtimes keras tflite] [--sample 768]
        [--out bench/results/timecheck.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from harness.experiments import TEMPLATE_DIR, get_experiment  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.shipping.optimize import optimize_model  # noqa: E402
from harness.shipping.samples import sample_images  # noqa: E402
from harness.shipping.tflite import convert_file  # noqa: E402
from harness.shipping.timing import DEFAULT_SAMPLE, estimate_s, measure  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "timecheck.json"
LOG_ENV = "BENCH_CHUNK_LOG"
# Appended to the template's model.py: times every predict_on_batch call into $LOG_ENV.
TIMED_MODEL_PY = '''

class _Timed:
    def __init__(self, model, log):
        self.model, self.log = model, log

    def predict_on_batch(self, x):
        import time
        start = time.perf_counter()
        out = self.model.predict_on_batch(x)
        self.log.append([len(x), time.perf_counter() - start])
        return out


_Plain = Model


class Model(_Plain):
    def __init__(self):
        super().__init__()
        self.log = []
        self.models = [_Timed(m, self.log) for m in self.models]

    def predict(self, X):
        out = super().predict(X)
        import json
        with open(os.environ["BENCH_CHUNK_LOG"], "a") as f:
            f.write(json.dumps(self.log) + "\\n")
        return out
'''


def build(name: str, profile):
    if name == "convnext_tiny":
        model = keras.applications.ConvNeXtTiny(
            weights=None, input_shape=profile.input_shape, classes=profile.num_classes,
            classifier_activation="softmax")
        return optimize_model(model)[0]
    exp = get_experiment(name)
    return exp.builder().build_model(exp.config(), profile)


def stage(folder: Path, name: str, runtime: str, profile, sample: np.ndarray) -> None:
    shutil.copy(TEMPLATE_DIR / "harness_runtime.py", folder / "harness_runtime.py")
    (folder / "model.py").write_text((TEMPLATE_DIR / "model.py").read_text() + TIMED_MODEL_PY)
    build(name, profile).save(folder / "weights.keras")
    settings = {"tta": 1}
    if runtime == "tflite":
        report = convert_file(folder / "weights.keras", folder / "weights.tflite", sample)
        if not report.kept:
            raise SystemExit(f"{name}: {report.reason}")
        settings.update(runtime="tflite", threads=profile.server_threads)
    (folder / "submission.json").write_text(json.dumps(settings))


def chunk_log(path: Path) -> list[list[list[float]]]:
    """Every run's predict_on_batch calls, [images, seconds], in the order they ran."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def ms_per_image(calls: list[list[float]]) -> float | None:
    images = sum(n for n, _ in calls)
    return round(1000 * sum(s for _, s in calls) / images, 2) if images else None


def bench_one(name: str, runtime: str, n: int, args, profile, images) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-timecheck-") as tmp:
        folder, log = Path(tmp) / "sub", Path(tmp) / "chunks.jsonl"
        folder.mkdir()
        stage(folder, name, runtime, profile, images[:32])
        os.environ[LOG_ENV] = str(log)
        load = [os.getloadavg()[0]]
        start = time.monotonic()
        m = measure(folder, profile, sample=args.sample, data=args.data)
        measure_s = time.monotonic() - start
        load.append(os.getloadavg()[0])
        timing_runs = chunk_log(log)
        full = run_submission(folder, images, profile,
                              threads=profile.server_threads).raise_for_failure()
        load.append(os.getloadavg()[0])
        full_calls = chunk_log(log)[len(timing_runs):][0]
    estimate = estimate_s(m, n, call_size=profile.hidden_test_size)
    error = (estimate - full.total_s) / full.total_s
    half = len(full_calls) // 2
    return {"model": name, "runtime": runtime, "n": n, "sample": args.sample,
            "estimate_s": round(estimate, 2), "measured_s": round(full.total_s, 2),
            "error": round(error, 4), "measure_cost_s": round(measure_s, 1),
            "fixed_s": round(m.fixed_s, 2), "call_s": round(m.call_s, 3),
            "ms_per_image_fit": round(1000 * m.per_image_s, 2),
            "measured_load_s": round(full.load_s, 2),
            "measured_predict_s": round(full.predict_s, 2),
            # Steady chunks: all but each run's first (compile / first invoke).
            "ms_per_image_timing_runs": ms_per_image([c for r in timing_runs for c in r[1:]]),
            "ms_per_image_full_first_half": ms_per_image(full_calls[1:half]),
            "ms_per_image_full_second_half": ms_per_image(full_calls[half:]),
            "first_chunk_s": [round(r[0][1], 2) for r in timing_runs + [full_calls]],
            # Every chunk of the runs, ms/image in order: warm-up that outlasts the
            # first chunk shows as a slope here, drift as a wander.
            "chunks_ms_per_image": [[round(1000 * s / n, 1) for n, s in r]
                                    for r in timing_runs + [full_calls]],
            "load_avg_before_measure_full": [round(x, 1) for x in load]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=None, help="images in the full run "
                        "[default: the profile's hidden test size]")
    parser.add_argument("--data", default=None, help="npz to take images from")
    parser.add_argument("--models", nargs="+", default=["baseline_cnn", "convnext_tiny"])
    parser.add_argument("--runtimes", nargs="+", choices=["keras", "tflite"],
                        default=["keras", "tflite"])
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the json to write")
    args = parser.parse_args()
    profile = get_profile()
    n = args.n or profile.hidden_test_size
    images = sample_images(profile, n, args.data, seed=1)
    rows = []
    for name in args.models:
        for runtime in args.runtimes:
            rows.append(bench_one(name, runtime, n, args, profile, images))
            r = rows[-1]
            print(f"{name:14} {runtime:6} n={n}: estimate {r['estimate_s']:8.1f} s, measured "
                  f"{r['measured_s']:8.1f} s, error {100 * r['error']:+.1f}% (timing runs "
                  f"{r['ms_per_image_timing_runs']} ms/img, full run "
                  f"{r['ms_per_image_full_first_half']} then "
                  f"{r['ms_per_image_full_second_half']} ms/img, load "
                  f"{r['load_avg_before_measure_full']})", flush=True)
    result = {"threads": profile.server_threads, "cpu_count": os.cpu_count(),
              "data": args.data or "random pixels", "rows": rows}
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
