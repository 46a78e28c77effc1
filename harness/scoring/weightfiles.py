"""Weight files a submission's model.py names but does not hold: which file is there
instead, and the rename that fixes it.

A real course zip (`irondog421-cnn-87.43.zip`) loads `weights.keras` in model.py and
holds `CNN_87.43.keras`; the server fails it in `Model()` with "File not found". `missing`
finds such names without running anything (`contract.check_source` warns with them);
`explain_missing` gives a run that failed that way the hint that names the file that is
there and the rename.

Examples:
    >>> print(rename_hint("weights.keras", ["CNN_87.43.keras"]))
    the submission holds 'CNN_87.43.keras', not 'weights.keras': rename it
    (mv CNN_87.43.keras weights.keras) or load 'CNN_87.43.keras' in model.py
    >>> print(rename_hint("weights.keras", []))
    the submission holds no weight file: save the trained model as weights.keras beside
    model.py
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

# Names a model.py can give its weight files.
WEIGHT_LITERAL = re.compile(r"^[\w./-]+\.(keras|h5|npy|npz|pkl|pt|onnx)$")
# How a loader says a file is not there (Keras, h5py, numpy, open()).
_NOT_FOUND = re.compile(r"No such file|No file or directory|File ?not ?found|FileNotFound|"
                        r"not found", re.IGNORECASE)
# Failures a missing file ends in: model.py opens its weights on import or in Model().
_LOAD_KINDS = ("init_error", "import_error")


@dataclass(frozen=True)
class MissingFile:
    """A weight file model.py names (at `line`) that the submission lacks, and the weight
    files it does hold (relative to its root)."""

    name: str
    line: int
    present: tuple[str, ...]

    def warning(self) -> str:
        return (f"model.py line {self.line} refers to {self.name!r}, which is not in the "
                f"submission (the server will not find it either): "
                f"{rename_hint(self.name, self.present)}")


def weight_files(root: str | os.PathLike) -> list[str]:
    """The weight files under `root` (by their suffix), relative to it, sorted."""
    root = Path(root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and WEIGHT_LITERAL.match(p.name))


def missing(root: str | os.PathLike) -> list[MissingFile]:
    """Each weight file that `root`/model.py names by a string literal and `root` lacks;
    none when there is no model.py or it does not parse (the contract says so)."""
    root = Path(root)
    try:
        tree = ast.parse((root / "model.py").read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return []
    present = tuple(weight_files(root))
    return [MissingFile(node.value, node.lineno, present) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and WEIGHT_LITERAL.match(node.value) and not (root / node.value).exists()]


def rename_hint(name: str, present) -> str:
    """What to do about `name` missing when the submission holds the files `present`: the
    rename when one file of its kind is there, the choice when several are."""
    same = [p for p in present if Path(p).suffix == Path(name).suffix] or list(present)
    if len(same) == 1:
        return (f"the submission holds {same[0]!r}, not {name!r}: rename it (mv {same[0]} "
                f"{name}) or load {same[0]!r} in model.py")
    if same:
        return (f"the submission holds {', '.join(map(repr, same))}, not {name!r}: rename "
                f"the one model.py should load to {name}, or load it by its name")
    return f"the submission holds no weight file: save the trained model as {name} beside model.py"


def explain_missing(failure, folder: str | os.PathLike):
    """`failure` with the rename hint when the run failed loading a weight file that
    model.py names and `folder` (the submission the run used) lacks; else unchanged."""
    if failure is None or failure.kind not in _LOAD_KINDS:
        return failure
    said = failure.message + "\n" + (failure.traceback or "")
    gone = missing(folder)
    named = [m for m in gone if Path(m.name).name in said] or gone
    if not named or not _NOT_FOUND.search(said):
        return failure
    return dataclasses.replace(failure, hint=rename_hint(named[0].name, named[0].present))
