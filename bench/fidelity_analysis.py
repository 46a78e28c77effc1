"""The fidelity table's analysis: from each model's predictions on bench/fidelity.py's
images, the calibrated headline with its interval, and how it ranks and levels against
the re-weighted recipes and the held-out shifts.

`analyse` takes the predictions, the layout that says which images are which, and the
test set's recipe and chain plans; `markdown` prints what it returns. The headline and
its interval come from the library's own `recipes.pseudo_private`, the one-point fits
from `calibration.fit_strength`, as `harness score` and `harness calibrate` compute them.
"""

from __future__ import annotations

import numpy as np
import shifts
from scipy.stats import spearmanr

from harness.testset import compound, recipes
from harness.testset.calibration import PRIOR_SD, ForecastCalibration, fit_strength

# The one public (real submission, Codabench score) pair: the calibration's anchor.
PUBLIC_PAIR = ("mttcrn-gap-augmentation", 0.37)


def levels(layout: dict) -> int:
    """How many chain lengths (0, 1, ...) the images hold."""
    return sum(key.startswith("copy0/level") for key in layout)


def hits(pred, layout, labels, copies: int) -> np.ndarray:
    """(copies, levels, n): whether each holdout image was right at each chain length."""
    return np.stack([np.stack([pred[slice(*layout[f"copy{c}/level{k}"])] == labels
                               for k in range(levels(layout))]) for c in range(copies)])


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


def analyse(preds: dict[str, np.ndarray], layout: dict, labels: np.ndarray, manifest: dict,
            recipe: recipes.Recipe, plans: list[compound.Plan]) -> dict:
    """Every figure of the tables, from each model's predictions on `layout`'s images."""
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
            "by_chain_length": [float(h[m][:, k].mean()) for k in range(h[m].shape[1])]}
    forecast = {m: r["headline"] for m, r in out["models"].items()}
    out["rank"] = {"clean_vs_headline": rho({m: r["clean"] for m, r in out["models"].items()},
                                            forecast),
                   "pp1_vs_headline": rho({m: r["pp1"] for m, r in out["models"].items()},
                                          forecast)}
    sets = {key: layout["variant_index"] for key in layout if key.startswith("variant/")}
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
