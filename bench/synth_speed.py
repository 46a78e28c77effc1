"""How fast `harness data synth` draws: images per second, wall clock and CPU time.

Target: more than 300 images/s on one core (the demo draws 2,400 in a few seconds).
CPU time is reported beside wall time because the machine may be shared: CPU seconds
per image do not grow when other processes compete for the cores.

Usage:
    python bench/synth_speed.py [--n 2048] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.data.synth import synthesize

RESULTS = Path(__file__).parent / "results" / "synth_speed.json"


def measure(n: int, contaminate: bool, repeats: int) -> dict:
    """Best of `repeats` runs of synthesize(n): wall and CPU images per second."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        data = synthesize(n, seed=0, contaminate=contaminate)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    images = len(data.images)
    return {"n": n, "contaminate": contaminate, "images": images,
            "wall_s": round(best_wall, 2), "cpu_s": round(best_cpu, 2),
            "images_per_s_wall": round(images / best_wall, 1),
            "images_per_cpu_s": round(images / best_cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [measure(args.n, c, args.repeats) for c in (False, True)]
    table = Table(title=f"synthesize(n={args.n}), best of {args.repeats}")
    for col in ("contaminate", "images", "wall s", "cpu s", "img/s wall", "img/cpu-s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["contaminate"]), str(r["images"]), str(r["wall_s"]), str(r["cpu_s"]),
                      str(r["images_per_s_wall"]), str(r["images_per_cpu_s"]))
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                   "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
