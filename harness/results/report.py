"""`harness report`: every result on one self-contained HTML page, to look at.

The page gathers what the other stages leave behind and draws it (`figures`): the
leaderboard, one table per test set (`standings`: only a pseudo-private set's table has
the forecast and its interval; any other set's is named for what it is and shows its
accuracy) beside Codabench's score (sortable by any column); the calibration plot of
forecast against Codabench (forecasts only); heat maps of accuracy per experiment and
corruption family and per experiment and class (from each latest score's
`metrics_json`); per experiment its confusion matrix, its latest run's training curves,
time and settings, and timecheck margin (`data/timechecks/NAME.json`); Grad-CAM
galleries from `harness explain` (`data/explain/*/explain.json`); and the hygiene
reports' counts and contact sheets (`data/**/hygiene/report.json`,
`data/**/*.report.json`).

Built with Jinja2 (`templates/report.html.j2`): the page is markup with loops and
escaping, which a template engine keeps readable and safe where f-strings would not.
Every image is a base64 PNG inside the page, so it opens from disk with no network;
the page is written atomically, and regenerating it with nothing changed gives the same
bytes apart from its one timestamp.

Examples:
    >>> build_report("data/report.html", testset="demo").path
    'data/report.html'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import paths
from harness.errors import HarnessError
from harness.experiments import get_experiment, read_run
from harness.fsutil import write_text_atomic
from harness.profile import Profile, get_profile
from harness.progress import progress_bar
from harness.results import competitions, figures, standings
from harness.results.competitions import class_names_of
from harness.results.forecast import calibration_view
from harness.results.leaderboard import Leaderboard
from harness.results.recording import BY_CONSTRUCTION, fitted_on
from harness.stamps import now_iso, slug

TEMPLATE = "report.html.j2"
# Grad-CAM galleries inlined per explained submission and kind (family, pair): a page
# with all of them (23 on the demo) weighs tens of MB.
GALLERIES_PER_KIND = 4


@dataclass
class ReportResult:
    """The page written: where, what it holds (section -> count), how big."""

    path: str
    testset: str | None
    db_url: str
    generated_at: str
    experiments: list[str]
    sections: dict[str, int] = field(default_factory=dict)
    images: int = 0
    size_bytes: int = 0
    competition: str = competitions.ALL
    others_line: str | None = None


def forecast_fields(row: dict, metrics: dict) -> dict[str, Any]:
    """The forecast, its 95% interval and its calibration, wherever the score stored them.

    The leaderboard row carries `pp_low`, `pp_high`, `calibration_points` and
    `tied_with_leader`; the calibration's id lives in `metrics_json["pseudo_private"]`.
    Scores made before intervals existed have none of them: None, shown as a dash. A row
    of a set that is not pseudo-private has no forecast: its accuracy is no such thing.
    """
    pp = metrics.get("pseudo_private") if isinstance(metrics.get("pseudo_private"), dict) else {}

    def first(*keys):
        for source in (row, metrics, pp):
            for key in keys:
                if source.get(key) is not None:
                    return source[key]
        return None

    return {"value": row.get("pseudo_private"),
            "low": first("pp_low", "low"), "high": first("pp_high", "high"),
            "calibration": first("calibration"),
            "calibration_points": first("calibration_points"),
            "tied": bool(row.get("tied_with_leader"))}


def _latest_scores(db: Leaderboard, testset: str | None, competition: str
                   ) -> dict[tuple, dict]:
    """(competition, kind, test set, experiment) -> its latest ok score, as the standings
    key them."""
    latest = {}
    for r in db.scores():
        name = competitions.competition_of(r)
        if r["status"] == "ok" and standings.matches(r, testset) and \
                competition in (competitions.ALL, name):
            latest[(name, standings.kind_of(r), r["testset"], r["experiment"])] = r
    return latest


def _latest_run(score: dict):
    """The latest run of a scored experiment (`harness.experiments.FinishedRun`), or None
    for a zip, a folder, or an experiment that has moved or gone since it was scored."""
    if score.get("target_kind") != "experiment" or not score.get("target"):
        return None
    try:
        runs = get_experiment(score["target"]).runs()
    except HarnessError:
        return None
    return read_run(runs[-1]) if runs else None


def run_line(run) -> str:
    """How long a run trained and with what, in one line: "trained 95 s over 2 segments
    (41 + 54) · adam, learning rate 0.001, cosine, 10 epochs, batch 64, augment flip"."""
    parts = []
    if run.train_seconds is not None:
        trained = f"trained {run.train_seconds:.0f} s"
        if len(run.segment_seconds) > 1:
            trained += (f" over {len(run.segment_seconds)} segments ("
                        + " + ".join(f"{s:.0f}" for s in run.segment_seconds) + ")")
        parts.append(trained)
    c = run.config
    if c:
        settings = [str(c.get("optimizer", "?")), f"learning rate {c.get('learning_rate', '?')}"]
        if c.get("lr_schedule", "constant") != "constant":
            warmup = c.get("warmup_epochs") or 0
            plural = "" if warmup == 1 else "s"
            settings.append(c["lr_schedule"] + (f" after {warmup:g} warm-up epoch{plural}"
                                                if warmup else ""))
        settings += [f"{c.get('epochs', '?')} epochs", f"batch {c.get('batch_size', '?')}"]
        if (c.get("folds") or 1) > 1:
            settings.append(f"{c['folds']} folds")
        if c.get("augment"):
            settings.append("augment " + ", ".join(map(str, c["augment"])))
        parts.append(", ".join(settings))
    return " · ".join(parts)



def read_timecheck(name: str, root: Path) -> dict | None:
    """The verdict `harness timecheck` kept for `name` in `root`, or None."""
    path = root / f"{slug(name)}.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _hygiene(root: Path) -> list[dict]:
    """Hygiene reports under `root`: counts, and their contact sheets where they exist."""
    paths = sorted({*root.glob("**/hygiene/report.json"), *root.glob("*.report.json"),
                    *root.glob("*/*.report.json")})
    reports = []
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "removed_by_rule" not in data:
            continue
        sheets = []
        for rule, sheet in sorted((data.get("sheets") or {}).items()):
            candidates = [Path(sheet), path.parent / Path(sheet).name]
            found = next((c for c in candidates if c.is_file()), None)
            if found is not None:
                sheets.append({"rule": rule, "src": figures.data_uri(
                    figures.compact_png(found.read_bytes()))})
        # `data clean` repeats what `data inspect --report` found on the same data: once.
        same = next((r for r in reports if (r["dataset"], r["n_images"], r["n_removed"]) ==
                     (data.get("dataset"), data.get("n_images"), data.get("n_removed"))), None)
        if same is not None:
            same["path"] += f", {path}"
            same["sheets"] = same["sheets"] or sheets
            continue
        reports.append({"path": str(path), "dataset": data.get("dataset"),
                        "n_images": data.get("n_images"), "n_removed": data.get("n_removed"),
                        "n_kept": data.get("n_kept"),
                        "removed_by_rule": data.get("removed_by_rule") or {},
                        "class_counts": data.get("class_counts") or {}, "sheets": sheets})
    return reports


def _explanations(root: Path, testset: str | None, competition: str = competitions.ALL,
                  per_kind: int = GALLERIES_PER_KIND) -> list[dict]:
    """Each explained submission's galleries of `competition` (one explained before
    galleries named theirs counts as any): the families with the most mistakes and the
    most frequent confused pairs, `per_kind` of each (all of them are in its folder)."""
    from harness.results.explain import read_explanations

    out = []
    for summary in read_explanations(root):
        if testset and summary.get("testset") != testset or \
                competition not in (competitions.ALL, summary.get("competition", competition)):
            continue
        shown, left = [], []
        for kind in ("family", "pair"):
            of_kind = [g for g in summary.get("galleries", []) if g.get("kind") == kind]
            # Pairs come most frequent first; families in name order, so rank those.
            if kind == "family":
                of_kind.sort(key=lambda g: (-g.get("n_mistakes", 0), g.get("key", "")))
            for g in of_kind:
                png = Path(g["png"])
                if len([s for s in shown if s["kind"] == kind]) < per_kind and png.is_file():
                    shown.append({**g, "src": figures.data_uri(figures.compact_png(
                        png.read_bytes()))})
                else:
                    left.append(g["png"])
        out.append({**summary, "galleries": shown, "left_out": left})
    return out


def build_report(out: str | os.PathLike | None = None, testset: str | None = None,
                 db_url: str | None = None, profile: Profile | str | None = None,
                 data_dir: str | os.PathLike | None = None,
                 generated_at: str | None = None, progress: bool = False,
                 competition: str | None = None) -> ReportResult:
    """Write the report page and say what it holds.

    Raises:
        HarnessError: no database there (none is created), a test set with no scores, or
            a database that cannot be opened.

    Args:
        out: the HTML file to write (default: report.html in the data folder).
        testset: only scores on this test set (default: every test set).
        db_url: the leaderboard database (default `$HARNESS_DB_URL`, else data/leaderboard.sqlite).
        profile: the competition profile (class names).
        data_dir: where hygiene reports, explanations, timechecks and the calibration are
            looked for (default: the data folder, `harness.paths.data_dir`).
        generated_at: the page's timestamp (default: now, UTC).
        progress: a tqdm bar (stderr) over the experiments whose figures are drawn.
        competition: the competition shown (default: the profile's; "all": each); the
            page says how many rows of others it leaves out. Each score's figures use
            its own class names; a bundle run's have none, and no figures.
    """
    import jinja2

    profile = get_profile(profile)
    data_dir = Path(data_dir or paths.data_dir())
    out = out or data_dir / "report.html"
    db = Leaderboard(db_url, create=False)
    if db.missing:
        raise HarnessError(f"no leaderboard database at {db.where}: nothing to report yet",
                           hint="score something first (harness score TARGET), or name the "
                                "database with --db")
    competition = competitions.chosen(competition, profile)
    boards, others = standings.split_tables(db, testset, competition=competition,
                                            fitted=fitted_on(profile, data_dir))
    if testset and not any(t.testset for t in boards):
        known = sorted({t.testset for t in standings.tables(db, competition=competition)
                        if t.testset})
        raise HarnessError(f"no scores on test set {testset!r} of competition {competition} "
                           f"in {db.url}",
                           hint=f"scored test sets: {', '.join(known)}" if known else
                           "score something first: harness score TARGET --testset NAME")
    latest = _latest_scores(db, testset, competition)
    several = sum(t.testset is not None for t in boards) > 1
    groups, entries = [], []
    for table in boards:
        title = (f"{table.competition}: {table.title}" if competition == competitions.ALL
                 else table.title)
        group = {"title": title, "kind": table.kind, "forecast": table.forecast,
                 "testset": table.testset, "entries": [],
                 "bundle": list(table.titles.items()) if table.titles else None}
        for row in table.rows:
            # Every key, so the template reads any row alike (a table shows its own).
            row = {**dict.fromkeys(standings.ROW_COLUMNS), **row}
            score = {} if table.titles else latest.get(
                (table.competition, row["testset_kind"], row["testset"], row["experiment"]), {})
            metrics = standings.stored_metrics(score)
            label = row["experiment"] + (f" @ {row['testset']}" if several and row["testset"]
                                         else "")
            entry = {"label": label, "anchor": f"exp-{len(entries) + 1}", "row": row,
                     "about": table.title, "score": score, "metrics": metrics,
                     "forecast": forecast_fields(row, metrics), "history_run": None,
                     "timecheck": read_timecheck(row["experiment"], data_dir / "timechecks")}
            group["entries"].append(entry)
            entries.append(entry)
        groups.append(group)

    images = 0
    calibration = calibration_view(entries, profile, data_dir)
    calibration["src"] = figures.data_uri(figures.calibration(
        calibration["points"], calibration["line"],
        f"forecast against Codabench ({len(calibration['points'])} recorded)"))
    images += 1

    scored = [e for e in entries if e["metrics"]]
    heatmaps = []
    families = sorted({f for e in scored for f in e["metrics"].get("group_accuracy", {})},
                      key=lambda f: (f != "clean", f))
    if families:
        values = [[e["metrics"].get("group_accuracy", {}).get(f, np.nan) for f in families]
                  for e in scored]
        heatmaps.append({"title": "Accuracy per experiment and corruption family",
                         "src": figures.data_uri(figures.heatmap(
                             values, [e["label"] for e in scored], families,
                             "accuracy per corruption family"))})
    # Each score's own class names, in the order first met.
    names = list(dict.fromkeys(c for e in scored for c in class_names_of(e["metrics"])))
    if names:
        recalls = [e["metrics"].get("per_class_recall") for e in scored]
        values = [[r.get(c) if isinstance(r, dict) and isinstance(r.get(c), (int, float))
                   else np.nan for c in names] for r in recalls]
        heatmaps.append({"title": "Accuracy (recall) per experiment and class",
                         "src": figures.data_uri(figures.heatmap(
                             values, [e["label"] for e in scored], names,
                             "recall per true class"))})
    images += len(heatmaps)

    for e in progress_bar("report figures", disable=not progress, unit="experiment")(scored):
        if competitions.square(e["metrics"].get("confusion")):
            e["confusion_src"] = figures.data_uri(figures.confusion(
                e["metrics"]["confusion"], class_names_of(e["metrics"]),
                f"{e['label']}: accuracy {e['row']['accuracy'] or 0:.4f}"))
            images += 1
        run = _latest_run(e["score"])
        if run is None:
            continue
        e["history_run"], e["run_line"] = str(run.path), run_line(run)
        if (run.path / "history.png").is_file():
            e["history_src"] = figures.data_uri((run.path / "history.png").read_bytes())
        elif run.histories:  # K folds: the first fold's curves stand for the run
            e["history_src"] = figures.data_uri(figures.history(run.histories[0]))
        images += "history_src" in e

    explanations = _explanations(data_dir / "explain", testset, competition)
    hygiene = _hygiene(data_dir)
    images += sum(len(x["galleries"]) for x in explanations)
    images += sum(len(h["sheets"]) for h in hygiene)

    generated_at = generated_at or now_iso()
    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.results", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    html = env.get_template(TEMPLATE).render(
        generated_at=generated_at, testset=testset, db_url=db.url, groups=groups,
        entries=entries, calibration=calibration, heatmaps=heatmaps,
        explanations=explanations, hygiene=hygiene, profile=profile.name,
        competition=competition, others_line=competitions.others_line(others),
        by_construction=BY_CONSTRUCTION)
    path = write_text_atomic(out, html)
    sections = {"leaderboard tables": len(groups), "leaderboard rows": len(entries),
                "calibration points": len(calibration["points"]), "heat maps": len(heatmaps),
                "confusion matrices": sum("confusion_src" in e for e in entries),
                "training histories": sum("history_src" in e for e in entries),
                "timechecks": sum(e["timecheck"] is not None for e in entries),
                "explain galleries": sum(len(x["galleries"]) for x in explanations),
                "hygiene reports": len(hygiene)}
    return ReportResult(path=str(path), testset=testset, db_url=db.url,
                        generated_at=generated_at, experiments=[e["label"] for e in entries],
                        sections=sections, images=images, size_bytes=path.stat().st_size,
                        competition=competition, others_line=competitions.others_line(others))
