"""How fast the full pseudo-private set builds from the real holdout (target: < 2 minutes).

    PYTHONPATH=. python bench/testset_build.py [--data DATA/training_clean.npz]

Builds the default recipe with --force into DATA/testsets/bench-build (DATA: the data
folder, $HARNESS_DATA else ./data), then prints the
wall and CPU time of the whole build and images/s per family. CPU seconds are printed
beside wall seconds because the machine is shared: wall time depends on the neighbours.
Figures go to bench/results/testset_build.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from harness.fsutil import write_text_atomic
from harness.paths import data_dir
from harness.testset import builder as testset

RESULTS = Path("bench/results/testset_build.json")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(data_dir() / "training_clean.npz"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    wall, cpu = time.perf_counter(), cpu_seconds()
    r = testset.build(args.data, seed=args.seed, name="bench-build", force=True, progress=False)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    per_family = {f: {"images": r.per_family[f], "seconds": s,
                      "images_per_s": round(r.per_family[f] / s, 1)}
                  for f, s in r.corrupt_seconds.items()}
    corrupting = sum(r.corrupt_seconds.values())
    doc = {"source": args.data, "recipe": r.recipe, "n_holdout": r.n_holdout,
           "n_testset": r.n_testset, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
           "corrupt_wall_s": round(corrupting, 1),
           "other_wall_s": round(wall - corrupting, 1),
           "overall_images_per_s": round(r.n_testset / wall, 1),
           "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
           "per_family": per_family}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, json.dumps(doc, indent=1))
    print(f"{r.n_testset} images from {r.n_holdout} holdout images ({r.recipe}): "
          f"{wall:.1f} s wall, {cpu:.1f} s CPU (load average {doc['load_average_1min']} "
          f"on {doc['cpus']} cores); corrupting {corrupting:.1f} s, the rest "
          f"(load, split, guard, write, sheet) {wall - corrupting:.1f} s")
    print("| family | images | seconds | images/s |\n|---|---:|---:|---:|")
    for f, v in sorted(per_family.items(), key=lambda kv: kv[1]["images_per_s"]):
        print(f"| {f} | {v['images']} | {v['seconds']:.2f} | {v['images_per_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
