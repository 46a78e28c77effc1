"""`harness list KIND`: the profiles, families, recipes, augmentations, optimizers or
experiments the harness knows."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from harness.catalog import KINDS, ListResult, list_kind
from harness.cli.options import json_option
from harness.cli.output import emit


def _show(console, r: ListResult) -> None:
    table = Table(title=escape(f"{r.kind}: {r.about}"), title_justify="left")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for e in r.entries:
        table.add_row(escape(e.name), escape(e.description))
    console.print(table)


@click.command("list", help=f"List what exists of one KIND: {', '.join(KINDS)}.")
@click.argument("kind", metavar="KIND")
@json_option
def list_cmd(kind, as_json):
    emit(list_kind(kind), as_json, _show)
