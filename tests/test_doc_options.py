"""Every option the docs show exists: each `--option` in a `harness ...` command line of
README.md and docs/*.md is one of that command's, and the values a doc lists for an
option (`--format markdown|csv`) are among its choices.

The options are read from the click commands themselves, so a command that gains one
(or a branch that adds one) needs no change here.
"""

from __future__ import annotations

import re
import shlex

import click
import pytest

from harness.cli import main
from harness.paths import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SPAN = re.compile(r"`([^`\n]+)`")
# A listed choice: `--format markdown|csv` or `--format=table|csv`.
LISTED = re.compile(r"(--[\w-]+)[ =]([\w.-]+(?:\|[\w.-]+)+)")


def _command_lines(text: str) -> list[str]:
    """`harness ...` command lines: in code blocks (fenced or indented, `$ ` prompts
    included, trailing comments dropped) and in inline code spans; `&&`, `;` and `|`
    start another command."""
    lines, in_fence = [], False
    for raw in text.replace("\\\n", " ").splitlines():
        if raw.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or raw.startswith("    "):
            lines.append(raw.strip().removeprefix("$ ").split("  #")[0])
        else:
            lines += SPAN.findall(raw)
    commands = []
    for line in lines:
        for part in re.split(r"&&|;|\|(?![\w.-]+(?:\s|$|\|))", line):
            part = part.strip()
            if part.startswith("harness ") or part == "harness":
                commands.append(part)
    return commands


def _tokens(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:  # an unclosed quote in a shortened line
        return line.split()


def _resolve(tokens: list[str]) -> tuple[click.Command, str]:
    """The (sub)command a token list names, and its full name."""
    command, names = main, ["harness"]
    for token in tokens[1:]:
        if isinstance(command, click.Group) and token in command.commands:
            command = command.commands[token]
            names.append(token)
        elif not token.startswith("-"):
            break
    return command, " ".join(names)


def _options(command: click.Command) -> dict[str, click.Parameter]:
    found = {"--help": None}
    for param in command.params:
        for opt in (*param.opts, *getattr(param, "secondary_opts", [])):
            found[opt] = param
    return found


def _every_command(command=main, prefix="harness"):
    yield prefix, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _every_command(sub, f"{prefix} {name}")


def _choices(param) -> list[str] | None:
    return list(param.type.choices) if isinstance(getattr(param, "type", None),
                                                  click.Choice) else None


def _shown() -> list[tuple[str, str]]:
    return [(doc.relative_to(REPO_ROOT).as_posix(), line)
            for doc in DOCS for line in _command_lines(doc.read_text())]


def test_the_docs_show_harness_command_lines():
    shown = _shown()
    assert len(shown) > 50 and any(doc == "README.md" for doc, _ in shown)


def _listed(text: str):
    """(option, [values]) for each `--option a|b|c` in `text`; upper-case values are
    placeholders (NAME|FILE), not choices."""
    for option, values in LISTED.findall(text):
        listed = values.split("|")
        if not all(v.isupper() for v in listed):
            yield option, listed


def test_every_option_a_doc_shows_is_one_of_its_commands():
    wrong = []
    for doc, line in _shown():
        command, name = _resolve(_tokens(line))
        known = _options(command)
        tokens = _tokens(line)
        for token, after in zip(tokens, [*tokens[1:], ""]):
            option, _, value = token.partition("=")
            if re.fullmatch(r"--[a-z][\w-]*", option) and option not in known:
                wrong.append(f"{doc}: `{line}`: {name} has no {option} "
                             f"(it has {', '.join(sorted(known))})")
            choices = _choices(known.get(option))
            values = (value or after).strip("[]").split("|")
            if choices and not all(v.isupper() for v in values):  # not a placeholder
                wrong += [f"{doc}: `{line}`: {name} {option} takes {'|'.join(choices)}, "
                          f"not {v}" for v in values if v not in choices]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_the_choices_a_doc_lists_for_an_option_are_a_commands(doc):
    by_option: dict[str, list[tuple[str, list[str]]]] = {}
    for name, command in _every_command():
        for option, param in _options(command).items():
            if param is not None and _choices(param):
                by_option.setdefault(option, []).append((name, _choices(param)))
    wrong = []
    for span in SPAN.findall(doc.read_text()):
        for option, listed in _listed(span):
            owners = by_option.get(option, [])
            if not any(set(listed) <= set(choices) for _, choices in owners):
                wrong.append(f"`{span}`: no command's {option} takes all of "
                             f"{'|'.join(listed)} ("
                             + ("; ".join(f"{n}: {'|'.join(c)}" for n, c in owners)
                                or "no command has it") + ")")
    assert not wrong, f"{doc.name}:\n" + "\n".join(wrong)
