"""Which Keras saved a submission's `.keras` files, and what to do when it is too new.

A `.keras` file is a zip whose `metadata.json` records the `keras_version` that wrote
it. One saved by a Keras newer than the loader's may not load: Keras 3.15 files fail on
the server's 3.4.1 with `GlorotUniform.__init__() got an unexpected keyword argument
'input_axes'` or "could not be deserialized properly" (course material; files from 3.5
and 3.6 did load, the profile's `keras_known_to_load`). `version_warnings` flags the
others before a run (`check_source` calls it); `explain_failure` turns the loader's
traceback into one line that names the two versions and the way out, wherever a run
fails (`score`, `verify`, `pack`).

`to_savedmodel` is the way across: a TensorFlow SavedModel exported from the model,
which the server's TensorFlow loads whatever its Keras (`harness pack` ships one; an
experiment scored on another runtime than this one is staged with one).

Examples:
    >>> saved_keras_version("weights.keras")
    '3.15.1'
    >>> newer("3.15.1", "3.4.1")
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from harness.profile import Profile

# How to get a model saved by a newer Keras onto the server's older one.
WAY_OUT = ("pack it with `harness pack` (from a newer Keras it ships a SavedModel, which "
           "the server loads through keras.layers.TFSMLayer), or model.export('model."
           "savedmodel') and load that with TFSMLayer in model.py; check with `harness verify`")
# The same for a server of Keras 2, which has no TFSMLayer and reads no Keras 3 file.
WAY_OUT_KERAS2 = ("pack it with `harness pack` (it ships a SavedModel, which the server "
                  "loads with tf.saved_model.load), or model.export('model.savedmodel') and "
                  "load that with tf.saved_model.load(path).serve in model.py; check with "
                  "`harness verify`")


def way_out(keras_there: str | None) -> str:
    """How to get a model onto a loader of this Keras version."""
    return WAY_OUT_KERAS2 if keras_there and version_tuple(keras_there)[:1] == (2,) else WAY_OUT
# The folder a .keras file is exported to, for a server whose Keras cannot load it.
SAVEDMODEL_SUFFIX = ".savedmodel"
# Failures a model file that does not deserialize ends in.
_LOAD_KINDS = ("init_error", "import_error")


def version_tuple(version: str) -> tuple[int, ...]:
    """(3, 15, 1) from "3.15.1" (leading numbers only: "3.10.0.dev2024" -> (3, 10, 0))."""
    numbers = re.match(r"\d+(\.\d+)*", version or "")
    return tuple(int(n) for n in numbers.group(0).split(".")) if numbers else ()


def newer(version: str | None, than: str | None) -> bool:
    """Whether `version` is a later release than `than` (False when either is unknown)."""
    return bool(version and than) and version_tuple(version) > version_tuple(than)


def server_keras(profile: Profile) -> str | None:
    """The server's Keras version when the profile pins it exactly ("==3.4.1"), else None."""
    spec = profile.server_runtime.get("keras", "")
    return spec[2:] if spec.startswith("==") else None


def saved_keras_version(path: str | os.PathLike) -> str | None:
    """The `keras_version` in a .keras file's metadata.json, or None if unreadable."""
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("metadata.json")).get("keras_version")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def newer_files(folder: str | os.PathLike, than: str | None) -> list[tuple[str, str]]:
    """(name, keras_version) of each .keras file in `folder` saved by a Keras newer than `than`."""
    found = []
    for path in sorted(Path(folder).rglob("*.keras")):
        version = saved_keras_version(path)
        if newer(version, than):
            found.append((path.relative_to(folder).as_posix(), version))
    return found


def _names(files: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} (Keras {version})" for name, version in files)


def known_to_load(version: str, profile: Profile) -> bool:
    """Whether files of this Keras release are known to load on the server's Keras."""
    return any(version_tuple(version)[:len(version_tuple(known))] == version_tuple(known)
               for known in profile.keras_known_to_load)


def version_warnings(folder: str | os.PathLike, profile: Profile) -> list[str]:
    """One warning when the submission holds .keras files newer than the server's Keras,
    leaving out releases the profile knows to load there (Keras 3.6.0 course zips)."""
    server = server_keras(profile)
    files = [(name, version) for name, version in newer_files(folder, server)
             if not known_to_load(version, profile)]
    if not files:
        return []
    return [f"{_names(files)} saved by a Keras newer than the server's {server}, which may "
            f"not load it; {way_out(server)}"]


def model_files(folder: str | os.PathLike) -> list[tuple[str, str]]:
    """(name, format) of each model in `folder`, in the profile's words
    (`[contract] model_formats`): .keras, .h5, a Keras 2 SavedModel folder (it holds
    keras_metadata.pb), another TensorFlow SavedModel folder."""
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and path.suffix in (".keras", ".h5"):
            found.append((name, path.suffix[1:]))
        elif path.is_dir() and (path / "saved_model.pb").is_file():
            keras2 = (path / "keras_metadata.pb").is_file()
            found.append((name, "savedmodel" if keras2 else "tf_savedmodel"))
    return found


def format_warnings(folder: str | os.PathLike, profile: Profile) -> list[str]:
    """One warning per model file of a format the server's runtime does not load."""
    loads = profile.contract.model_formats
    return [f"{name} is a {fmt} model, which the {profile.name} server's runtime "
            f"({', '.join(profile.server_requirements())}) does not load (it loads "
            f"{', '.join(loads)})" for name, fmt in model_files(folder) if fmt not in loads]


def mismatch(files: list[tuple[str, str]], keras_there: str, cause: str) -> str:
    """The one line: which files, which Keras saved them, which failed to load them, why."""
    return (f"{_names(files)} saved by a Keras newer than the {keras_there} that ran it, "
            f"which cannot load it ({cause})")


def _root_cause(failure) -> str:
    """The first exception a chained traceback shows (the loader's own, e.g. "TypeError:
    GlorotUniform.__init__() got an unexpected keyword argument 'input_axes'"), else the
    failure's first line, cut short."""
    for line in (failure.traceback or "").splitlines():
        if re.match(r"\w+(Error|Exception): ", line):
            return line.strip()[:200]
    first = failure.message.splitlines()[0]
    return first if len(first) <= 200 else first[:200] + "..."


def root_exception(exc: BaseException) -> str:
    """"Type: message" of the innermost exception in `exc`'s chain, first line only."""
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


def explain_failure(failure, folder: str | os.PathLike, keras_there: str | None):
    """The failure of a run whose loader could not read a newer Keras's file, in one line.

    Args:
        failure: the run's `Failure`.
        folder: the submission folder the run used.
        keras_there: the Keras version the run had.

    Returns:
        A `Failure` of kind "keras_version" naming the files, both versions and the way
        out (the loader's own traceback kept), or `failure` unchanged when the run did
        not fail loading or no file is newer than `keras_there`.
    """
    if failure is None or failure.kind not in _LOAD_KINDS:
        return failure
    files = newer_files(folder, keras_there)
    cause = _root_cause(failure)
    # A file that is not there fails whatever Keras saved the ones that are (course
    # zips of Keras 3.6.0 load on 3.4.1; one real zip names a weights file it lacks).
    if not files or re.search(r"File ?not ?found|No such file", cause, re.IGNORECASE):
        return failure
    return dataclasses.replace(failure, kind="keras_version",
                               message=mismatch(files, keras_there, cause),
                               hint=way_out(keras_there))


def to_savedmodel(path: Path) -> Path:
    """Replace the .keras file `path` by a SavedModel folder beside it; return the folder."""
    import keras

    dest = path.with_suffix(SAVEDMODEL_SUFFIX)
    if dest.exists():
        shutil.rmtree(dest)
    model = keras.models.load_model(path, compile=False)
    # Newer Keras exports a model whose inputs are a list (what `train` saves) with a
    # list signature, which TFSMLayer would then need called as layer([x]); a model
    # with a single input tensor exports `serve(x)` in every version.
    image = keras.Input(shape=model.inputs[0].shape[1:], dtype="float32")
    single = keras.Model(image, model(image), name=model.name)
    # export() prints where it wrote to stdout, which belongs to `--json` output.
    with contextlib.redirect_stdout(io.StringIO()):
        single.export(str(dest), format="tf_saved_model")
    path.unlink()
    return dest
