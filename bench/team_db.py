"""A team on one database: leaderboard write rate and parallel tuning (issue 12).

Two measurements, both against a real PostgreSQL server this script starts itself
(tests/pg_server.py, with crash safety on: fsync and synchronous commit, as a team's
server runs) and a SQLite file beside it:

1. rows/s written by 8 concurrent scorer processes. Each process writes the row
   `harness score` writes (a real score's columns and metrics JSON), one transaction
   per row, in two ways: `steady` (one connection, many scores: a long-lived worker)
   and `per score` (open the leaderboard, check the schema, write one row, close: what
   each `harness score` process does). Every row is then counted and checked.
2. `harness tune baseline_cnn` (filters=[4], 1 epoch, 512 images, validation accuracy)
   for 8 trials with 1 and with 2 workers, the study in PostgreSQL: the wall-time ratio.

Usage:
    python bench/team_db.py [--rows 200] [--trials 8] [--out bench/results/team_db.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

WRITERS = 8


def _row(writer: int, i: int) -> dict:
    """The row `harness score` writes for a 2024 submission, its sizes from the profile."""
    from harness.profile import get_profile

    profile = get_profile("an2dl-2024-hw1")
    k = profile.num_classes
    recall = {f"class_{c}": 0.5 + c / 20 for c in range(k)}
    groups = {f"family_{g}": 0.4 + g / 50 for g in range(17)}
    return dict(experiment=f"writer{writer}", status="ok", target_kind="experiment",
                target=f"experiments/writer{writer}", submission_sha256=f"{writer:02d}" * 32,
                profile=profile.name, testset="default", testset_sha256="ab" * 32,
                recipe_version="pp@1.0", testset_seed=0, n_images=30413,
                pseudo_private=0.5 + i / 10_000, clean_accuracy=0.88, accuracy=0.6,
                precision_macro=0.6, recall_macro=0.6, f1_macro=0.6,
                worst_group="saturation", worst_group_accuracy=0.2,
                metrics_json={"per_class_recall": recall, "group_accuracy": groups,
                              "writer": writer, "i": i, "confusion": [[i % 7] * k] * k},
                load_s=2.1, predict_s=26.0, total_s=30.0, peak_rss_mb=1011.0,
                time_limit_s=float(profile.time_limit_s), python_version="3.11.7",
                harness_version="0.1")


def _write(args) -> int:
    url, writer, rows, per_score, barrier = args
    from harness.results.leaderboard import Leaderboard

    barrier.wait()
    db = None if per_score else Leaderboard(url)
    for i in range(rows):
        if per_score:
            one = Leaderboard(url)
            one.add_score(_row(writer, i))
            one.engine.dispose()
        else:
            db.add_score(_row(writer, i))
    return rows


def write_rate(url: str, rows: int, per_score: bool) -> dict:
    from harness.results.leaderboard import Leaderboard

    Leaderboard(url).engine.dispose()  # the schema exists: time the writes, not DDL
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(WRITERS + 1)
    with ctx.Pool(WRITERS) as pool:
        pending = pool.map_async(_write, [(url, w, rows, per_score, barrier)
                                          for w in range(WRITERS)])
        barrier.wait()
        start = time.perf_counter()
        total = sum(pending.get())
        seconds = time.perf_counter() - start
    stored = Leaderboard(url).scores()
    mine = [r for r in stored if json.loads(r["metrics_json"]).get("writer") is not None]
    whole = all(r["experiment"] == f"writer{json.loads(r['metrics_json'])['writer']}"
                for r in mine)
    return {"rows": total, "stored": len(mine), "seconds": round(seconds, 2),
            "rows_per_s": round(total / seconds, 1), "all_stored_whole": whole}


def tune_wall(storage: str, trials: int, workers: int, data: str, study: str) -> dict:
    from harness.training.tuning import tune

    start = time.perf_counter()
    result = tune("baseline_cnn", trials, storage=storage, study=study, data=data, epochs=1,
                  overrides={"filters": [4]}, progress=False, workers=workers)
    return {"workers": workers, "trials": len([t for t in result.trials]),
            "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="rows per writer (steady)")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--skip-tune", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "team_db.json"))
    args = parser.parse_args()

    from pg_server import PostgresServer

    tmp = Path(tempfile.mkdtemp(prefix="team-db-bench-"))
    server = PostgresServer(durable=True).start()
    report: dict = {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0],
                    "writers": WRITERS, "write": {}, "tune": []}
    try:
        for backend in ("sqlite", "postgresql"):
            for mode, rows, per_score in (("steady", args.rows, False),
                                          ("per score", max(args.rows // 8, 5), True)):
                sqlite_file = tmp / f"lb_{len(report['write'])}.sqlite"
                url = (f"sqlite:///{sqlite_file}" if backend == "sqlite"
                       else server.create_database())
                figures = write_rate(url, rows, per_score)
                report["write"][f"{backend}, {mode}"] = figures
                print(f"{backend:10s} {mode:9s} {figures}", flush=True)
        if not args.skip_tune:
            os.environ["HARNESS_DATA"] = str(tmp)
            experiments = tmp / "experiments"
            shutil.copytree(ROOT / "experiments" / "baseline_cnn", experiments / "baseline_cnn",
                            ignore=shutil.ignore_patterns("runs", "__pycache__"))
            os.environ["HARNESS_EXPERIMENTS"] = str(experiments)
            import numpy as np

            from harness.data.datasets import save_dataset
            from harness.profile import get_profile

            profile = get_profile()
            rng = np.random.default_rng(0)
            data = save_dataset(tmp / "tune.npz",
                                rng.integers(0, 256, (512, *profile.input_shape),
                                             dtype=np.uint8),
                                np.arange(512) % profile.num_classes)
            storage = server.create_database()
            for workers in (1, 2):
                figures = tune_wall(storage, args.trials, workers, str(data), f"w{workers}")
                report["tune"].append(figures)
                print(f"tune {figures}", flush=True)
            one, two = report["tune"][0]["seconds"], report["tune"][1]["seconds"]
            report["tune_ratio_1_over_2"] = round(one / two, 2)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report["load_avg_end"] = os.getloadavg()[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
