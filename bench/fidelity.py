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

`bench/fidelity_analysis.py` turns the predictions into the tables. Per model they
give clean, pp@1, pp@2 at the calibrated strength with its 95% interval
(`recipes.pseudo_private`, as `harness score` computes it) and the worst family; across
models, how the clean and pp@1 figures rank against the headline; and for every variant
and shift: the Spearman correlation between the calibrated headline and the accuracy
there, and the mean absolute error of a one-point calibration (each model in turn plays
the one recorded submission, the strength is fitted on it alone, the others are
forecast; and the same with the real public zip as that submission).

From a clone with the real data (`harness data real`, which writes
data/training_set.npz), one command cleans it and builds the default test set when they
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shifts  # noqa: E402 (bench/shifts.py, beside this file)
from fidelity_analysis import analyse, markdown  # noqa: E402

from harness.data.datasets import Dataset, load_dataset  # noqa: E402
from harness.fsutil import atomic_path, sha256_file, write_text_atomic  # noqa: E402
from harness.paths import REPO_ROOT, data_dir  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.scoring.targets import resolve_target  # noqa: E402
from harness.testset import compound, recipes  # noqa: E402

ZOO = REPO_ROOT / "bench" / "zoo"
REAL = REPO_ROOT.parent / "shared" / "real_submissions"
REAL_ZIPS = ("mttcrn-gap-augmentation", "mttcrn-gap-augmentation-flip",
             "mttcrn-gap-augmentation-mixup")
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
            raise SystemExit(f"no {raw}: harness data real {raw}")
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


def model_version(target: Path) -> str:
    """What runs: a zip's bytes, or a folder's files but its zoo.json (how it was trained,
    which a re-ship rewrites without changing one prediction)."""
    if target.is_file():
        return sha256_file(target)[:12]
    digest = hashlib.sha256()
    for path in sorted(p for p in target.rglob("*") if p.is_file() and p.name != "zoo.json"):
        digest.update(f"{path.relative_to(target).as_posix()}\0{sha256_file(path)}".encode())
    return digest.hexdigest()[:12]


def predict_all(named: dict[str, Path], images: np.ndarray, layout: dict,
                profile) -> dict[str, np.ndarray]:
    """Each model's labels for `images`, predicted once per model version and input set."""
    out = {}
    for name, target in named.items():
        version = model_version(target)
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
    recipe = recipe_of(manifest)
    res = analyse(preds, layout, holdout.labels, manifest, recipe,
                  plans_for(recipe, len(holdout), manifest["seed"]))
    res["seconds"] = round(time.perf_counter() - started, 1)
    write_text_atomic(args.out, json.dumps(res, indent=2) + "\n")
    print(markdown(res))
    print(f"\n{len(preds)} models in {res['seconds']:.0f} s; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
