"""harness: a local Codabench for image-classification code-submission competitions.

It cleans a team's data, builds a pseudo-private test set that predicts the hidden
score, runs a submission exactly as the scoring server would, checks that it fits the
time limit, packs the zip, and keeps a leaderboard beside what Codabench really said.
"""

__version__ = "0.1.0"
