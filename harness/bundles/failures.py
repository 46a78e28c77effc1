"""The typed failures of a bundle run: which kind, which program, why, and its log.

Codabench shows a failed submission as a status and a line; a participant then needs
the program's own output. Every failure of `harness bundle run` is one of `KINDS`,
says in one line which program failed and why, and carries the tail of that
program's log (the kept files are in the run folder), so the command never answers
with "no logs".
"""

from __future__ import annotations

from harness.errors import HarnessError

KINDS = {
    "time_limit": "time limit",
    "ingestion_error": "ingestion error",
    "submission_error": "submission error",
    "scoring_error": "scoring error",
    "no_scores": "no scores file",
    "bad_scores": "unreadable scores file",
    "bad_submission": "bad submission zip",
    "sandbox_unavailable": "sandbox unavailable",
}


class BundleFailure(HarnessError):
    """A bundle run that failed, typed.

    Args:
        kind: one of `KINDS`.
        message: one line: which program, and why (the worker's words where it has them).
        hint: how to fix it, or None.
        log_tail: the end of the failing program's stderr (or stdout), "" where no
            program ran.
        log: the kept log file that tail comes from, or None.
    """

    def __init__(self, kind: str, message: str, hint: str | None = None,
                 log_tail: str = "", log: str | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown failure kind. Received: {kind!r}")
        super().__init__(message, hint=hint)
        self.kind = kind
        self.log_tail = log_tail
        self.log = log
