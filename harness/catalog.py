"""`harness list KIND`: what the harness knows of one kind, by name, with one line each.

Each kind is a registry of one stage (`harness.registry.Registry`); this module sits
with the commands, above every stage, because it imports them all.

Examples:
    >>> [e.name for e in list_kind("optimizers").entries]
    ['adam', 'adamw', 'nadam', 'lion']
    >>> list_kind("familes")
    Traceback (most recent call last):
    ...
    harness.errors.HarnessError: unknown kind of thing to list. Received: 'familes'
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable

from harness.registry import Registry, unknown


@dataclass
class Entry:
    """One named thing: its name and a line for people."""

    name: str
    description: str


@dataclass
class ListResult:
    """What `list_kind` found: the kind, what it is for, and its entries in order."""

    kind: str
    about: str
    entries: list[Entry] = field(default_factory=list)


def _docline(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _profiles() -> tuple[Registry, Callable]:
    from harness.profile import PROFILES, get_profile
    return PROFILES, lambda name, _path: get_profile(name).title


def _families() -> tuple[Registry, Callable]:
    from harness.testset.corruptions import FAMILIES
    return FAMILIES, lambda _name, fam: f"[{fam.kind}] {fam.description}"


def _recipes() -> tuple[Registry, Callable]:
    from harness.testset.recipes import RECIPES
    return RECIPES, lambda _name, versions: (
        f"@{', @'.join(v['version'] for v in versions)}: {versions[-1]['description']}")


def _augmentations() -> tuple[Registry, Callable]:
    from harness.training.augmentation import AUGMENTATIONS
    return AUGMENTATIONS, lambda _name, aug: aug.doc


def _optimizers() -> tuple[Registry, Callable]:
    from harness.training.optim import OPTIMIZERS
    return OPTIMIZERS, lambda _name, cls: f"keras.optimizers.{cls}"


def _experiments() -> tuple[Registry, Callable]:
    from harness.experiments import EXPERIMENTS

    def describe(_name, exp) -> str:
        try:
            return _docline(ast.get_docstring(ast.parse((exp.path / "config.py").read_text())))
        except (OSError, SyntaxError) as e:
            return f"(config.py unreadable: {e.__class__.__name__})"
    return EXPERIMENTS, describe


# kind -> (what it is for, where its registry is)
KINDS: dict[str, tuple[str, Callable[[], tuple[Registry, Callable]]]] = {
    "profiles": ("competitions: --profile NAME", _profiles),
    "families": ("corruption families of the pseudo-private test set", _families),
    "recipes": ("test-set recipes: harness testset build --recipe NAME[@VERSION]", _recipes),
    "augmentations": ("training augmentations: an experiment's augment list", _augmentations),
    "optimizers": ("an experiment's optimizer", _optimizers),
    "experiments": ("experiment packages: harness train NAME", _experiments),
}


def list_kind(kind: str) -> ListResult:
    """Every entry of one kind (`KINDS`), in its registry's order.

    Raises:
        HarnessError: an unknown kind (with the closest one).
    """
    if kind not in KINDS:
        raise unknown("kind of thing to list", kind, KINDS,
                      f"kinds: {', '.join(KINDS)}")
    about, load = KINDS[kind]
    registry, describe = load()
    return ListResult(kind, about, [Entry(name, describe(name, entry))
                                    for name, entry in registry.items()])
