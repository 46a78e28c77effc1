"""Options shared by every command, each defined once (pip-tools' way)."""

from __future__ import annotations

import click

from harness.profile import DEFAULT_PROFILE, PROJECT_FILE, get_profile


def _profile(ctx: click.Context, _param, value):
    return get_profile(value)


def _json(ctx: click.Context, _param, value):
    # Errors raised later are printed as JSON too when the command was asked for JSON.
    ctx.meta["json"] = value
    return value


profile_option = click.option(
    "--profile", "profile", default=None, callback=_profile, expose_value=True,
    metavar="NAME|FILE",
    help=f"Competition profile: a shipped name or a .toml file [default: the {PROJECT_FILE} "
         f"of this folder or above, else {DEFAULT_PROFILE}].")

json_option = click.option(
    "--json", "as_json", is_flag=True, callback=_json, is_eager=True,
    help="Print the result as JSON for scripts.")


DB_HELP = ("Leaderboard database: a SQLAlchemy URL or a SQLite file "
           "[env HARNESS_DB_URL; default: data/leaderboard.sqlite].")


def db_option(help: str = DB_HELP):
    """--db URL, read from $HARNESS_DB_URL when not given; `help` says what it is for."""
    return click.option("--db", "db_url", default=None, envvar="HARNESS_DB_URL",
                        metavar="URL", help=help)


competition_option = click.option(
    "--competition", default=None, metavar="NAME|all",
    help="Only rows of this competition (a profile's name or a bundle's title; 'all': "
         "each in its own section) [default: the --profile's].")


def common(f):
    """Add --profile and --json to a command."""
    return profile_option(json_option(f))


no_optimize_option = click.option(
    "--no-optimize", "no_optimize", is_flag=True,
    help="Run an experiment's stock model, not the CPU rewrite `harness pack` ships "
         "(grouped convolutions as depthwise ones) [default: what pack ships].")
