"""`harness verify ZIP`: does the zip load and agree on the server's exact runtime?"""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from harness.cli.options import common, no_optimize_option
from harness.cli.output import emit, err_console
from harness.shipping.verify import VerifyResult, verify_zip


def show_verify(console, r: VerifyResult) -> None:
    runtime = ", ".join(r.requirements)
    built = f", built in {r.build_s:.0f} s" if r.build_s is not None else ""
    console.print(f"server runtime: {escape(runtime)} ({escape(r.python)}{built})",
                  highlight=False)
    if r.loads_there:
        console.print(f"[green]loads there[/]: {r.versions_there}", highlight=False)
    else:
        console.print(f"[bold red]does not load there[/]: {escape(r.failure_there)}",
                      highlight=False)
    if not r.ok_here and not r.compared:
        console.print(f"[dim]does not run here[/] ({r.versions_here}, another kind of "
                      f"runtime than the server's; not held against the zip): "
                      f"{escape(r.failure_here.splitlines()[0])}", highlight=False)
    elif not r.ok_here:
        console.print(f"[red]fails here too[/]: {escape(r.failure_here)}", highlight=False)
    if r.loads_there and r.ok_here:
        if r.same_labels:
            console.print(f"[green]same labels[/] on all {r.n_images} images as here "
                          f"({r.versions_here})", highlight=False)
        else:
            console.print(f"[bold red]{r.n_different} of {r.n_images} labels differ[/] "
                          f"(here vs there): {r.differences}", highlight=False)
    verdict = "[bold green]OK[/]" if r.ok else "[bold red]NOT OK[/]"
    console.print(f"{verdict} {escape(r.target)} ({r.verify_s:.1f} s)", highlight=False)


@click.command("verify")
@click.argument("target")
@click.option("--n", "n", type=click.IntRange(1), default=64, show_default=True,
              help="Images in the sample.")
@click.option("--data", "data", default=None, type=click.Path(dir_okay=False),
              help="An npz to take the sample from [default: random pixels].")
@click.option("--python", "python", default=None, envvar="HARNESS_SERVER_PYTHON",
              help="An interpreter that already has the server's runtime "
                   "[env HARNESS_SERVER_PYTHON; default: a cached virtualenv, built once].")
@no_optimize_option
@common
def verify_cmd(target, n, data, python, no_optimize, profile, as_json):
    """Run TARGET (a zip) on the server's exact runtime and compare labels with here.

    The runtime (the profile's server requirements) is a virtualenv built on first use
    and cached under $HARNESS_CACHE/venvs (default ~/.cache/harness). Exits 1 when the
    zip does not load there or predicts other labels.
    """
    status = (lambda msg: None) if as_json else (lambda msg: err_console.print(f"[dim]{msg}[/]"))
    result = verify_zip(target, profile, n=n, data=data, python=python, status=status,
                        progress=not as_json, optimize=not no_optimize)
    emit(result, as_json, show_verify)
    if not result.ok:
        sys.exit(1)
