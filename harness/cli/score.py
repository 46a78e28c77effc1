"""`harness score TARGET`: run a submission as the server would and show the verdict."""

from __future__ import annotations

import functools
import sys

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, db_option, no_optimize_option
from harness.cli.output import emit, err_console
from harness.results.keeping import score_and_keep
from harness.results.recording import BY_CONSTRUCTION
from harness.scoring.advice import EVIDENCE
from harness.scoring.scorer import ScoreResult
from harness.shipping.optimize import packed_rewrite
from harness.testset import kinds


def _fmt(value, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def _show_failure(console, r: ScoreResult) -> None:
    f = r.failure
    console.print(f"[bold red]FAILED[/] [red]({f.kind})[/] {escape(r.experiment)} on "
                  f"{escape(r.testset['name'])}", highlight=False)
    console.print(escape(f.message), highlight=False)
    if f.traceback:
        console.print("\n[bold]The submission's traceback:[/]")
        console.print(escape(f.traceback.rstrip()), highlight=False, soft_wrap=True)
    elif r.stderr_tail.strip():
        console.print("\n[bold]The end of the ingestion process's output:[/]")
        console.print(escape(r.stderr_tail.rstrip()), highlight=False, soft_wrap=True)
    if f.hint:
        console.print(f"\n[yellow]hint:[/] {escape(f.hint)}", highlight=False)
    console.print(f"[dim]stored as a failure, row {r.row_id} of {r.db_url}[/]")


def _show_groups(console, r: ScoreResult) -> None:
    m = r.metrics
    table = Table(title="Accuracy per group (worst first)", title_justify="left")
    table.add_column("group")
    table.add_column("images", justify="right")
    table.add_column("accuracy", justify="right")
    for group in sorted(m.group_accuracy, key=m.group_accuracy.get):
        mark = " [red]<- worst[/]" if group == m.worst_group else ""
        table.add_row(escape(group), str(m.group_counts[group]),
                      _fmt(m.group_accuracy[group]) + mark)
    console.print(table)
    if m.severity_accuracy:
        console.print("accuracy by severity: " + ", ".join(
            f"{k}: {v:.4f}" for k, v in m.severity_accuracy.items()), highlight=False)
    if r.advice is not None:
        worst = ", ".join(f"{family} {acc:.3f}" for family, acc in r.advice.families)
        experiment = r.experiment if r.target_kind == "experiment" else "EXPERIMENT"
        if r.advice.chains:
            console.print(f"far below the clean accuracy: train on the test set's own chains "
                          f"first ({escape(EVIDENCE)}; its forecast will say it is "
                          f"optimistic):\n  {escape(r.advice.command(experiment, r.advice.chains))}"
                          f"\nor, alternatively,", highlight=False)
        console.print(f"to train against the worst families ({escape(worst)}):\n  "
                      f"{escape(r.advice.command(experiment))}", highlight=False)


def _show_confusion(console, r: ScoreResult) -> None:
    m = r.metrics
    table = Table(title="Confusion matrix (rows: true, columns: predicted)",
                  title_justify="left")
    table.add_column("true \\ pred")
    for i in range(len(m.class_names)):
        table.add_column(str(i), justify="right")
    for i, name in enumerate(m.class_names):
        table.add_row(f"{i} {escape(name)}", *(
            f"[bold]{v}[/]" if i == j else str(v) for j, v in enumerate(m.confusion[i])))
    console.print(table)


def calibration_line(pp) -> str:
    """What the forecast's interval rests on, in one line."""
    if not pp.calibration:
        return ("uncalibrated: the interval is the test set's sampling noise alone; "
                "record real Codabench results and run harness calibrate")
    points = pp.calibration_points
    return (f"calibration {pp.calibration} on {points} real result{'s' * (points != 1)}; "
            f"the interval adds its forecast error to the test set's sampling noise"
            f" (sampling alone {_fmt(pp.sampling_low, '.3f')}-{_fmt(pp.sampling_high, '.3f')})")


def forecast_line(pp, images: int) -> str:
    """The forecast as soon as it is known, before the diagnosis (stderr)."""
    return (f"[bold green]forecast: pseudo-private {pp.accuracy:.4f}[/] "
            f"[green](95% {_fmt(pp.low, '.3f')}-{_fmt(pp.high, '.3f')})[/] "
            f"({pp.method}, {escape(pp.recipe)}), from the {images} images it rests on")


def _show_provenance(console, r: ScoreResult) -> None:
    """What was scored and where its labels came from."""
    console.print(f"scored: {escape(r.model)}", highlight=False)
    if r.reused:
        now = (r.n_scored or r.testset["n"]) - r.reused
        console.print(f"predictions: reused the kept labels of {r.reused} images (same model, "
                      f"same test set){f', predicted {now} now' if now else ''}; the timings "
                      f"are those of the runs that made them", highlight=False)
    if r.quick and r.pseudo_private is None:
        console.print("[yellow]--quick:[/] this set makes no forecast, so every image was "
                      "scored; not kept on the leaderboard", highlight=False)
    elif r.quick:
        console.print(f"[yellow]--quick:[/] only the {r.n_scored} images the headline rests "
                      f"on were scored: the forecast and its interval are the whole run's, "
                      f"every other figure is of those images; not kept on the leaderboard "
                      f"(score it whole to keep it)", highlight=False)


def trained_on_line(pp) -> str:
    """Beside the forecast of a model trained on the recipe's own families
    (`harness.testset.optimism`)."""
    what = ("the recipe's own chains" if pp.trained_on_kind == "chains"
            else "the recipe's " + ", ".join(pp.trained_on))
    return (f"trained on {what} ({len(pp.trained_on)} of its families): measured on "
            f"held-out shifts, such forecasts run {pp.optimism:.3f} high (corrected "
            f"{pp.accuracy - pp.optimism:.4f}); the interval's low end carries it")


def show_score(console, r: ScoreResult) -> None:
    """Print a score for a person: headline, metrics, groups, timings, confusion matrix."""
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if not r.ok:
        _show_failure(console, r)
        return
    m, ts = r.metrics, r.testset
    recipe = f", recipe {ts['recipe_version']}" if ts["recipe_version"] else ""
    pp = r.pseudo_private
    scope = f"its {r.n_scored} images" if r.quick else "all images"
    if pp is not None:
        clean = "" if pp.clean is None else f"  clean holdout {pp.clean:.4f}"
        console.print(f"[bold green]pseudo-private {pp.accuracy:.4f}[/] "
                      f"[green](95% {_fmt(pp.low, '.3f')}-{_fmt(pp.high, '.3f')})[/] "
                      f"({pp.method}, {escape(pp.recipe)}){clean}  {scope} {m.accuracy:.4f}  "
                      f"{escape(r.experiment)} on {escape(ts['name'])} ({ts['n']} images, "
                      f"data {ts['sha256'][:12]})", highlight=False)
        console.print(f"[dim]{calibration_line(pp)}[/]", highlight=False)
        if r.fitted_on:
            console.print(f"[yellow]note[/] calibration {escape(r.fitted_on)} was fitted on "
                          f"{escape(r.experiment)}'s Codabench score: for it, {BY_CONSTRUCTION}",
                          highlight=False)
        if pp.trained_on:
            console.print(f"[yellow]optimistic:[/] {escape(trained_on_line(pp))}",
                          highlight=False)
        _show_provenance(console, r)
    else:
        # Not a pseudo-private set: its figure is named for what it is, never a forecast.
        headline = "macro F1" if m.metric == "macro_f1" else "accuracy"
        on = kinds.subject(ts["kind"], ts["name"], ts["path"])
        console.print(f"[bold green]{headline} {m.value:.4f}[/] on {escape(on)}: not a "
                      f"forecast of the hidden score  {escape(r.experiment)} on "
                      f"{escape(ts['name'])} ({ts['n']} images{recipe}, data {ts['sha256'][:12]})",
                      highlight=False)
        _show_provenance(console, r)

    summary = Table(title="Metrics", title_justify="left")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    ranks = {"accuracy": "accuracy", "macro_f1": "macro F1"}[m.metric]
    for label, value in (("accuracy", m.accuracy), ("macro precision", m.precision_macro),
                         ("macro recall", m.recall_macro), ("macro F1", m.f1_macro)):
        summary.add_row(label + (" (the leaderboard's)" if label == ranks else ""), _fmt(value))
    if m.worst_group is not None:
        summary.add_row(f"worst group ({escape(m.worst_group)})", _fmt(m.worst_group_accuracy))
    console.print(summary)

    recall = Table(title="Recall per class", title_justify="left")
    recall.add_column("class")
    recall.add_column("images", justify="right")
    recall.add_column("recall", justify="right")
    for i, (name, value) in enumerate(m.per_class_recall.items()):
        recall.add_row(f"{i} {escape(name)}", str(sum(m.confusion[i])), _fmt(value))
    console.print(recall)

    if m.group_accuracy:
        _show_groups(console, r)
    _show_confusion(console, r)

    timing = Table(title="The ingestion process", title_justify="left")
    timing.add_column("load (import, constructor)", justify="right")
    timing.add_column("predict(X)", justify="right")
    timing.add_column("total", justify="right")
    timing.add_column("limit", justify="right")
    timing.add_column("peak memory", justify="right")
    timing.add_row(f"{r.load_s:.2f} s", f"{r.predict_s:.2f} s", f"{r.total_s:.2f} s",
                   f"{r.time_limit_s:g} s", f"{r.peak_rss_mb:.0f} MiB")
    console.print(timing)
    if len(r.calls) > 1:
        split = ("; the headline's images first, in a run of their own"
                 if r.pseudo_private is not None else "")
        console.print(f"predict was called {len(r.calls)} times, at most the hidden set's size "
                      f"each{split}: " + ", ".join(f"{c['images']} images {c['seconds']:.1f} s "
                                           f"(peak {c['peak_rss_mb']:.0f} MiB)" for c in r.calls),
                      highlight=False)
    versions = ", ".join(f"{k} {v}" for k, v in r.versions.items())
    console.print(f"[dim]{escape(versions)}[/]", highlight=False)
    if r.row_id is not None:
        console.print(f"confusion matrix: {escape(str(r.confusion_png))}", highlight=False)
        console.print(f"[dim]stored as row {r.row_id} of {escape(r.db_url)}; "
                      f"submission {r.submission_sha256[:12]}[/]", highlight=False)


@click.command("score")
@click.argument("target")
@click.option("--testset", default=None,
              help="NAME (data/testsets/NAME/testset.npz) or a path to an npz "
                   "[default: data/testsets/default/testset.npz].")
@click.option("--time-limit", "time_limit", type=float, default=None,
              help="Seconds over the whole run [default: the profile's].")
@click.option("--name", "name", default=None,
              help="The experiment's name on the leaderboard [default: from TARGET].")
@click.option("--quick", "quick", is_flag=True,
              help="Stop at the headline: score only the images the forecast and its "
                   "interval rest on (not kept on the leaderboard).")
@no_optimize_option
@db_option()
@common
def score_cmd(target, testset, time_limit, name, quick, no_optimize, db_url, profile, as_json):
    """Run TARGET exactly as Codabench would, score it, and store it on the leaderboard.

    TARGET is a zip as it would be uploaded, a submission folder (model.py at its
    root), or an experiment (name or folder; scored as `harness pack` ships it). The
    forecast comes first, then the per-family diagnosis. A failing submission prints
    the server's message and its own traceback, is stored as a failure, and exits with
    status 1.
    """
    # --quick lacks the per-family figures a leaderboard row holds: it is not kept.
    run = functools.partial(score_and_keep, target, testset=testset, db_url=db_url,
                            time_limit_s=time_limit, profile=profile, experiment_name=name,
                            quick=quick,
                            prepare=None if no_optimize else packed_rewrite,
                            progress=not as_json)
    if as_json:
        result = run()
    else:
        # One predict call can run for an hour: say what is happening meanwhile (stderr).
        with err_console.status("scoring") as spinner:
            def headline(pp, images):
                spinner.stop()  # the diagnosis goes on under a progress bar
                err_console.print(forecast_line(pp, images), highlight=False)
            result = run(status=spinner.update, on_headline=headline)
    emit(result, as_json, show_score)
    if not result.ok:
        sys.exit(1)
