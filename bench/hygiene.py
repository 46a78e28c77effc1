"""How fast is `harness data inspect`, and how does its cost grow with N?

For each size, in a fresh process (so peak memory is that size's alone): the real
training file (N = 13,837) or the real images repeated with small jitter up to N (each
repeat shifts every image's brightness by 1-3 levels, so copies are near, not exact),
then `hygiene.inspect` with its per-step times, `perceptual_hashes` alone (images/s),
`near_duplicate_pairs` alone on those hashes (the pairing time), and imagehash's
own per-image loop on 2,000 images for comparison. Prints a table and writes
bench/results/hygiene.json.

    PYTHONPATH=. python bench/hygiene.py [--data /work/main/data/training_set.npz]
        [--sizes 0 100000]          (0: the file as it is)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "hygiene.json"


def make(images: np.ndarray, labels: np.ndarray, n: int):
    """The real images repeated up to n; every repeat after the first brightness-jittered."""
    if n == 0:
        return images, labels
    rng = np.random.default_rng(0)
    reps = -(-n // len(images))
    out = np.empty((reps * len(images), *images.shape[1:]), np.uint8)
    for r in range(reps):
        block = out[r * len(images):(r + 1) * len(images)]
        if r == 0:
            block[:] = images
            continue
        shift = rng.choice([-3, -2, -1, 1, 2, 3], size=(len(images), 1, 1, 1)).astype(np.int16)
        np.clip(images.astype(np.int16) + shift, 0, 255, out=block, casting="unsafe")
    return out[:n], np.tile(labels, reps)[:n]


def one(data: str, n: int) -> dict:
    """Measure one size in this process."""
    import imagehash
    from PIL import Image

    from harness.datasets import Dataset, load_dataset
    from harness.duplicates import near_duplicate_pairs, perceptual_hashes
    from harness.hygiene import inspect

    t = time.perf_counter()
    ds = load_dataset(data)
    load_s = time.perf_counter() - t
    images, labels = make(ds.images, ds.labels, n)
    del ds
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, cpu = time.perf_counter(), time.process_time()
    report = inspect(Dataset(images, labels))
    inspect_s, inspect_cpu = time.perf_counter() - t, time.process_time() - cpu
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    hashes = perceptual_hashes(images)
    phash_s = time.perf_counter() - t
    unique = np.unique(hashes)
    t = time.perf_counter()
    pairs = near_duplicate_pairs(unique, 6)
    pair_s = time.perf_counter() - t
    sample = images[:2000]
    t = time.perf_counter()
    for im in sample:
        imagehash.phash(Image.fromarray(im))
    imagehash_rate = len(sample) / (time.perf_counter() - t)
    return {
        "n": len(images), "load_s": round(load_s, 2) if n == 0 else None,
        "inspect_s": round(inspect_s, 2), "inspect_cpu_s": round(inspect_cpu, 2),
        "steps_s": report.seconds, "phash_images_per_s": round(len(images) / phash_s),
        "imagehash_loop_images_per_s": round(imagehash_rate),
        "pairing_s": round(pair_s, 2), "unique_hashes": len(unique),
        "pairs_within_6_bits": len(pairs), "removed": report.n_removed,
        "removed_by_rule": report.removed_by_rule,
        "input_mb": round(images.nbytes / 2**20), "rss_before_inspect_mb": round(base_rss),
        "peak_rss_mb": round(peak_rss), "inspect_extra_mb": round(peak_rss - base_rss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/work/main/data/training_set.npz")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000])
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.data, args.one)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--data", args.data, "--one", str(n)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    header = (f"{'N':>7} {'inspect s':>9} {'cpu s':>6} {'phash img/s':>11} "
              f"{'imagehash img/s':>15} {'pairing s':>9} {'pairs':>8} {'removed':>7} "
              f"{'extra MB':>8}")
    print(header)
    for r in rows:
        print(f"{r['n']:>7} {r['inspect_s']:>9} {r['inspect_cpu_s']:>6} "
              f"{r['phash_images_per_s']:>11} {r['imagehash_loop_images_per_s']:>15} "
              f"{r['pairing_s']:>9} {r['pairs_within_6_bits']:>8} {r['removed']:>7} "
              f"{r['inspect_extra_mb']:>8}")
    print("steps (s):", *[f"N={r['n']}: {r['steps_s']}" for r in rows], sep="\n  ")
    print("machine load:", load)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows, "uptime": load}, indent=1))


if __name__ == "__main__":
    main()
