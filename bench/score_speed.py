"""How long `harness score` takes to forecast: today's way, the new default, `--quick`.

For each model (baseline_cnn, convnext_tiny, convnext_base: the experiments of this
checkout, `weights=None` so nothing is downloaded) it makes a run: trained one epoch on
a small slice of the test set's train.npz, or, for the models named by `--untrained`,
the model as built (random init: on 2 busy cores one ConvNeXt epoch took over 13
minutes, and speed does not depend on the weights). Then it times the command a user
types, in fresh processes:

- stock: `harness score NAME --no-optimize`, as before issue 30 scored (the stock
  model, every image). Where that takes too long (`--sample-models`, ConvNeXt by
  default: over an hour for convnext_base) it is timed on a stratified sample of the
  test set (the same share of every family) and extrapolated per image: the run's
  fixed costs (process starts, staging, loads) plus its predict time per image times
  the test set's size. Said in the table.
- default: `harness score NAME` (what `pack` ships; the headline's images first):
  when the forecast line appeared, and the whole run; for the models `--skip-whole`
  names, stopped with Ctrl-C once the forecast is out.
- quick: `harness score NAME --quick` (the headline's images only); for the models
  `--sample-only` names, extrapolated the same way from the packed model's run on the
  sample (when one core's share of a busy machine makes the real one too long).
- again: the default once more on the same run and set (its labels reused).

Kept labels and kept rewrites are deleted before each timed run except `again`, so
every figure is a first score. The headline of each is printed beside it; on the
sample, the stock and the packed model are both scored, and their headlines compared.

    PYTHONPATH=. python bench/score_speed.py [--testset default] [--sample 1000]
        [--models baseline_cnn,convnext_tiny,convnext_base] [--skip-whole convnext_base]
        [--out bench/results/score_speed.json]

DATA is $HARNESS_DATA, else ./data (it must hold the built test set). Figures go to
`--out` after each model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.data.datasets import load_dataset, save_dataset  # noqa: E402
from harness.experiments import experiments_root, get_experiment  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.paths import data_dir  # noqa: E402
from harness.scoring.predictions import predictions_dir  # noqa: E402
from harness.testset.store import testset_path  # noqa: E402

RESULTS = REPO / "bench" / "results" / "score_speed.json"
# A run holding the experiment's model as built (weights=None), in the experiments folder
# $HARNESS_EXPERIMENTS names.
BUILD = """
import sys, keras
from harness.experiments import get_experiment
from harness.profile import get_profile
from harness.training.config import resolve_config
exp = get_experiment(sys.argv[1])
keras.utils.set_random_seed(0)
config = resolve_config(exp, {"weights": None} if "weights" in exp.config() else {})
run = exp.runs_dir / "000000_000000"
run.mkdir(parents=True)
exp.builder().build_model(config, get_profile()).save(run / "weights.keras")
"""
HEADLINE = re.compile(r"pseudo-private (\d\.\d+) \(95% (\d\.\d+)-(\d\.\d+)\)")


def harness(args: list[str], env: dict, stop_at_forecast: bool = False) -> dict:
    """Run `python -m harness ARGS`; its wall time, when the forecast line came, the
    headline (the forecast line's, else the final one's) and its output. With
    `stop_at_forecast`, Ctrl-C (SIGINT) is sent once the forecast line is out, as a user
    who has what they came for would, and the exit status that says so (130) is not a
    failure."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "harness", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen: dict = {}

    def watch():
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "forecast:" in line and "forecast_s" not in seen:
                seen["forecast_s"] = time.perf_counter() - start
                seen["forecast_line"] = line
                if stop_at_forecast:
                    proc.send_signal(signal.SIGINT)
        seen["stderr"] = "".join(lines)
    watcher = threading.Thread(target=watch)
    watcher.start()
    out = proc.stdout.read()
    proc.wait()
    watcher.join()
    wall = time.perf_counter() - start
    if stop_at_forecast and "forecast_s" in seen and proc.returncode == 130:
        found = HEADLINE.search(seen["forecast_line"])
        return {"wall_s": None, "forecast_s": round(seen["forecast_s"], 1), "stopped": True,
                "headline": [float(g) for g in found.groups()] if found else None}
    if proc.returncode:
        raise SystemExit(f"harness {' '.join(args)} failed:\n{out}\n{seen['stderr'][-3000:]}")
    if "--json" in args:
        r = json.loads(out)
        pp = r["pseudo_private"]
        return {"wall_s": round(wall, 1), "headline": [pp["accuracy"], pp["low"], pp["high"]],
                "load_s": r["load_s"], "predict_s": r["predict_s"], "reused": r["reused"]}
    found = HEADLINE.search(" ".join(out.split()))
    return {"wall_s": round(wall, 1), "forecast_s": round(seen.get("forecast_s", wall), 1),
            "headline": [float(g) for g in found.groups()] if found else None}


def stratified_sample(ts_name: str, n: int, name: str) -> int:
    """Write testsets/NAME/: `n` images of the test set, the same share of each family
    (and compound views), with its manifest's recipe. Returns the full set's size, the
    sample's and the number of compound views (the headline's images)."""
    path, _ = testset_path(ts_name)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    groups = arrays["groups"].astype(str)
    rng = np.random.default_rng(0)
    keep = np.sort(np.concatenate([
        rng.choice(np.flatnonzero(groups == g), max(1, round(n * np.mean(groups == g))),
                   replace=False) for g in np.unique(groups)]))
    folder = data_dir() / "testsets" / name
    images, labels = arrays.pop("images")[keep], arrays.pop("labels")[keep]
    save_dataset(folder / "testset.npz", images, labels, **{k: v[keep] for k, v in arrays.items()})
    manifest = json.loads((path.parent / "manifest.json").read_text())
    manifest.update(name=name, counts={"testset": int(len(keep))})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return len(groups), len(keep), int(np.sum(groups == "compound"))


def extrapolate(run: dict, n_run: int, n: int) -> float:
    """A run's wall time had it predicted `n` images instead of `n_run`: its fixed costs
    (process starts, staging, the rewrite, loads) plus its predict time per image."""
    return round(run["wall_s"] - run["predict_s"] + run["predict_s"] / n_run * n, 1)


def forget(env: dict, root: Path) -> None:
    """Delete kept labels and kept rewrites: the next score is a first one."""
    shutil.rmtree(predictions_dir(), ignore_errors=True)
    for packed in root.glob("*/runs/*/packed"):
        shutil.rmtree(packed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--testset", default="default")
    parser.add_argument("--models", default="baseline_cnn,convnext_tiny,convnext_base")
    parser.add_argument("--sample-models", default="convnext_tiny,convnext_base",
                        help="Models whose stock whole run is extrapolated from the sample.")
    parser.add_argument("--skip-whole", default="",
                        help="Models whose default run is timed to its forecast line only, "
                             "then stopped with Ctrl-C (the rest would take too long).")
    parser.add_argument("--sample-only", default="",
                        help="Models timed on the sample alone: the stock whole run and "
                             "--quick both extrapolated per image (a busy machine).")
    parser.add_argument("--untrained", default="",
                        help="Models whose run holds the model as built, not trained.")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--train-images", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    n_total, n_sample, n_headline = stratified_sample(args.testset, args.sample, "bench-sample")
    train = load_dataset(testset_path(args.testset)[0].parent / "train.npz")
    root = Path(tempfile.mkdtemp(prefix="bench-score-speed-"))
    small = root / "train_small.npz"
    pick = np.random.default_rng(0).permutation(len(train.labels))[:args.train_images]
    save_dataset(small, train.images[pick], train.labels[pick])
    env = dict(os.environ, HARNESS_EXPERIMENTS=str(root / "experiments"),
               HARNESS_DATA=str(data_dir()), PYTHONPATH=str(REPO), COLUMNS="200")
    doc = {"testset": args.testset, "n_images": n_total, "sample": n_sample,
           "cpus": os.cpu_count(), "models": {}}
    for name in args.models.split(","):
        shutil.copytree(experiments_root() / name, root / "experiments" / name,
                        ignore=shutil.ignore_patterns("runs", "__pycache__"))
        start = time.perf_counter()
        pretrained = "weights" in get_experiment(root / "experiments" / name).config()
        if name in args.untrained.split(","):
            subprocess.run([sys.executable, "-c", BUILD, name], env=env, check=True)
        else:
            harness(["train", name, "--epochs", "1", "--data", str(small),
                     *(["--set", "weights=None"] if pretrained else [])], env)
        row = {"trained": name not in args.untrained.split(","),
               "train_s": round(time.perf_counter() - start, 1),
               "load_avg_before": round(os.getloadavg()[0], 2)}
        ts = ["--testset", args.testset]
        sample_only = name in args.sample_only.split(",")
        if not sample_only:
            forget(env, root)
            row["quick"] = harness(["score", name, "--quick", *ts], env)
        whole = name not in args.skip_whole.split(",")
        if not sample_only:
            forget(env, root)
            row["default"] = harness(["score", name, *ts], env, stop_at_forecast=not whole)
        if not sample_only and whole:
            row["again"] = harness(["score", name, *ts], env)
        sampled = sample_only or name in args.sample_models.split(",")
        forget(env, root)
        stock = harness(["score", name, "--no-optimize", "--json",
                         *(["--testset", "bench-sample"] if sampled else ts)], env)
        if sampled:
            stock["sample_headline"] = stock.pop("headline")
            stock["extrapolated_wall_s"] = extrapolate(stock, n_sample, n_total)
            packed = harness(["score", name, "--json", "--testset", "bench-sample"], env)
            stock["packed_sample_headline"] = packed["headline"]
            if sample_only:
                # What --quick would take: the same fixed costs (the rewrite included),
                # the predict time per image times the headline's images.
                row["quick"] = {"wall_s": extrapolate(packed, n_sample, n_headline),
                                "headline": None, "extrapolated": True, "sample_run": packed}
        row["stock"] = stock
        row["load_avg_after"] = round(os.getloadavg()[0], 2)
        doc["models"][name] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out, json.dumps(doc, indent=1))
        print(json.dumps({name: row}), flush=True)
    print(table(doc))
    shutil.rmtree(root)
    return 0


def table(doc: dict) -> str:
    """The figures as a markdown table."""
    def pp(h):
        return "-" if not h else f"{h[0]:.4f} ({h[1]:.3f}-{h[2]:.3f})"

    def sec(run, key="wall_s"):
        if run and run.get("stopped") and key == "wall_s":
            return "stopped at the forecast"
        return "-" if not run else f"{run[key]:.0f} s"
    lines = ["| model | stock, whole (before) | default: forecast | default: whole | "
             "--quick | again (reused) | headline: stock | headline: default or quick | "
             "speed-up to forecast |", "|---|---:|---:|---:|---:|---:|---|---|---:|"]
    for name, r in doc["models"].items():
        s, d, q = r["stock"], r.get("default"), r["quick"]
        stock = s.get("extrapolated_wall_s", s["wall_s"])
        if "extrapolated_wall_s" in s:
            shown = f"{stock:.0f} s (extrapolated from {doc['sample']} images)"
            stock_pp = (f"sample: {pp(s['sample_headline'])}; packed on the same sample: "
                        f"{pp(s['packed_sample_headline'])}")
        else:
            shown, stock_pp = f"{stock:.0f} s", pp(s["headline"])
        forecast = d["forecast_s"] if d else q["wall_s"]
        quick = sec(q) + (" (extrapolated)" if q.get("extrapolated") else "")
        lines.append(
            f"| {name} | {shown} | {sec(d, 'forecast_s')} | {sec(d)} | {quick} | "
            f"{sec(r.get('again'))} | {stock_pp} | {pp((d or q).get('headline'))} | "
            f"{stock / forecast:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
