"""The pipeline imports one way: the layers docs/architecture.md draws, enforced.

The layer block in docs/architecture.md is the rule: every import of a harness module,
at a module's top or inside a function, goes to the same layer or one below. Module-level
imports also form no circle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "harness"
BLOCK = re.compile(r"<!-- layers:.*?-->\s*```text\n(.*?)```", re.S)


def layers() -> list[tuple[str, list[str]]]:
    """(layer, its path patterns), bottom layer first, from docs/architecture.md."""
    match = BLOCK.search((REPO_ROOT / "docs" / "architecture.md").read_text())
    assert match, "docs/architecture.md lost its layer block"
    rows = [line.split() for line in match.group(1).strip().splitlines()]
    return [(row[0], row[1:]) for row in reversed(rows)]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str, table) -> int:
    """The index of the layer `module` belongs to (the most specific pattern wins)."""
    path = module.replace(".", "/")
    path += "/__init__.py" if (REPO_ROOT / path).is_dir() else ".py"
    best = None
    for index, (_, patterns) in enumerate(table):
        for pattern in patterns:
            if pattern.endswith("/*.py"):
                hit = path.count("/") == pattern.count("/") and \
                    path.startswith(pattern[:-len("*.py")])
            elif pattern.endswith("/"):
                hit = path.startswith(pattern)
            else:
                hit = path == pattern
            if hit and (best is None or len(pattern) > best[1]):
                best = (index, len(pattern))
    assert best, f"{module} is in no layer of docs/architecture.md"
    return best[0]


def _is_module(name: str) -> bool:
    return (PACKAGE.parent / name.replace(".", "/")).with_suffix(".py").is_file()


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported harness module, inside a function) for each import in a file."""
    module = module_name(path)
    tree = ast.parse(path.read_text())
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, functions)
              for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
            # `from harness.x import y` may import the submodule harness.x.y
            names += [f"{names[0]}.{a.name}" for a in node.names
                      if _is_module(f"{names[0]}.{a.name}")]
        else:
            continue
        found += [(node.lineno, n, id(node) in nested) for n in names
                  if n == "harness" or n.startswith("harness.")]
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_import_goes_up_a_layer():
    table = layers()
    upward = []
    for path in sources():
        here = layer_of(module_name(path), table)
        for line, target, in_function in imports(path):
            there = layer_of(target, table)
            if there > here:
                upward.append(f"{path.relative_to(REPO_ROOT)}:{line}: {table[here][0]} imports "
                              f"{target} ({table[there][0]})"
                              + (" inside a function" if in_function else ""))
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_module_level_imports_form_no_circle():
    graph = {module_name(p): {t for _, t, nested in imports(p) if not nested}
             for p in sources()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt not in graph or nxt == node:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
    assert not cycles, "import circles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("module, layer", [
    ("harness.scoring.scorer", "scoring"), ("harness.experiments", "primitives"),
    ("harness.cli.score", "commands"), ("harness.demo", "commands"),
])
def test_the_layer_block_places_modules_as_the_docs_say(module, layer):
    table = layers()
    assert table[layer_of(module, table)][0] == layer


def _one_letter_apart(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def test_no_two_modules_differ_by_one_letter():
    """`testset` beside `testsets` read as one idea in two places; a command's module
    (harness/cli/) is named for its command and is left out."""
    names = sorted({p.parent.name if p.stem == "__init__" else p.stem
                    for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts})
    close = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
             if _one_letter_apart(a, b)]
    assert not close, f"module names one letter apart: {close}"
    assert _one_letter_apart("testset", "testsets") and _one_letter_apart("scores", "scorer")
    assert not _one_letter_apart("store", "kinds")


def test_an_upward_import_is_found(tmp_path):
    """The walker sees imports inside functions, where upward ones used to hide."""
    source = tmp_path / "calib.py"
    source.write_text("def f():\n    from harness.results.leaderboard import Leaderboard\n")
    fake = PACKAGE / "testset" / "_layer_probe.py"
    try:
        fake.write_text(source.read_text())
        table = layers()
        found = [(t, nested) for _, t, nested in imports(fake)]
        assert ("harness.results.leaderboard", True) in found
        assert layer_of("harness.results.leaderboard", table) > \
            layer_of(module_name(fake), table)
    finally:
        fake.unlink()
