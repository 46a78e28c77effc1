"""The `harness` command: a thin layer over the library.

Each command parses its options, calls one library function and hands the result to
`output.emit`. A `HarnessError` from anywhere below becomes one line on stderr (or a
JSON error with `--json`) and a non-zero exit; other exceptions keep their traceback.
"""

from __future__ import annotations

import json
import os
import sys

import click

# TensorFlow's C++ start-up notices (oneDNN, CPU features) would bury the output;
# warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from harness import __version__
from harness.errors import HarnessError


class HarnessGroup(click.Group):
    """A click group that shows `HarnessError` as one clear line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HarnessError as e:
            if ctx.meta.get("json"):
                print(json.dumps({"ok": False, "error": e.message, "hint": e.hint}))
            else:
                from rich.markup import escape

                from harness.cli.output import err_console

                err_console.print(f"[bold red]error:[/] {escape(e.message)}", highlight=False)
                if e.hint:
                    err_console.print(f"[yellow]hint:[/] {escape(e.hint)}", highlight=False)
            sys.exit(e.exit_code)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main():
    """A local Codabench: clean data, build a pseudo-private test set, score, time and
    pack submissions exactly as the server would, and keep a leaderboard."""


def _register() -> None:
    from harness.cli import (  # noqa: F401 (adds `data inspect`, `data clean`)
        calibrate,
        data,
        data_hygiene,
        demo,
        leaderboard,
        pack,
        report,
        score,
        testset,
        timecheck,
        train,
        verify,
    )

    main.add_command(demo.demo_cmd)
    main.add_command(data.data)
    main.add_command(testset.testset)
    main.add_command(calibrate.calibrate_cmd)
    main.add_command(train.train)
    main.add_command(train.new)
    main.add_command(train.tune)
    main.add_command(score.score_cmd)
    main.add_command(leaderboard.leaderboard_cmd)
    main.add_command(leaderboard.record_cmd)
    main.add_command(pack.pack_cmd)
    main.add_command(verify.verify_cmd)
    main.add_command(timecheck.timecheck_cmd)
    main.add_command(report.report_cmd)
    main.add_command(report.explain_cmd)


_register()
