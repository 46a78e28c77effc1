"""`harness train`, `harness new`, `harness tune`: experiments from scaffold to trained run."""

from __future__ import annotations

import functools

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, db_option
from harness.cli.output import emit
from harness.words import plural

data_option = click.option(
    "--data", type=click.Path(dir_okay=False, path_type=str), default=None,
    help="Training npz (default: data/testsets/default/train.npz, else data/training_set.npz).")
epochs_option = click.option("--epochs", type=click.IntRange(min=1), default=None,
                             help="Override the experiment's epochs.")
set_option = click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Override a CONFIG key (a Python literal), e.g. --set learning_rate=3e-4. Repeatable.")


def _fmt(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _show_train(console, r) -> None:
    verb = "Resumed" if r.resumed else "Trained"
    table = Table(title=f"{verb} {r.experiment} -> {r.run_dir}")
    table.add_column("model")
    table.add_column("epochs", justify="right")
    table.add_column("val accuracy", justify="right")
    table.add_column("weights")
    for path, epochs, acc in zip(r.weights, r.epochs, r.fold_val_accuracy):
        table.add_row(path.rsplit("/", 1)[-1].removesuffix(".keras"), str(epochs), _fmt(acc),
                      path)
    console.print(table)
    segments = (f" over {len(r.segment_seconds)} segments ("
                + " + ".join(f"{s:.0f}" for s in r.segment_seconds) + ")"
                if len(r.segment_seconds) > 1 else "")
    console.print(f"val accuracy {_fmt(r.val_accuracy)}  val loss {_fmt(r.val_loss)}  "
                  f"train {r.n_train} / val {r.n_val} images from {r.data}  "
                  f"{r.images_per_s:.0f} images/s  trained {r.train_seconds:.0f} s{segments}")
    for note in (n for e in r.endings for n in e.notes()):
        console.print(escape(note), highlight=False)
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


@click.command()
@click.argument("experiment")
@data_option
@epochs_option
@click.option("--folds", type=click.IntRange(min=1), default=None,
              help="Train K models on stratified folds: an ensemble the submission loads.")
@click.option("--seed", type=int, default=None, help="Seed for weights, splits, augmentation.")
@set_option
@click.option("--resume", is_flag=False, flag_value="latest", default=None, metavar="[RUN]",
              help="Continue an unfinished run: the latest, or RUN (a stamp or a folder).")
@common
def train(experiment, data, epochs, folds, seed, sets, resume, profile, as_json):
    """Train EXPERIMENT; the run goes to experiments/EXPERIMENT/runs/<stamp>/.

    Examples: harness train baseline_cnn --epochs 5 --set augment="['flip','noise']";
    harness train efficientnetv2b0_5fold --folds 5; harness train baseline_cnn --resume.
    """
    from harness import training

    run_dir = None
    if resume:
        run_dir = training.unfinished_run(experiment, None if resume == "latest" else resume)
    result = training.train(experiment, data=data, epochs=epochs, folds=folds, seed=seed,
                            overrides=training.parse_overrides(sets) or None, profile=profile,
                            run_dir=run_dir, progress=not as_json)
    emit(result, as_json, _show_train)


def _show_new(console, r) -> None:
    console.print(f"Created experiment [bold]{r.name}[/] at {r.path} (from {r.source}): "
                  f"{', '.join(r.files)}")
    console.print(f"Edit its config.py and build.py, then: harness train {r.name}")


@click.command()
@click.argument("name")
@click.option("--from", "source", default=None, metavar="EXPERIMENT",
              help="Copy this experiment's config.py, build.py and submission/ "
                   "[default: baseline_cnn].")
@common
def new(name, source, profile, as_json):
    """Scaffold experiments/NAME/ (config.py + build.py) to edit and train."""
    from harness.training.scaffold import new_experiment

    emit(new_experiment(name, source), as_json, _show_new)


def _show_tune(console, r) -> None:
    table = Table(title=f"Study {r.study} of {r.experiment} ({r.objective}, {r.storage})")
    table.add_column("trial", justify="right")
    table.add_column("value", justify="right")
    table.add_column("params")
    for t in sorted(r.trials, key=lambda t: -t["value"]):
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in t["params"].items())
        table.add_row(str(t["number"]), _fmt(t["value"]), params)
    console.print(table)
    if r.restarts:
        console.print(f"{plural(r.restarts, 'worker')} died and were replaced; their trials were "
                      f"failed by the heartbeat and retried")
    console.print(f"best {_fmt(r.best_value)} in {r.best_run}; "
                  f"stage it with `harness pack {r.experiment} --run {r.best_run}`")


@click.command()
@click.argument("experiment")
@click.option("--trials", type=click.IntRange(min=1), required=True,
              help="Trials to run now (over all the workers).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes on this machine sharing the study.")
@click.option("--storage", default=None, metavar="URL", envvar="HARNESS_TUNE_STORAGE",
              help="Optuna storage (default sqlite under data/); the same database URL on "
                   "several machines tunes one study together [env HARNESS_TUNE_STORAGE].")
@click.option("--study", default=None, help="Study name (default: the experiment's name).")
@click.option("--testset", default=None, metavar="NAME|PATH",
              help="Score each trial on this test set [default: data/testsets/default if "
                   "built, else validation accuracy].")
@data_option
@epochs_option
@set_option
@db_option()
@common
def tune(experiment, trials, workers, storage, study, testset, data, epochs, sets, db_url,
         profile, as_json):
    """Search EXPERIMENT's SEARCH_SPACE with Optuna, each trial a training run.

    More machines join the same study by running the same command with the same
    --storage URL; a worker that dies mid-trial has its trial retried.
    """
    from harness import training
    from harness.results.keeping import keep_score
    from harness.training import tuning

    result = tuning.tune(experiment, trials, storage=storage, study=study, data=data,
                         epochs=epochs, overrides=training.parse_overrides(sets) or None,
                         profile=profile, testset=testset,
                         keep=functools.partial(keep_score, db_url=db_url),
                         progress=not as_json, workers=workers)
    emit(result, as_json, _show_tune)
