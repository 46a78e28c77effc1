"""`harness calibrate`: fit the forecast's strength to the Codabench results you recorded."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, db_option
from harness.cli.output import emit
from harness.results.forecast import calibrate
from harness.results.recording import BY_CONSTRUCTION
from harness.testset.calibration import CalibrateResult
from harness.words import plural


def _show(console, r: CalibrateResult) -> None:
    c = r.calibration
    before = "" if not r.previous else f" (was {r.previous['strength']:.2f}, {r.previous['id']})"
    console.print(f"[bold green]strength {c.strength:.2f}[/]{before}: about {c.strength:.1f} "
                  f"corruptions per image in {escape(c.recipe)} test sets; calibration "
                  f"{escape(c.id)}, forecast error sd {c.sd:.3f}", highlight=False)
    # A heading, not the table's title: a title wraps to the narrow table's width.
    console.print(f"The {plural(c.n_points, 'real result')} it rests on (test set "
                  f"{c.testset}; each the Codabench score of the exact zip run here):",
                  highlight=False)
    table = Table()
    for col in ("experiment", "codabench", "forecast", "gap"):
        table.add_column(col, justify="left" if col == "experiment" else "right")
    for p in c.points:
        table.add_row(escape(p["experiment"]), f"{p['codabench']:.4f}", f"{p['forecast']:.4f}",
                      f"{p['forecast'] - p['codabench']:+.4f}")
    console.print(table)
    console.print(f"Their forecasts agree with Codabench because the strength was fitted on "
                  f"them: for these submissions {BY_CONSTRUCTION}.", highlight=False)
    for experiment, why in r.skipped.items():
        console.print(f"[yellow]skipped[/] {escape(experiment)}: {escape(why)}", highlight=False)
    if r.replaced_damaged:
        console.print(f"[yellow]replaced[/] a damaged {escape(r.path)}", highlight=False)
    console.print(f"written to {escape(r.path)}; rebuild the test set to use it: "
                  f"harness testset build --name {escape(str(c.testset))}", highlight=False)


@click.command("calibrate")
@click.option("--testset", default=None,
              help="NAME or folder of a built test set [default: data/testsets/default].")
@click.option("--phase", type=int, default=None,
              help="Only Codabench records of this phase [default: the latest per experiment].")
@db_option()
@common
def calibrate_cmd(testset, phase, db_url, profile, as_json):
    """Fit the pseudo-private recipe's strength to your recorded Codabench scores.

    Every Codabench result recorded for an exact zip (`harness record ZIP`) is run
    again on the test set's holdout at every chain length; the strength whose accuracies
    land nearest the recorded scores (least squares) is written to data/calibration.json,
    which `testset build` and `score` use from then on.
    """
    emit(calibrate(testset=testset, db_url=db_url, profile=profile, phase=phase,
                   progress=not as_json), as_json, _show)
