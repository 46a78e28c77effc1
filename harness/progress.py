"""Progress bars for anything long (tqdm), quiet when output is for a script."""

from __future__ import annotations

import functools
import sys

from tqdm.auto import tqdm


def progress_bar(desc: str, disable: bool = False, **kwargs):
    """A function that wraps an iterable in a tqdm bar on stderr.

    Off with `disable=True` (e.g. under `--json`); otherwise tqdm's own rule applies
    (`disable=None`: no bar when stderr is not a terminal), so CI logs stay readable.
    """
    return functools.partial(tqdm, desc=desc, disable=True if disable else None, file=sys.stderr,
                             leave=False, dynamic_ncols=True, **kwargs)
