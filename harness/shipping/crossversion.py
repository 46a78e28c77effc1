"""What a zip ships its models as, so the server's older Keras loads them.

Teams train on Colab or Kaggle, whose Keras is newer than the server's 3.4.1, and a
`.keras` file saved by a newer Keras may not load there (3.15 -> 3.4.1 fails while
deserializing the config). `pack` asks `choose_format` what to ship:

- `keras`: the `.keras` files as trained, when the Keras here is not newer than the
  server's (a file from a newer Keras, trained elsewhere, then fails to load in pack's
  optimizer or smoke run, in one line from `harness.scoring.kerasfiles`; no zip).
- `savedmodel`: each model exported as a TensorFlow SavedModel folder
  (`weights.savedmodel/`), which the template's `harness_runtime` serves through
  `keras.layers.TFSMLayer`. A SavedModel is a TensorFlow graph plus its variables: no
  Keras config is deserialized on the server, so no newer argument can break it.

Why a SavedModel rather than `.weights.h5` plus the experiment's build code (the other
way across that worked): both loaded on 3.4.1 with identical outputs from Keras 3.15.1
(bench/RESULTS.md), but build code often imports the harness itself (the transfer
experiments use `harness.training.backbones`), which the server lacks, and a rebuilt
model would lose `optimize`'s rewrite; the SavedModel is exported from the optimized
model and needs no code.

Examples:
    >>> choose_format(get_profile(), "auto", keras_here="3.15.1").format
    'savedmodel'
"""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.profile import Profile
from harness.scoring.kerasfiles import newer, server_keras

FORMATS = ("auto", "keras", "savedmodel")
SAVEDMODEL_SUFFIX = ".savedmodel"


@dataclass
class FormatChoice:
    """The format `pack` ships models in, and why, in words for people."""

    format: str
    why: str


def keras_version() -> str:
    import keras

    return keras.__version__


def choose_format(profile: Profile, requested: str = "auto",
                  keras_here: str | None = None) -> FormatChoice:
    """The format to ship models in under this Keras, for the profile's server.

    Args:
        profile: the competition profile (its pinned Keras).
        requested: "auto" (a SavedModel exactly when the Keras here is newer than the
            server's), or "keras" / "savedmodel" to force one.
        keras_here: the Keras version packing (default: the one installed).

    Raises:
        HarnessError: an unknown format.
    """
    if requested not in FORMATS:
        raise HarnessError(f"unknown format. Received: {requested!r}",
                           hint=f"one of {', '.join(FORMATS)}")
    here = keras_here or keras_version()
    server = server_keras(profile)
    if requested != "auto":
        return FormatChoice(requested, f"asked for (Keras {here} here, the server's {server})")
    if newer(here, server):
        return FormatChoice("savedmodel", (
            f"Keras {here} here is newer than the server's {server}, which cannot load "
            f".keras files from newer versions; it loads a TensorFlow SavedModel through "
            f"keras.layers.TFSMLayer"))
    return FormatChoice("keras", f"Keras {here} here, the server's {server}: .keras loads there")


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
