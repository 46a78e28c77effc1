"""What a zip ships its models as, so the server's older Keras loads them.

Teams train on Colab or Kaggle, whose Keras is newer than the server's 3.4.1, and a
`.keras` file saved by a newer Keras may not load there (3.15 -> 3.4.1 fails while
deserializing the config). `pack` asks `choose_format` what to ship:

- `keras`: the `.keras` files as trained, when the Keras here is not newer than the
  server's (a file from a newer Keras, trained elsewhere, then fails to load in pack's
  optimizer or smoke run, in one line from `harness.scoring.kerasfiles`; no zip).
- `savedmodel`: each model exported as a TensorFlow SavedModel folder
  (`weights.savedmodel/`, `kerasfiles.to_savedmodel`), which the template's
  `harness_runtime` serves through `keras.layers.TFSMLayer` (Keras 3), or
  `tf.saved_model.load` where the server runs Keras 2 (the 2023 profile's TensorFlow
  2.14, which cannot read a Keras 3 `.keras` file at all). A SavedModel is a TensorFlow
  graph plus its variables: no Keras config is deserialized on the server, so no newer
  argument can break it.

Either way the format must be one the profile's runtime loads (`[contract]
model_formats`), or pack says so before it starts.

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

from dataclasses import dataclass

from harness.errors import HarnessError
from harness.profile import Profile
from harness.scoring.kerasfiles import newer, server_keras, version_tuple

FORMATS = ("auto", "keras", "savedmodel")
# What each format is in the profile's words (`[contract] model_formats`).
SHIPS_AS = {"keras": "keras", "savedmodel": "tf_savedmodel"}


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
        choice = FormatChoice(requested, f"asked for (Keras {here} here, the server's {server})")
    elif newer(here, server):
        loader = ("keras.layers.TFSMLayer" if version_tuple(server)[:1] >= (3,)
                  else "tf.saved_model.load")
        choice = FormatChoice("savedmodel", (
            f"Keras {here} here is newer than the server's {server}, which cannot load "
            f".keras files from newer versions; it loads a TensorFlow SavedModel through "
            f"{loader}"))
    else:
        choice = FormatChoice("keras", f"Keras {here} here, the server's {server}: .keras "
                                       f"loads there")
    loads = profile.contract.model_formats
    if SHIPS_AS[choice.format] not in loads:
        raise HarnessError(f"the {profile.name} server's runtime loads {', '.join(loads)}, "
                           f"not the {choice.format} files pack would ship ({choice.why})",
                           hint="pack with another --format, or fix [contract] "
                                "model_formats in the profile")
    return choice
