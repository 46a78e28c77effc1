"""Competition profiles: every fact about a competition, read from one TOML file.

A profile holds what the scoring server expects and runs: the input shape and dtype,
the class names in label order, the metric, the time limit, the estimated size of the
hidden test set, the server's runtime and the modules a submission may import there,
and the contract `model.py` must keep (`Contract`). The shipped profiles are
`harness/profiles/*.toml`; a new competition is a new file, not a code change
(docs/profiles.md). `--profile` takes a shipped name or a file's path; without it,
every command uses the `harness.toml` of the working folder (or the nearest folder
above it that has one), else `DEFAULT_PROFILE`.

A file is checked as it loads (`harness.profile_schema`): a broken one raises a
`ProfileError` listing each mistake on its own line.

Examples:
    >>> from harness.profile import get_profile
    >>> p = get_profile("an2dl-2024-hw1")
    >>> p.input_shape, p.num_classes, p.time_limit_s
    ((96, 96, 3), 8, 6000)
    >>> get_profile("an2dl-2023-hw1").contract.class_name
    'model'
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness import profile_schema
from harness.errors import HarnessError
from harness.registry import Registry, unknown

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, before it joined the standard library
    import tomli as tomllib

SHIPPED_DIR = Path(__file__).with_name("profiles")
PROJECT_FILE = "harness.toml"
DEFAULT_PROFILE = "an2dl-2024-hw1"


class ProfileError(HarnessError):
    """A profile file that cannot be used; `mistakes` holds one line per problem."""

    def __init__(self, mistakes: list[str], hint: str | None = None):
        super().__init__("\n".join(mistakes), hint=hint)
        self.mistakes = mistakes


@dataclass(frozen=True)
class Contract:
    """What the server's ingestion does with model.py, and what it accepts back.

    Args:
        class_name: the class model.py must define (`from model import <class_name>`).
        init_args: what the server passes the constructor: () for `Model()`, ("path",)
            for `model(submission_folder)`.
        working_dir: where model.py runs: "submission" (its own folder) or "run" (the
            worker's run folder: a relative path to a weights file fails there).
        required_files: files the zip's root must hold besides model.py (CodaLab's
            empty `metadata` marks a code submission).
        predict_returns: what `predict` may return: "labels", "tensor", "onehot",
            "probabilities" (`profile_schema.PREDICT_RETURNS`).
        model_formats: the model files the server's runtime loads
            (`profile_schema.MODEL_FORMATS`).
    """

    class_name: str = "Model"
    init_args: tuple[str, ...] = ()
    working_dir: str = "submission"
    required_files: tuple[str, ...] = ()
    predict_returns: tuple[str, ...] = ("labels",)
    model_formats: tuple[str, ...] = ("keras",)

    @property
    def call(self) -> str:
        """How the server builds the model, in Python: `Model()` or `model(path)`."""
        return f"{self.class_name}({', '.join(self.init_args)})"


@dataclass(frozen=True)
class Profile:
    """What one competition's scoring server expects and runs.

    Args:
        name: what `--profile` calls it.
        title: human name of the competition.
        input_shape: (height, width, channels) of every image.
        class_names: class names, index = label.
        time_limit_s: the server's limit over the whole run (load and predict), seconds.
        hidden_test_size: estimated number of hidden test images (timecheck extrapolates to it).
        class_aliases: extra folder or label names accepted by `harness data import`,
            lower case, mapped to labels (class names always match, case-insensitively).
        metric: the leaderboard's metric, "accuracy" or "macro_f1".
        server_runtime: pip requirement of each package the server runs, exact where known.
        keras_known_to_load: newer Keras releases ("3.6": any 3.6.x) whose `.keras` files
            are known to load on the server's Keras; others newer than it get a warning.
        server_modules: top-level modules a model.py may import on the server, besides
            the standard library and the submission's own files.
        server_threads: CPU threads assumed for the server when estimating time.
        crop: how `data import` makes a square from a larger photo: "center" takes the
            central square of side `crop_fraction` times the shorter side.
        crop_fraction: see `crop`.
        calibration: the default forecast calibration (`harness.testset.calibration`):
            the compound recipe's strength fitted on public real results, used until a
            team fits its own with `harness calibrate`; {} for none.
        input_dtype: the dtype of the X the server hands `predict` (pixels 0-255 either
            way; the harness keeps its own data as uint8 and converts).
        contract: the `Contract` model.py must keep.
        platform: where the competition is hosted ("codabench", "codalab").
        images_key, labels_key: the npz keys of the course's own data files.
        synthetic: what `data synth` draws for this profile ("" for nothing).
        class_counts: images per class in the course's file: the mix `data synth` draws.
        source: the file it was read from.
    """

    name: str
    title: str
    input_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    time_limit_s: float
    hidden_test_size: int
    class_aliases: dict[str, int] = field(default_factory=dict)
    metric: str = "accuracy"
    server_runtime: dict[str, str] = field(default_factory=dict)
    keras_known_to_load: tuple[str, ...] = ()
    server_modules: frozenset[str] = frozenset()
    server_threads: int = 2
    crop: str = "center"
    crop_fraction: float = 1.0
    calibration: dict = field(default_factory=dict)
    input_dtype: str = "uint8"
    contract: Contract = field(default_factory=Contract)
    platform: str = ""
    images_key: str = "images"
    labels_key: str = "labels"
    synthetic: str = ""
    class_counts: tuple[int, ...] = ()
    source: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def content_sha256(self) -> str:
        """A stable hash of what the profile says once resolved (`extends` merged), not
        of where its file lies: two copies of one competition's profile agree."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "source"}
        text = json.dumps(fields, sort_keys=True, default=lambda v: sorted(v)
                          if isinstance(v, (set, frozenset)) else str(v))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def ref(self) -> str:
        """What to pass as `--profile` for this one: its name if shipped, else its file."""
        shipped = self.source and Path(self.source).parent == SHIPPED_DIR.resolve()
        return self.name if shipped or not self.source else self.source

    def label_for_folder(self, folder: str) -> int | None:
        """Label for a class folder (or string label): a class name or an alias, any case."""
        key = folder.strip().lower()
        for label, name in enumerate(self.class_names):
            if key in (name.lower(), name.lower().replace(" ", "_")):
                return label
        return self.class_aliases.get(key)

    def may_import(self, module: str) -> bool:
        """Whether a top-level module exists on the server (stdlib or the profile's list)."""
        top = module.split(".", 1)[0]
        return top in sys.stdlib_module_names or top in self.server_modules

    def server_requirements(self) -> list[str]:
        """The pip requirements that rebuild the server's runtime, e.g. for `verify`."""
        return [f"{pkg}{spec}" for pkg, spec in self.server_runtime.items()]

    @classmethod
    def from_document(cls, doc: dict, source: str = "") -> "Profile":
        """A profile from a checked document (`profile_schema.parse` found no mistakes)."""
        task, runtime = doc["task"], doc["runtime"]
        contract, data = doc.get("contract", {}), doc.get("data", {})
        return cls(
            name=doc["name"], title=doc["title"], platform=doc.get("platform", ""),
            input_shape=tuple(task["input_shape"]), class_names=tuple(task["class_names"]),
            class_aliases={k.lower(): v for k, v in task.get("class_aliases", {}).items()},
            metric=task.get("metric", "accuracy"), time_limit_s=task["time_limit_s"],
            hidden_test_size=task["hidden_test_size"],
            input_dtype=task.get("input_dtype", "uint8"),
            server_runtime=dict(runtime["packages"]),
            keras_known_to_load=tuple(runtime.get("keras_known_to_load", ())),
            server_modules=frozenset(runtime.get("modules", ())),
            server_threads=runtime.get("threads", 2),
            contract=Contract(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in contract.items()}),
            images_key=data.get("images_key", "images"),
            labels_key=data.get("labels_key", "labels"),
            crop=data.get("crop", "center"), crop_fraction=data.get("crop_fraction", 1.0),
            synthetic=data.get("synthetic", ""),
            class_counts=tuple(data.get("class_counts", ())),
            calibration=dict(doc.get("calibration", {})), source=source)


def shipped_profiles() -> list[str]:
    """The names of the profiles that ship with the harness."""
    return PROFILES.names()


# The shipped profile files by name, read from the folder at each lookup.
PROFILES: Registry[Path] = Registry(
    "profile", find=lambda: {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.toml"))},
    hint="or the path of a .toml file")


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ProfileError([f"{path}: cannot read it ({e.strerror or e})"]) from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError([f"{path}: not valid TOML: {e}"],
                           hint="fix the line it names; TOML strings need quotes") from None


def _merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, table by table; any other value replaces the base's."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _document(path: Path, seen: tuple = ()) -> dict:
    """The file's document with the profile it `extends` merged under it."""
    if path in seen:
        raise ProfileError([f"{path}: extends itself through {' -> '.join(map(str, seen))}"])
    doc = _read_toml(path)
    parent = doc.pop("extends", None)
    if parent is None:
        return doc
    if not isinstance(parent, str):
        raise ProfileError([f"{path}: extends must be a profile name or a file's path"])
    base = _profile_path(parent, relative_to=path.parent)
    return _merge(_document(base, (*seen, path)), doc)


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or os.sep in name or "/" in name


def _profile_path(name: str, relative_to: Path | None = None) -> Path:
    """The file a profile name or path means; an unknown name says what exists."""
    if _looks_like_path(name):
        path = Path(name).expanduser()
        if relative_to is not None and not path.is_absolute():
            path = relative_to / path
        if not path.is_file():
            raise HarnessError(f"{path}: no such profile file",
                               hint=f"a shipped profile ({', '.join(shipped_profiles())}) "
                                    f"or the path of a .toml file")
        return path
    if name not in PROFILES:
        raise unknown("profile", name, PROFILES, f"known profiles: "
                      f"{', '.join(shipped_profiles())}; or the path of a .toml file",
                      received=f"profile={name!r}")
    return PROFILES.get(name)


@functools.lru_cache(maxsize=32)
def _load(path: Path, _stamp: tuple) -> Profile:
    doc = _document(path)
    _, mistakes = profile_schema.parse(doc, str(path))
    if mistakes:
        raise ProfileError(mistakes, hint=f"harness profile check {path} lists every "
                                          f"mistake; docs/profiles.md shows each field")
    return Profile.from_document(doc, source=str(path))


def load_profile(path: str | os.PathLike) -> Profile:
    """Read and check one profile file (cached until the file changes).

    Raises:
        ProfileError: the file is not valid TOML, or breaks the format (one line each).
    """
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as e:
        raise ProfileError([f"{path}: cannot read it ({e.strerror or e})"]) from None
    return _load(path, (stat.st_mtime_ns, stat.st_size))


def project_profile(start: str | os.PathLike | None = None) -> Path | None:
    """The `harness.toml` in `start` (default: the working folder) or the nearest above."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def get_profile(name: str | os.PathLike | Profile | None = None) -> Profile:
    """A profile by shipped name or file path; None: the project's `harness.toml`, else
    the default. An unknown name raises with the closest known one.

    Examples:
        >>> get_profile().name
        'an2dl-2024-hw1'
        >>> get_profile("profiles/my-challenge.toml").source
        '.../team/profiles/my-challenge.toml'   # the file's absolute path
    """
    if isinstance(name, Profile):
        return name
    if name is None:
        project = project_profile()
        return load_profile(project) if project else load_profile(_profile_path(DEFAULT_PROFILE))
    return load_profile(_profile_path(str(name)))


@dataclass
class CheckResult:
    """What `harness profile check` found in a file.

    Args:
        path: the file.
        ok: no mistakes.
        mistakes: one line per mistake.
        profile: the profile, when ok.
    """

    path: str
    ok: bool
    mistakes: list[str]
    profile: Profile | None = None


def check_profile(path: str | os.PathLike) -> CheckResult:
    """Check a profile file, collecting every mistake instead of stopping at the first.

    Examples:
        >>> print(*check_profile("harness.toml").mistakes, sep="\n")
        harness.toml: missing [task] hidden_test_size (the estimated number of hidden test images)
    """
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{path}: no such file", hint="give the path of a profile's .toml")
    try:
        return CheckResult(str(path), True, [], load_profile(path))
    except ProfileError as e:
        return CheckResult(str(path), False, e.mistakes)
