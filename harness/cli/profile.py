"""`harness profile show | check | runtime`: print a competition profile, check a profile
file, build the virtualenv of a profile's server runtime."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from harness import profile as lib
from harness import profile_schema
from harness.cli.options import common, json_option
from harness.cli.output import emit, err_console


@click.group()
def profile():
    """Competition profiles: what each server expects and runs (docs/profiles.md)."""


def _rows(p: lib.Profile) -> list[tuple[str, str]]:
    c = p.contract
    h, w, ch = p.input_shape
    return [
        ("name", p.name), ("title", p.title), ("platform", p.platform or "-"),
        ("source", p.source),
        ("input", f"({h}, {w}, {ch}) {p.input_dtype}"),
        ("classes", ", ".join(f"{i} {n}" for i, n in enumerate(p.class_names))),
        ("aliases", ", ".join(f"{a}={n}" for a, n in sorted(p.class_aliases.items())) or "-"),
        ("metric", p.metric), ("time limit", f"{p.time_limit_s:g} s"),
        ("hidden test set", f"{p.hidden_test_size} images"),
        ("server runtime", " ".join(p.server_requirements())),
        ("server threads", str(p.server_threads)),
        ("the server runs", f"from model import {c.class_name}; m = {c.call}; "
                            f"m.predict(X)"),
        ("working folder", profile_schema.WORKING_DIRS[c.working_dir]),
        ("zip must hold", ", ".join(["model.py", *c.required_files])),
        ("predict may return", "; ".join(profile_schema.PREDICT_RETURNS[r]
                                         for r in c.predict_returns)),
        ("models it loads", ", ".join(c.model_formats)),
        ("npz keys", f"{p.images_key}, {p.labels_key}"),
        ("synthetic data", p.synthetic or "-"),
        ("calibration", p.calibration.get("id", "-") if p.calibration else "-"),
    ]


def _show(console, p: lib.Profile) -> None:
    table = Table(title=escape(p.title), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in _rows(p):
        table.add_row(key, escape(value))
    console.print(table)


@profile.command("show")
@click.argument("name", required=False)
@common
def show(name, profile, as_json):
    """Print a profile: NAME (shipped) or FILE, as an argument or --profile like every
    command; default the one commands use here (harness.toml of this folder or above,
    else an2dl-2024-hw1)."""
    emit(lib.get_profile(name) if name else profile, as_json, _show)


def _show_check(console, result: lib.CheckResult) -> None:
    if result.ok:
        p = result.profile
        console.print(f"{result.path}: ok, profile {p.name!r} ({p.num_classes} classes, "
                      f"{'x'.join(map(str, p.input_shape))} {p.input_dtype}, "
                      f"{p.contract.call})")
        return
    for line in result.mistakes:
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False,
                          soft_wrap=True)


@profile.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
def check(file, as_json):
    """Check a profile FILE: one line per mistake, exit 2 when there is one."""
    result = lib.check_profile(file)
    emit(result, as_json, _show_check)
    if not result.ok:
        sys.exit(2)


def _show_runtime(console, r) -> None:
    how = ("this interpreter stands in for it (same major Keras); the virtualenv is for "
           "`harness verify`" if r.runs_here else "every run of a submission uses it")
    built = "cached" if r.build_s is None else f"built in {r.build_s:.0f} s"
    console.print(f"{r.profile}: {' '.join(r.requirements)} at {r.python} ({built}); {how}")


@profile.command("runtime")
@common
def runtime(profile, as_json):
    """Build (once per machine) the virtualenv of the profile's server runtime."""
    from harness.scoring.runtime import build_runtime

    status = (lambda msg: None) if as_json else (lambda msg: err_console.print(msg))
    emit(build_runtime(profile, status=status), as_json, _show_runtime)
