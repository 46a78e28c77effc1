"""The one exception type users see.

Library code raises `HarnessError` for anything a user can fix (a bad file, a bad
option, a broken submission). The CLI catches it at the edge and prints it as one
line, with the hint when there is one, and exits non-zero. Anything else is a bug and
keeps its traceback.
"""


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
