"""The submission contract: what a model.py must be and what its `predict` must return.

Two checks, one on each side of a run, both as the profile's `Contract` says.
`check_source` reads the submission's code without running it (Python's `ast`):
model.py at the root with the files the server requires beside it, the contract's
class (`class Model`, or CodaLab 2023's `class model`) with a `predict` and a
constructor the server can call (`Model()`, or `model(path)`: `signature`), and
imports only of modules the scoring server has. `check_predictions` turns what
`predict` returned into (n,) int64 labels (argmaxing one-hot or probability rows where
the server does) or says what came back and what was expected.

A broken submission raises `SubmissionError`, a `HarnessError` with a `kind` slug that
the leaderboard stores beside the reason (see `FAILURE_KINDS`).

Examples:
    >>> warnings = check_source("experiments/baseline_cnn/staged", get_profile())
    >>> check_predictions(np.array([0, 3, 7]), 3, get_profile())
    array([0, 3, 7])
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.profile import Profile
from harness.scoring.kerasfiles import format_warnings, version_warnings
from harness.scoring.signature import Problem, check_class
from harness.scoring.weightfiles import missing

# The slugs a failed run is filed under, with what each means.
FAILURE_KINDS = {
    "no_model_py": "no model.py at the submission's root",
    "import_error": "importing model.py failed",
    "forbidden_import": "model.py imports a package the scoring server lacks",
    "no_model_class": "model.py defines no class of the contract's name (Model, model)",
    "no_predict": "Model has no predict method",
    "bad_signature": "the constructor or predict(X) cannot be called as the server calls them",
    "init_error": "the constructor (Model(), or model(path)) raised",
    "predict_error": "predict(X) raised",
    "bad_output": "predict returned something other than (n,) integer labels",
    "time_limit": "the run exceeded the time limit",
    "crashed": "the process died (exit code or signal)",
    "bad_zip": "the zip cannot be used as it is",
    "keras_version": "a model file saved by a newer Keras than the one that loads it",
    "missing_file": "the zip lacks a file the server requires (CodaLab's metadata)",
    "bad_settings": "submission.json is not a JSON object the template can read",
}

_IMPORT_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class SubmissionError(HarnessError):
    """A submission that would fail on the scoring server.

    Args:
        message: what went wrong, in the server's words where it has them.
        kind: a slug from `FAILURE_KINDS`, stored on the leaderboard.
        hint: how to fix it, or None.
        traceback: the submission's own traceback text, when it raised.
    """

    def __init__(self, message: str, kind: str, hint: str | None = None,
                 traceback: str | None = None):
        super().__init__(message, hint=hint)
        self.kind = kind
        self.traceback = traceback

    def to_failure(self) -> "Failure":
        return Failure(self.kind, self.message, self.hint, self.traceback)


@dataclass
class Failure:
    """A failed run as a record (what `SubmissionError` carries, as plain data)."""

    kind: str
    message: str
    hint: str | None = None
    traceback: str | None = None

    def error(self) -> SubmissionError:
        return SubmissionError(self.message, self.kind, self.hint, self.traceback)


def _expected(n: int, profile: Profile) -> str:
    return (f"expected a numpy array of shape ({n},) holding one integer label "
            f"0..{profile.num_classes - 1} per image")


def check_predictions(pred, n: int, profile: Profile) -> np.ndarray:
    """Turn what `predict` returned into (n,) int64 labels, or say what is wrong.

    Args:
        pred: the value `predict(X)` returned (an array, a list, None, ...).
        n: the number of images `predict` was given.
        profile: the competition profile (number of classes).

    Returns:
        (n,) int64 labels in 0..num_classes-1.

    Raises:
        SubmissionError: kind "bad_output", naming what came back and what was expected.

    Examples:
        >>> check_predictions([1.0, 2.0], 2, get_profile())
        array([1, 2])
    """
    expected = _expected(n, profile)

    def bad(what: str, hint: str = expected) -> SubmissionError:
        return SubmissionError(f"predict returned {what}; {expected}", "bad_output", hint=hint)

    if pred is None:
        raise bad("None", hint="does predict end with `return` of the labels?")
    if isinstance(pred, (list, tuple)) and len(pred) != n:
        raise bad(f"a {type(pred).__name__} of {len(pred)} items for {n} images")
    try:
        arr = np.asarray(pred)
    except (ValueError, TypeError) as e:
        raise bad(f"a {type(pred).__name__} that is not an array ({e})") from None
    k = profile.num_classes
    if arr.ndim == 2 and arr.shape[1] == k and arr.shape[0] == n:
        return _argmax_rows(arr, profile, bad)
    if arr.ndim != 1:
        raise bad(f"an array of shape {arr.shape}",
                  hint="return one label per image; .reshape(-1) or np.argmax(..., axis=1)")
    if len(arr) != n:
        raise bad(f"{len(arr)} labels for {n} images",
                  hint="call the network on the whole X and return one label per image")
    if arr.dtype.kind == "f":
        nan = int(np.isnan(arr).sum())
        if nan:
            raise bad(f"{nan} NaN value(s) among {n} float labels",
                      hint="the network output NaN: check the weights and the preprocessing")
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            sample = arr[np.flatnonzero(arr != np.round(arr))[:3]]
            raise bad(f"float labels that are not whole numbers (e.g. {sample.tolist()})",
                      hint="return np.argmax(probabilities, axis=1), not the probabilities")
    elif arr.dtype.kind not in "iub":
        raise bad(f"an array of dtype {arr.dtype}")
    labels = arr.astype(np.int64)
    if n and (labels.min() < 0 or labels.max() >= k):
        raise bad(f"labels out of range (min {labels.min()}, max {labels.max()})",
                  hint=f"labels are class indices 0..{k - 1}")
    return labels


def _argmax_rows(arr: np.ndarray, profile: Profile, bad) -> np.ndarray:
    """Labels from (n, k) rows, where the server argmaxes them itself; else the refusal."""
    accepts = set(profile.contract.predict_returns)
    if not accepts & {"onehot", "probabilities"}:
        raise bad(f"an array of shape {arr.shape}: class probabilities or one-hot rows, "
                  f"the argmax is missing",
                  hint="return np.argmax(probabilities, axis=1) (the template does this)")
    if arr.dtype.kind not in "iubf" or not np.all(np.isfinite(arr)):
        raise bad(f"(n, {arr.shape[1]}) rows that are not finite numbers")
    if "probabilities" not in accepts and not (np.isin(arr, (0, 1)).all()
                                               and np.all(arr.sum(axis=1) == 1)):
        raise bad("rows that are not one-hot (this server argmaxes one-hot rows only)",
                  hint="return np.argmax(probabilities, axis=1)")
    return np.argmax(arr, axis=1).astype(np.int64)


def _local_module(root: Path, name: str) -> Path | None:
    """The file a top-level import `name` resolves to inside the submission, if any."""
    if (root / f"{name}.py").is_file():
        return root / f"{name}.py"
    if (root / name / "__init__.py").is_file():
        return root / name / "__init__.py"
    if (root / name).is_dir() or any(root.glob(f"{name}.*.so")):
        return root / name
    return None


def _guarded_imports(tree: ast.AST) -> set[int]:
    """ids of import nodes inside a `try` whose handler catches a failed import."""
    guarded = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        names = set()
        for h in node.handlers:
            if h.type is None:
                names.add("BaseException")
            for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]):
                if isinstance(t, ast.Name):
                    names.add(t.id)
        if names & _IMPORT_GUARDS:
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)
                        if isinstance(n, (ast.Import, ast.ImportFrom))}
    return guarded


def _imports(tree: ast.AST):
    """(top-level module, line) of every absolute, unguarded import in `tree`."""
    guarded = _guarded_imports(tree)
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def _parse(path: Path, root: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
    except SyntaxError as e:
        rel = path.relative_to(root)
        raise SubmissionError(f"{rel} line {e.lineno}: SyntaxError: {e.msg}", "import_error",
                              hint=f"fix the syntax of {rel}; python -m py_compile {rel}") from None


def _check_imports(root: Path, profile: Profile) -> None:
    """Follow model.py's imports through the submission's own modules; refuse foreign ones."""
    todo, seen = [root / "model.py"], set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for top, line in _imports(_parse(path, root)):
            local = _local_module(root, top)
            if local is not None:
                todo.append(local)
            elif not profile.may_import(top):
                rel = path.relative_to(root)
                raise SubmissionError(
                    f"{rel} line {line} imports {top!r}, which the scoring server does not "
                    f"have: it would fail there with ModuleNotFoundError: No module named "
                    f"'{top}'", "forbidden_import",
                    hint="remove the import, or ship that code inside the submission; the "
                         "server runs " + ", ".join(profile.server_requirements()))


def _check_contract(root: Path, tree: ast.Module, profile: Profile) -> None:
    """Every way the submission breaks the contract, in one line (a zip made for another
    server's contract breaks several at once): files the server requires, the class."""
    problems = _missing_problems(root, profile) + check_class(tree, profile.contract)
    if problems:
        raise SubmissionError("; ".join(p.message for p in problems), problems[0].kind,
                              hint="; ".join(dict.fromkeys(p.hint for p in problems)))


def _missing_problems(root: str | os.PathLike, profile: Profile) -> list[Problem]:
    missing = [name for name in profile.contract.required_files
               if not (Path(root) / name).exists()]
    if not missing:
        return []
    names = ", ".join(missing)
    why = ("CodaLab runs a zip as code only when its root holds it; without it the zip is "
           "taken for results and never runs" if profile.platform == "codalab"
           else "the server requires it")
    return [Problem("missing_file", f"the submission's root holds no {names} ({why})",
                    f"add it (an empty file will do): touch {names} next to model.py, then "
                    f"zip again")]


def missing_required(root: str | os.PathLike, profile: Profile) -> SubmissionError | None:
    """The error for a submission without a file the server requires, else None."""
    problems = _missing_problems(root, profile)
    return SubmissionError(problems[0].message, problems[0].kind,
                           hint=problems[0].hint) if problems else None


def find_model_py(root: str | os.PathLike) -> Path | None:
    """A model.py below `root` (not at it), nearest first: where a misplaced one sits."""
    candidates = sorted(Path(root).rglob("model.py"), key=lambda p: (len(p.parts), str(p)))
    return next((p for p in candidates if p.parent != Path(root)), None)


def check_source(submission_dir: str | os.PathLike, profile: Profile) -> list[str]:
    """Check a submission folder's code against the contract, without running it.

    Args:
        submission_dir: the folder that would be the zip's root.
        profile: the competition profile (which modules the server has).

    Returns:
        Warnings that do not stop a run (e.g. a weight file model.py names is missing,
        a .keras file saved by a Keras newer than the server's).

    Raises:
        SubmissionError: no model.py at the root, a syntax error, no `class Model`, no
            `predict`, an `__init__` or `predict` the server cannot call, or an import of
            a module the server lacks.

    Examples:
        >>> check_source("submission_folder", get_profile())
        []
    """
    root = Path(submission_dir)
    model_py = root / "model.py"
    if not model_py.is_file():
        nested = find_model_py(root)
        if nested is not None:
            sub = nested.parent.relative_to(root)
            raise SubmissionError(
                f"no model.py at the submission's root; it sits in the subfolder {sub}/",
                "no_model_py",
                hint=f"the server looks only at the root: use {nested.parent} as the "
                     f"submission, or zip its contents: cd {nested.parent} && zip -r ../sub.zip .")
        raise SubmissionError(f"no model.py in {root}", "no_model_py",
                              hint="a submission is a folder (or zip) with model.py at its "
                                   "root; start from the template in harness/submission_template/")
    tree = _parse(model_py, root)
    _check_contract(root, tree, profile)
    _check_imports(root, profile)
    _check_settings(root)
    return [m.warning() for m in missing(root)] + version_warnings(root, profile) + \
        format_warnings(root, profile)


def _check_settings(root: Path) -> None:
    """The template's runtime reads submission.json at start-up: bad JSON fails there."""
    path = root / "submission.json"
    if not (root / "harness_runtime.py").is_file() or not path.is_file():
        return
    try:
        settings = json.loads(path.read_bytes())
    except ValueError as e:
        raise SubmissionError(f"submission.json is not valid JSON ({str(e)[:100]}); the "
                              f"template's harness_runtime.py would fail reading it",
                              "bad_settings",
                              hint='fix it: a JSON object such as {"tta": 2}, or delete '
                                   'it for the defaults') from None
    if not isinstance(settings, dict):
        raise SubmissionError("submission.json is not a JSON object", "bad_settings",
                              hint='fix it: a JSON object such as {"tta": 2}')
