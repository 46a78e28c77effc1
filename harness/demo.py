"""The demo: the whole loop, end to end, in a few minutes on a 2-core CPU.

Data (data/training_set.npz when present, else synthetic images of the profile's
classes with the course file's dirt: blood smears for 2024, plant leaves for 2023) ->
inspect and clean -> the pseudo-private test set -> train
baseline_cnn for about a minute -> score it as the server would -> pack the zip ->
timecheck it against the limit -> the leaderboard -> Grad-CAM on its most confident
mistakes -> the one-page HTML report of all of it. Each step is one call into the
library, the same call its own command makes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.paths import data_dir
from harness.profile import Profile, get_profile
from harness.words import plural

DEMO_EXPERIMENT = "baseline_cnn"
# About a minute of baseline_cnn training on this kind of machine: epochs shrink as the
# training split grows (~25k image-epochs), within the experiment's own epoch count.
IMAGE_EPOCH_BUDGET = 25_000
MIN_EPOCHS = 2


@dataclass
class DemoStep:
    """One step of the demo: what ran, how long it took, what it found."""

    name: str
    command: str
    seconds: float
    summary: str
    result: Any = None


@dataclass
class DemoResult:
    """Everything the demo did, step by step; `drawn` says what synthetic images show."""

    data: str
    synthetic: bool
    steps: list[DemoStep] = field(default_factory=list)
    drawn: str = ""
    leaderboard: Any = None
    report: str | None = None

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def demo_epochs(n_train: int, config_epochs: int) -> int:
    """Epochs that keep training near a minute: fewer for more data."""
    return max(MIN_EPOCHS, min(config_epochs, IMAGE_EPOCH_BUDGET // max(n_train, 1)))


def run_demo(workdir: str | None = None, data: str | None = None, n: int = 2400,
             seed: int = 0, epochs: int | None = None, profile: Profile | str | None = None,
             db_url: str | None = None,
             status: Callable[[str], None] = lambda msg: None) -> DemoResult:
    """Run the whole loop and return what each step did.

    Args:
        workdir: where the demo's data, reports and zip go (default: the data folder's
            demo/; its test set goes where every test set goes, the data folder's
            testsets/demo).
        data: a training npz; default the data folder's training_set.npz when present,
            else synthetic.
        n: synthetic images to draw when there is no data.
        seed: seeds the synthetic data, the split, the corruptions and the training.
        epochs: training epochs (default: about a minute's worth, see `demo_epochs`).
        profile: the competition profile.
        db_url: the leaderboard database (default: data/leaderboard.sqlite).
        status: called with a line before each step.
    """
    from harness.data import clean, inspect, write_synthetic
    from harness.experiments import get_experiment
    from harness.results import build_report, explain, read_leaderboard, score_and_keep
    from harness.results.leaderboard import codabench_records
    from harness.shipping import pack, timecheck
    from harness.shipping.optimize import packed_rewrite
    from harness.shipping.timing import timecheck_dir
    from harness.testset import build
    from harness.training import train

    profile = get_profile(profile)
    work = Path(workdir) if workdir else data_dir() / "demo"
    work.mkdir(parents=True, exist_ok=True)
    default = data_dir() / "training_set.npz"
    source = Path(data) if data else default if default.exists() else None
    result = DemoResult(data=str(source or work / "training_set.npz"), synthetic=source is None,
                        drawn=profile.synthetic.replace("-", " ") + "s")

    def step(name: str, command: str, fn: Callable[[], Any], summarize: Callable[[Any], str]):
        status(f"{name}: {command}")
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        result.steps.append(DemoStep(name, command, seconds, summarize(out), out))
        return out

    if source is None:
        source = work / "training_set.npz"
        step("synthesize", f"harness data synth {source} --n {n} --seed {seed} --contaminate",
             lambda: write_synthetic(source, n=n, seed=seed, contaminate=True,
                                           profile=profile),
             lambda r: f"{r.n_images} images ({r.n_clean} clean, the rest planted dirt); "
                       f"contact sheet {r.sheet}")

    step("inspect", f"harness data inspect {source} --report {work / 'hygiene'}",
         lambda: inspect(source, profile, report_dir=work / "hygiene"),
         lambda r: f"{r.n_removed} of {r.n_images} images flagged: "
                   + ", ".join(f"{k} {v}" for k, v in r.removed_by_rule.items() if v))
    clean_npz = work / "clean.npz"
    step("clean", f"harness data clean {source} {clean_npz}",
         lambda: clean(source, clean_npz, profile),
         lambda r: f"kept {r.n_kept}, removed {r.n_removed} ({r.report})")

    built = step("testset", f"harness testset build --data {clean_npz} --name demo --seed {seed}",
                 lambda: build(data=clean_npz, name="demo", seed=seed, profile=profile,
                                       progress=False),
                 lambda r: f"{r.n_train} training / {r.n_holdout} holdout images; "
                           f"pseudo-private set of {r.n_testset} images ({r.recipe})")
    train_npz = Path(built.path) / "train.npz"

    experiment = get_experiment(DEMO_EXPERIMENT)
    n_epochs = epochs or demo_epochs(built.n_train, experiment.config()["epochs"])
    step("train", f"harness train {DEMO_EXPERIMENT} --data {train_npz} --epochs {n_epochs}",
         lambda: train(experiment, data=train_npz, epochs=n_epochs, seed=seed,
                                profile=profile, progress=False),
         lambda r: f"{max(r.epochs)} epochs in {r.seconds:.0f} s, val accuracy "
                   f"{r.val_accuracy:.3f}; run {r.run_dir}")

    step("score", f"harness score {DEMO_EXPERIMENT} --testset demo",
         lambda: score_and_keep(DEMO_EXPERIMENT, testset="demo", profile=profile,
                                db_url=db_url, prepare=packed_rewrite).raise_for_failure(),
         _score_summary)

    packed = step("pack", f"harness pack {DEMO_EXPERIMENT} --out {work / 'dist'}",
                  lambda: pack(DEMO_EXPERIMENT, profile, out=work / "dist",
                                       data=clean_npz),
                  lambda r: f"{r.zip} ({r.size_bytes / 1e6:.1f} MB, sha256 {r.sha256[:12]})")

    # Kept under the experiment's name, so the report shows its margin beside its score.
    step("timecheck", f"harness timecheck {packed.zip}",
         lambda: timecheck([str(packed.zip)], profile, data=clean_npz,
                           records=codabench_records(db_url), keep_dir=timecheck_dir(),
                           names=[DEMO_EXPERIMENT]),
         lambda r: "; ".join(f"{t.verdict}: {t.estimate_s:.0f} s estimated for {t.test_size} "
                             f"images vs the {t.limit_s:.0f} s limit, up to {t.max_tta} TTA "
                             f"passes fit" for t in r.results))

    result.leaderboard = step("leaderboard", "harness leaderboard --testset demo",
                              lambda: read_leaderboard(testset="demo", db_url=db_url),
                              lambda r: f"{plural(len(r.rows), 'experiment')} on test set demo")

    step("explain", f"harness explain {DEMO_EXPERIMENT} --testset demo",
         lambda: explain(DEMO_EXPERIMENT, testset="demo", profile=profile),
         lambda r: f"{r.n_mistakes} mistakes in {r.n_images} images, {len(r.galleries)} "
                   f"Grad-CAM galleries in {r.out_dir}")

    report = step("report", f"harness report --testset demo --out {work / 'report.html'}",
                  lambda: build_report(work / "report.html", testset="demo", db_url=db_url,
                                       profile=profile),
                  lambda r: f"{r.path} ({r.size_bytes / 1e6:.1f} MB, {r.images} images "
                            f"inline): open it in a browser")
    result.report = report.path
    return result


def _score_summary(r) -> str:
    m, pp = r.metrics, r.pseudo_private
    parts = [f"pseudo-private {pp.accuracy:.3f} (95% {pp.low:.3f}-{pp.high:.3f})",
             f"clean holdout {pp.clean:.3f}"] if pp else []
    parts.append(f"all images {m.accuracy:.3f}")
    if m.worst_group:
        parts.append(f"worst family {m.worst_group}")
    parts.append(f"predict {r.predict_s:.1f} s")
    return ", ".join(parts)
