"""What shipping a SavedModel instead of a .keras file costs on the server's runtime.

`harness pack` under a Keras newer than the server's ships each model as a SavedModel
served through keras.layers.TFSMLayer (`harness.shipping.crossversion`). This trains
baseline_cnn for one epoch on random pixels here (the server's runtime: speed and size
do not depend on what the weights learned), packs the same run both ways, and times
each zip's ingestion (load, then one predict over `--n` images, 2 threads) in
alternating fresh processes, and compares their labels.

Usage:
    .venv/bin/python bench/crossversion.py [--n 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.scoring.targets import resolve_target  # noqa: E402
from harness.shipping.packing import pack  # noqa: E402
from harness.training import train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "crossversion.json"))
    args = parser.parse_args()
    profile = get_profile()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.n, *profile.input_shape), dtype=np.uint8)
    labels = (np.arange(args.n) % profile.num_classes).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = train("baseline_cnn", data=(images[:512], labels[:512]), epochs=1,
                    run_dir=tmp / "run", progress=False)
        zips, folders = {}, {}
        for fmt in ("keras", "savedmodel"):
            zips[fmt] = pack("baseline_cnn", profile, out=tmp / fmt, run=run.run_dir,
                             format=fmt)
            folders[fmt] = resolve_target(zips[fmt].zip, tmp / f"{fmt}_x", profile).path
        timings = {fmt: {"load_s": [], "predict_s": []} for fmt in zips}
        predictions = {}
        for _ in range(args.repeats):
            for fmt, folder in folders.items():
                result = run_submission(folder, images, profile, threads=2).raise_for_failure()
                timings[fmt]["load_s"].append(result.load_s)
                timings[fmt]["predict_s"].append(result.predict_s)
                predictions[fmt] = result.predictions
    report = {"n_images": args.n, "repeats": args.repeats, "load_average": os.getloadavg(),
              "same_labels": bool(np.array_equal(predictions["keras"],
                                                 predictions["savedmodel"])),
              "formats": {fmt: {"zip_bytes": zips[fmt].size_bytes,
                                "load_s_median": statistics.median(t["load_s"]),
                                "predict_s_median": statistics.median(t["predict_s"]),
                                **t} for fmt, t in timings.items()}}
    write_text_atomic(Path(args.out), json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
