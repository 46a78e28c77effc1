"""How close is `harness timecheck`'s estimate to a measured full run?

For each model, builds a submission folder (the template, untrained weights: speed
does not depend on them, and nothing is downloaded), estimates the run on N images
with `harness.timing.measure` + `estimate_s` (a run of one chunk and one of
`--sample` images), then runs the same submission through the ingestion on N images
and compares the measured total with the estimate. Both under the profile's thread
budget, on this machine, so no calibration factor is involved.

    PYTHONPATH=. python bench/timecheck.py [--n 5133] [--data data/training_set.npz]
        [--models baseline_cnn convnext_tiny] [--sample 768]
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

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.shipping.optimize import optimize_model  # noqa: E402
from harness.shipping.samples import sample_images  # noqa: E402
from harness.shipping.timing import DEFAULT_SAMPLE, estimate_s, measure  # noqa: E402
from harness.training.experiments import TEMPLATE_DIR, get_experiment  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "timecheck.json"


def build(name: str, profile):
    if name == "convnext_tiny":
        model = keras.applications.ConvNeXtTiny(
            weights=None, input_shape=profile.input_shape, classes=profile.num_classes,
            classifier_activation="softmax")
        return optimize_model(model)[0]
    exp = get_experiment(name)
    return exp.builder().build_model(exp.config(), profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=None, help="images in the full run "
                        "[default: the profile's hidden test size]")
    parser.add_argument("--data", default=None, help="npz to take images from")
    parser.add_argument("--models", nargs="+", default=["baseline_cnn", "convnext_tiny"])
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE)
    args = parser.parse_args()
    profile = get_profile()
    n = args.n or profile.hidden_test_size
    images = sample_images(profile, n, args.data, seed=1)
    rows = []
    for name in args.models:
        with tempfile.TemporaryDirectory(prefix="bench-timecheck-") as tmp:
            folder = Path(tmp)
            for f in ("model.py", "harness_runtime.py"):
                shutil.copy(TEMPLATE_DIR / f, folder / f)
            build(name, profile).save(folder / "weights.keras")
            # As `pack` writes it; the template's chunk size then applies.
            (folder / "submission.json").write_text(json.dumps({"tta": 1}))
            start = time.monotonic()
            m = measure(folder, profile, sample=args.sample, data=args.data)
            measure_s = time.monotonic() - start
            estimate = estimate_s(m, n)
            full = run_submission(folder, images, profile,
                                  threads=profile.server_threads).raise_for_failure()
        error = (estimate - full.total_s) / full.total_s
        rows.append({"model": name, "n": n, "sample": args.sample,
                     "estimate_s": round(estimate, 2), "measured_s": round(full.total_s, 2),
                     "error": round(error, 4), "measure_cost_s": round(measure_s, 1),
                     "fixed_s": round(m.fixed_s, 2), "call_s": round(m.call_s, 3),
                     "ms_per_image": round(1000 * m.per_image_s, 3),
                     "measured_load_s": round(full.load_s, 2),
                     "measured_predict_s": round(full.predict_s, 2)})
        r = rows[-1]
        print(f"{name:14} n={n}: estimate {r['estimate_s']:8.1f} s, measured "
              f"{r['measured_s']:8.1f} s, error {100 * error:+.1f}% "
              f"(timecheck took {r['measure_cost_s']} s)", flush=True)
    result = {"threads": profile.server_threads, "cpu_count": os.cpu_count(),
              "data": args.data or "random pixels", "rows": rows}
    write_text_atomic(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
