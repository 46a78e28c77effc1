"""How fast is `harness data inspect`, and how does its cost grow with N?

For each size, in a fresh process (so peak memory is that size's alone): the real
training file (N = 13,837) or the real images repeated with small jitter up to N (each
repeat shifts every image's brightness by 1-3 levels, so copies are near, not exact),
then `hygiene.inspect` with its per-step times, wall and CPU seconds and peak memory
(tracemalloc: the arrays inspect allocates, input excluded), `perceptual_hashes` alone (images/s),
`near_duplicate_pairs` alone on those hashes (the pairing time), and imagehash's
own per-image loop on 2,000 images for comparison. Prints a table and writes
bench/results/hygiene.json.

    PYTHONPATH=. python bench/hygiene.py [--data DATA/training_set.npz]
        [--sizes 0 100000]          (0: the file as it is)
    PYTHONPATH=. python bench/hygiene.py --pairing-only   (pairing alone, up to 400k)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from harness.paths import data_dir

RESULTS = Path(__file__).parent / "results" / "hygiene.json"
PAIRING = Path(__file__).parent / "results" / "hygiene_pairing.json"


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

    from harness.data.datasets import Dataset, load_dataset
    from harness.data.duplicates import near_duplicate_pairs, perceptual_hashes
    from harness.data.hygiene import inspect

    t = time.perf_counter()
    ds = load_dataset(data)
    load_s = time.perf_counter() - t
    images, labels = make(ds.images, ds.labels, n)
    del ds
    tracemalloc.start()  # numpy reports its buffers to tracemalloc: inspect's own peak
    t, cpu = time.perf_counter(), time.process_time()
    report = inspect(Dataset(images, labels))
    inspect_s, inspect_cpu = time.perf_counter() - t, time.process_time() - cpu
    inspect_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
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
        "input_mb": round(images.nbytes / 2**20), "inspect_peak_mb": round(inspect_peak),
        "inspect_peak_kb_per_image": round(inspect_peak * 1024 / len(images), 1),
        "process_peak_rss_mb": round(peak_rss),
    }


def pairing_scale(data: str, sizes=(11_963, 100_000, 400_000)) -> list[dict]:
    """near_duplicate_pairs on N distinct hashes: the real file's distinct phashes, then
    copies of them with 1-3 random bits flipped (brightness jitter keeps most phashes, so
    `one` pairs far fewer distinct hashes than it has images)."""
    from harness.data.datasets import load_dataset
    from harness.data.duplicates import near_duplicate_pairs, perceptual_hashes

    base = np.unique(perceptual_hashes(load_dataset(data).images))
    rng = np.random.default_rng(1)
    rows = []
    for n in sizes:
        hashes = np.resize(base, n)
        bits = np.uint64(1) << rng.integers(0, 64, (n, 3)).astype(np.uint64)
        used = rng.integers(1, 4, n)[:, None] > np.arange(3)  # flip 1, 2 or 3 bits
        flip = np.bitwise_xor.reduce(np.where(used, bits, np.uint64(0)), axis=1)
        hashes[len(base):] ^= flip[len(base):]
        hashes = np.unique(hashes)
        t = time.perf_counter()
        pairs = near_duplicate_pairs(hashes, 6)
        rows.append({"n": n, "distinct_hashes": len(hashes),
                     "pairing_s": round(time.perf_counter() - t, 2), "pairs": len(pairs)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(data_dir() / "training_set.npz"),
                        help="[default: in the data folder, $HARNESS_DATA else ./data]")
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 100_000])
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pairing-only", action="store_true",
                        help="only time near_duplicate_pairs on 12k, 100k, 400k distinct hashes")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.data, args.one)))
        return
    if args.pairing_only:
        PAIRING.parent.mkdir(parents=True, exist_ok=True)
        PAIRING.write_text(json.dumps(pairing_scale(args.data), indent=1))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--data", args.data, "--one", str(n)],
                             stdout=subprocess.PIPE, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    header = (f"{'N':>7} {'inspect s':>9} {'cpu s':>6} {'phash img/s':>11} "
              f"{'imagehash img/s':>15} {'pairing s':>9} {'pairs':>8} {'removed':>7} "
              f"{'peak MB':>7} {'KB/img':>6}")
    print(header)
    for r in rows:
        print(f"{r['n']:>7} {r['inspect_s']:>9} {r['inspect_cpu_s']:>6} "
              f"{r['phash_images_per_s']:>11} {r['imagehash_loop_images_per_s']:>15} "
              f"{r['pairing_s']:>9} {r['pairs_within_6_bits']:>8} {r['removed']:>7} "
              f"{r['inspect_peak_mb']:>7} {r['inspect_peak_kb_per_image']:>6}")
    print("steps (s):", *[f"N={r['n']}: {r['steps_s']}" for r in rows], sep="\n  ")
    print("machine load:", load)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows, "uptime": load}, indent=1))


if __name__ == "__main__":
    main()
