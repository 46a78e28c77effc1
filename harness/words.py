"""Counts in words, as every command's output writes them: "1 row", "2 rows", never
"1 row(s)".

Examples:
    >>> plural(1, "real point"), plural(3, "real point")
    ('1 real point', '3 real points')
"""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`n` and `word`, in the plural (`many`, else word + "s") unless n is 1."""
    return f"{n} {word if n == 1 else many or word + 's'}"
