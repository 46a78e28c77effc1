"""Database URLs as the harness takes them in and as it shows them.

A team's leaderboard and Optuna study live behind a URL such as
`postgresql://alice:s3cret@db.lab/harness`. Two things follow. The password must never
reach the screen, a log, an error or a JSON document: everything that shows a URL goes
through `mask_url` (or `mask_secrets` for free text that may quote one). And a plain
`postgresql://` URL would make SQLAlchemy look for psycopg2, while the harness installs
psycopg 3: `normalize_url` picks the driver that is there.

Examples:
    >>> mask_url("postgresql://alice:s3cret@db.lab:5432/harness")
    'postgresql://alice:***@db.lab:5432/harness'
    >>> normalize_url("postgresql://alice@db.lab/harness")
    'postgresql+psycopg://alice@db.lab/harness'
"""

from __future__ import annotations

import importlib.util
import re

# user:password@ in the authority part, and password=... in a query string.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#\s]*):(?P<pw>[^@\s]*)@")
_QUERY_PW = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)(?P<pw>[^&\s'\"]*)",
                       re.IGNORECASE)


def mask_url(url: str | None) -> str | None:
    """`url` with its password (in user:password@ or ?password=) replaced by ***."""
    if url is None:
        return None
    url = _USERINFO.sub(lambda m: f"{m['head']}:***@", str(url))
    return _QUERY_PW.sub(lambda m: f"{m['head']}***", url)


def passwords(url: str | None) -> list[str]:
    """The secrets a URL carries, to scrub from messages that quote them out of context."""
    if not url:
        return []
    found = [m["pw"] for m in _USERINFO.finditer(str(url))]
    found += [m["pw"] for m in _QUERY_PW.finditer(str(url))]
    from urllib.parse import unquote

    found += [unquote(pw) for pw in found]
    return [pw for pw in dict.fromkeys(found) if pw and pw != "***"]


def mask_secrets(text: str, *urls: str | None) -> str:
    """Free text (a driver's error, a log line) with every URL in it masked and the
    passwords of `urls` removed even where they appear alone."""
    text = mask_url(str(text))
    for url in urls:
        for pw in passwords(url):
            text = text.replace(pw, "***")
    return text


def normalize_url(url: str) -> str:
    """A PostgreSQL URL without a driver gets psycopg (3) when psycopg2 is not installed."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgresql", "postgres") and \
            importlib.util.find_spec("psycopg2") is None:
        return f"postgresql+psycopg://{rest}"
    if sep and scheme == "postgres":
        return f"postgresql://{rest}"
    return url
