"""The one exception type users see.

Library code raises `HarnessError` for anything a user can fix (a bad file, a bad
option, a broken submission). The CLI catches it at the edge and prints it as one
line, with the hint when there is one, and exits non-zero. Anything else is a bug and
keeps its traceback.

`redact_url` hides the password of any database URL in a text: the CLI passes every
message through it, so a `--db postgresql://user:secret@host/db` never shows `secret`.
"""

import re

# scheme://user:PASSWORD@host: the password is whatever sits between the first ':'
# after the user and the last '@' before the host.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^:/@\s]*:)[^\s/]*@")


class HarnessError(Exception):
    """A problem the user can fix.

    Args:
        message: what is wrong, ending with the value received where there is one.
        hint: how to fix it, or None.
        exit_code: the process exit status the CLI uses (default 2).

    Examples:
        >>> raise HarnessError("labels out of range 0..7. Received: max=9",
        ...                    hint="relabel the images or pick another --profile")
        Traceback (most recent call last):
        ...
        harness.errors.HarnessError: labels out of range 0..7. Received: max=9
    """

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 2):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***.

    Examples:
        >>> redact_url("cannot reach postgresql://ann:s3cr@t@db:5432/lb")
        'cannot reach postgresql://ann:***@db:5432/lb'
    """
    return _URL_PASSWORD.sub(r"\1***@", text)
