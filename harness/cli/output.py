"""Printing, apart from computing: one place turns a result object into rich or JSON.

Each command calls one library function that returns a result object (a dataclass),
then hands it to `emit` with a function that draws it for a person. With `--json`,
`emit` prints the object itself as one JSON document instead.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, numpy values, paths and sets into plain JSON types (NaN -> null)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def emit(result: Any, as_json: bool, show: Callable[[Console, Any], None]) -> None:
    """Print `result` as JSON (to stdout, nothing else) or through `show` for a person."""
    if as_json:
        print(json.dumps(to_jsonable(result), indent=2))
    else:
        show(console, result)
