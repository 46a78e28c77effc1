"""The results stage: every score and every real Codabench result, side by side.

Owns the leaderboard database (SQLite by default, any SQLAlchemy URL for a team) and the
records of what Codabench really said (`leaderboard`), its versioned schema (`schema`),
and copying one person's rows into a team's database (`push`).

Examples:
    >>> from harness.results import read_leaderboard, record
    >>> record("baseline_cnn", 0.61, phase=1)
    >>> read_leaderboard(testset="default").rows[0]["experiment"]

Every name below is imported on first use, so `import harness.results` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "leaderboard": ["Leaderboard", "read_leaderboard", "record", "LeaderboardResult", "CodabenchRecord"],
    "push": ["push", "PushResult"],
})
