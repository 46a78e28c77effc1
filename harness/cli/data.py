"""`harness data ...`: datasets in and out."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.options import common
from harness.cli.output import emit
from harness.data import datasets
from harness.data import synth as synth_lib
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


def _show_synth(console, r: synth_lib.SynthResult) -> None:
    table = Table(title=f"Synthesized {r.n_images} images into {r.out} (seed {r.seed})")
    table.add_column("class")
    table.add_column("images", justify="right")
    for name, count in r.per_class.items():
        table.add_row(name, str(count))
    console.print(table)
    if r.truth:
        planted = ", ".join(f"{count} copies of the {name} picture"
                            for name, count in r.foreign.items())
        console.print(f"Planted on top of {r.n_clean} clean cells: {planted} (random labels); "
                      f"{r.duplicates} exact duplicates, {r.conflicting} with a conflicting label.")
        console.print(f"Truth (indices of everything planted): {r.truth}")
    console.print(f"Contact sheet: {r.sheet}")
    console.print(f"Drew {r.n_images} images in {r.seconds:.1f} s ({r.images_per_s:.0f} images/s).")


@data.command("synth")
@click.argument("out", type=click.Path(dir_okay=False, path_type=str))
@click.option("--n", "n", type=int, default=2400, show_default=True,
              help="Clean cell images to draw (dirt comes on top).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Same seed and options: byte-identical output.")
@click.option("--contaminate", is_flag=True,
              help="Add the course file's dirt: foreign-picture copies and duplicates; "
                   "writes OUT.truth.json recording them.")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Contact sheet PNG to write [default: OUT with suffix .png].")
@common
def synth(out, n, seed, contaminate, sheet, profile, as_json):
    """Draw a synthetic blood-smear dataset (the embedded default data).

    Eight cell classes with their own nucleus, cytoplasm and granules, random position,
    scale, rotation, stain colour, blur and noise; class shares as in the course file.
    """
    bar = progress_bar("synth", disable=as_json, unit="batch")
    result = synth_lib.write_synthetic(out, n=n, seed=seed, contaminate=contaminate,
                                       sheet=sheet, profile=profile, progress=bar)
    emit(result, as_json, _show_synth)
