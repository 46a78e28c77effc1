"""What the harness stamps on what it writes: the time (`now_iso`) and a name made safe
for a file (`slug`).

Examples:
    >>> slug("baseline_cnn@260301 / tta 3")
    'baseline_cnn_260301_tta_3'
    >>> now_iso()[:2], now_iso().endswith("+00:00")
    ('20', True)
"""

from __future__ import annotations

import datetime as _dt
import re

SLUG_CHARS = 80


def now_iso() -> str:
    """The current UTC time to the second, ISO 8601 (sorts as text, reads everywhere)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def local_stamp(now: _dt.datetime | None = None) -> str:
    """`YYMMDD_HHMMSS` in local time: what run folders and packed zips are named by, so
    they sort by when they were made and read as a time to their owner."""
    return f"{now or _dt.datetime.now():%y%m%d_%H%M%S}"


def slug(text: str) -> str:
    """`text` as one path component: runs of anything but letters, digits, `.`, `-` and
    `_` become `_`, cut to 80 characters; "x" for nothing left. Files already written
    are found again by it: keep it stable."""
    return re.sub(r"[^\w.-]+", "_", text)[:SLUG_CHARS] or "x"
