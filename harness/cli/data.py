"""`harness data ...`: datasets in and out."""

from __future__ import annotations

import click
from rich.table import Table

from harness import datasets
from harness.cli.options import common
from harness.cli.output import emit
from harness.progress import progress_bar


@click.group()
def data():
    """Import, synthesise, inspect and clean datasets."""


def _show_import(console, r: datasets.ImportResult) -> None:
    table = Table(title=f"Imported {r.n_images} images into {r.out}")
    table.add_column("class")
    table.add_column("images", justify="right")
    for name, count in r.per_class.items():
        table.add_row(name, str(count))
    console.print(table)


@data.command("import")
@click.argument("root", type=click.Path(file_okay=False, path_type=str))
@click.argument("out", type=click.Path(dir_okay=False, path_type=str))
@common
def import_(root, out, profile, as_json):
    """Turn a folder of class subfolders of images into the competition's npz.

    Folders map to classes by name, case-insensitive, or by alias (ig = Immature
    granulocytes); images are centre-cropped and resized as the profile says.
    """
    result = datasets.import_folder(root, out, profile,
                                    progress=progress_bar("import", disable=as_json))
    emit(result, as_json, _show_import)
