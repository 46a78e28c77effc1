"""How optimistic is the forecast for a model trained on the recipe's own families?
The figures of `harness.testset.optimism.OPTIMISM`, measured on the held-out shifts.

The zoo's figures come from bench/fidelity.py's results (bench/results/fidelity.json:
each model's calibrated headline and its accuracy on every held-out set). The models
trained on the recipe's chains (zoo folders whose zoo.json `augment` draws on at least
half of its chain families) are run here, through the same ingestion, on the images
those figures need only, taken from bench/fidelity.py's cached inputs (the same
images): the compound views at the calibrated strength, for the headline (computed by
`recipes.pseudo_private` as `harness score` does, with and without the flag), and the
two mixed held-out sets, several corruptions per image that no registry code made, as
the hidden set is.

Each model's gap is its headline minus its accuracy on a mixed set. The forecast's own
bias on that set is the mean gap of the models trained on none of the recipe's
families; a model's miss is its gap less that bias (what one real point, which sets
the level, leaves), and the optimism of a kind of training ("chains", "some") is the
mean miss of its models. Per model: the miss before and after the flag's correction,
and whether the interval `harness score` gives (its low end lowered by the optimism)
covers the accuracy there.

    PYTHONPATH=. python bench/fidelity_zoo.py --only chains
    PYTHONPATH=. python bench/chains_optimism.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fidelity  # noqa: E402 (bench/fidelity.py, beside this file)

from harness.data.datasets import load_dataset  # noqa: E402
from harness.fsutil import write_text_atomic  # noqa: E402
from harness.profile import get_profile  # noqa: E402
from harness.scoring.ingestion import run_submission  # noqa: E402
from harness.scoring.targets import resolve_target  # noqa: E402
from harness.testset import compound, optimism, recipes  # noqa: E402
from harness.testset.calibration import ForecastCalibration  # noqa: E402
from harness.training.augmentation import recipe_families  # noqa: E402

BENCH = Path(__file__).resolve().parent
MIXES = ("mix", "mix2")
RESULTS = BENCH / "results" / "chains_optimism.json"


def trained_on(name: str) -> list[str]:
    record = BENCH / "zoo" / name / "zoo.json"
    return recipe_families(json.loads(record.read_text())["augment"]) if record.is_file() else []


def kind_of(name: str, recipe) -> str | None:
    seen = optimism.overlap(trained_on(name), recipe)
    return seen.kind if seen else None


def run_chains_model(name: str, images, layout, labels, plans, recipe, cal, profile) -> dict:
    """Headline (plain and flagged) and mixed-set accuracy of one zoo folder."""
    n = len(labels)
    at = [np.asarray(layout[f"copy{c}/level0"][0]) + plan.lengths(cal.strength) * n + np.arange(n)
          for c, plan in enumerate(plans)]
    mixes = [np.arange(*layout[f"shift/{s}"]) for s in MIXES]
    index = np.concatenate([*at, *mixes])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chains-optimism-") as tmp:
        staged = resolve_target(BENCH / "zoo" / name, Path(tmp) / "sub", profile)
        run = run_submission(staged.path, images[index], profile, time_limit_s=None)
    pred = run.raise_for_failure().predictions
    heads = len(plans) * n
    y = np.tile(labels, len(plans))
    args = dict(recipe=recipes.get_recipe(f"{recipe.name}@{recipe.version}",
                                          strength=cal.strength),
                source_index=np.tile(np.arange(n), len(plans)), calibration=cal)
    groups = np.full(heads, compound.GROUP)
    plain = recipes.pseudo_private(y, pred[:heads], groups, **args)
    flagged = recipes.pseudo_private(y, pred[:heads], groups, trained_on=trained_on(name),
                                     **args)
    shift_labels = labels[np.asarray(layout["shift_index"])]
    out, at_ = {}, heads
    for s in MIXES:
        k = len(shift_labels)
        out[s] = float(np.mean(pred[at_:at_ + k] == shift_labels))
        at_ += k
    print(f"predicted {name}: {len(index)} images in {time.perf_counter() - started:.0f} s",
          flush=True)
    return {"headline": plain.accuracy, "low": plain.low, "high": plain.high,
            "flagged_low": flagged.low, "optimism": flagged.optimism, "mixes": out}


def measure(zoo: dict, chained: dict, recipe) -> dict:
    models = {m: {"kind": kind_of(m, recipe), "headline": r["headline"], "low": r["low"],
                  "high": r["high"], "mixes": {s: zoo["shifts"][s]["accuracy"][m]
                                               for s in MIXES}}
              for m, r in zoo["models"].items()}
    for m, r in chained.items():
        models[m] = {"kind": kind_of(m, recipe), **r}
    bias = {s: float(np.mean([r["headline"] - r["mixes"][s] for r in models.values()
                              if r["kind"] is None])) for s in MIXES}
    rows = []
    for m, r in models.items():
        opt = optimism.OPTIMISM[r["kind"]] if r["kind"] else 0.0
        low = r.get("flagged_low", r["low"] - opt)
        for s in MIXES:
            miss = r["headline"] - r["mixes"][s] - bias[s]
            forecast = r["headline"] - bias[s]
            covered = forecast - (r["headline"] - low) <= r["mixes"][s] <= \
                forecast + (r["high"] - r["headline"])
            rows.append({"model": m, "kind": r["kind"], "set": s, "headline": r["headline"],
                         "accuracy": r["mixes"][s], "miss": miss, "corrected_miss": miss - opt,
                         "covered": bool(covered)})
    measured = {k: float(np.mean([r["miss"] for r in rows if r["kind"] == k]))
                for k in ("chains", "some") if any(r["kind"] == k for r in rows)}
    return {"bias": bias, "measured_optimism": measured,
            "shipped_optimism": optimism.OPTIMISM, "models": models, "rows": rows}


def markdown(out: dict) -> str:
    lines = ["| model | trained on the recipe | headline | set | accuracy there | miss | "
             "after the flag's correction | interval covers |",
             "|---|---|---:|---|---:|---:|---:|---|"]
    order = {"chains": 0, "some": 1, None: 2}
    for r in sorted(out["rows"], key=lambda r: (order[r["kind"]], r["model"], r["set"])):
        lines.append(f"| {r['model']} | {r['kind'] or '-'} | {r['headline']:.3f} | {r['set']} "
                     f"| {r['accuracy']:.3f} | {r['miss']:+.3f} | {r['corrected_miss']:+.3f} | "
                     f"{'yes' if r['covered'] else 'no'} |")
    lines.append("\nthe forecast's bias on each set (mean headline minus accuracy, models "
                 "trained on none of the recipe's families): "
                 + ", ".join(f"{s} {b:+.3f}" for s, b in out["bias"].items()))
    lines.append("measured optimism (mean miss): " + ", ".join(
        f"{k} {v:+.3f}" for k, v in out["measured_optimism"].items())
        + f"; shipped in harness/testset/optimism.py: {out['shipped_optimism']}")
    for kind in ("chains", "some", None):
        rows = [r for r in out["rows"] if r["kind"] == kind]
        if rows:
            lines.append(f"{kind or 'none'}: mean |miss| "
                         f"{np.mean([abs(r['miss']) for r in rows]):.3f}, after the correction "
                         f"{np.mean([abs(r['corrected_miss']) for r in rows]):.3f}; interval "
                         f"covers {sum(r['covered'] for r in rows)} of {len(rows)}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fidelity", type=Path, default=BENCH / "results" / "fidelity.json",
                        help="bench/fidelity.py's results (the zoo's figures)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--models", nargs="*",
                        help="run these zoo folders here (default: the chains-trained ones "
                             "the fidelity results lack); one of the zoo checks the figures")
    args = parser.parse_args(argv)
    profile = get_profile()
    zoo = json.loads(args.fidelity.read_text())
    folder = fidelity.ensure_testset(zoo["testset"], profile)
    manifest = json.loads((folder / "manifest.json").read_text())
    recipe = fidelity.recipe_of(manifest)
    names = args.models or [m for m in fidelity.models() if kind_of(m, recipe) == "chains"
                            and m not in zoo["models"]]
    holdout = load_dataset(folder / "holdout.npz", profile)
    images, layout = fidelity.inputs(folder, holdout, None)
    plans = fidelity.plans_for(recipe, len(holdout), manifest["seed"])
    cal = ForecastCalibration.from_dict(zoo["calibration"])
    chained = {m: run_chains_model(m, images, layout, holdout.labels, plans, recipe, cal,
                                   profile) for m in names}
    for m in set(chained) & set(zoo["models"]):
        print(f"check {m}: headline {chained[m]['headline']:.4f} here, "
              f"{zoo['models'][m]['headline']:.4f} in {args.fidelity.name}; " + ", ".join(
                  f"{s} {chained[m]['mixes'][s]:.4f} / {zoo['shifts'][s]['accuracy'][m]:.4f}"
                  for s in MIXES))
    out = measure(zoo, chained, recipe)
    write_text_atomic(args.out, json.dumps(out, indent=2) + "\n")
    print(markdown(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
