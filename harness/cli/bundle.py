"""`harness bundle check`: a Codabench competition bundle, checked as Codabench would."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from harness.cli.bundle_run import run, runtime
from harness.cli.options import json_option
from harness.cli.output import emit, err_console


@click.group()
def bundle():
    """Codabench competition bundles: check one, run a submission through it."""


def _when(moment) -> str:
    if moment is None:
        return "-"
    return f"{moment:%Y-%m-%d}" if (moment.hour, moment.minute) == (0, 0) \
        else f"{moment:%Y-%m-%d %H:%M}"


def _show_check(console, result) -> None:
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w.line())}", highlight=False,
                          soft_wrap=True)
    if not result.ok:
        for p in result.problems:
            err_console.print(f"[bold red]error:[/] {escape(p.line())}", highlight=False,
                              soft_wrap=True)
        return
    b = result.bundle
    image = f"{b.docker_image}" + (" (absent from the yaml: Codabench's default)"
                                   if b.docker_image_default else "")
    console.print(f"[bold]{escape(b.title)}[/] (competition.yaml version {b.version}, "
                  f"sha256 {b.sha256[:12]})", highlight=False, soft_wrap=True)
    _line(console, f"image: {image}")
    for p in b.phases:
        limit = f"{p.execution_time_limit_s:g} s" + (
            " (Codabench's default)" if p.time_limit_from == "default"
            else f" ({p.time_limit_from})")
        dates = (f"{_when(p.start)} to {_when(p.end)}" if p.end
                 else f"from {_when(p.start)}, no end")
        _line(console, f"phase {p.index} {p.name!r}: {dates}, "
                       f"time limit {limit}, tasks {', '.join(map(str, p.task_indexes))}, "
                       f"at most {p.max_submissions_per_day} submissions a day and "
                       f"{p.max_submissions} in all")
    commands = {(g.task, g.kind): g.command for g in result.programs}
    for t in b.tasks:
        ingestion = commands.get((t.index, "ingestion"))
        if t.key is not None:
            ingestion = f"on the Codabench server (task key {t.key})"
        elif t.takes_result_submissions:
            ingestion = "none: takes result submissions"
        elif t.ingestion_only_during_scoring:
            ingestion = f"{ingestion} (during the scoring run)"
        _line(console, f"task {t.index} {t.name!r}: ingestion {ingestion}; scoring "
                       f"{commands.get((t.index, 'scoring')) or '-'}; input data "
                       f"{_rel(b, t.input_data)}; reference data {_rel(b, t.reference_data)}")
    for board in b.leaderboards:
        columns = ", ".join(f"{c.title} ({c.key}, {c.sorting})" for c in board.columns)
        _line(console, f"leaderboard {board.title!r}: {columns}")
    console.print(f"[bold green]OK[/] {escape(result.source)}: the bundle checks"
                  + (f" ({len(result.warnings)} warning(s))" if result.warnings else ""),
                  highlight=False, soft_wrap=True)


def _line(console, text: str) -> None:
    console.print(escape(text), highlight=False, soft_wrap=True)


def _rel(b, path) -> str:
    if path is None:
        return "-"
    try:
        return path.relative_to(b.root).as_posix() + "/"
    except ValueError:
        return str(path)


@bundle.command("check")
@click.argument("bundle_path", metavar="BUNDLE")
@json_option
def check(bundle_path, as_json):
    """Check BUNDLE (a folder or the zip you upload) as Codabench's unpacker and worker
    would: one line per problem with its fix, exit 2 when there is one; else print the
    competition: phases, tasks and their commands, image, leaderboard columns."""
    from harness.bundles import check_bundle

    result = check_bundle(bundle_path)
    emit(result, as_json, _show_check)
    if not result.ok:
        sys.exit(2)


bundle.add_command(run)
bundle.add_command(runtime)
