"""`harness pack EXPERIMENT`: the zip a team uploads, checked and smoke-tested."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common
from harness.cli.output import emit, err_console
from harness.progress import above_bars
from harness.shipping.crossversion import FORMATS
from harness.shipping.packing import PackResult, pack


def show_pack(console, r: PackResult) -> None:
    for warning in r.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    for o in r.optimized:
        diff = "" if o["max_abs_diff"] is None else f" (max |diff| {o['max_abs_diff']:.1e})"
        console.print(f"optimize {escape(o['file'])}: {escape(o['reason'])}{diff}",
                      highlight=False)
    console.print(f"{escape(r.experiment)}, run {escape(r.run)}", highlight=False)
    console.print(f"models ship as {r.format}: {escape(r.format_why)}", highlight=False)
    for c in r.converted:
        console.print(f"tflite {escape(c['file'])}: {escape(c['reason'])}", highlight=False)
    if r.converted:
        console.print(f"runtime: {r.runtime}", highlight=False)
    table = Table(title=str(r.zip), title_justify="left")
    table.add_column("file")
    table.add_column("bytes", justify="right")
    table.add_column("sha256")
    for f in r.files:
        table.add_row(escape(f["name"]), f"{f['size']:,}", f["sha256"][:16])
    console.print(table)
    s = r.smoke
    console.print(f"settings {r.settings}; smoke run ok: {s['n_images']} images, load "
                  f"{s['load_s']:.2f} s, predict {s['predict_s']:.2f} s, peak "
                  f"{s['peak_rss_mb']:.0f} MiB", highlight=False)
    console.print(f"[bold green]{escape(str(r.zip))}[/] {r.size_bytes:,} bytes, sha256 {r.sha256}",
                  highlight=False)


@click.command("pack")
@click.argument("experiment")
@click.option("--out", "out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write submission_YYMMDD_HHMMSS.zip into.")
@click.option("--run", "run", default=None, type=click.Path(file_okay=False),
              help="The run folder to pack [default: the latest].")
# 8: the template's dihedral views of a square image (harness_runtime.VIEWS), not a class count.
@click.option("--tta", "tta", type=click.IntRange(1, 8), default=None,
              help="Test-time augmentation passes [default: the run's or 1].")
@click.option("--no-optimize", "no_optimize", is_flag=True,
              help="Keep grouped Conv2D layers as they are (no DepthwiseConv2D rewrite).")
@click.option("--data", "data", default=None, type=click.Path(dir_okay=False),
              help="An npz to smoke-test on [default: random pixels].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Models as .keras files, or SavedModel folders; auto picks SavedModel "
                   "under a Keras newer than the server's, which cannot load its .keras.")
@click.option("--runtime", "runtime", type=click.Choice(["keras", "tflite"]), default=None,
              help="What the zip runs on the server's CPU: tflite adds a TensorFlow Lite "
                   "twin of each model, kept only if it agrees with Keras [default: the "
                   "experiment's config runtime, else keras].")
@common
def pack_cmd(experiment, out, run, tta, no_optimize, data, fmt, runtime, profile, as_json):
    """Pack EXPERIMENT's trained run into a submission zip, checked and smoke-tested.

    The zip holds model.py, its helpers, the weights and submission.json at its root,
    nothing else. A zip whose smoke run fails is not written.
    """
    def status(msg: str) -> None:
        if not as_json:
            with above_bars():  # the line goes above the steps' bar, not through it
                err_console.print(f"[dim]{msg}[/]")

    emit(pack(experiment, profile, out=out, run=run, tta=tta, optimize=not no_optimize,
              data=data, format=fmt, runtime=runtime, status=status, progress=not as_json),
         as_json, show_pack)
