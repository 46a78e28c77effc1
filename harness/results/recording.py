"""`harness record`: a Codabench score bound to the exact zip that was uploaded.

A score belongs to a zip, not to a name: an experiment retrained, re-packed and
re-scored is another model, and its old zip's real score must not sit beside it. So
`record` takes the zip (`dist/submission_X.zip`: its sha256 finds the run `harness pack`
made it from, `harness.experiments.read_packs`) or an experiment's name (its latest
packed zip, said plainly: run, zip, hash), and stores the zip's sha256, its content's
sha256 (what a score of that content stores as `submission_sha256`) and the run with
the score. The standings (`competitions.pairs`) then show it beside that model's rows
only, and `harness calibrate` fits to such exact pairs only.

Where the zip is the one a calibration was fitted on (the profile's public pair, or
a point of `harness calibrate`), the agreement of its forecast with this score is the
calibration itself, not evidence: the result says so (`by_construction`).

Examples:
    >>> r = record_submission("dist/submission_250101_120000.zip", 0.41)
    >>> r.binding.experiment, r.binding.run_stamp, r.paired_rows
    ('baseline_cnn', '250101_115500', 2)
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.experiments import get_experiment, is_experiment, list_experiments
from harness.fsutil import sha256_file
from harness.profile import Profile, get_profile
from harness.results import competitions
from harness.results.leaderboard import CodabenchRecord, Leaderboard


@dataclass
class Binding:
    """The zip a Codabench score is for.

    Args:
        zip_name, zip_sha256: the uploaded file, and the sha256 of its bytes (None for a
            submission folder you zipped yourself: its content binds it).
        content_sha256: the sha256 of what it holds (`harness.scoring.targets.content_sha256`).
        experiment: the experiment it was packed from (else the zip's stem).
        run_stamp: the run folder its weights came from (None: not packed here).
        how: how it was found, in words.
    """

    zip_name: str
    zip_sha256: str | None
    content_sha256: str | None
    experiment: str
    run_stamp: str | None
    how: str


@dataclass
class RecordResult:
    """What `harness record` stored: the record, its zip, and what it pairs with."""

    record: CodabenchRecord
    binding: Binding
    competition: str
    paired_rows: int
    by_construction: str | None = None


def _all_packs() -> list[dict]:
    packs = []
    for experiment in list_experiments():
        packs += [{**p, "experiment": experiment.name} for p in experiment.packs()]
    return packs


def _from_pack(pack: dict, how: str) -> Binding:
    return Binding(pack["zip"], pack["sha256"], pack.get("content_sha256"),
                   pack["experiment"], pack["run"], how)


def _from_zip(path: Path, profile: Profile) -> Binding:
    from harness.scoring.targets import content_sha256, resolve_target

    digest = sha256_file(path)
    for pack in _all_packs():
        if pack["sha256"] == digest:
            return _from_pack(pack, f"packed from {pack['experiment']} run {pack['run']}")
    with tempfile.TemporaryDirectory(prefix="harness-record-") as tmp:
        staged = resolve_target(path, Path(tmp) / "sub", profile)
        content = content_sha256(staged.path)
    return Binding(path.name, digest, content, path.stem, None,
                   "not packed here: bound to its content")


def resolve_submission(target: str | os.PathLike, profile: Profile) -> Binding:
    """The zip `target` means: a .zip file, a submission folder (the files you zipped),
    an experiment (its latest packed zip) or part of a packed zip's name.

    Raises:
        HarnessError: a name that matches no packed zip, or several (one line listing them).
    """
    path = Path(target)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise HarnessError(f"{path}: not a zip file",
                               hint="name the zip you uploaded, e.g. dist/submission_X.zip")
        return _from_zip(path, profile)
    if path.is_dir() and not is_experiment(path):
        from harness.scoring.targets import content_sha256

        return Binding(f"{path.resolve().name}/", None, content_sha256(path),
                       path.resolve().name, None, "a submission folder: bound to its content")
    if str(target).endswith(".zip") or len(path.parts) > 1:
        raise HarnessError(f"{path}: no such zip", hint="name the zip you uploaded, e.g. "
                                                        "dist/submission_X.zip")
    packs = _all_packs()
    names = {p["experiment"] for p in packs} | {e.name for e in list_experiments()}
    if str(target) in names:
        mine = get_experiment(str(target)).packs()
        if not mine:
            raise HarnessError(f"experiment {target!r} has no packed zip to bind the score to",
                               hint=f"record the zip you uploaded: harness record "
                                    f"dist/submission_X.zip --codabench S (or harness pack "
                                    f"{target} first)")
        latest = {**mine[-1], "experiment": str(target)}
        return _from_pack(latest, f"the latest zip packed from {target} "
                                  f"({competitions.plural(len(mine), 'zip')} packed)")
    found = [p for p in packs if str(target) in p["zip"]]
    if len(found) == 1:
        return _from_pack(found[0], f"the one packed zip named like {target!r}")
    listed = ", ".join(f"{p['zip']} ({p['experiment']} run {p['run']})" for p in found)
    if found:
        raise HarnessError(f"{target!r} matches {len(found)} packed zips: {listed}",
                           hint="name one zip: harness record dist/ZIP --codabench S")
    known = ", ".join(sorted({p["zip"] for p in packs})) or "none"
    raise HarnessError(f"{target!r} is no zip, experiment or packed zip (packed zips: {known})",
                       hint="name the zip you uploaded: harness record dist/ZIP --codabench S")


BY_CONSTRUCTION = ("its agreement with Codabench is the calibration itself, not "
                   "evidence")


def fitted_on(profile: Profile, data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """{experiment, zip name or zip sha256 of a submission: the id of the calibration in
    use fitted on its Codabench score} (the profile's public pair, and the points of
    `harness calibrate`'s calibration.json)."""
    from harness.testset.calibration import load_calibration

    sources = [(profile.calibration.get("id", "the profile's calibration"),
                profile.calibration.get("points", ()))] if profile.calibration else []
    try:
        current = load_calibration(profile, data_dir)
    except HarnessError:
        current = None
    if current is not None:
        sources.append((current.id, current.points))
    out = {}
    for calibration_id, points in sources:
        for point in points:
            keys = [str(point[k]) for k in ("experiment", "zip_name", "zip_sha256")
                    if point.get(k)]
            # `harness calibrate` labels a point "experiment (zip name)".
            label = re.fullmatch(r"(.+) \((.+)\)", str(point.get("experiment", "")))
            for key in keys + (list(label.groups()) if label else []):
                out[key] = calibration_id
    return out


def calibrated_on(binding: Binding, profile: Profile,
                  data_dir: str | os.PathLike | None = None) -> str | None:
    """Why a score of this submission cannot test the forecast, or None."""
    names = fitted_on(profile, data_dir)
    for key in (binding.zip_sha256, binding.zip_name, binding.experiment):
        if key is not None and key in names:
            return (f"calibration {names[key]} was fitted on this submission's Codabench "
                    f"score: {BY_CONSTRUCTION}")
    return None


def record_submission(target: str | os.PathLike, codabench_score: float,
                      phase: int | None = None, duration_s: float | None = None,
                      db_url: str | None = None,
                      profile: Profile | str | None = None) -> RecordResult:
    """Store what Codabench said for the zip `target` means (`resolve_submission`).

    Raises:
        HarnessError: see `resolve_submission` and `Leaderboard.record`.
    """
    profile = get_profile(profile)
    binding = resolve_submission(target, profile)
    db = Leaderboard(db_url)
    scores = db.scores()
    probe = {"zip_sha256": binding.zip_sha256, "content_sha256": binding.content_sha256,
             "run_stamp": binding.run_stamp, "experiment": binding.experiment}
    mine = [s for s in scores if competitions.pairs(probe, s)]
    competition = competitions.competition_of(mine[-1]) if mine else profile.name
    # The name it goes by on the leaderboard: its scores', else its own.
    if mine and binding.run_stamp is None:
        binding.experiment = mine[-1]["experiment"]
    stored = db.record(binding.experiment, codabench_score, phase, duration_s,
                       zip_sha256=binding.zip_sha256, zip_name=binding.zip_name,
                       content_sha256=binding.content_sha256, run_stamp=binding.run_stamp,
                       competition=competition)
    return RecordResult(stored, binding, competition, len(mine),
                        calibrated_on(binding, profile))
