"""`harness data ...`: datasets in and out."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.options import common
from harness.cli.output import emit
from harness.data import datasets, importing
from harness.data import real as real_lib
from harness.data import synth as synth_lib
from harness.progress import progress_bar


@click.group()
def data():
    """Import, decode the real data, synthesise, inspect and clean datasets."""


def _show_import(console, r: datasets.ImportResult) -> None:
    table = Table(title=f"Imported {r.n_images} images into {r.out}")
    table.add_column("class")
    table.add_column("images", justify="right")
    for name, count in r.per_class.items():
        table.add_row(name, str(count))
    console.print(table)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)


@data.command("import")
@click.argument("source", type=click.Path(path_type=str))
@click.argument("out", type=click.Path(dir_okay=False, path_type=str))
@click.option("--images-key", default=None,
              help="The npz key of the images [default: the profile's [data] images_key].")
@click.option("--labels-key", default=None,
              help="The npz key of the labels [default: the profile's [data] labels_key].")
@click.option("--allow-pickle", is_flag=True,
              help="Read labels stored as Python objects (a pickle: only a file you trust).")
@common
def import_(source, out, images_key, labels_key, allow_pickle, profile, as_json):
    """Turn SOURCE, a folder of class subfolders of images or a course's npz, into the
    competition's npz.

    Folders map to classes by name, case-insensitive, or by alias (ig = Immature
    granulocytes); images are centre-cropped and resized as the profile says. An npz is
    read under the profile's keys (2023: 'data', 'labels'); string labels map through
    the class names and aliases, float pixels become uint8.
    """
    result = importing.import_data(source, out, profile,
                                   progress=progress_bar("import", disable=as_json),
                                   images_key=images_key, labels_key=labels_key,
                                   allow_pickle=allow_pickle)
    emit(result, as_json, _show_import)


def _show_real(console, r: real_lib.RealDataResult) -> None:
    table = Table(title=f"Wrote {r.n_images:,} real images to {r.out}")
    table.add_column("class")
    table.add_column("images", justify="right")
    for name, count in r.per_class.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"Decoded by {r.script} under {r.python} in {r.seconds:.0f} s. Next: "
                  f"harness data inspect {r.out}", highlight=False)


@data.command("real")
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=str))
@click.option("--script", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="The real data's make_training_set.py [default: "
                   "../shared/data/make_training_set.py beside the checkout].")
@common
def real(out, script, profile, as_json):
    """Write the real blood-cell data beside the checkout to OUT as the competition's npz
    [default: data/training_set.npz].

    Runs its make_training_set.py with the harness's own Python, which has the numpy
    and Pillow it needs (a system python may not: No module named 'PIL').
    """
    emit(real_lib.make_real_data(out, script, profile), as_json, _show_real)


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
              help="Clean images to draw (dirt comes on top).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Same seed and options: byte-identical output.")
@click.option("--contaminate", is_flag=True,
              help="Add the course file's dirt: foreign-picture copies and duplicates; "
                   "writes OUT.truth.json recording them.")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Contact sheet PNG to write [default: OUT with suffix .png].")
@common
def synth(out, n, seed, contaminate, sheet, profile, as_json):
    """Draw a synthetic dataset of the profile's classes (the embedded default data).

    2024: blood smears, eight cell classes with their own nucleus, cytoplasm and
    granules; 2023: plant leaves, healthy or spotted. Random position, scale, rotation,
    colour, blur and noise; class shares as in the course file.
    """
    bar = progress_bar("synth", disable=as_json, unit="batch")
    result = synth_lib.write_synthetic(out, n=n, seed=seed, contaminate=contaminate,
                                       sheet=sheet, profile=profile, progress=bar)
    emit(result, as_json, _show_synth)
