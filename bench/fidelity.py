"""Fidelity evidence: does the pseudo-private forecast rank and level models as an unknown
corrupted set does? The table of bench/RESULTS.md ("Fidelity"), reproduced in one command.

Models: every zoo folder shipped under bench/zoo/ (bench/fidelity_zoo.py) and the real
course zips in ../shared/real_submissions/ when they are there. Each runs once, through
the same ingestion as `harness score`, on every image the analysis needs:

- the default test set's holdout at every compound chain length 0..LEVELS-1, for both
  compound copies (`compound.levels`): the clean accuracy (length 0) and the compound
  accuracy at ANY strength, exactly, without a test set per strength;
- the single-family views (pp@1) of a fixed share of the holdout, from testset.npz;
- three re-weighted "hidden" recipes of pp@2's own families (VARIANTS, at strength 4);
- the held-out shifts of bench/shifts.py, corruptions outside the recipe's registry,
  each on a fixed sample of the holdout.

Per model it reports clean, pp@1, pp@2 at the calibrated strength with its 95% interval
(`recipes.pseudo_private`, as `harness score` computes it) and the worst family; across
models, how the clean and pp@1 figures rank against the headline; and for every variant
and shift: the Spearman correlation between the calibrated headline and the accuracy
there, and the mean absolute error of a one-point calibration (each model in turn plays
the one recorded submission, the strength is fitted on it alone, the others are
forecast; and the same with the real public zip as that submission).

From a clone with the real data (`python ../shared/data/make_training_set.py
data/training_set.npz`), one command cleans it and builds the default test set when they
are missing, predicts, analyses and prints the tables; predictions are kept under the
data folder's fidelity/ (keyed by each model's content hash) and reused:

    PYTHONPATH=. python bench/fidelity.py
    PYTHONPATH=. python bench/fidelity.py --models none augmix --holdout 60   # a quick look
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shifts  # noqa: E402 (bench/shifts.py, beside this file)

from harness.data.datasets import Dataset, load_dataset  # noqa: E402
from harness.fsutil import atomic_path, sha256_file, write_text_atomic  # noqa: E402
from harness.paths import REPO_ROOT, data_dir  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.scoring.targets import content_sha256, resolve_target  # noqa: E402
from harness.testset import compound, recipes  # noqa: E402
from harness.testset.calibration import (PRIOR_SD, ForecastCalibration,  # noqa: E402
                                         fit_strength)

ZOO = REPO_ROOT / "bench" / "zoo"
REAL = REPO_ROOT.parent / "shared" / "real_submissions"
REAL_ZIPS = ("mttcrn-gap-augmentation", "mttcrn-gap-augmentation-flip",
             "mttcrn-gap-augmentation-mixup")
PUBLIC_PAIR = ("mttcrn-gap-augmentation", 0.37)
RESULTS = REPO_ROOT / "bench" / "results" / "fidelity.json"
DEFAULT_TESTSET = "default"
LEVELS = 6  # chain lengths 0..5: past the calibrated strength (about 3.8)
SINGLE_FRACTION = 0.25  # of the holdout images, for the single-family (pp@1) views
SHIFT_IMAGES = 600
SEED = 0
# Hidden recipes that differ from pp@2's equal weights, at strength 4.
VARIANTS = {
    "overlay_heavy": {"overlay": 4, "occlusion": 2, "stain_deposits": 2, "bubbles": 2},
    "noise_colour_heavy": {"gaussian_noise": 4, "stain_color": 3, "saturation": 3,
                           "brightness_contrast": 3},
    "geometric_blur_heavy": {"rotate_flip": 3, "zoom_shear": 3, "defocus_blur": 3,
                             "motion_blur": 3},
}
VARIANT_IMAGES = 400
VARIANT_STRENGTH = 4
# Bump when what `inputs` draws changes, so cached inputs and predictions are redrawn.
INPUTS_VERSION = 3


def models(only=None) -> dict[str, Path]:
    """Zoo folders, then the real zips there are, by name."""
    found = {p.name: p for p in sorted(ZOO.iterdir()) if (p / "model.py").is_file()} \
        if ZOO.is_dir() else {}
    found.update({n: REAL / f"{n}.zip" for n in REAL_ZIPS if (REAL / f"{n}.zip").is_file()})
    if only:
        missing = sorted(set(only) - set(found))
        if missing:
            raise SystemExit(f"no such model(s) {missing}; known: {sorted(found)}")
        found = {n: p for n, p in found.items() if n in only}
    return found


def ensure_testset(name: str, profile) -> Path:
    """The test set's folder; the default one is built (and the real data cleaned) when
    missing."""
    folder = data_dir() / "testsets" / name
    if (folder / "manifest.json").is_file():
        return folder
    if name != DEFAULT_TESTSET:
        raise SystemExit(f"no test set {folder}: harness testset build --name {name}")
    from harness.data.hygiene import clean
    from harness.testset.builder import build

    raw, cleaned = data_dir() / "training_set.npz", data_dir() / "clean.npz"
    if not cleaned.is_file():
        if not raw.is_file():
            raise SystemExit(f"no {raw}: python ../shared/data/make_training_set.py {raw}")
        print(f"cleaning {raw} -> {cleaned}", flush=True)
        clean(raw, cleaned, profile)
    print(f"building the {name} test set from {cleaned}", flush=True)
    build(data=cleaned, name=name, seed=0, profile=profile,
          out_root=data_dir() / "testsets", progress=False)
    return folder


def recipe_of(manifest: dict) -> recipes.Recipe:
    """The compound recipe the test set was built with."""
    recipe = recipes.recipe_for_manifest(manifest)
    if recipe is None or recipe.compound is None:
        raise SystemExit("the test set has no compound views: build it with --recipe pp")
    return recipe


def spec_with(recipe: recipes.Recipe, weights: dict[str, float]) -> dict:
    spec = dict(recipe.compound)
    return {**spec, "families": {f: float(weights.get(f, 1.0)) for f in spec["families"]}}


def plans_for(recipe: recipes.Recipe, n: int, seed: int) -> list[compound.Plan]:
    return [compound.sample_plan(n, recipe.compound, compound.copy_seed(seed, c))
            for c in range(recipe.compound["copies"])]


def inputs(folder: Path, holdout: Dataset, limit: int | None) -> tuple[np.ndarray, dict]:
    """Every image each model predicts, and the layout that says what each part is."""
    key = hashlib.sha256(f"{INPUTS_VERSION}:{sha256_file(folder / 'testset.npz')}:{limit}"
                         .encode()).hexdigest()[:12]
    recipe = recipe_of(json.loads((folder / "manifest.json").read_text()))
    cached = data_dir() / "fidelity" / f"inputs-{key}.npz"
    if cached.is_file():
        with np.load(cached) as f:
            return f["images"], json.loads(str(f["layout"]))
    manifest = json.loads((folder / "manifest.json").read_text())
    n = len(holdout)
    parts, layout, at = [], {"key": key, "n": n}, 0

    def add(name, images):
        nonlocal at
        parts.append(images)
        layout[name] = [at, at + len(images)]
        at += len(images)

    started = time.perf_counter()
    for c, plan in enumerate(plans_for(recipe, n, manifest["seed"])):
        for k, level in enumerate(compound.levels(holdout.images, plan, upto=LEVELS - 1)):
            add(f"copy{c}/level{k}", level)
    rng = np.random.default_rng(SEED)
    single = np.sort(rng.permutation(n)[:max(1, int(SINGLE_FRACTION * n))])
    ts = load_dataset(folder / "testset.npz")
    keep = np.isin(ts.extras["source_index"], single) & \
        ~np.isin(ts.extras["groups"], ["clean", compound.GROUP])
    add("single", ts.images[keep])
    layout["single_groups"] = ts.extras["groups"][keep].tolist()
    layout["single_labels"] = ts.labels[keep].tolist()
    variant_index = np.sort(rng.permutation(n)[:min(n, VARIANT_IMAGES)])
    layout["variant_index"] = variant_index.tolist()
    for name, weights in VARIANTS.items():
        plan = compound.sample_plan(len(variant_index), spec_with(recipe, weights),
                                    seed=SEED + 1)
        add(f"variant/{name}", compound.at_strength(holdout.images[variant_index], plan,
                                                    VARIANT_STRENGTH))
    shift_index = np.sort(rng.permutation(n)[:min(n, SHIFT_IMAGES)])
    layout["shift_index"] = shift_index.tolist()
    for name in shifts.NAMES:
        add(f"shift/{name}", shifts.shift_set(holdout.images[shift_index], name, SEED)[0])
    images = np.concatenate(parts)
    with atomic_path(cached, suffix=".npz") as part:
        np.savez(part, images=images, layout=json.dumps(layout))
    print(f"drew {len(images)} images in {time.perf_counter() - started:.0f} s", flush=True)
    return images, layout


def predict_all(named: dict[str, Path], images: np.ndarray, layout: dict,
                profile) -> dict[str, np.ndarray]:
    """Each model's labels for `images`, predicted once per model version and input set."""
    out = {}
    for name, target in named.items():
        version = (sha256_file(target) if target.is_file() else content_sha256(target))[:12]
        path = data_dir() / "fidelity" / f"{name}-{version}-{layout['key']}.npy"
        if not path.is_file():
            started = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
                staged = resolve_target(target, Path(tmp) / "sub", profile)
                run = run_submission(staged.path, images, profile, time_limit_s=None)
            if not run.ok:
                print(f"{name}: FAILED {run.failure.kind}: {run.failure.message}", flush=True)
                continue
            with atomic_path(path, suffix=".npy") as part:
                np.save(part, run.predictions.astype(np.int8))
            print(f"predicted {name}: {len(images)} images in "
                  f"{time.perf_counter() - started:.0f} s (peak {run.peak_rss_mb:.0f} MiB)",
                  flush=True)
        out[name] = np.load(path).astype(np.int64)
    return out


def hits(pred, layout, labels, copies: int) -> np.ndarray:
    """(copies, levels, n): whether each holdout image was right at each chain length."""
    return np.stack([np.stack([pred[slice(*layout[f"copy{c}/level{k}"])] == labels
                               for k in range(LEVELS)]) for c in range(copies)])


def at_strength(h: np.ndarray, plans, strength: float, index=None) -> float:
    """Accuracy over the copies at `strength`, on the images `index` (default all)."""
    index = np.arange(h.shape[2]) if index is None else np.asarray(index)
    return float(np.mean([h[c, plan.lengths(strength)[index], index]
                          for c, plan in enumerate(plans)]))


def headline(h: np.ndarray, plans, labels, recipe, calibration):
    """The calibrated headline and interval, by the library's own `pseudo_private`."""
    strength = calibration.strength
    n = h.shape[2]
    right = np.concatenate([h[c, plan.lengths(strength), np.arange(n)]
                            for c, plan in enumerate(plans)])
    y_true = np.tile(labels, len(plans))
    return recipes.pseudo_private(
        y_true, np.where(right, y_true, -1), np.full(len(right), compound.GROUP),
        recipe=recipes.get_recipe(f"{recipe.name}@{recipe.version}", strength=strength),
        source_index=np.tile(np.arange(n), len(plans)), calibration=calibration)


def one_point(forecast_hits: dict[str, np.ndarray], plans, index, truth: dict[str, float],
              reference: str | None) -> dict:
    """Fit the strength to one model's accuracy on a set; forecast every other model.

    Each model in turn is the reference (mean absolute error over all such fits), and,
    when given, `reference` alone (the real public zip: what a team's one recorded
    Codabench score gives).
    """
    names = list(truth)
    sub = [compound.Plan(p.families, p.links[index], p.severities[index], p.draw[index],
                         p.seed) for p in plans]
    local = {m: forecast_hits[m][:, :, index] for m in names}

    def errors(ref):
        s, _ = fit_strength({ref: local[ref]}, {ref: truth[ref]}, sub)
        return s, [at_strength(local[m], sub, s) - truth[m] for m in names if m != ref]

    every = [e for ref in names for e in errors(ref)[1]]
    out = {"mean_abs_error": float(np.mean(np.abs(every))),
           "rms_error": float(np.sqrt(np.mean(np.square(every))))}
    if reference in names:
        s, e = errors(reference)
        out.update(public_strength=s, public_mean_abs_error=float(np.mean(np.abs(e))))
    return out


def rho(a: dict, b: dict) -> float:
    """Spearman's rank correlation over the models both hold; nan when one side has a
    single value (one model, or every model alike)."""
    keys = sorted(set(a) & set(b))
    x, y = [a[k] for k in keys], [b[k] for k in keys]
    if len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def calibration_for(manifest: dict, recipe, h: dict, plans) -> ForecastCalibration:
    """The test set's own calibration; for one built without (a new recipe), the strength
    fitted here on the public pair, as `harness calibrate` would fit it."""
    if manifest.get("calibration"):
        return ForecastCalibration.from_dict(manifest["calibration"])
    name, score = PUBLIC_PAIR
    if name not in h:
        raise SystemExit(f"{manifest['name']} is uncalibrated and {name} is not here to fit "
                         "it on: harness calibrate, then rebuild the test set")
    strength, fitted = fit_strength({name: h[name]}, {name: score}, plans)
    return ForecastCalibration(
        id=f"fitted-here-on-{name}", profile="", recipe=f"{recipe.name}@{recipe.version}",
        strength=strength, sd=PRIOR_SD,
        points=({"experiment": name, "codabench": score, "forecast": round(fitted[name], 4)},),
        source="bench/fidelity.py")


def analyse(preds: dict[str, np.ndarray], layout: dict, holdout: Dataset, manifest: dict,
            profile) -> dict:
    labels = holdout.labels
    recipe = recipe_of(manifest)
    plans = plans_for(recipe, len(labels), manifest["seed"])
    h = {m: hits(p, layout, labels, len(plans)) for m, p in preds.items()}
    cal = calibration_for(manifest, recipe, h, plans)
    uncalibrated = recipes.get_recipe(f"{recipe.name}@{recipe.version}").strength
    out = {"testset": manifest["name"], "recipe": f"{recipe.name}@{recipe.version}",
           "calibration": cal.as_dict(), "holdout_images": len(labels),
           "models": {}, "variants": {}, "shifts": {}}
    single = slice(*layout["single"])
    groups = np.array(layout["single_groups"])
    for m, p in preds.items():
        correct = p[single] == np.array(layout["single_labels"])
        per_family = {g: float(correct[groups == g].mean()) for g in sorted(set(groups))}
        pp = headline(h[m], plans, labels, recipe, cal)
        worst = min(per_family, key=per_family.get)
        out["models"][m] = {
            "clean": float(h[m][:, 0].mean()),
            "pp1": float(np.mean(list(per_family.values()))),
            "uncalibrated": at_strength(h[m], plans, uncalibrated),
            "headline": pp.accuracy, "low": pp.low, "high": pp.high,
            "worst_family": worst, "worst_family_accuracy": per_family[worst],
            "per_family": per_family,
            "by_chain_length": [float(h[m][:, k].mean()) for k in range(LEVELS)]}
    forecast = {m: r["headline"] for m, r in out["models"].items()}
    out["rank"] = {"clean_vs_headline": rho({m: r["clean"] for m, r in out["models"].items()},
                                            forecast),
                   "pp1_vs_headline": rho({m: r["pp1"] for m, r in out["models"].items()},
                                          forecast)}
    sets = {f"variant/{v}": layout["variant_index"] for v in VARIANTS}
    sets.update({f"shift/{s}": layout["shift_index"] for s in shifts.NAMES})
    for key, index in sets.items():
        index = np.asarray(index)
        truth = {m: float(np.mean(p[slice(*layout[key])] == labels[index]))
                 for m, p in preds.items()}
        entry = {"accuracy": truth, "spearman": rho(forecast, truth),
                 "clean_spearman": rho({m: r["clean"] for m, r in out["models"].items()},
                                       truth),
                 "forecast_mean_abs_error": float(np.mean([abs(forecast[m] - truth[m])
                                                           for m in truth]))}
        if len(truth) > 1:
            entry.update(one_point(h, plans, index, truth, PUBLIC_PAIR[0]))
        kind, name = key.split("/")
        if kind == "shift":
            entry["round"] = shifts.ROUND_OF[name]
        out["variants" if kind == "variant" else "shifts"][name] = entry
    return out


def markdown(res: dict) -> str:
    cal = res["calibration"]
    lines = [f"test set {res['testset']}, recipe {res['recipe']}, calibration {cal['id']}: "
             f"strength {cal['strength']:.2f}, {res['holdout_images']} holdout images\n",
             f"| model | clean | pp@1 | {res['recipe']} calibrated (95%) | worst family |",
             "|---|---:|---:|---|---|"]
    for m, r in res["models"].items():
        lines.append(f"| {m} | {r['clean']:.3f} | {r['pp1']:.3f} | "
                     f"**{r['headline']:.3f}** ({r['low']:.3f}-{r['high']:.3f}) | "
                     f"{r['worst_family']} {r['worst_family_accuracy']:.3f} |")
    lines.append(f"\nSpearman with the calibrated headline: clean "
                 f"{res['rank']['clean_vs_headline']:.2f}, pp@1 "
                 f"{res['rank']['pp1_vs_headline']:.2f}")
    for title, table in (("the recipe's families re-weighted (strength 4)", res["variants"]),
                         ("held-out shifts outside the registry", res["shifts"])):
        lines += [f"\n{title}:\n",
                  "| set | round | accuracy range | Spearman (headline) | Spearman (clean) | "
                  "one-point MAE | one-point MAE (public zip) |",
                  "|---|---:|---|---:|---:|---:|---:|"]
        for name, r in table.items():
            acc = r["accuracy"].values()
            public = r.get("public_mean_abs_error")
            lines.append(f"| {name} | {r.get('round', '-')} | {min(acc):.3f}-{max(acc):.3f} | "
                         f"{r['spearman']:.2f} | "
                         f"{r['clean_spearman']:.2f} | "
                         f"{r.get('mean_abs_error', float('nan')):.3f} | "
                         f"{'-' if public is None else f'{public:.3f}'} |")
    names = list(res["models"])
    lines += ["\naccuracy on each held-out shift:\n",
              "| model | " + " | ".join(res["shifts"]) + " |",
              "|---|" + "---:|" * len(res["shifts"])]
    for m in names:
        lines.append(f"| {m} | " + " | ".join(f"{r['accuracy'][m]:.3f}"
                                                for r in res["shifts"].values()) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="only these models (default: all)")
    parser.add_argument("--holdout", type=int, help="only the first N holdout images")
    parser.add_argument("--testset", default=DEFAULT_TESTSET,
                        help="a built test set with compound views (default: default)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    profile = get_profile()
    folder = ensure_testset(args.testset, profile)
    manifest = json.loads((folder / "manifest.json").read_text())
    holdout = load_dataset(folder / "holdout.npz", profile)
    if args.holdout:
        holdout = holdout.subset(np.arange(min(args.holdout, len(holdout))))
    images, layout = inputs(folder, holdout, args.holdout)
    named = models(args.models)
    preds = predict_all(named, images, layout, profile)
    res = analyse(preds, layout, holdout, manifest, profile)
    res["seconds"] = round(time.perf_counter() - started, 1)
    write_text_atomic(args.out, json.dumps(res, indent=2) + "\n")
    print(markdown(res))
    print(f"\n{len(preds)} models in {res['seconds']:.0f} s; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
