"""`harness bundle check`: a Codabench competition bundle, checked as Codabench would."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from harness.cli.bundle_run import run, runtime
from harness.cli.options import json_option
from harness.cli.output import emit, err_console


@click.group()
def bundle():
    """Codabench competition bundles: check one, run a submission through it."""


def _when(moment) -> str:
    if moment is None:
        return "never ends"
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
                  f"sha256 {b.sha256[:12]})\nimage: {escape(image)}", highlight=False)
    phases = Table(title="phases")
    for name in ("#", "name", "start", "end", "time limit", "tasks", "max/day", "max"):
        phases.add_column(name)
    for p in b.phases:
        limit = f"{p.execution_time_limit_s:g} s ({p.time_limit_from})"
        phases.add_row(str(p.index), escape(p.name), _when(p.start) if p.start else "-",
                       _when(p.end), limit, ", ".join(map(str, p.task_indexes)),
                       str(p.max_submissions_per_day), str(p.max_submissions))
    console.print(phases)
    commands = {(g.task, g.kind): g.command for g in result.programs}
    tasks = Table(title="tasks")
    for name in ("#", "name", "ingestion", "scoring", "input data", "reference data"):
        tasks.add_column(name)
    for t in b.tasks:
        ingestion = commands.get((t.index, "ingestion"))
        if t.takes_result_submissions:
            ingestion = "none: takes result submissions"
        elif t.ingestion_only_during_scoring:
            ingestion = f"{ingestion} (during scoring)"
        tasks.add_row(str(t.index), escape(t.name), escape(str(ingestion or "-")),
                      escape(str(commands.get((t.index, "scoring")) or "-")),
                      escape(_rel(b, t.input_data)), escape(_rel(b, t.reference_data)))
    console.print(tasks)
    for board in b.leaderboards:
        columns = ", ".join(f"{c.title} ({c.key}, {c.sorting})" for c in board.columns)
        console.print(f"leaderboard {escape(board.title)}: {escape(columns)}", highlight=False)
    console.print(f"[bold green]OK[/] {escape(result.source)}: the bundle checks"
                  + (f" ({len(result.warnings)} warning(s))" if result.warnings else ""),
                  highlight=False)


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
