"""`harness demo`: the whole loop on your data, or on data the project draws itself."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.leaderboard import render_table
from harness.cli.options import common
from harness.cli.output import emit, err_console
from harness.demo import DemoResult, run_demo


def _show(console, r: DemoResult) -> None:
    source = f"synthetic {r.drawn} with planted dirt" if r.synthetic else r.data
    table = Table(title=f"harness demo on {source}: {r.seconds:.0f} s in all")
    table.add_column("step")
    table.add_column("s", justify="right")
    table.add_column("what it did")
    for s in r.steps:
        table.add_row(s.name, f"{s.seconds:.1f}", escape(s.summary))
    console.print(table)
    console.print("The same steps, one command each:")
    for s in r.steps:
        console.print(f"  [dim]$[/] {escape(s.command)}", highlight=False)
    if r.leaderboard is not None:
        render_table(console, r.leaderboard)
    if r.report is not None:
        console.print(f"[bold]report:[/] {escape(r.report)} (open it in a browser)",
                      highlight=False)


@click.command("demo")
@click.option("--workdir", default=None,
              help="Where the demo's data, reports and zip go [default: DATA/demo, where "
                   "DATA is $HARNESS_DATA, else ./data].")
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="Training npz [default: DATA/training_set.npz if present, else synthetic].")
@click.option("--n", default=2400, show_default=True,
              help="Synthetic images when there is no data.")
@click.option("--seed", default=0, show_default=True)
@click.option("--epochs", type=int, default=None,
              help="Training epochs [default: about a minute's worth].")
@common
def demo_cmd(workdir, data, n, seed, epochs, profile, as_json):
    """Run the whole loop: inspect, clean, test set, train, score, pack, timecheck,
    leaderboard, explain, report."""
    status = (lambda msg: None) if as_json else (
        lambda msg: err_console.print(f"[bold cyan]>[/] {escape(msg)}", highlight=False))
    result = run_demo(workdir=workdir, data=data, n=n, seed=seed, epochs=epochs,
                      profile=profile, status=status)
    emit(result, as_json, _show)
