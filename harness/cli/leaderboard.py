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

from harness.cli.options import common, competition_option, db_option
from harness.cli.output import emit
from harness.errors import HarnessError
from harness.registry import unknown
from harness.results.push import PushResult, push
from harness.results.recording import BY_CONSTRUCTION, RecordResult, record_submission
from harness.results.standings import (
    ROW_COLUMNS,
    LeaderboardResult,
    LeaderboardTable,
    read_leaderboard,
)
from harness.words import plural

# Columns a person sees, where a table has them (JSON and CSV carry every column). Only
# a pseudo-private set's table has a forecast: the others start with their accuracy.
SHOWN = (("experiment", "experiment"), ("pseudo_private", "forecast"),
         ("accuracy", "accuracy"), ("clean_accuracy", "clean"),
         ("codabench", "codabench"), ("codabench_phase", "phase"),
         ("codabench_zip", "zip"), ("gap", "gap"),
         ("calibration_points", "real pts"), ("f1_macro", "macro F1"),
         ("worst_group", "worst group"), ("recipe_version", "recipe"),
         ("predict_s", "predict s"), ("peak_rss_mb", "peak MiB"), ("runs", "runs"),
         ("scored_at", "scored (UTC)"))
LEFT = {"experiment", "worst_group", "recipe_version", "scored_at", "codabench_zip"}
# The phase is shown only beside experiments that have no score here, the recipe only
# beside forecasts (the recipe behind them).
HIDDEN_IN_SCORES = {"codabench_phase", "codabench_zip"}
HIDDEN_OFF_FORECASTS = {"recipe_version"}
# What a table keeps however narrow the terminal; the rest leave, last first, until it
# fits (--wide keeps every one, --columns names them).
CORE = ("experiment", "pseudo_private", "accuracy", "codabench", "gap")
DROP_ORDER = ("scored_at", "recipe_version", "peak_rss_mb", "worst_group", "f1_macro",
              "calibration_points", "clean_accuracy", "runs", "predict_s",
              "codabench_phase", "codabench_zip", "total_s", "submission_sha256", "last_failure",
              "failures")
# A bundle table's own columns follow `experiment`; then these of the harness's.
BUNDLE_SHOWN = (("runs", "runs"), ("total_s", "total s"), ("scored_at", "scored (UTC)"))

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
    if column in ("codabench", "gap") and row.get("fitted_on"):
        return (f"{value:+.4f}" if column == "gap" else f"{value:.4f}") + " *"
    if column == "gap":
        return f"{value:+.4f}"
    if column in ("pseudo_private", "accuracy", "clean_accuracy", "codabench", "f1_macro"):
        return f"{value:.4f}" if isinstance(value, (int, float)) else str(value)
    if isinstance(value, float) and column not in ("total_s", "predict_s", "peak_rss_mb"):
        return f"{value:.4f}"
    if column == "total_s":
        return f"{value:.1f}"
    if column == "predict_s":
        return f"{value:.1f}"
    if column == "peak_rss_mb":
        return f"{value:.0f}"
    if column == "scored_at":
        return value[:16].replace("T", " ")
    return str(value)


def shown(table: LeaderboardTable, columns: list[str] | None = None
          ) -> list[tuple[str, str]]:
    """(column, header) of what a person sees of this table: every column it shows
    (a bundle's own under their titles), or those of `columns` it has, in that order."""
    headers = dict(SHOWN) | dict(BUNDLE_SHOWN) | table.titles
    if columns is not None:
        return [(c, headers.get(c, c)) for c in columns if c in table.columns]
    if table.titles:
        return [("experiment", "experiment"), *table.titles.items(), *BUNDLE_SHOWN]
    hidden = HIDDEN_IN_SCORES if table.testset is not None else set()
    hidden = hidden | (set() if table.forecast else HIDDEN_OFF_FORECASTS)
    return [(c, h) for c, h in SHOWN if c in table.columns and c not in hidden]


def known_columns(result: LeaderboardResult) -> list[str]:
    """Every column `--columns` may name: the harness's and the bundles' shown here."""
    return list(dict.fromkeys([*ROW_COLUMNS, *(c for t in result.tables for c in t.columns)]))


def parse_columns(text: str | None, result: LeaderboardResult) -> list[str] | None:
    """`--columns a,b,c` as a list; an unknown name raises with the closest known one."""
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    known = known_columns(result)
    for name in names:
        if name not in known:
            raise unknown("leaderboard column", name, known,
                          "columns: " + ", ".join(known))
    if not names:
        raise HarnessError("--columns names no column", hint="e.g. --columns "
                                                            "experiment,accuracy,codabench")
    return names


def _build(columns: list[tuple[str, str]], rows: list[dict]) -> Table:
    out = Table()
    for column, header in columns:
        out.add_column(escape(header), justify="left" if column in LEFT else "right",
                       no_wrap=True)
    for row in rows:
        out.add_row(*(escape(cell(c, row)) for c, _ in columns))
    return out


def _width(console_: Console, table: Table) -> int:
    return console_.measure(table, options=console_.options.update_width(10_000)).maximum


def fit(console_: Console, columns: list[tuple[str, str]], rows: list[dict]
        ) -> tuple[Table, list[str]]:
    """The table with as many of `columns` as fit the console's width (those of `CORE`
    always stay), and the columns it left out."""
    left_out: list[str] = []
    for drop in (None, *DROP_ORDER):
        if drop is not None and drop in dict(columns):
            columns = [(c, h) for c, h in columns if c != drop]
            left_out.append(drop)
        out = _build(columns, rows)
        if _width(console_, out) <= console_.width:
            break
    return out, left_out


def missing_line(result: LeaderboardResult) -> str:
    return f"no leaderboard database at {result.where} yet: harness score TARGET creates it"


def render_table(console_: Console, result: LeaderboardResult, wide: bool = False,
                 columns: list[str] | None = None) -> None:
    """One rich table per test set under a heading per competition; each fits the
    terminal by leaving columns out (`fit`; a line names them) unless `wide` or
    `columns` says which, and is never squeezed below its natural width."""
    if result.missing:
        console_.print(missing_line(result), highlight=False, soft_wrap=True)
        return
    heading = None
    left_out: dict[str, None] = {}
    for i, table in enumerate(result.tables):
        if i:
            console_.print()
        if table.competition != heading:
            heading = table.competition
            console_.print(f"[bold underline]competition {escape(str(heading))}[/]",
                           highlight=False, soft_wrap=True)
        sort = f" (sorted by {table.sort})" if table.testset is not None else ""
        # The heading above the table, not its title: a title wraps to a narrow table's width.
        console_.print(f"[bold]{escape(table.title)}[/]{sort}", highlight=False, soft_wrap=True)
        chosen = shown(table, columns)
        if wide or columns is not None:
            out = _build(chosen, table.rows)
        else:
            out, dropped = fit(console_, chosen, table.rows)
            left_out.update(dict.fromkeys(dropped))
        width = _width(console_, out)
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
    fitted = sorted({r["fitted_on"] for r in rows if r.get("fitted_on")})
    if fitted:
        console_.print(f"*: calibration {', '.join(fitted)} was fitted on this Codabench "
                       f"score: {BY_CONSTRUCTION}", highlight=False, soft_wrap=True)
    if left_out:
        console_.print(f"{plural(len(left_out), 'column')} left out to fit the terminal "
                       f"({console_.width} wide): {', '.join(left_out)}; --wide shows every "
                       f"one, --columns a,b,c picks", highlight=False)
    if not result.tables:
        console_.print(f"no scores of competition {result.competition} yet: "
                       f"harness score TARGET stores one", highlight=False, soft_wrap=True)
    if result.others_line:
        console_.print(result.others_line, highlight=False, soft_wrap=True)


def render_markdown(result: LeaderboardResult, columns: list[str] | None = None) -> str:
    if result.missing:
        return missing_line(result)
    parts = []
    for table in result.tables:
        chosen = shown(table, columns)
        lines = [f"**{table.competition}: {table.title}**", "",
                 "| " + " | ".join(h for _, h in chosen) + " |",
                 "|" + "|".join("---" if c in LEFT else "---:" for c, _ in chosen) + "|"]
        lines += ["| " + " | ".join(cell(c, row) for c, _ in chosen) + " |"
                  for row in table.rows]
        parts.append("\n".join(lines))
    if result.others_line:
        parts.append(result.others_line)
    return "\n\n".join(parts)


def render_csv(result: LeaderboardResult, columns: list[str] | None = None) -> str:
    """Every row of every table (or its `columns`); a row's competition, testset and
    testset_kind say which table; a bundle's own columns follow the harness's."""
    fields = columns or ["competition", *known_columns(result)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, restval="", extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({"competition": t.competition, **r} for t in result.tables
                     for r in t.rows)
    return out.getvalue().rstrip("\n")


def render(fmt: str, wide: bool, columns: list[str] | None):
    """The `show` for `emit` of a --format."""
    if fmt == "markdown":
        return lambda _console, result: click.echo(render_markdown(result, columns))
    if fmt == "csv":
        return lambda _console, result: click.echo(render_csv(result, columns))
    return lambda console_, result: render_table(console_, result, wide, columns)


@click.group("leaderboard", invoke_without_command=True)
@click.option("--testset", default=None, help="Only scores on this test set (name or path).")
@click.option("--sort", default="pseudo_private", show_default=True,
              help=f"Column to sort by: {', '.join(ROW_COLUMNS)}.")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv"]),
              default="table", show_default=True,
              help="How to print it for people and documents (for scripts: --json).")
@click.option("--wide", is_flag=True,
              help="Every column, however wide the terminal [default: those that fit].")
@click.option("--columns", "columns_text", metavar="A,B,C", default=None,
              help="Exactly these columns, in this order (names as --json has them).")
@competition_option
@db_option()
@common
@click.pass_context
def leaderboard_cmd(ctx, testset, sort, fmt, wide, columns_text, competition, db_url,
                    profile, as_json):
    """The latest local score of each experiment beside what Codabench said, one table
    per test set: only a pseudo-private set's table has a forecast.

    A team shares one database: --db postgresql://user@host/harness (or HARNESS_DB_URL)
    reads it, and `harness leaderboard push --db URL` copies local rows into it.
    """
    if ctx.invoked_subcommand is not None:
        return
    result = read_leaderboard(testset=testset, sort=sort, db_url=db_url,
                              competition=competition, profile=profile)
    emit(result, as_json, render(fmt, wide, parse_columns(columns_text, result)))


def _show_push(console_, r: PushResult) -> None:
    of = ", ".join(f"{name} {n}" for name, n in sorted(r.competitions.items()))
    console_.print(f"pushed {plural(r.scores_copied, 'score')}{f' ({of})' if of else ''} "
                   f"and {plural(r.codabench_copied, 'Codabench record')} from {r.source} "
                   f"to {r.target}; {plural(r.scores_present, 'score')} and "
                   f"{plural(r.codabench_present, 'record')} were already there",
                   highlight=False, soft_wrap=True)


@leaderboard_cmd.command("push")
@db_option("The team's database to copy into [env HARNESS_DB_URL].")
@click.option("--from", "source", default=None, metavar="PATH|URL",
              help="The local database to copy from [default: data/leaderboard.sqlite].")
@common
def push_cmd(db_url, source, profile, as_json):
    """Copy local scores and Codabench records the team's database lacks (idempotent)."""
    emit(push(db_url, source), as_json, _show_push)


def _show_record(console_, r: RecordResult) -> None:
    c, b = r.record, r.binding
    phase = f" (phase {c.phase})" if c.phase is not None else ""
    duration = f", ran {c.duration_s:g} s" if c.duration_s is not None else ""
    run = f", run {b.run_stamp}" if b.run_stamp else ""
    digest = f"sha256 {b.zip_sha256[:12]}" if b.zip_sha256 else \
        f"content sha256 {(b.content_sha256 or '')[:12]}"
    console_.print(f"recorded Codabench {c.score:.4f}{phase}{duration} for {b.zip_name} "
                   f"({digest}; {b.experiment}{run}: {b.how})", highlight=False,
                   soft_wrap=True)
    console_.print(f"it stands beside {plural(r.paired_rows, 'score row')} of that exact "
                   f"model in competition {r.competition}", highlight=False, soft_wrap=True)
    if r.by_construction:
        console_.print(f"[yellow]note[/] {escape(r.by_construction)}", highlight=False,
                       soft_wrap=True)


@click.command("record")
@click.argument("target", metavar="ZIP|FOLDER|EXPERIMENT")
@click.option("--codabench", "codabench_score", type=float, required=True,
              help="The accuracy the real leaderboard showed, 0..1.")
@click.option("--phase", type=int, default=None, help="The competition phase (1, 2, ...).")
@click.option("--duration", "duration_s", type=float, default=None,
              help="Seconds the server's run took, when it shows it.")
@db_option()
@common
def record_cmd(target, codabench_score, phase, duration_s, db_url, profile, as_json):
    """Store what Codabench said for the zip you uploaded, to show beside that model.

    ZIP is the file uploaded (dist/submission_X.zip), or the submission folder you
    zipped; EXPERIMENT means its latest packed zip (the output says which). The score
    pairs only with scores of that exact zip's model, and `harness calibrate` fits to
    such pairs only.
    """
    emit(record_submission(target, codabench_score, phase=phase, duration_s=duration_s,
                           db_url=db_url, profile=profile), as_json, _show_record)
