"""`harness testset ...`: build and list pseudo-private test sets."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.options import common
from harness.cli.output import emit
from harness.testset import builder as lib
from harness.testset.recipes import DEFAULT_RECIPE
from harness.testset.store import testsets_dir


@click.group()
def testset():
    """Build the pseudo-private test set that predicts the hidden leaderboard."""


def _show_build(console, r: lib.TestsetResult) -> None:
    state = "reused (same data, seed and recipe; --force rebuilds)" if r.cached else "built"
    console.print(f"[bold]{r.name}[/]: {state} in {r.seconds:.1f} s -> {r.path}")
    console.print(f"recipe {r.recipe}, seed {r.seed}, holdout {r.holdout_fraction:g} of "
                  f"{r.source} ({r.n_source} images, sha256 {r.source_sha256[:12]})"
                  + (f", cleaned from {r.cleaned_from}" if r.cleaned_from else ""))
    console.print(f"train.npz {r.n_train} images (leakage guard removed {r.leakage_removed} "
                  f"near copies of holdout images); holdout.npz {r.n_holdout}; "
                  f"testset.npz {r.n_testset}")
    severities: dict[str, list[str]] = {}
    for cell, n in r.per_severity.items():
        fam, s = cell.split("/")
        severities.setdefault(fam, []).append(f"{s}:{n}")
    table = Table()
    for col, justify in (("family", "left"), ("images", "right"), ("severity:images", "left"),
                         ("seconds", "right")):
        table.add_column(col, justify=justify)
    for fam, n in r.per_family.items():
        secs = r.corrupt_seconds.get(fam)
        table.add_row(fam, str(n), " ".join(severities.get(fam, [])),
                      "" if secs is None else f"{secs:.1f}")
    console.print(table)


@testset.command("build")
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help="Cleaned .npz to split [default: data/training_clean.npz, else "
                   "data/training_set.npz cleaned first].")
@click.option("--holdout", type=float, default=0.15, show_default=True,
              help="Fraction of each class held out.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the split and every corruption.")
@click.option("--name", default="default", show_default=True, help="Folder under data/testsets/.")
@click.option("--recipe", default=DEFAULT_RECIPE, show_default=True,
              help="Families x severities (harness list recipes; harness.testset.recipes.RECIPES).")
@click.option("--force", is_flag=True, help="Rebuild even if an identical build exists.")
@common
def build(data, holdout, seed, name, recipe, force, profile, as_json):
    """Split cleaned data and build data/testsets/NAME/ (train, holdout, testset, manifest)."""
    result = lib.build(data=data, holdout=holdout, seed=seed, name=name, recipe=recipe,
                       profile=profile, force=force, progress=not as_json)
    emit(result, as_json, _show_build)


def _show_list(console, rows: list[lib.TestsetInfo]) -> None:
    if not rows:
        console.print(f"no test sets under {testsets_dir()} (build one: harness testset build)",
                      highlight=False)
        return
    table = Table(title=f"Test sets under {testsets_dir()}")
    for col in ("name", "kind", "recipe", "seed", "testset", "holdout", "train",
                "guard removed", "MB", "built"):
        table.add_column(col, justify="left" if col in ("name", "kind", "recipe", "built")
                         else "right")
    for r in rows:
        table.add_row(*("-" if v is None else str(v) for v in (
            r.name, r.kind, r.recipe, r.seed, r.n_testset, r.n_holdout, r.n_train,
            r.leakage_removed)), f"{r.megabytes:.1f}", r.built_at)
    console.print(table)


@testset.command("list")
@common
def list_(profile, as_json):
    """List built test sets: names, recipe versions, sizes."""
    emit(lib.list_testsets(), as_json, _show_list)
