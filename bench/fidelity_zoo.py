"""The fidelity zoo: from-scratch models a team could ship, each good on clean images
(>= 0.85 on the clean holdout), differing in what they are robust to and how they are
built. They are the evidence that the pseudo-private forecast ranks models as an
unknown corrupted set does (bench/fidelity.py), and they ship with the project so that
anyone can check it.

Each model is an experiment of experiments/ trained with `harness.training.train` on
the real data's default test set's train.npz (fixed seed and epochs, a cosine schedule
with a short warm-up, no early stopping, 10% validation), then written by
`harness.shipping.packing.pack_folder`, the function `harness pack` zips, into
bench/zoo/NAME/: model.py, its helper module, submission.json and the weights (small
CNNs, under 3 MB each), plus zoo.json, how it was trained (experiment, augmentation,
seed, epochs, the harness commit it was trained and shipped at, the data's sha256, its
clean holdout accuracy measured by running the folder through the ingestion as the
server would). `harness score bench/zoo/NAME` scores one.

Training runs live under the data folder (`harness.paths`), in zoo-runs/NAME/, out of
git: an interrupted run resumes from its last finished epoch, and a trained run is
shipped again without retraining (--reship). A folder under bench/zoo/ appears by an
atomic rename once everything in it is written.

    PYTHONPATH=. python bench/fidelity_zoo.py                 # train and ship what is missing
    PYTHONPATH=. python bench/fidelity_zoo.py --only noise    # one model
    PYTHONPATH=. python bench/fidelity_zoo.py --reship        # re-pack trained runs
    PYTHONPATH=. python bench/fidelity_zoo.py --table         # print the table
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from harness.experiments import WEIGHT_SUFFIX, read_commit
from harness.fsutil import atomic_path, sha256_file, write_text_atomic
from harness.gitinfo import git_commit
from harness.paths import REPO_ROOT, data_dir
from harness.profile import get_profile
from harness.shipping.packing import SMOKE_IMAGES, pack_folder
from harness.shipping.samples import sample_images

ZOO = REPO_ROOT / "bench" / "zoo"
ZOO_FILE = "zoo.json"
TESTSET = "default"
TARGET = 0.85  # clean holdout accuracy every model should reach
COMMAND = "PYTHONPATH=. python bench/fidelity_zoo.py"
# Every model: a fixed schedule and epoch count, so the models differ in what the
# table says and nothing else.
SCHEDULE = {"early_stopping": 0, "reduce_lr": 0, "validation_split": 0.1,
            "learning_rate": 3e-3, "lr_schedule": "cosine", "warmup_epochs": 0.5}
# baseline_cnn with a fourth block and a wider dense layer: about as fast on a CPU as
# the stock three blocks, more capacity.
ZOO_CNN = {"filters": [16, 32, 64, 128], "dense": 128}


@dataclass(frozen=True)
class ZooModel:
    """One zoo member: what it is, and the settings that make it.

    Args:
        doc: one line for the table.
        augment: the training registry's `augment` list.
        epochs: epochs (every fold's, for an ensemble).
        experiment: the experiment package trained.
        overrides: config keys over SCHEDULE (ZOO_CNN is added for baseline_cnn).
        seed: the run's seed.
        settings: submission.json settings written at packing (e.g. {"tta": 4}).
        advised_by: train with the augmentations `harness score` advises for this zoo
            model (`harness.scoring.advice`), instead of `augment`.
    """

    doc: str
    augment: list
    epochs: int
    experiment: str = "baseline_cnn"
    overrides: dict = field(default_factory=dict)
    seed: int = 0
    settings: dict = field(default_factory=dict)
    advised_by: str | None = None

    def config(self, augment: list) -> dict:
        arch = ZOO_CNN if self.experiment == "baseline_cnn" else {}
        return {**SCHEDULE, **arch, **self.overrides, "augment": augment}


GEOMETRIC = {"name": "geometric", "rotation": 0.5, "zoom": 0.1, "translate": 0.05}
MODELS: dict[str, ZooModel] = {
    "none": ZooModel("no augmentation", [], 12),
    "flip_rotate": ZooModel("flips, rotations, zoom, shifts", ["flip", GEOMETRIC], 10),
    "noise": ZooModel("flips, strong Gaussian noise",
                      ["flip", {"name": "noise", "stddev": 40.0}], 6),
    "color": ZooModel("flips, colour and stain jitter",
                      ["flip", {"name": "color", "brightness": 0.3, "contrast": 0.3,
                                "saturation": [0.2, 0.8], "hue": 0.15}], 6),
    "blur": ZooModel("flips, Gaussian blur", ["flip", {"name": "blur", "kernel": 7,
                                                       "sigma": 2.5}], 4),
    "randaugment": ZooModel("flips, RandAugment", ["flip", "randaugment"], 8),
    "augmix": ZooModel("flips, AugMix", ["flip", "augmix"], 6),
    "overlay_cutout": ZooModel("flips, pasted overlays, cutout",
                               ["flip", "overlay", "cutout"], 4),
    "mixup_cutmix": ZooModel("flips, MixUp, CutMix", ["flip", "mixup", "cutmix"], 6),
    "strong": ZooModel("flips, weak RandAugment, overlays, noise, cutout",
                       ["flip", "randaugment_weak", "overlay",
                        {"name": "noise", "stddev": 25.0}, "cutout"], 8),
    "deep_wide": ZooModel("a deeper, wider CNN (5 blocks, 32-256 filters), flips, colour",
                          ["flip", "color"], 6,
                          overrides={"filters": [32, 48, 96, 192, 256], "dense": 128}),
    "resnet": ZooModel("a small ResNet (experiments/resnet_cnn), flips, rotations",
                       ["flip", GEOMETRIC], 8, experiment="resnet_cnn"),
    "ensemble5": ZooModel("5 models on stratified folds, majority vote (a seed team's "
                          "method), flips, colour", ["flip", "color"], 4,
                          overrides={"folds": 5, "ensemble": "vote"}),
    "tta": ZooModel("flips, weak RandAugment; 4 test-time views averaged inside predict "
                    "(a seed team's method)", ["flip", "randaugment_weak"], 8, seed=1,
                    settings={"tta": 4}),
    # What a team does once `harness score` advises it (issue 31): train on the test set's
    # own chains; the forecast for these is optimistic (harness.testset.optimism).
    "chains": ZooModel("flips, the pseudo-private recipe's own chains on half the images",
                       ["flip", "chains"], 5),
    "chains_resnet": ZooModel("a small ResNet (experiments/resnet_cnn), flips, the recipe's "
                              "chains on half the images", ["flip", "chains"], 4,
                              experiment="resnet_cnn"),
    "advised": ZooModel("what harness score advised for `none`: its 3 worst families' "
                        "counter-augmentations", [], 8, advised_by="none"),
}


def runs_root() -> Path:
    return data_dir() / "zoo-runs"


def advice_file(name: str) -> Path:
    """Beside an advised model's run: the advice it follows, kept for a resume and for
    its zoo.json."""
    return runs_root() / f"{name}.advice.json"


def testset_file(name: str) -> Path:
    return data_dir() / "testsets" / TESTSET / name


def advice_for(name: str, profile) -> dict:
    """What `harness score` advises for zoo model `name` on the default test set: the
    same run and metrics as score, without a leaderboard row."""
    from harness.data.datasets import load_dataset
    from harness.scoring.advice import recommend
    from harness.scoring.ingestion import run_submission
    from harness.scoring.metrics import compute_metrics

    testset = load_dataset(testset_file("testset.npz"), profile)
    run = run_submission(ZOO / name, testset_file("testset.npz"), profile,
                         time_limit_s=None).raise_for_failure()
    metrics = compute_metrics(testset.labels, run.predictions, profile,
                              groups=testset.extras["groups"])
    advice = recommend(metrics.group_accuracy)
    return {"from": name, "families": advice.families, "augment": advice.augment}


def train_model(name: str, model: ZooModel, profile) -> Path:
    """Train `name` into zoo-runs/NAME/ (resuming an interrupted run); its run folder."""
    from harness.training.fit import train

    run_dir = runs_root() / name
    if any(run_dir.glob(f"*{WEIGHT_SUFFIX}")):
        return run_dir
    resuming = (run_dir / "config.json").is_file()
    augment = model.augment
    if model.advised_by and not resuming:
        advice = advice_for(model.advised_by, profile)
        write_text_atomic(advice_file(name), json.dumps(advice, indent=2))
        augment = advice["augment"]
        print(f"  advice for {model.advised_by}: {advice['families']} -> {augment}", flush=True)
    print(f"[{time.strftime('%H:%M:%S')}] {name}: {model.doc}, {model.epochs} epochs"
          f"{' (resuming)' if resuming else ''}", flush=True)
    if resuming:
        result = train(model.experiment, run_dir=run_dir, progress=False)
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
        result = train(model.experiment, data=testset_file("train.npz"), epochs=model.epochs,
                       seed=model.seed, overrides=model.config(augment), run_dir=run_dir,
                       progress=False)
    print(f"  trained in {result.train_seconds:.0f} s ({result.images_per_s:.0f} images/s), "
          f"val {result.val_accuracy:.4f}", flush=True)
    return run_dir


def clean_accuracy(folder: Path, profile) -> dict:
    """The folder on the clean holdout, in a fresh process, as the server would run it."""
    import numpy as np

    from harness.data.datasets import load_dataset
    from harness.scoring.ingestion import run_submission

    holdout = testset_file("holdout.npz")
    labels = load_dataset(holdout, profile).labels
    result = run_submission(folder, holdout, profile).raise_for_failure()
    pred = np.asarray(result.predictions).reshape(-1)
    return {"clean_holdout_accuracy": round(float(np.mean(pred == labels)), 4),
            "holdout_images": len(labels), "predict_s": round(result.predict_s, 1)}


def ship_model(name: str, model: ZooModel, run_dir: Path, profile) -> dict:
    """Write bench/zoo/NAME/ from a trained run; return its zoo.json."""
    final = ZOO / name
    history = json.loads((run_dir / "history.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    sample = sample_images(profile, SMOKE_IMAGES, testset_file("holdout.npz"))
    ZOO.mkdir(parents=True, exist_ok=True)
    with atomic_path(final, directory=True) as part:
        folder = pack_folder(model.experiment, profile, part, sample, run=run_dir,
                             **model.settings)
        last = [h["history"] for h in history["models"]]
        record = {
            "name": name, "doc": model.doc, "experiment": model.experiment,
            "augment": config["augment"], "epochs": config["epochs"], "seed": config["seed"],
            "folds": config["folds"],
            "overrides": {k: v for k, v in model.config(config["augment"]).items()
                          if k != "augment"},
            "settings": folder.settings,
            "train_seconds": round(history["train_seconds"], 1),
            "val_accuracy": [round(h["val_accuracy"][-1], 4) for h in last
                             if h.get("val_accuracy")],
            "data": {"train": f"testsets/{TESTSET}/train.npz",
                     "train_sha256": sha256_file(testset_file("train.npz")),
                     "holdout": f"testsets/{TESTSET}/holdout.npz",
                     "holdout_sha256": sha256_file(testset_file("holdout.npz"))},
            "trained_at": read_commit(run_dir),
            "shipped_at": git_commit(REPO_ROOT),
            "optimized": folder.optimized,
            **({"advice": json.loads(advice_file(name).read_text())}
               if model.advised_by else {}),
            **clean_accuracy(part, profile),
            "command": COMMAND}
        write_text_atomic(part / ZOO_FILE, json.dumps(record, indent=2) + "\n")
    print(f"  {final.relative_to(REPO_ROOT)}: clean holdout "
          f"{record['clean_holdout_accuracy']}", flush=True)
    return record


def load_record(name: str) -> dict | None:
    path = ZOO / name / ZOO_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def describe(spec) -> str:
    """An `augment` entry for a table: `noise(stddev=40.0)`."""
    if isinstance(spec, str):
        return spec
    params = ", ".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return f"{spec['name']}({params})"


def markdown() -> str:
    lines = ["| model | what | augmentation | epochs | train s | clean holdout | MB |",
             "|---|---|---|---:|---:|---:|---:|"]
    for name in sorted(p.name for p in ZOO.iterdir() if (p / ZOO_FILE).is_file()):
        r = load_record(name)
        aug = ", ".join(describe(a) for a in r["augment"]) or "none"
        folds = f" x {r['folds']} folds" if r["folds"] > 1 else ""
        mb = sum(p.stat().st_size for p in (ZOO / name).rglob("*") if p.is_file()) / 1e6
        mark = "" if r["clean_holdout_accuracy"] >= TARGET else " (below 0.85)"
        lines.append(f"| {name} | {r['doc']} | {aug} | {r['epochs']}{folds} | "
                     f"{r['train_seconds']:.0f} | {r['clean_holdout_accuracy']:.3f}{mark} | "
                     f"{mb:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="only these models")
    parser.add_argument("--reship", action="store_true",
                        help="pack the trained runs again, replacing their zoo folders")
    parser.add_argument("--table", action="store_true", help="only print the table")
    args = parser.parse_args(argv)
    names = args.only or list(MODELS)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; known: {list(MODELS)}")
    if not args.table:
        if not testset_file("holdout.npz").is_file():
            parser.error(f"no {testset_file('holdout.npz')}: build the default test set "
                         f"first (harness testset build --data data/clean.npz)")
        profile = get_profile()
        for name in names:
            if (ZOO / name / ZOO_FILE).is_file() and not args.reship:
                print(f"{name}: shipped ({(ZOO / name).relative_to(REPO_ROOT)})", flush=True)
                continue
            run_dir = train_model(name, MODELS[name], profile)
            if args.reship:
                shutil.rmtree(ZOO / name, ignore_errors=True)
            ship_model(name, MODELS[name], run_dir, profile)
    print(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
