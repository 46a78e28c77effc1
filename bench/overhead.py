"""What `harness score` costs beyond the model itself.

Times two fresh processes on the same submission and the same images, alternately:

- bare: `python -c` that loads the npz, imports model.py from the submission folder,
  builds `Model()` and calls `predict(X)` once: the least any scorer could do;
- harness: `python -m harness score SUBMISSION --testset NPZ` (the CLI, so the path a
  user takes): load and hash the test set, copy the submission, run the ingestion
  process, check the output, compute the metrics, draw the PNG, write the row.

Both pay Python's start, numpy's and TensorFlow's import. The submission is the
baseline_cnn experiment (its latest trained run, or random-init weights when none is
trained: speed does not depend on the weights) staged with the template, on images
of the real training set, as many as the profile's hidden test set.

Usage:
    python bench/overhead.py [--data DATA/training_set.npz] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.data.datasets import load_dataset, save_dataset  # noqa: E402
from harness.experiments import get_experiment  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.paths import data_dir  # noqa: E402
from harness.profile import get_profile  # noqa: E402

RESULTS = REPO / "bench" / "results" / "overhead.json"
BARE = """
import os, sys
import numpy as np
sub, npz = sys.argv[1], sys.argv[2]
X = np.load(npz)["images"]
os.chdir(sub)
sys.path.insert(0, sub)
from model import Model
Model().predict(X)
"""


def stage_submission(tmp: Path, profile) -> tuple[Path, str]:
    """baseline_cnn staged with the template: its latest run, or random-init weights."""
    exp = get_experiment("baseline_cnn")
    if exp.runs():
        return exp.stage(tmp / "sub"), f"trained run {exp.latest_run().name}"
    code = ("import keras, sys; from harness.experiments import get_experiment; "
            "from harness.profile import get_profile; keras.utils.set_random_seed(0); "
            "e = get_experiment('baseline_cnn'); "
            "e.builder().build_model(e.config(), get_profile()).save(sys.argv[1])")
    run = tmp / "run"
    run.mkdir()
    subprocess.run([sys.executable, "-c", code, str(run / "weights.keras")], check=True,
                   env=_env(), cwd=REPO)
    return exp.stage(tmp / "sub", run=run), "random-init weights (no trained run)"


def _env() -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, the process and its children)."""
    cpu, start = _children_cpu(), time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return wall, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(data_dir() / "training_set.npz"),
                        help="[default: in the data folder, $HARNESS_DATA else ./data]")
    parser.add_argument("--n", type=int, default=None,
                        help="images to score (default: the profile's hidden test size)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    profile = get_profile()
    n = args.n or profile.hidden_test_size

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        tmp = Path(tmp)
        data = load_dataset(args.data, profile)
        index = np.random.default_rng(0).permutation(len(data))[:n]
        npz = save_dataset(tmp / "testset.npz", data.images[index], data.labels[index])
        del data
        sub, weights = stage_submission(tmp, profile)
        bare_cmd = [sys.executable, "-c", BARE, str(sub), str(npz)]
        harness_cmd = [sys.executable, "-m", "harness", "score", str(sub), "--testset", str(npz),
                       "--db", str(tmp / "lb.sqlite"), "--name", "bench"]
        timed(bare_cmd, tmp)  # warm the page cache for both
        bare, harness = [], []
        for _ in range(args.repeats):
            bare.append(timed(bare_cmd, tmp))
            harness.append(timed(harness_cmd, tmp))
            print(f"bare {bare[-1][0]:6.2f} s wall {bare[-1][1]:6.2f} s CPU   "
                  f"harness score {harness[-1][0]:6.2f} s wall {harness[-1][1]:6.2f} s CPU",
                  flush=True)

    med = {"bare_wall": statistics.median(t[0] for t in bare),
           "bare_cpu": statistics.median(t[1] for t in bare),
           "harness_wall": statistics.median(t[0] for t in harness),
           "harness_cpu": statistics.median(t[1] for t in harness)}
    ratio = med["harness_wall"] / med["bare_wall"]
    figures = {
        "n_images": n, "weights": weights, "repeats": args.repeats,
        "bare_wall_s": [t[0] for t in bare], "harness_wall_s": [t[0] for t in harness],
        "bare_cpu_s": [t[1] for t in bare], "harness_cpu_s": [t[1] for t in harness],
        "bare_median_wall_s": med["bare_wall"], "harness_median_wall_s": med["harness_wall"],
        "bare_median_cpu_s": med["bare_cpu"], "harness_median_cpu_s": med["harness_cpu"],
        "ratio": ratio, "cpu_ratio": med["harness_cpu"] / med["bare_cpu"],
        "target": 1.10, "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0], "python": platform.python_version(),
        "machine_note": "shared machine: other jobs ran at the same time",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, json.dumps(figures, indent=2) + "\n")
    print(f"\n{'':24}{'median wall s':>14}{'median CPU s':>14}")
    print(f"{'bare Model().predict':24}{med['bare_wall']:>14.2f}{med['bare_cpu']:>14.2f}")
    print(f"{'harness score':24}{med['harness_wall']:>14.2f}{med['harness_cpu']:>14.2f}")
    print(f"{'ratio (target < 1.10)':24}{ratio:>14.3f}{figures['cpu_ratio']:>14.3f}")
    print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
