"""A zoo of small CNNs, differing in what they are robust to, to test the headline aggregate.

Nobody here knows the hidden set's recipe, so the pseudo-private headline is tested as a
forecaster of an unknown shift: for each family F (and each kind of family) in turn,
does an aggregate of the OTHER families rank the zoo's models as F does (Spearman), and
how far does its value land from F's accuracy (mean absolute error)?

One command does everything, with fixed seeds and configs; finished models are reused:

    PYTHONPATH=. python bench/zoo.py            # clean, split, build, train, evaluate, analyse
    PYTHONPATH=. python bench/zoo.py --analyse  # only re-read predictions and re-analyse

Figures go to bench/results/zoo.json; the tables are printed as Markdown for RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from scipy.stats import spearmanr

from harness.data.datasets import load_dataset
from harness.fsutil import write_text_atomic
from harness.paths import data_dir
from harness.testset import corruptions, recipes

RESULTS = Path("bench/results/zoo.json")


def zoo_dir() -> Path:
    """The zoo's models and predictions: the data folder's zoo/."""
    return data_dir() / "zoo"

SEED = 0
EPOCHS = 3
TRAIN_IMAGES = 3000  # a stratified subset of the training split: sized to the 2-core budget
EVAL_FRACTION = 0.35  # of the holdout's source images, every family: a third of the prediction time
EXPERIMENT = "baseline_cnn"
# name -> the training registry's `augment` list; everything else is baseline_cnn's CONFIG.
MODELS = {
    "none": [],
    "flip": ["flip"],
    "noise": ["flip", {"name": "noise", "stddev": 40.0}],
    "overlay": ["flip", "overlay"],
    "randaugment_weak": ["randaugment_weak"],
    "randaugment_strong": ["randaugment_strong"],
    "augmix": ["flip", "augmix"],
}
OVERRIDES = {"early_stopping": 0, "reduce_lr": 0, "validation_split": 0.1}
CANDIDATES = list(recipes.AGGREGATES)
# The two held-out checks of an aggregate, each a key of analyse()'s result.
HELD_OUT = ("leave_one_family_out", "leave_one_kind_out")


def training_subset(path: Path, n: int, seed: int):
    ds = load_dataset(path)
    rng = np.random.default_rng(seed)
    per_class = np.bincount(ds.labels) / len(ds) * n
    idx = np.concatenate([rng.permutation(np.flatnonzero(ds.labels == c))[:int(round(k))]
                          for c, k in enumerate(per_class)])
    idx.sort()
    return ds.images[idx], ds.labels[idx]


def train_zoo(train_path: Path, testset_path: Path) -> dict:
    """Train every model not trained yet, and predict the test set right after each."""
    from harness.training.fit import train

    images, labels = training_subset(train_path, TRAIN_IMAGES, SEED)
    timings = {}
    for name, augment in MODELS.items():
        evaluate(testset_path)
        run = zoo_dir() / name
        if (run / "weights.keras").is_file():
            continue
        started = time.perf_counter()
        result = train(EXPERIMENT, data=(images, labels), epochs=EPOCHS, seed=SEED,
                       overrides={**OVERRIDES, "augment": augment}, run_dir=run, progress=False)
        timings[name] = {"seconds": round(time.perf_counter() - started, 1),
                         "val_accuracy": result.val_accuracy,
                         "images_per_s": round(result.images_per_s, 1)}
        print(f"trained {name}: {timings[name]}", flush=True)
        write_text_atomic(run / "zoo_timing.json", json.dumps(timings[name]))
    return timings


def eval_subset(ts) -> np.ndarray:
    """Test-set rows whose source image is in a fixed random EVAL_FRACTION of the holdout."""
    src = ts.extras["source_index"]
    n_sources = src.max() + 1
    keep = np.random.default_rng(SEED).permutation(n_sources)[:int(EVAL_FRACTION * n_sources)]
    return np.flatnonzero(np.isin(src, keep))


@functools.lru_cache(maxsize=1)
def load_eval_set(testset_path: Path):
    ts = load_dataset(testset_path)
    return ts.subset(eval_subset(ts))


def evaluate(testset_path: Path) -> None:
    """Predict the evaluation subset with every trained model that has no predictions yet."""
    import keras

    for name in MODELS:
        out = zoo_dir() / name / "predictions.npy"
        if out.is_file() or not (zoo_dir() / name / "weights.keras").is_file():
            continue
        ts = load_eval_set(testset_path)
        model = keras.models.load_model(zoo_dir() / name / "weights.keras")
        probs = model.predict(ts.images.astype(np.float32), batch_size=256, verbose=0)
        np.save(out, probs.argmax(axis=1).astype(np.int8))
        print(f"evaluated {name}", flush=True)


def cell_table(testset_path: Path) -> dict:
    ts = load_eval_set(testset_path)
    groups, severity = ts.extras["groups"].astype(str), ts.extras["severity"]
    return {name: recipes.cells_from_predictions(
                ts.labels, np.load(zoo_dir() / name / "predictions.npy"), groups, severity)
            for name in MODELS}


def forecast(cells: dict, held_out: set[str], method: str) -> tuple[np.ndarray, np.ndarray]:
    """(aggregate of the other families, accuracy on the held-out families) per model."""
    pred, truth = [], []
    for model_cells in cells.values():
        rest = {k: v for k, v in model_cells.items() if k[0] not in held_out}
        out = {k: v for k, v in model_cells.items() if k[0] in held_out}
        pred.append(recipes.AGGREGATES[method](rest))
        truth.append(sum(a * n for a, n in out.values()) / sum(n for _, n in out.values()))
    return np.array(pred), np.array(truth)


def analyse(cells: dict) -> dict:
    families = sorted({f for c in cells.values() for f, _ in c} - {"clean"})
    kinds = sorted({corruptions.get_family(f).kind for f in families})
    by_kind = {k: {f for f in families if corruptions.get_family(f).kind == k} for k in kinds}
    out = {"per_model": {}, "leave_one_family_out": {}, "leave_one_kind_out": {}}
    for name, c in cells.items():
        fam_acc = recipes._family_accuracy(c)
        out["per_model"][name] = {"clean": fam_acc["clean"],
                                  **{f: fam_acc[f] for f in families},
                                  **{m: recipes.AGGREGATES[m](c) for m in CANDIDATES}}
    for label, held in (("leave_one_family_out", {f: {f} for f in families}),
                        ("leave_one_kind_out", by_kind)):
        for method in CANDIDATES:
            rows = {}
            for target, held_out in held.items():
                pred, truth = forecast(cells, held_out, method)
                rho = spearmanr(pred, truth).statistic
                rows[target] = {"spearman": None if np.isnan(rho) else float(rho),
                                "mae": float(np.mean(np.abs(pred - truth)))}
            rhos = [r["spearman"] for r in rows.values() if r["spearman"] is not None]
            out[label][method] = {"mean_spearman": float(np.mean(rhos)),
                                  "min_spearman": float(np.min(rhos)),
                                  "mean_mae": float(np.mean([r["mae"] for r in rows.values()])),
                                  "targets": rows}
    return out


def choose(result: dict) -> str:
    """The rule, fixed before looking: highest Spearman (mean of the leave-one-family-out
    and leave-one-kind-out means); within 0.02 of the best, the lowest mean MAE."""
    def spearman(m):
        return np.mean([result[t][m]["mean_spearman"] for t in HELD_OUT])

    def mae(m):
        return np.mean([result[t][m]["mean_mae"] for t in HELD_OUT])

    methods = [m for m in CANDIDATES if m != "clean_only"]
    best = max(spearman(m) for m in methods)
    return min((m for m in methods if spearman(m) >= best - 0.02), key=mae)


def markdown(result: dict) -> str:
    lines = []
    models = list(result["per_model"])
    cols = ["clean"] + [c for c in next(iter(result["per_model"].values())) if c != "clean"]
    lines.append("| family | " + " | ".join(models) + " |")
    lines.append("|---|" + "---:|" * len(models))
    for col in cols:
        cells = " | ".join(f"{result['per_model'][m][col]:.3f}" for m in models)
        lines.append(f"| {col} | {cells} |")
    for label in HELD_OUT:
        lines.append(f"\n{label.replace('_', ' ')}:\n")
        lines.append("| aggregate | mean Spearman | min Spearman | mean MAE |")
        lines.append("|---|---:|---:|---:|")
        table = sorted(result[label].items(),
                       key=lambda kv: (-kv[1]["mean_spearman"], kv[1]["mean_mae"]))
        for method, r in table:
            lines.append(f"| {method} | {r['mean_spearman']:.3f} | {r['min_spearman']:.3f} "
                         f"| {r['mean_mae']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", default=str(data_dir() / "training_set.npz"),
                        help="the course's training_set.npz [default: in the data folder]")
    parser.add_argument("--analyse", action="store_true", help="only re-analyse saved predictions")
    args = parser.parse_args(argv)
    testset_path = data_dir() / "testsets" / "default" / "testset.npz"
    if not args.analyse:
        from harness.testset import builder as testset

        clean_path = data_dir() / "training_clean.npz"
        if not clean_path.is_file():
            from harness.data.hygiene import clean

            clean(args.raw, clean_path)
        built = testset.build(clean_path, holdout=0.15, seed=SEED, name="default", progress=False)
        print(f"test set: {built.n_testset} images ({'cached' if built.cached else 'built'})",
              flush=True)
        # The timings reach the results through each model's zoo_timing.json, which also
        # holds those of models trained by an earlier run.
        train_zoo(Path(built.path) / "train.npz", testset_path)
        evaluate(testset_path)
    result = analyse(cell_table(testset_path))
    result["config"] = {"seed": SEED, "epochs": EPOCHS, "train_images": TRAIN_IMAGES,
                        "eval_fraction": EVAL_FRACTION, "experiment": EXPERIMENT,
                        "models": MODELS, "overrides": OVERRIDES,
                        "recipe": recipes.get_recipe().id,
                        "timings": {m: json.loads(timing.read_text()) for m in MODELS
                                    if (timing := zoo_dir() / m / "zoo_timing.json").is_file()}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result["chosen"] = choose(result)
    write_text_atomic(RESULTS, json.dumps(result, indent=1))
    print(markdown(result))
    print(f"\nchosen aggregate: {result['chosen']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
