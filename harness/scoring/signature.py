"""The class model.py must define, and whether the server can call it as it does.

The profile's contract names the class (`from model import Model`, or `model` on
CodaLab in 2023) and what its constructor receives (`Model()`, or `model(path)` with
the submission's folder). `check_class` reads model.py's syntax tree, without running
it, and lists every way the file breaks that contract as one line each: the class is
missing (and what it defines instead), `predict` is missing or takes no X, the
constructor cannot be called the server's way. A class that inherits from another is
given the benefit of the doubt for what it does not define itself.

Examples:
    >>> check_class(ast.parse("class Model:\\n    def predict(self, X): ..."), contract)
    []
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from harness.profile import Contract


@dataclass(frozen=True)
class Problem:
    """One way model.py breaks the contract: a `FAILURE_KINDS` slug, the line, a hint."""

    kind: str
    message: str
    hint: str


def find_class(tree: ast.Module, name: str) -> ast.ClassDef | None | bool:
    """The top-level class `name`; True if the name comes from elsewhere; None if absent."""
    found: ast.ClassDef | None | bool = None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            found = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name) == name for a in node.names):
                found = True
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found = True
    return found


def _methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _required_args(fn: ast.FunctionDef) -> list[str]:
    """Arguments after `self` that have no default."""
    positional = fn.args.posonlyargs + fn.args.args
    required = positional[1:len(positional) - len(fn.args.defaults)]
    required += [a for a, d in zip(fn.args.kwonlyargs, fn.args.kw_defaults) if d is None]
    return [a.arg for a in required]


def _params(fn: ast.FunctionDef) -> str:
    return ", ".join(a.arg for a in fn.args.posonlyargs + fn.args.args)


def _inherits(cls: ast.ClassDef) -> bool:
    return any(not (isinstance(b, ast.Name) and b.id == "object") for b in cls.bases)


def _predict_problems(cls: ast.ClassDef, contract: Contract) -> list[Problem]:
    methods, name = _methods(cls), cls.name
    if "predict" not in methods:
        if _inherits(cls):
            return []
        return [Problem("no_predict", f"class {name} has no predict method; the server calls "
                                      f"{contract.call}.predict(X)",
                        "add `def predict(self, X):` returning one label per image")]
    fn = methods["predict"]
    positional = fn.args.posonlyargs + fn.args.args
    if len(positional) < 2 and fn.args.vararg is None:
        return [Problem("bad_signature", f"{name}.predict takes no X; the server calls "
                                         f"predict(X) with every test image",
                        "define it as `def predict(self, X):`")]
    x_name = positional[1].arg if len(positional) > 1 else None
    extra = [a for a in _required_args(fn) if a != x_name]
    if extra:
        return [Problem("bad_signature", f"{name}.predict needs arguments besides X "
                                         f"({', '.join(extra)}); the server passes only X",
                        "give them default values")]
    return []


def _init_problems(cls: ast.ClassDef, contract: Contract) -> list[Problem]:
    methods, name, call = _methods(cls), cls.name, contract.call
    init = methods.get("__init__")
    if not contract.init_args:
        required = _required_args(init) if init else []
        if required:
            return [Problem("bad_signature", f"{name}.__init__ needs arguments "
                                             f"({', '.join(required)}); the server calls "
                                             f"{call} with none",
                            "give them defaults, or read settings from a file beside model.py")]
        return []
    hint = (f"define `def __init__(self, {', '.join(contract.init_args)}):` and load the "
            f"weights with os.path.join(path, NAME)")
    if init is None:
        if _inherits(cls):
            return []
        return [Problem("bad_signature", f"class {name} has no __init__, so it takes no "
                                         f"path; the server calls {call} with the "
                                         f"submission's folder", hint)]
    positional = init.args.posonlyargs + init.args.args
    given = len(contract.init_args)
    if len(positional) - 1 < given and init.args.vararg is None:
        return [Problem("bad_signature", f"{name}.__init__({_params(init)}) takes no path; "
                                         f"the server calls {call} with the submission's "
                                         f"folder (it would fail there with TypeError)", hint)]
    extra = _required_args(init)[given:]
    if extra:
        return [Problem("bad_signature", f"{name}.__init__ needs arguments besides path "
                                         f"({', '.join(extra)}); the server calls {call}",
                        "give them default values")]
    return []


def check_class(tree: ast.Module, contract: Contract) -> list[Problem]:
    """Every way model.py's class breaks the contract, one `Problem` each.

    When the contract's class is missing, the problems of the class model.py does
    define (one with a predict method, or of the same name in another case) are listed
    after it, so one line says all a zip made for another server would need.
    """
    name = contract.class_name
    cls = find_class(tree, name)
    if cls is True:
        return []
    if isinstance(cls, ast.ClassDef):
        return _predict_problems(cls, contract) + _init_problems(cls, contract)
    others = [n for n in tree.body if isinstance(n, ast.ClassDef)
              and (n.name.lower() == name.lower() or "predict" in _methods(n))]
    missing = Problem("no_model_class", f"model.py defines no class {name}; the server "
                                        f"runs `from model import {name}`",
                      f"define `class {name}:` at the top level of model.py (the name is "
                      f"case-sensitive)")
    if not others:
        return [missing]
    found = others[0]
    return [Problem(missing.kind, f"{missing.message} (it defines class {found.name})",
                    missing.hint), *_init_problems(found, contract)]
