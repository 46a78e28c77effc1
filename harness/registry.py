"""Named things the harness knows, and the one "did you mean" for a name it does not.

A `Registry` maps names to what they mean for one kind of thing (corruption families,
recipes, augmentations, optimizers; profiles and experiments, which are files found on
disk, through a `find` function). `get` returns the entry or raises one `HarnessError`
line with the closest known name; `unknown` builds that error for any list of names
(config keys, columns, test-set kinds), so every lookup in the harness answers alike.
`harness list KIND` prints a registry.

Examples:
    >>> colors = Registry("colour")
    >>> colors.register("red", "#f00")
    '#f00'
    >>> colors.get("red")
    '#f00'
    >>> colors.get("rde")
    Traceback (most recent call last):
    ...
    harness.errors.HarnessError: unknown colour. Received: 'rde'
    >>> unknown("colour", "rde", ["red", "green"]).hint
    "did you mean 'red'?"
"""

from __future__ import annotations

import difflib
from typing import Callable, Generic, Iterable, Iterator, Mapping, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


def closest(name: object, known: Iterable[str]) -> str | None:
    """The known name `name` most likely misspells, or None when none is close."""
    match = difflib.get_close_matches(str(name), list(known), n=1)
    return match[0] if match else None


def suggestion(name: object, known: Iterable[str]) -> str | None:
    """"did you mean 'x'?" for the closest known name, or None when none is close."""
    match = closest(name, known)
    return None if match is None else f"did you mean {match!r}?"


def unknown(kind: str, name: object, known: Iterable[str], hint: str | None = None,
            received: str | None = None) -> HarnessError:
    """The error for a name that is not one of `known`: the closest name as the hint,
    else `hint`, else the known names listed.

    Args:
        kind: what the name names ("corruption family", "config key for baseline_cnn").
        name: what was given.
        known: the names that exist.
        hint: said when no known name is close (default: "known KIND: a, b, c").
        received: how to show what was given (default: `repr(name)`).
    """
    known = list(known)
    why = suggestion(name, known) or hint or f"known: {', '.join(known) or 'none'}"
    shown = repr(str(name)) if received is None else received
    return HarnessError(f"unknown {kind}. Received: {shown}", hint=why)


class Registry(Generic[T]):
    """Names and what they mean, for one kind of thing.

    Args:
        kind: what an entry is, as error lines say it ("augmentation").
        find: for entries found on disk rather than registered: returns the current
            {name: entry} (read at each lookup, so a new file is seen at once).
        hint: said when an unknown name is close to none (e.g. how to make one).
        entries: the first entries, {name: entry}, for a registry written as a table.
    """

    def __init__(self, kind: str, find: Callable[[], Mapping[str, T]] | None = None,
                 hint: str | None = None, entries: Mapping[str, T] | None = None):
        self.kind = kind
        self.hint = hint
        self._find = find
        self._entries: dict[str, T] = {}
        for name, entry in (entries or {}).items():
            self.register(name, entry)

    def register(self, name: str, entry: T) -> T:
        """Add `entry` under `name` (a name registers once) and return it."""
        if self._find is not None:
            raise TypeError(f"the {self.kind} registry is read from disk")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def entries(self) -> Mapping[str, T]:
        """{name: entry}, in registration (or the finder's) order."""
        return self._find() if self._find is not None else self._entries

    def get(self, name: str) -> T:
        """The entry named `name`.

        Raises:
            HarnessError: an unknown name, with the closest known one as the hint.
        """
        entries = self.entries()
        if name in entries:
            return entries[name]
        raise unknown(self.kind, name, entries,
                      self.hint or f"known {self.kind}s: {', '.join(entries) or 'none'}")

    def names(self) -> list[str]:
        return list(self.entries())

    def items(self):
        return self.entries().items()

    def values(self):
        return self.entries().values()

    def __contains__(self, name: object) -> bool:
        return name in self.entries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.entries())

    def __getitem__(self, name: str) -> T:
        return self.get(name)
