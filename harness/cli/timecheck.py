"""`harness timecheck [TARGET ...]`: the full hidden-set run estimated against the limit."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, db_option, no_optimize_option
from harness.cli.output import emit
from harness.errors import HarnessError
from harness.results.leaderboard import codabench_records
from harness.shipping.timing import (
    DEFAULT_SAMPLE,
    MAX_TTA,
    TimecheckReport,
    timecheck,
    timecheck_dir,
)


def show_timecheck(console, report: TimecheckReport) -> None:
    limit = report.results[0].limit_s if report.results else 0
    table = Table(title=f"Time check: the whole server run against the {limit:,.0f} s limit",
                  title_justify="left")
    table.add_column("target", overflow="fold")
    for column in ("images", "TTA", "estimate", "margin", "verdict", "max TTA"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in report.results:
        colour = "green" if r.verdict == "PASS" else "red"
        table.add_row(escape(r.name), f"{r.test_size:,}", str(r.tta), f"{r.estimate_s:,.0f} s",
                      f"{r.margin_s:+,.0f} s ({r.margin_s / r.limit_s:+.0%})",
                      f"[bold {colour}]{r.verdict}[/]", str(r.max_tta))
    console.print(table)
    for r in report.results:
        m = r.measurement
        console.print(f"{escape(r.name)}: fixed {m.fixed_s:.1f} s + predict overhead "
                      f"{m.call_s:.2f} s + {m.per_image_s * 1000:.2f} ms/image at "
                      f"{m.passes} pass(es), {m.runtime}, {m.threads} threads (samples "
                      f"{m.sizes[0]} and {m.sizes[1]}); calibration: {escape(r.calibration)}",
                      highlight=False)
        if r.note:
            console.print(f"[yellow]note:[/] {escape(r.note)}", highlight=False)


@click.command("timecheck")
@click.argument("targets", nargs=-1)
@click.option("--test-size", "test_size", type=click.IntRange(1), default=None,
              help="Images in the hidden test set [default: the profile's estimate].")
@click.option("--limit", "limit_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Time limit over the whole run, seconds [default: the profile's].")
@click.option("--tta", "tta", type=click.IntRange(1, MAX_TTA), default=None,
              help="TTA passes to estimate for [default: each submission's own].")
@click.option("--sample", "sample", type=click.IntRange(8), default=DEFAULT_SAMPLE,
              show_default=True,
              help="Images in the larger timing run (the other: one chunk, or 1/4).")
@click.option("--data", "data", default=None, type=click.Path(dir_okay=False),
              help="An npz to time on [default: random pixels].")
@no_optimize_option
@db_option("Leaderboard database holding Codabench durations for calibration "
           "[env HARNESS_DB_URL; default: data/leaderboard.sqlite].")
@common
def timecheck_cmd(targets, test_size, limit_s, tta, sample, data, no_optimize, db_url, profile,
                  as_json):
    """Estimate whether TARGETs (zips, folders, experiments) fit the server's time limit.

    Without TARGET: every submission_*.zip in the current folder. Exits 1 on a FAIL.
    """
    if not targets:
        targets = sorted(str(p) for p in Path(".").glob("submission_*.zip"))
        if not targets:
            raise HarnessError("no TARGET given and no submission_*.zip here",
                               hint="harness timecheck EXPERIMENT, or a zip from harness pack")
    report = timecheck(list(targets), profile, test_size=test_size, limit_s=limit_s, tta=tta,
                       sample=sample, data=data, records=codabench_records(db_url),
                       keep_dir=timecheck_dir(), progress=not as_json,
                       optimize=not no_optimize)
    emit(report, as_json, show_timecheck)
    if not report.ok:
        sys.exit(1)
