"""`harness leaderboard [push]` and `harness record`: local scores beside Codabench's.

`harness leaderboard` is a group so that `push` can live under it, but with no
subcommand it is the table it always was, with the same options.
"""

from __future__ import annotations

import csv
import io

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.cli.options import common, db_option
from harness.cli.output import emit
from harness.results.leaderboard import CodabenchRecord, record
from harness.results.push import PushResult, push
from harness.results.standings import (
    ROW_COLUMNS,
    LeaderboardResult,
    LeaderboardTable,
    read_leaderboard,
)

# Columns a person sees, where a table has them (JSON and CSV carry every column). Only
# a pseudo-private set's table has a forecast: the others start with their accuracy.
SHOWN = (("experiment", "experiment"), ("pseudo_private", "forecast"),
         ("accuracy", "accuracy"), ("clean_accuracy", "clean"),
         ("codabench", "codabench"), ("codabench_phase", "phase"), ("gap", "gap"),
         ("calibration_points", "real pts"), ("f1_macro", "macro F1"),
         ("worst_group", "worst group"), ("recipe_version", "recipe"),
         ("predict_s", "predict s"), ("peak_rss_mb", "peak MiB"), ("runs", "runs"),
         ("scored_at", "scored (UTC)"))
LEFT = {"experiment", "worst_group", "recipe_version", "scored_at"}
# The phase is shown only beside experiments that have no score here, the recipe only
# beside forecasts (the recipe behind them).
HIDDEN_IN_SCORES = {"codabench_phase"}
HIDDEN_OFF_FORECASTS = {"recipe_version"}

def cell(column: str, row: dict) -> str:
    """One value of a row as text: accuracies to 4 places, seconds to 1, memory whole."""
    value = row[column]
    if column == "experiment" and row.get("holdout_overlap"):
        return f"{value} !"
    if column == "worst_group" and value is not None:
        return f"{value} {row['worst_group_accuracy']:.4f}"
    if column == "runs" and row["failures"]:
        latest = f", latest: {row['last_failure']}" if row["last_failure"] else ""
        return f"{value} ({row['failures']} failed{latest})"
    if column == "pseudo_private" and value is not None and row.get("pp_low") is not None:
        tie = " ≈" if row.get("tied_with_leader") else ""
        tie += " ^" if row.get("trained_on_recipe") else ""
        return f"{value:.4f} [{row['pp_low']:.2f}-{row['pp_high']:.2f}]{tie}"
    if value is None:
        return "-"
    if column == "gap":
        return f"{value:+.4f}"
    if column in ("pseudo_private", "accuracy", "clean_accuracy", "codabench", "f1_macro"):
        return f"{value:.4f}"
    if column == "predict_s":
        return f"{value:.1f}"
    if column == "peak_rss_mb":
        return f"{value:.0f}"
    if column == "scored_at":
        return value[:16].replace("T", " ")
    return str(value)


def shown(table: LeaderboardTable) -> list[tuple[str, str]]:
    """(column, header) of what a person sees of this table."""
    hidden = HIDDEN_IN_SCORES if table.testset is not None else set()
    hidden = hidden | (set() if table.forecast else HIDDEN_OFF_FORECASTS)
    return [(c, h) for c, h in SHOWN if c in table.columns and c not in hidden]


def missing_line(result: LeaderboardResult) -> str:
    return f"no leaderboard database at {result.where} yet: harness score TARGET creates it"


def render_table(console_: Console, result: LeaderboardResult) -> None:
    """One rich table per test set, each never squeezed below its natural width."""
    if result.missing:
        console_.print(missing_line(result), highlight=False, soft_wrap=True)
        return
    for i, table in enumerate(result.tables):
        columns = shown(table)
        if i:
            console_.print()
        sort = f" (sorted by {table.sort})" if table.testset is not None else ""
        # The heading above the table, not its title: a title wraps to a narrow table's width.
        console_.print(f"[bold]{escape(table.title)}[/]{sort}", highlight=False, soft_wrap=True)
        out = Table()
        for column, header in columns:
            out.add_column(header, justify="left" if column in LEFT else "right", no_wrap=True)
        for row in table.rows:
            out.add_row(*(escape(cell(c, row)) for c, _ in columns))
        width = console_.measure(out, options=console_.options.update_width(10_000)).maximum
        target = console_
        if width > console_.width:
            # A squeezed table turns every number into an ellipsis: let it overflow instead.
            target = Console(file=console_.file, width=width, no_color=console_.no_color,
                             force_terminal=console_.is_terminal)
        target.print(out)
    rows = result.rows
    if any(r.get("pp_low") is not None for r in rows):
        console_.print("forecast: the pseudo-private accuracy, which forecasts the hidden "
                       "score [95% interval]; ≈: within the test set's sampling noise of the "
                       "leader (not a sure difference); real pts: the Codabench results its "
                       "calibration rests on", highlight=False)
    if any(r.get("trained_on_recipe") for r in rows):
        console_.print("^: trained on the recipe's own corruption families (harness train "
                       "... chains), so its forecast runs high; the interval's low end "
                       "carries the measured optimism", highlight=False)
    if any(r.get("holdout_overlap") for r in rows):
        console_.print("!: its run trained on images of the test set's holdout, so its "
                       "score is inflated; retrain on the test set's train.npz",
                       highlight=False)
    if not result.tables:
        console_.print("no scores yet: harness score TARGET stores one")


def render_markdown(result: LeaderboardResult) -> str:
    if result.missing:
        return missing_line(result)
    parts = []
    for table in result.tables:
        columns = shown(table)
        lines = [f"**{table.title}**", "",
                 "| " + " | ".join(h for _, h in columns) + " |",
                 "|" + "|".join("---" if c in LEFT else "---:" for c, _ in columns) + "|"]
        lines += ["| " + " | ".join(cell(c, row) for c, _ in columns) + " |"
                  for row in table.rows]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def render_csv(result: LeaderboardResult) -> str:
    """Every row of every table; a row's testset and testset_kind say which table."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ROW_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.rows)
    return out.getvalue().rstrip("\n")


# --format: each a `show` for `emit`.
RENDER = {
    "table": render_table,
    "markdown": lambda _console, result: click.echo(render_markdown(result)),
    "csv": lambda _console, result: click.echo(render_csv(result)),
}


@click.group("leaderboard", invoke_without_command=True)
@click.option("--testset", default=None, help="Only scores on this test set (name or path).")
@click.option("--sort", default="pseudo_private", show_default=True,
              help=f"Column to sort by: {', '.join(ROW_COLUMNS)}.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv"]),
              default="table", show_default=True,
              help="How to print it for people and documents (for scripts: --json).")
@db_option()
@common
@click.pass_context
def leaderboard_cmd(ctx, testset, sort, fmt, db_url, profile, as_json):
    """The latest local score of each experiment beside what Codabench said, one table
    per test set: only a pseudo-private set's table has a forecast.

    A team shares one database: --db postgresql://user@host/harness (or HARNESS_DB_URL)
    reads it, and `harness leaderboard push --db URL` copies local rows into it.
    """
    if ctx.invoked_subcommand is not None:
        return
    emit(read_leaderboard(testset=testset, sort=sort, db_url=db_url), as_json, RENDER[fmt])


def _show_push(console_, r: PushResult) -> None:
    console_.print(f"pushed {r.scores_copied} score(s) and {r.codabench_copied} Codabench "
                   f"record(s) from {r.source} to {r.target}; {r.scores_present} score(s) "
                   f"and {r.codabench_present} record(s) were already there",
                   highlight=False)


@leaderboard_cmd.command("push")
@db_option("The team's database to copy into [env HARNESS_DB_URL].")
@click.option("--from", "source", default=None, metavar="PATH|URL",
              help="The local database to copy from [default: data/leaderboard.sqlite].")
@common
def push_cmd(db_url, source, profile, as_json):
    """Copy local scores and Codabench records the team's database lacks (idempotent)."""
    emit(push(db_url, source), as_json, _show_push)


def _show_record(console_, r: CodabenchRecord) -> None:
    phase = f" (phase {r.phase})" if r.phase is not None else ""
    duration = f", ran {r.duration_s:g} s" if r.duration_s is not None else ""
    console_.print(f"recorded Codabench {r.score:.4f}{phase}{duration} for "
                   f"{r.experiment}", highlight=False)


@click.command("record")
@click.argument("experiment")
@click.option("--codabench", "codabench_score", type=float, required=True,
              help="The accuracy the real leaderboard showed, 0..1.")
@click.option("--phase", type=int, default=None, help="The competition phase (1, 2, ...).")
@click.option("--duration", "duration_s", type=float, default=None,
              help="Seconds the server's run took, when it shows it.")
@db_option()
@common
def record_cmd(experiment, codabench_score, phase, duration_s, db_url, profile, as_json):
    """Store what Codabench said for EXPERIMENT, to show beside the local score."""
    emit(record(experiment, codabench_score, phase=phase, duration_s=duration_s, db_url=db_url),
         as_json, _show_record)
