"""The `harness` command: a thin layer over the library.

Each command parses its options, calls one library function and hands the result to
`output.emit`. A `HarnessError` from anywhere below becomes one line on stderr (or a
JSON error with `--json`) and a non-zero exit; other exceptions keep their traceback.
Ctrl-C and SIGTERM (`harness.interrupt`) unwind every command the same way: its
temporaries go, one line says what was kept, and the exit status is 130 or 143.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

from harness import interrupt

# First of all: Ctrl-C during the imports below exits with one line, not a traceback.
interrupt.while_starting()

import click  # noqa: E402

# TensorFlow's C++ start-up notices (oneDNN, CPU features) would bury the output;
# warnings and errors still show. A user's own setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from harness import __version__  # noqa: E402
from harness.dburl import mask_url  # noqa: E402
from harness.errors import HarnessError  # noqa: E402


def _fail(ctx: click.Context, message: str, hint: str | None, code: int,
          label: str = "error", **extra) -> None:
    """Print one error line (and its hint), or a JSON error with --json; exit `code`.

    Passwords in database URLs never reach the output, whatever the message quotes.
    """
    message, hint = mask_url(message), hint and mask_url(hint)
    if ctx.meta.get("json"):
        print(json.dumps({"ok": False, "error": message, "hint": hint, **extra}))
    else:
        from rich.markup import escape

        from harness.cli.output import err_console

        # soft_wrap: the line stays one line in a log or a pipe, whatever the width; a
        # message of several mistakes (a broken profile file) is a line for each.
        for line in message.splitlines() or [""]:
            err_console.print(f"[bold red]{label}:[/] {escape(line)}", highlight=False,
                              soft_wrap=True)
        if hint:
            err_console.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False,
                              soft_wrap=True)
    sys.exit(code)


def _command(ctx: click.Context) -> str:
    """`harness data clean` from the arguments left to a group (for the interrupt line)."""
    words, group = ["harness"], ctx.command
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args, 9.0 drops it
        warnings.simplefilter("ignore", DeprecationWarning)
        left = [*getattr(ctx, "protected_args", []), *ctx.args]
    for arg in left:
        sub = group.get_command(ctx, arg) if isinstance(group, click.Group) else None
        if sub is None:
            break
        words.append(arg)
        group = sub
    return " ".join(words)


class HarnessGroup(click.Group):
    """A click group that shows `HarnessError` as one clear line, and an interruption too."""

    def main(self, *args, **kwargs):
        with interrupt.handled():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        command = _command(ctx)
        try:
            return super().invoke(ctx)
        except HarnessError as e:
            _fail(ctx, e.message, e.hint, e.exit_code)
        except KeyboardInterrupt as e:
            e = e if isinstance(e, interrupt.Interrupted) else interrupt.Interrupted()
            _fail(ctx, interrupt.summary(command, e), None, e.exit_code, label="interrupted",
                  interrupted=True)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main():
    """A local Codabench: clean data, build a pseudo-private test set, score, time and
    pack submissions exactly as the server would, and keep a leaderboard."""


def _register() -> None:
    from harness.cli import (  # noqa: F401 (adds `data inspect`, `data clean`)
        bundle,
        calibrate,
        catalog,
        data,
        data_hygiene,
        demo,
        leaderboard,
        pack,
        profile,
        report,
        score,
        testset,
        timecheck,
        train,
        verify,
    )

    main.add_command(demo.demo_cmd)
    main.add_command(catalog.list_cmd)
    main.add_command(profile.profile)
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
    main.add_command(bundle.bundle)


_register()
