"""`harness bundle run` and `harness bundle runtime`: a submission through a bundle's
own programs, as Codabench's compute worker runs it, and the environment standing in
for a bundle's image."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from harness.bundles.failures import KINDS
from harness.cli.options import db_option, json_option
from harness.cli.output import emit, err_console
from harness.jsonable import to_jsonable


def _number(value, precision) -> str:
    if isinstance(value, float):
        return f"{value:.{precision if isinstance(precision, int) else 4}f}"
    return escape(str(value))


def _score_rows(r) -> list[tuple[str, dict | None]]:
    """(label, scores) per row: the phase's input data, then the pseudo-private run; a
    phase of several tasks, each task's own rows (scores None: that task failed)."""
    pseudo = f"pseudo-private ({r.recipe})"
    if not r.several_tasks:
        return [(label, scores) for label, scores in (("the phase's input data", r.scores),
                                                      (pseudo, r.pseudo_private_scores))
                if scores is not None]
    rows = []
    for on, runs in (("", r.tasks), (f", {pseudo}", r.pseudo_private_tasks)):
        for t in runs:
            ok = t.status == "ok"
            rows.append((f"task {t.index} {t.name!r}{on}" + ("" if ok else ": FAILED"),
                         t.scores if ok else None))
    return rows


def scores_table(r) -> Table:
    """The scores under the leaderboard's column titles (keys no column names last)."""
    rows = _score_rows(r)
    columns = list(r.columns)
    known = {c["key"] for c in columns}
    for _, scores in rows:
        columns += [{"key": k, "title": k, "precision": 4} for k in scores or {}
                    if k not in known and not known.add(k)]
    table = Table()
    table.add_column("scored on")
    for c in columns:
        table.add_column(escape(str(c["title"])), justify="right")
    for label, scores in rows:
        table.add_row(escape(label), *(
            _number(scores[c["key"]], c.get("precision")) if c["key"] in (scores or {})
            else "-" for c in columns))
    return table


def _show_run(console, r) -> None:
    console.print(f"[bold]{escape(r.bundle.title)}[/], phase {r.phase.index} "
                  f"{escape(r.phase.name)!r}: submission {escape(r.experiment)} "
                  f"(sha256 {r.submission_sha256[:12]})", highlight=False, soft_wrap=True)
    if r.differs:
        console.print(f"sandbox: {r.backend}; unlike Codabench's worker: "
                      + escape("; ".join(r.differs)), highlight=False, soft_wrap=True)
    else:
        console.print(f"sandbox: {r.backend}, in the bundle's image with the worker's flags "
                      "(the faithful path)", highlight=False, soft_wrap=True)
    console.print(f"{r.network_line}; time limit {r.time_limit_s:g} s per run "
                  f"({r.time_limit_from})", highlight=False, soft_wrap=True)
    for m in r.pseudo_manifests:
        skipped = "; ".join(f"{kind}: {', '.join(f'{f} ({why})' for f, why in found.items())}"
                            for kind, found in m.skipped_families.items() if found)
        console.print(f"pseudo-private: {m.corrupted} of {m.images} images of "
                      f"{escape(str(m.source))} corrupted with recipe {escape(m.recipe)} (seed "
                      f"{m.seed}; training images clean)"
                      + (f"; families left out: {escape(skipped)}" if skipped else ""),
                      highlight=False, soft_wrap=True)
    for line in r.warnings:
        console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
    if r.status == "ok" or any(t.status == "ok" for t in r.tasks if r.several_tasks):
        console.print(scores_table(r))
        for page in (t.detailed_results for t in r.tasks if t.detailed_results):
            console.print(f"detailed results: {escape(page)}", highlight=False)
    if r.status != "ok":
        kind = KINDS[r.failure_kind]
        console.print(f"[bold red]FAILED[/] [red]({kind})[/] {escape(r.failure_message)}",
                      highlight=False, soft_wrap=True)
        if r.log_tail.strip():
            source = f" ({escape(r.log)})" if r.log else ""
            console.print(f"\n[bold]The end of its log{source}:[/]", highlight=False,
                          soft_wrap=True)
            console.print(escape(r.log_tail.rstrip()), highlight=False, soft_wrap=True)
        else:
            console.print("[dim]no log to show: nothing had run yet, or it printed nothing "
                          "(the run folder keeps every program's stdout and stderr)[/]",
                          soft_wrap=True)
        if r.failure_hint:
            console.print(f"[yellow]hint:[/] {escape(r.failure_hint)}", highlight=False,
                          soft_wrap=True)
    console.print(f"run folder (outputs and every program's stdout/stderr): "
                  f"{escape(r.run_dir)}", highlight=False, soft_wrap=True)
    if r.row_id is not None:
        console.print(f"[dim]stored as row {r.row_id} of the leaderboard[/]")


def run_document(r) -> dict:
    """The result for scripts: the scores keyed as the scoring program wrote them; each
    task's under `tasks` (in a phase of several, `scores` is null)."""
    return {
        "ok": r.status == "ok", "status": r.status, "competition": r.bundle.title,
        "competition_sha256": r.bundle.sha256, "phase": r.phase.name,
        "phase_index": r.phase.index, "submission": r.submission,
        "submission_sha256": r.submission_sha256, "scores": r.scores,
        "pseudo_private_scores": r.pseudo_private_scores, "recipe": r.recipe,
        "tasks": to_jsonable(r.tasks), "pseudo_private_tasks": to_jsonable(r.pseudo_private_tasks),
        "pseudo_manifests": to_jsonable(r.pseudo_manifests),
        "columns": r.columns, "backend": r.backend, "differs": r.differs,
        "network": r.network, "time_limit_s": r.time_limit_s,
        "time_limit_from": r.time_limit_from, "run_dir": r.run_dir,
        "programs": r.programs, "failure_kind": r.failure_kind,
        "failure_message": r.failure_message, "failure_hint": r.failure_hint,
        "log_tail": r.log_tail, "log": r.log, "detailed_results": r.detailed_results,
        "warnings": r.warnings, "total_s": r.total_s, "row_id": r.row_id,
    }


@click.command("run")
@click.argument("bundle_path", metavar="BUNDLE")
@click.argument("submission", type=click.Path(exists=True))
@click.option("--phase", default=None, metavar="NAME|INDEX",
              help="The phase to run [default: the one Codabench calls current].")
@click.option("--network", is_flag=True,
              help="Let the programs reach the network (off by default; Codabench's worker "
                   "leaves it on unless its operator turns it off).")
@click.option("--pseudo-private", is_flag=True,
              help="Also run on the harness's corrupted copy of the phase's test images "
                   "(the pseudo-private recipe; training images stay clean): a forecast of "
                   "the score on shifted images, beside the plain one.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Seconds per run [default: the phase's execution_time_limit].")
@click.option("--python", "python", default=None, envvar="HARNESS_BUNDLE_PYTHON",
              type=click.Path(exists=True, dir_okay=False), metavar="PATH",
              help="Under bubblewrap, the interpreter standing in for the bundle's image "
                   "[env HARNESS_BUNDLE_PYTHON; default: the image's cached environment, "
                   "built once].")
@click.option("--sandbox", default="auto", envvar="HARNESS_BUNDLE_SANDBOX",
              metavar="auto|docker|podman|bubblewrap",
              help="Where the programs run: auto takes Docker or Podman when one answers "
                   "and holds the bundle's image, else bubblewrap; or name one "
                   "[env HARNESS_BUNDLE_SANDBOX; default: auto].")
@db_option("Leaderboard database to store the run in: a SQLAlchemy URL or a SQLite file "
           "[env HARNESS_DB_URL; default: data/leaderboard.sqlite].")
@json_option
def run(bundle_path, submission, phase, network, pseudo_private, time_limit, python, sandbox,
        db_url, as_json):
    """Run SUBMISSION (a zip or folder as uploaded) through BUNDLE's own ingestion and
    scoring programs, as Codabench's compute worker does, sandboxed, without network
    by default. Prints the scores under the leaderboard's titles and stores them; a
    failure is one typed line and the failing program's log, and exits 1."""
    from harness.bundles import load_bundle, run_bundle
    from harness.results import keep_bundle_run

    status = (lambda msg: None) if as_json else (
        lambda msg: err_console.print(escape(msg), highlight=False, soft_wrap=True))
    result = run_bundle(load_bundle(bundle_path), submission, phase=phase, network=network,
                        pseudo_private=pseudo_private, time_limit=time_limit, python=python,
                        sandbox=sandbox, status=status)
    result.row_id = keep_bundle_run(result, db_url)
    emit(result, as_json, _show_run, run_document)
    if result.status != "ok":
        sys.exit(1)


@click.command("runtime")
@click.argument("image", default="codalab/codalab-legacy:py312")
@json_option
def runtime(image, as_json):
    """Build (once) the cached Python environment standing in for IMAGE under
    bubblewrap, and say where it differs from the image."""
    from harness.bundles.images import build_image_environment

    status = (lambda msg: None) if as_json else (
        lambda msg: err_console.print(escape(msg), highlight=False, soft_wrap=True))

    def show(console, r):
        console.print(f"{escape(r.image)}: {escape(r.python)} "
                      f"({'built now' if r.build_s is not None else 'cached'}); packages "
                      f"from {escape(r.source)}", highlight=False)
        for line in r.differs:
            console.print(f"  differs: {escape(line)}", highlight=False)

    emit(build_image_environment(image, status=status), as_json, show)
