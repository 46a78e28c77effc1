"""Printing, apart from computing: one place turns a result object into rich or JSON.

Each command calls one library function that returns a result object (a dataclass),
then hands it to `emit` with a function that draws it for a person. With `--json`,
`emit` prints the object itself as one JSON document instead.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from rich.console import Console

from harness.jsonable import to_jsonable

console = Console()
err_console = Console(stderr=True)


def emit(result: Any, as_json: bool, show: Callable[[Console, Any], None],
         document: Callable[[Any], Any] = to_jsonable) -> None:
    """Print `result` as JSON (to stdout, nothing else) or through `show` for a person.

    `document` makes the JSON document of a result that says more than its fields
    (a hygiene report lists every removed image)."""
    if as_json:
        print(json.dumps(document(result), indent=2))
    else:
        show(console, result)
