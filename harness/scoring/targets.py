"""Targets: what a user can point `harness score` (and `pack`, `verify`) at.

A TARGET is a zip exactly as it would be uploaded, a submission folder (model.py at its
root), or an experiment (a name or its folder: its latest run's weights staged with the
template, `Experiment.stage`, made what `pack` ships by the `prepare` its caller hands
down (the CPU rewrite, `harness.shipping.optimize.packed_rewrite`: shipping sits above
scoring), exported as SavedModels when the profile's server runs another major Keras
than this interpreter: `stage_for_runtime`). `resolve_target` turns any of them into a
submission folder and a content hash that identifies it on the leaderboard.

A zip is checked before anything is extracted: no absolute paths, no `..` parts, no
symlinks, no absurd uncompressed size, and model.py at its root (when it sits in a
subfolder, the error says how to zip it right).

Examples:
    >>> staged = resolve_target("sub.zip", "stage", get_profile())
    >>> staged.kind, staged.path
    ('zip', PosixPath('stage'))
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from harness.errors import HarnessError
from harness.experiments import WEIGHT_SUFFIX, get_experiment, is_experiment
from harness.fsutil import sha256_folder
from harness.profile import Profile
from harness.scoring.contract import SubmissionError
from harness.scoring.kerasfiles import to_savedmodel
from harness.scoring.runtime import runs_here

# Far above any real submission (course zips are 1.5-3 MB; an ensemble of large
# networks is a few GB at most), far below what would fill the disk.
MAX_UNPACKED_BYTES = 8 << 30
MAX_ENTRIES = 10_000
IGNORED_PARTS = {"__pycache__", ".git", ".ipynb_checkpoints"}
# What makes a staged experiment what pack ships: (folder, run, profile) -> what it now
# holds, in words.
Prepare = Callable[[Path, Path, Profile], str]
STOCK = "the stock model, as trained (not the packed one: --no-optimize)"
AS_GIVEN = "the submission as given"


@dataclass
class Staged:
    """A target made into a submission folder.

    Args:
        kind: "zip", "folder" or "experiment".
        source: the target as given, resolved to an absolute path where it is one.
        path: the submission folder (a folder target is used in place, read only).
        sha256: hash of the submission's content (relative paths and file bytes), the
            same for a folder and the zip made from it.
        name: a default experiment name for the leaderboard (experiment, folder or zip stem).
        run: for an experiment, the run folder its weights came from.
        model: what is scored, in words: the packed model, the stock one, or the
            submission as given.
        model_sha256: the content hash before any SavedModel export (whose bytes differ
            from export to export): the key of its stored predictions.
    """

    kind: str
    source: str
    path: Path
    sha256: str
    name: str
    run: Path | None = None
    model: str = AS_GIVEN
    model_sha256: str | None = None

    def __post_init__(self):
        self.model_sha256 = self.model_sha256 or self.sha256


def content_sha256(folder: str | os.PathLike) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    return sha256_folder(folder, IGNORED_PARTS)


def _bad_zip(path: Path, problem: str, hint: str | None = None) -> SubmissionError:
    return SubmissionError(f"{path.name}: {problem}", "bad_zip",
                           hint=hint or "make the zip from the submission folder: "
                                        "cd folder && zip -r ../sub.zip .")


def check_zip(path: Path, max_bytes: int = MAX_UNPACKED_BYTES) -> list[zipfile.ZipInfo]:
    """Refuse an unsafe or misshapen zip by its directory alone, before extracting.

    Raises:
        SubmissionError: kind "bad_zip" (absolute path, `..`, symlink, size, entries)
            or "no_model_py" (missing, or in a subfolder: the message says how to zip).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as e:
        raise _bad_zip(path, f"not a readable zip ({e})") from None
    if len(infos) > MAX_ENTRIES:
        raise _bad_zip(path, f"too many entries. Received: {len(infos)} (limit {MAX_ENTRIES})")
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            raise _bad_zip(path, f"entry with an absolute path refused. Received: {name!r}")
        if ".." in parts:
            raise _bad_zip(path, f"entry with a '..' part refused. Received: {name!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _bad_zip(path, f"symlink entry refused. Received: {name!r}",
                           hint="zip the files themselves: zip -r without -y")
        total += info.file_size
    if total > max_bytes:
        raise _bad_zip(path, f"uncompressed size is absurd. Received: {total:,} bytes "
                             f"(limit {max_bytes:,})", hint="ship only model.py, its "
                                                           "modules and the weights")
    names = [PurePosixPath(i.filename) for i in infos if not i.is_dir()]
    if PurePosixPath("model.py") not in names:
        nested = sorted((n for n in names if n.name == "model.py"), key=lambda n: len(n.parts))
        if nested:
            folder = nested[0].parent
            raise SubmissionError(
                f"{path.name}: model.py is not at the zip's root; it sits in {folder}/",
                "no_model_py",
                hint=f"the server looks only at the root. Zip the folder's contents, not the "
                     f"folder: cd {folder.name} && zip -r ../{path.stem}.zip .")
        raise SubmissionError(f"{path.name}: no model.py in the zip", "no_model_py",
                              hint="the zip's root must hold model.py and its weights")
    return infos


def _extract(path: Path, dest: Path, max_bytes: int) -> None:
    infos = check_zip(path, max_bytes)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in infos:
                zf.extract(info, dest)
    # A damaged entry (CRC, bad compression data or method, a lying header) or a name
    # this file system refuses (too long, a NUL): the server could not unpack it either.
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError,
            ValueError, RuntimeError) as e:
        raise _bad_zip(path, f"cannot be extracted ({e.__class__.__name__}: "
                             f"{str(e)[:160]})") from None


def resolve_target(target: str | os.PathLike, dest: str | os.PathLike, profile: Profile,
                   max_bytes: int = MAX_UNPACKED_BYTES, as_trained: bool = False,
                   prepare: Prepare | None = None) -> Staged:
    """Make TARGET a submission folder: extract a zip, stage an experiment, or use a folder.

    Args:
        target: a .zip, a submission folder, or an experiment (name or folder).
        dest: an empty or absent folder to extract or stage into (unused for a folder).
        profile: the competition profile.
        max_bytes: refuse a zip whose entries add up to more than this, uncompressed.
        as_trained: stage an experiment's `.keras` files for this interpreter
            (Grad-CAM), even where the profile's server runs another Keras.
        prepare: makes a staged experiment what `pack` ships (`Prepare`); None stages
            the stock model.

    Returns:
        `Staged`: its kind, source, folder, content sha256 and a default name.

    Raises:
        SubmissionError: an unsafe or misshapen zip (nothing is extracted).
        HarnessError: the target does not exist, or an experiment has no trained run.
    """
    dest = Path(dest)
    path = Path(target)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise HarnessError(f"{path}: not a zip file",
                               hint="TARGET is a .zip, a submission folder or an experiment")
        _extract(path, dest, max_bytes)
        return Staged("zip", str(path.resolve()), dest, content_sha256(dest), path.stem)
    if path.is_dir() and not is_experiment(path):
        return Staged("folder", str(path.resolve()), path, content_sha256(path),
                      path.resolve().name)
    if not path.exists() and (path.suffix == ".zip" or len(path.parts) > 1):
        raise HarnessError(f"{path}: no such file or folder",
                           hint="TARGET is a .zip, a submission folder or an experiment name")
    experiment = get_experiment(target)
    run = experiment.latest_run()
    experiment.stage(dest, run, profile=profile)
    model = prepare(dest, run, profile) if prepare else STOCK
    model_sha256 = content_sha256(dest)
    exported = not as_trained and not runs_here(profile)
    if exported:
        export_for_runtime(dest, profile)
    return Staged("experiment", str(experiment.path), dest,
                  content_sha256(dest) if exported else model_sha256,
                  experiment.name, run, model, model_sha256)


def export_for_runtime(dest: Path, profile: Profile) -> None:
    """Make a staged folder what the profile's server runs: as it is when this
    interpreter stands in for the server, else each `.keras` file exported as a
    SavedModel, which that server's TensorFlow loads (a Keras 2 server reads no Keras 3
    file), as `harness pack` would ship it there."""
    if not runs_here(profile):
        for weights in sorted(dest.glob(f"*{WEIGHT_SUFFIX}")):
            to_savedmodel(weights)


def stage_for_runtime(experiment, dest: str | os.PathLike, run: str | os.PathLike | None,
                      profile: Profile, **settings) -> Path:
    """Stage an experiment's run to be scored as the profile's server would run it
    (`export_for_runtime`)."""
    dest = experiment.stage(dest, run, profile=profile, **settings)
    export_for_runtime(dest, profile)
    return dest
