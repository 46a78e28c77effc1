"""Writes, and checks, every example output in README.md and docs/*.md.

A block in the markdown between `<!-- example: NAME -->` and `<!-- /example -->` (a
```console fence inside) is written by this script: it runs example NAME's commands
(`EXAMPLES` below) in order, in an empty scratch folder, on data the project makes
itself (`harness data synth`: 300 images; baseline_cnn for 3 epochs), and puts each
command and what it printed into the block. `<!-- example: NAME head=N -->` keeps the
first N lines. Blocks between `<!-- file: PATH -->` and `<!-- /file -->` go the other
way: they are written into the scratch folder first, so the profile or model.py the
docs show is the file the commands use.

    python docs/examples.py           # rewrite the blocks that drifted (~2 min, 2 cores)
    python docs/examples.py --check   # exit 1 naming every block that drifted
    python docs/examples.py --fast    # only the examples that need no trained model
    python docs/examples.py calibrate # only these (running the ones before them too)

How it runs: one Python process, each command through click's CliRunner (the `harness`
command itself, without paying TensorFlow's import per command), in the scratch folder
with the data folder `data`, experiments in `experiments` (a copy of baseline_cnn) and
the leaderboard `sqlite:///data/leaderboard.sqlite`, so paths print relative; rich at
100 columns (an example may ask for more), without colour. A block shows stdout; for a
command that exits non-zero, stderr too.

What varies from run to run is normalised twice. In what is written, placeholders: the
scratch folder reads `~/an2dl`, the checkout `~/harness`, this interpreter
`.venv/bin/python`, run and zip stamps count up from 261130_120000, dates read
2026-11-30 12:00, trailing spaces go, and timecheck's note that the machine was busy is
left out. In what is compared (the block in the docs and a fresh run, both sides),
masks: durations, speeds, memory, megabytes, x.y.z versions and hex digests; in a
`volatile` example (numbers from a model trained on a few images, which move from run
to run and machine to machine, or times in a table's bare columns) every number. Runs
of spaces and table rules compare as one, so a column one character wider is no drift;
a word, a row, a column or a count that changed is. A block is rewritten only when it
drifted, so rerunning the script leaves git clean.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/usage.md", "docs/glossary.md")
WIDTH = 100
# How the scratch folder, the checkout and this interpreter read in the docs.
SCRATCH_AS, REPO_AS, PYTHON_AS = "~/an2dl", "~/harness", ".venv/bin/python"

# The scratch folder's settings: its own data folder and experiments, nothing shared.
ENV = {"HARNESS_DATA": "data", "HARNESS_EXPERIMENTS": "experiments",
       "HARNESS_DB_URL": "sqlite:///data/leaderboard.sqlite",
       "HARNESS_TUNE_STORAGE": None, "HARNESS_SERVER_PYTHON": None, "FORCE_COLOR": None,
       "NO_COLOR": "1", "TZ": "UTC", "TF_CPP_MIN_LOG_LEVEL": "3"}


@dataclass
class Example:
    """One block of the docs: commands run in order, what they print, how to compare it.

    Args:
        name: the marker's NAME.
        commands: as the docs show them; `{zip}` is the newest zip in dist/.
        slow: needs the trained model (not run by --fast; runs after every fast one).
        volatile: its numbers vary from run to run: --check masks every one.
        width: the terminal's columns (a table that would squeeze its cells gets more).
        setup: called with the scratch folder before the commands run.
        after: called with the scratch folder after them.
    """

    name: str
    commands: list[str]
    slow: bool = False
    volatile: bool = False
    width: int = WIDTH
    setup: Callable[[Path], None] | None = None
    after: Callable[[Path], None] | None = None


# --- what the examples score: docs/usage.md's my_submission/model.py (numpy only, so it
# runs in a second), its mean colours of each class, and broken copies of it

def _my_submission(root: Path) -> None:
    import numpy as np

    with np.load(root / "data" / "training_clean.npz") as d:
        images, labels = d["images"], d["labels"].reshape(-1)
    colour = images.reshape(len(images), -1, 3).mean(axis=1)
    np.save(root / "my_submission" / "centroids.npy",
            np.stack([colour[labels == c].mean(axis=0) for c in range(8)]))


def _broken(name: str, old: str, new: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        shutil.copytree(root / "my_submission", root / name)
        model_py = root / name / "model.py"
        model_py.write_text(model_py.read_text().replace(old, new))
    return make


def _nested_zip(root: Path) -> None:
    with zipfile.ZipFile(root / "nested.zip", "w") as z:
        for p in sorted((root / "my_submission").iterdir()):
            z.write(p, f"my_submission/{p.name}")


def _forget_calibration(root: Path) -> None:  # the docs go on with the profile's
    (root / "data" / "calibration.json").unlink()


EXAMPLES = [
    # 300 cells: the course file's 13,837 would take minutes at every step.
    Example("synth", ["harness data synth data/training_set.npz --n 300 --seed 0 --contaminate"]),
    Example("inspect", ["harness data inspect data/training_set.npz --report data/hygiene"]),
    Example("clean", ["harness data clean data/training_set.npz data/training_clean.npz"]),
    Example("testset-build", ["harness testset build"], setup=_my_submission),
    Example("testset-list", ["harness testset list"], width=140),
    Example("profile-show", ["harness profile show"]),
    Example("profile-check", ["harness profile check skin/harness.toml"]),
    Example("profile-check-broken", ["harness profile check skin/broken.toml"]),
    Example("score-submission", ["harness score my_submission"]),
    Example("score-holdout", ["harness score my_submission --testset "
                              "data/testsets/default/holdout.npz"]),
    Example("score-forbidden-import", ["harness score my_keras_cv"],
            setup=_broken("my_keras_cv", "import numpy as np\n",
                          "import keras_cv\nimport numpy as np\n")),
    Example("score-nested-zip", ["harness score nested.zip"], setup=_nested_zip),
    Example("score-bad-output", ["harness score my_probabilities"],
            setup=_broken("my_probabilities", "distance.argmin(axis=1)", "-distance")),
    Example("record", ["harness record my_submission --codabench 0.19 --phase 1 "
                       "--duration 4", "harness leaderboard"], volatile=True),
    Example("calibrate", ["harness calibrate"], after=_forget_calibration),
    Example("timecheck-submission", ["harness timecheck my_submission"], volatile=True),
    Example("new", ["harness new my_cnn --from baseline_cnn"]),
    Example("train", ["harness train baseline_cnn --epochs 3 --set batch_size=16"], slow=True,
            volatile=True),
    Example("score-experiment", ["harness score baseline_cnn"], slow=True, volatile=True),
    Example("pack", ["harness pack baseline_cnn --out dist"], slow=True, volatile=True),
    Example("timecheck", ["harness timecheck {zip}"], slow=True, volatile=True),
    Example("verify", [f"harness verify {{zip}} --python {PYTHON_AS}"], slow=True,
            volatile=True),
    Example("explain", ["harness explain baseline_cnn"], slow=True, volatile=True),
    Example("report", ["harness report"], slow=True, volatile=True),
]
BY_NAME = {e.name: e for e in EXAMPLES}

# --- the markdown --------------------------------------------------------------------

BLOCK = re.compile(r"<!-- example: (?P<name>[\w-]+)(?: head=(?P<head>\d+))? -->\n"
                   r"```console\n(?P<body>.*?)```\n<!-- /example -->", re.S)
FILE = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```\n"
                  r"<!-- /file -->", re.S)


# What one example printed: (the command as shown, its output as shown) per command.
Printed = list[tuple[str, str]]


def render(printed: Printed, head: int | None = None) -> str:
    """What a block holds: each command after `$ `, then its output; `head` lines of it."""
    lines = []
    for command, output in printed:
        lines += [f"$ {command}", *(line.rstrip() for line in output.splitlines())]
    if head is not None and len(lines) > head:
        lines = lines[:head] + [f"… ({len(lines) - head} more lines)"]
    return "\n".join(lines) + "\n"


# --- normalising ------------------------------------------------------------------------

STAMP = re.compile(r"(?<!\d)\d{6}_\d{6}(?!\d)")
DATE = re.compile(r"\b\d{4}-\d\d-\d\d([ T])\d\d:\d\d(:\d\d)?(\+00:00)?")
# timecheck's note on a loaded machine: true of the machine that wrote the docs, not of yours.
_BUSY = (r"this machine was busy \(load [\d.]+ on \d+ cores\): its speed drifts with the "
         r"load, so the estimate may be off by as much; time it again on a quiet machine"
         ).replace(" ", r"\s+")
BUSY = re.compile(rf"note:\s+{_BUSY}\n?|;\s+{_BUSY}")


class Placeholders:
    """What is written: the scratch folder, the interpreter, stamps and dates replaced.

    Stamps map to 261130_120000, 261130_120100, ... in the order they first appear, so
    a zip's name reads the same in `pack`'s output and in the command that times it.
    """

    def __init__(self, scratch: Path):
        self.paths = {str(scratch.resolve()): SCRATCH_AS, str(scratch): SCRATCH_AS,
                      sys.executable: PYTHON_AS, str(REPO): REPO_AS}
        self.stamps: dict[str, str] = {}

    def stamp(self, real: str) -> str:
        if real not in self.stamps:
            self.stamps[real] = f"261130_12{len(self.stamps):02d}00"
        return self.stamps[real]

    def __call__(self, text: str) -> str:
        for real, shown in sorted(self.paths.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(real, shown)
        text = STAMP.sub(lambda m: self.stamp(m.group(0)), BUSY.sub("", text))
        return DATE.sub(lambda m: "2026-11-30" + m.group(1) + "12:00"
                        + (":00" if m.group(2) else "") + (m.group(3) or ""), text)

    def real(self, shown: str) -> str:
        """A shown command with the real stamps and folder put back."""
        for real, as_shown in self.stamps.items():
            shown = shown.replace(as_shown, real)
        return shown.replace(PYTHON_AS, sys.executable)


MASKS = [re.compile(p, re.M) for p in (
    r"\d[\d,]*(\.\d+)?\s?(s|ms|ms/image|images/s|MiB|MB)\b",  # durations, speeds, sizes
    r"\b\d+\.\d+\.\d+\b",                                      # package versions
    r"\b[0-9a-f]{12,64}\b",                                    # digests
    r"(?<=│)\s*\d+\.\d\s*(?=│$)",                              # a last column of seconds
)]
NUMBER = re.compile(r"\d+(\.\d+)?")
RULES = re.compile(r"[─━═]+")


def comparable(text: str, volatile: bool) -> list[str]:
    """The block as --check compares it: a sequence of words, each command (`$ ` line)
    exactly, each command's output masked."""
    words: list[str] = []
    for part in re.split(r"^(\$ .*)$", text, flags=re.M):
        if not part.startswith("$ "):
            for mask in MASKS + ([NUMBER] if volatile else []):
                part = mask.sub("#", part)
        words += RULES.sub("─", part).split()
    return words


# --- running --------------------------------------------------------------------------

def _scratch(root: Path) -> None:
    shutil.copytree(REPO / "experiments" / "baseline_cnn", root / "experiments" / "baseline_cnn",
                    ignore=shutil.ignore_patterns("runs", "__pycache__"))
    for doc in DOCS:
        for m in FILE.finditer((REPO / doc).read_text()):
            path = root / m.group("path")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(m.group("body"))


def _newest_zip(root: Path) -> str:
    return max(str(p.relative_to(root)) for p in (root / "dist").glob("submission_*.zip"))


def _invoke(main, command: str) -> str:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, shlex.split(command)[1:])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise RuntimeError(f"{command} raised {result.exception!r}") from result.exception
    return result.stdout if result.exit_code == 0 else result.output


def _set_env(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        os.environ.pop(key, None)
        if value is not None:
            os.environ[key] = value


def run_examples(names: list[str], root: Path,
                 say: Callable[[str], None] = lambda line: None) -> dict[str, Printed]:
    """Run the named examples, in `EXAMPLES`' order, in the empty scratch folder `root`.

    Returns what each printed, with the placeholders in. The process's working folder,
    environment and rich's console width are restored afterwards.
    """
    from harness.cli import main, output

    _scratch(root)
    shown = Placeholders(root)
    saved_env = {k: os.environ.get(k) for k in ENV}
    consoles = (output.console, output.err_console)
    saved_cwd, widths = os.getcwd(), [c._width for c in consoles]  # None: the terminal's
    printed: dict[str, Printed] = {}
    try:
        _set_env(ENV)
        os.chdir(root)
        for example in (e for e in EXAMPLES if e.name in names):
            say(f"example {example.name}")
            for console in consoles:
                console.width = example.width
            if example.setup:
                example.setup(root)
            printed[example.name] = []
            for command in example.commands:
                zip_ = "{zip}" in command and _newest_zip(root)  # pack's, by then
                real = shown.real(command.replace("{zip}", zip_ or ""))
                text = shown(_invoke(main, real).rstrip()).rstrip()
                printed[example.name].append((shown(real), text))
            if example.after:
                example.after(root)
    finally:
        for console, width in zip(consoles, widths):
            console._width = width
        os.chdir(saved_cwd)
        _set_env(saved_env)
    return printed


def unknown_or_missing() -> list[str]:
    """Blocks naming no example, and examples no block shows: both are mistakes."""
    where: dict[str, list[str]] = {}
    for doc in DOCS:
        for m in BLOCK.finditer((REPO / doc).read_text()):
            where.setdefault(m.group("name"), []).append(doc)
    return ([f"{doc}: block '{n}' is no example of docs/examples.py"
             for n, docs in where.items() if n not in BY_NAME for doc in docs]
            + [f"example '{n}' is shown in none of {', '.join(DOCS)}"
               for n in BY_NAME if n not in where])


def drift(doc: str, body: str, example: Example, printed: Printed,
          head: int | None) -> str | None:
    """Why the block `body` no longer shows what `example` printed, or None if it does."""
    fresh = render(printed, head)
    if comparable(body, example.volatile) == comparable(fresh, example.volatile):
        return None
    diff = difflib.unified_diff(body.splitlines(), fresh.splitlines(), "in the docs",
                                "printed now", lineterm="", n=1)
    return f"{doc}: example '{example.name}' drifted\n" + "\n".join(list(diff)[:40])


def update(printed: dict[str, Printed], check: bool) -> list[str]:
    """Rewrite the blocks of the examples in `printed` that drifted (with `check`, only
    compare them); return what drifted, one entry per block with its diff."""
    drifted = []
    for doc in DOCS:
        path = REPO / doc
        text = path.read_text()

        def fill(m: re.Match, doc: str = doc) -> str:
            name, head = m.group("name"), m.group("head") and int(m.group("head"))
            if name not in printed:
                return m.group(0)
            why = drift(doc, m.group("body"), BY_NAME[name], printed[name], head)
            if not why:  # only masked parts differ: keep the block, so git shows no churn
                return m.group(0)
            drifted.append(why)
            start, end = (i - m.start() for i in m.span("body"))
            return m.group(0)[:start] + render(printed[name], head) + m.group(0)[end:]

        new = BLOCK.sub(fill, text)
        if not check and new != text:
            path.write_text(new)
    return drifted


def to_run(fast: bool, names: list[str]) -> list[str]:
    """The examples to run: all (or the fast ones), up to the last of `names` if given,
    since an example needs what the ones before it made."""
    order = [e.name for e in EXAMPLES if not (fast and e.slow)]
    if set(names) - set(order):
        raise SystemExit(f"unknown: {', '.join(sorted(set(names) - set(order)))}; examples: "
                         + ", ".join(order))
    return order[:max(order.index(n) for n in names) + 1] if names else order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 naming what drifted")
    parser.add_argument("--fast", action="store_true",
                        help="only the examples that need no trained model")
    parser.add_argument("names", nargs="*",
                        help="only these examples (and those they need) [default: all]")
    args = parser.parse_args(argv)
    problems = unknown_or_missing()
    with tempfile.TemporaryDirectory(prefix="harness-examples-") as tmp:
        printed = run_examples(to_run(args.fast, args.names), Path(tmp),
                               say=lambda line: print(line, file=sys.stderr))
    if args.names:
        printed = {n: p for n, p in printed.items() if n in args.names}
    drifted = update(printed, check=args.check)
    if args.check:
        problems += drifted
    else:
        for line in drifted:
            print("rewrote " + line.split("\n")[0].replace(" drifted", ""), file=sys.stderr)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
