"""What kind of test set a score comes from, and what its number may be called.

One kind of test set forecasts the hidden leaderboard: a pseudo-private set built by
`harness testset build`, whose manifest names its recipe (and the calibration that ties
it to real Codabench results). A score on anything else is an accuracy on that file and
is named as one, never shown beside forecasts under the same heading:

- `pseudo_private`: a built test set (testset.npz with its manifest and recipe): the
  headline is a forecast, with its 95% interval;
- `holdout`: a built test set's holdout.npz: clean images from the same source;
- `shift`: a set its builder declares a distribution shift (`"kind": "shift"` in the
  manifest.json beside its testset.npz): evidence of how a model generalises, not a
  forecast;
- `own`: any other labelled npz: the user's own file.

A builder declares the kind in the manifest (`"kind": "shift"`); otherwise the harness
decides it from what it knows about the file (`harness.testset.store.load_testset`).
Every stored score carries its kind (the leaderboard's `testset_kind`); scores stored
before kinds existed get one inferred from what they kept (`infer`).

Examples:
    >>> title(OWN, "real240", "/x/real240.npz")
    'accuracy on real240.npz, your own file: not a forecast'
    >>> forecasts(PSEUDO_PRIVATE), forecasts(SHIFT)
    (True, False)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from harness.errors import HarnessError
from harness.registry import suggestion

PSEUDO_PRIVATE = "pseudo_private"
HOLDOUT = "holdout"
SHIFT = "shift"
OWN = "own"
# In the order the leaderboard and the report show their tables.
KINDS = (PSEUDO_PRIVATE, HOLDOUT, SHIFT, OWN)


def forecasts(kind: str | None) -> bool:
    """Whether a score on this kind of set forecasts the hidden score."""
    return kind == PSEUDO_PRIVATE


def declared(manifest: Mapping[str, Any], where: str | Path) -> str | None:
    """The kind a test set's builder declared in its manifest (`"kind"`), or None.

    Raises:
        HarnessError: a kind the harness does not know (with the closest known one).
    """
    kind = manifest.get("kind")
    if kind is None or kind in KINDS:
        return kind
    raise HarnessError(f"{where}: unknown test-set kind {kind!r}",
                       hint=suggestion(kind, KINDS) or "kinds: " + ", ".join(KINDS))


def subject(kind: str | None, name: str | None, path: str | None = None) -> str:
    """The set an accuracy that is no forecast was measured on, in words."""
    file = Path(path).name if path else f"{name}.npz"
    if kind == HOLDOUT:
        parent = Path(path).parent.name if path else str(name).split("/")[0]
        return f"{file} of test set {parent}, clean"
    if kind == SHIFT:
        return f"shift set {name}"
    return f"{file}, your own file"


def title(kind: str | None, name: str | None, path: str | None = None,
          recipe: str | None = None) -> str:
    """What a score on this set is, in words: the heading of its leaderboard table."""
    if kind == PSEUDO_PRIVATE:
        return (f"pseudo-private set {name}" + (f" ({recipe})" if recipe else "")
                + ": forecast of the hidden score")
    if kind is None:
        return "recorded on Codabench, not scored here"
    return f"accuracy on {subject(kind, name, path)}: not a forecast"


def infer(row: Mapping[str, Any]) -> str:
    """The kind of a score stored before kinds were: a headline, or a test set file with
    a built recipe's id (`name@version`; failed runs have no headline), is
    pseudo-private; a built set's holdout.npz is a holdout; the rest, the user's own."""
    path = str(row.get("testset_path") or "")
    if row.get("pseudo_private") is not None or (
            Path(path).name == "testset.npz" and "@" in str(row.get("recipe_version") or "")):
        return PSEUDO_PRIVATE
    return HOLDOUT if Path(path).name == "holdout.npz" else OWN
