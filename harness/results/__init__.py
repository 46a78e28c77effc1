"""The results stage: every score and every real Codabench result, side by side.

Owns keeping a score (`keeping`: its row and its confusion picture) and a bundle run's
(`bundleruns`), the fit of the
forecast to real results (`forecast`), the leaderboard database (SQLite by default, any
SQLAlchemy URL for a team) and the records of what Codabench really said
(`leaderboard`), bound to the zip uploaded (`recording`), which competition each row
belongs to (`competitions`; a bundle's under its own columns: `bundletables`), its
versioned schema (`schema`), the standings read from it, one table
per test set (`standings`), and copying one person's rows into a team's database
(`push`); the one-page HTML report of all of it (`report`, drawing with `figures`,
template under `templates/`); and `explain`, the most confident mistakes of a Keras
submission with their Grad-CAM maps (`gradcam`). This stage is the top of the pipeline:
it may import every stage below it (docs/architecture.md).

Examples:
    >>> from harness.results import read_leaderboard, record_submission
    >>> record_submission("dist/submission_250101_120000.zip", 0.61, phase=1)
    >>> read_leaderboard(testset="default").tables[0].rows[0]["experiment"]
    >>> build_report("data/report.html", testset="default").sections

Every name below is imported on first use, so `import harness.results` stays cheap.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(__name__, submod_attrs={
    "leaderboard": ["Leaderboard", "record", "CodabenchRecord"],
    "recording": ["record_submission", "RecordResult", "resolve_submission"],
    "keeping": ["keep_score", "score_and_keep", "reports_dir"],
    "bundleruns": ["keep_bundle_run"],
    "forecast": ["calibrate"],
    "standings": ["read_leaderboard", "LeaderboardResult", "LeaderboardTable"],
    "push": ["push", "PushResult"],
    "report": ["build_report", "ReportResult", "forecast_fields"],
    "explain": ["explain", "ExplainResult", "read_explanations"],
    "gradcam": ["grad_cam", "find_conv_layer", "overlay"],
})
