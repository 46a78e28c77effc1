"""`harness data inspect` and `harness data clean`: find the dirt, show it, remove it."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.data import data
from harness.cli.options import common
from harness.cli.output import emit
from harness.data import hygiene
from harness.progress import progress_bar

RULE_TITLES = {
    hygiene.PLANTED: "planted pictures",
    hygiene.CONFLICTING: "copies, labels disagree",
    hygiene.DUPLICATE: "copies, one label",
}
ACTIONS = {hygiene.PLANTED: "remove all", hygiene.CONFLICTING: "remove all",
           hygiene.DUPLICATE: "keep first"}


def _class_table(counts: dict, imbalance: dict) -> Table:
    table = Table(title="Classes")
    table.add_column("class")
    table.add_column("before", justify="right")
    table.add_column("after clean", justify="right")
    for name, before in counts["before"].items():
        table.add_row(name, str(before), str(counts["after"][name]))
    table.add_row("max/min", f"{imbalance['before']:.2f}", f"{imbalance['after']:.2f}",
                  style="dim")
    return table


def _show_inspect(console, r: hygiene.InspectReport) -> None:
    table = Table(title=f"Inspected {r.n_images} images of {r.dataset} "
                        f"in {r.seconds.get('total', 0):.1f} s")
    for col in ("finding", "groups", "images", "action", "removed"):
        table.add_column(col, justify="left" if col in ("finding", "action") else "right")
    table.add_row("exact copies", str(r.exact_groups["groups"]), str(r.exact_groups["images"]),
                  "grouped below", "")
    table.add_row("near copies", "", f"{r.near_pairs} pairs", "grouped below", "")
    for rule, title in RULE_TITLES.items():
        found = [f for f in r.findings if f.rule == rule]
        table.add_row(title, str(len(found)), str(sum(len(f.indices) for f in found)),
                      ACTIONS[rule], str(r.removed_by_rule[rule]))
    table.add_row("total", "", str(r.n_images), f"{r.n_kept} kept", str(r.n_removed),
                  style="bold")
    console.print(table)
    console.print(_class_table(r.class_counts, r.imbalance))
    for rule, path in r.sheets.items():
        console.print(f"{RULE_TITLES[rule]}: {path}", highlight=False)
    if r.report_dir:
        console.print(f"every group, its images, labels and verdict: {r.report_dir}/report.json",
                      highlight=False)


@data.command("inspect")
@click.argument("dataset", type=click.Path(dir_okay=True, path_type=str))
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=str),
              default=None, help="Folder for report.json and a contact sheet per finding.")
@common
def inspect_(dataset, report_dir, profile, as_json):
    """Find exact and near copies, conflicting labels and planted pictures in DATASET.

    Reads the npz only. With --report DIR, writes DIR/report.json (every group, its
    images, labels and verdict) and one contact-sheet PNG per finding to check by eye.
    """
    result = hygiene.inspect(dataset, profile, report_dir=report_dir,
                             progress=progress_bar("thumbnails", disable=as_json))
    emit(result, as_json, _show_inspect, document=hygiene.report_json)


def _show_clean(console, r: hygiene.CleanResult) -> None:
    table = Table(title=f"Cleaned {r.source} -> {r.out}: {r.n_removed} of {r.n_images} "
                        f"removed, {r.n_kept} kept")
    table.add_column("rule")
    table.add_column("removed", justify="right")
    table.add_column("why")
    for rule, n in r.removed_by_rule.items():
        table.add_row(RULE_TITLES[rule], str(n), r.reasons[rule])
    console.print(table)
    console.print(f"Every removed index, its rule and group: {r.report}")


@data.command("clean")
@click.argument("dataset", type=click.Path(dir_okay=True, path_type=str))
@click.argument("out", type=click.Path(dir_okay=False, path_type=str))
@common
def clean(dataset, out, profile, as_json):
    """Write DATASET without planted pictures and duplicates to OUT.

    Copies whose labels disagree are all removed; copies with one label keep the first.
    Writes OUT and OUT.report.json atomically; DATASET is never modified.
    """
    result = hygiene.clean(dataset, out, profile,
                           progress=progress_bar("thumbnails", disable=as_json))
    emit(result, as_json, _show_clean)
