"""`harness report` (the one-page HTML report) and `harness explain` (Grad-CAM on mistakes)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, competition_option, db_option, no_optimize_option
from harness.cli.output import emit
from harness.words import plural


def _show_report(console, r) -> None:
    console.print(f"[bold green]report[/] {escape(r.path)} ({r.size_bytes / 1e6:.1f} MB, "
                  f"{plural(r.images, 'image')} inline, "
                  f"{plural(len(r.experiments), 'experiment')}"
                  f"{' on ' + escape(r.testset) if r.testset else ''}, competition "
                  f"{escape(r.competition)})", highlight=False)
    if r.others_line:
        console.print(escape(r.others_line), highlight=False, soft_wrap=True)
    console.print(", ".join(f"{k} {v}" for k, v in r.sections.items()), highlight=False)
    console.print(f"open it in a browser: {Path(r.path).resolve().as_uri()}", highlight=False,
                  soft_wrap=True)


@click.command("report")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="The HTML file to write [default: DATA/report.html, where DATA is "
                   "$HARNESS_DATA, else ./data].")
@click.option("--testset", default=None, help="Only scores on this test set [default: all].")
@competition_option
@db_option()
@common
def report_cmd(out, testset, competition, db_url, profile, as_json):
    """Write every result to one self-contained HTML page (no network needed to open it)."""
    from harness.results.report import build_report

    emit(build_report(out, testset=testset, db_url=db_url, profile=profile,
                      progress=not as_json, competition=competition), as_json, _show_report)


def _show_explain(console, r) -> None:
    console.print(f"[bold]{escape(r.experiment)}[/] on {escape(r.testset)}: {r.n_mistakes} "
                  f"mistakes in {r.n_images} images (accuracy {r.accuracy:.4f}), Grad-CAM of "
                  f"layer {escape(r.layer)}, {r.seconds:.0f} s", highlight=False)
    table = Table(title="Galleries of the most confident mistakes", title_justify="left")
    for column, justify in (("group", "left"), ("mistakes", "right"), ("shown", "right"),
                            ("top confidence", "right"), ("gallery", "left")):
        table.add_column(column, justify=justify)
    for g in r.galleries:
        table.add_row(f"{g.kind} {escape(g.key)}", str(g.n_mistakes), str(len(g.items)),
                      f"{g.items[0].confidence:.3f}" if g.items else "-",
                      escape(Path(g.png).name))
    console.print(table)
    console.print(f"scored: {escape(r.model)}; {escape(r.predictions)}", highlight=False)
    console.print(f"galleries and explain.json in {escape(r.out_dir)} (harness report shows "
                  f"them)", highlight=False, soft_wrap=True)


@click.command("explain")
@click.argument("target")
@click.option("--testset", default=None,
              help="NAME (data/testsets/NAME/testset.npz) or a path to an npz "
                   "[default: data/testsets/default/testset.npz].")
@click.option("--n", "n", default=24, show_default=True, help="Mistakes per gallery.")
@click.option("--layer", default=None,
              help="The layer Grad-CAM weighs [default: the last convolutional feature map].")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Folder for the galleries [default: data/explain/NAME].")
@click.option("--per-family", default=400, show_default=True,
              help="Images of each corruption family run through the model (a seeded sample).")
@click.option("--name", "name", default=None,
              help="The name it goes by, as on the leaderboard [default: from TARGET].")
@no_optimize_option
@common
def explain_cmd(target, testset, n, layer, out, per_family, name, no_optimize, profile, as_json):
    """Show where a Keras submission looked when it was most confidently wrong.

    TARGET is an experiment, a submission folder or a zip; galleries per corruption
    family and per confused class pair are written as PNGs and added to the report.
    """
    from harness.results.explain import explain

    emit(explain(target, testset=testset, n=n, layer=layer, out=out, per_family=per_family,
                 profile=profile, name=name, progress=not as_json, optimize=not no_optimize),
         as_json, _show_explain)
