"""Experiments: the registry of experiment packages, their run folders as every stage
reads them, and a run staged as a submission folder.

Every stage meets experiments (scoring a name stages its latest run, pack ships one, the
report reads their histories, training writes them), so this module sits below the
stages, beside the profile: it knows the package's files and the run folder's records,
not how training fills them (`harness.training`).

An experiment is a folder `experiments/NAME/` holding:

- `config.py`: `CONFIG`, a dict of the hyper-parameters where it differs from the
  defaults of `harness.training.config` (commented), optionally `PARENT`, the name of
  an experiment whose CONFIG it starts from, and `SEARCH_SPACE` for `harness tune`.
- `build.py`: `build_model(config, profile) -> keras.Model`. The model takes float32
  pixels 0-255 of the profile's input shape (it carries its own preprocessing) and
  returns class probabilities. It may also define `build_augmentation(config)`.
- `submission/` (optional): files that replace or join the template's
  (`harness/submission_template/`) in the zip (its own `model.py`, say).
- `runs/` (ignored by git): one folder per training run, `runs/YYMMDD_HHMMSS/`, with
  the weights (`weights.keras`, or `fold_1.keras` ... for a K-fold ensemble), the
  history, plots, the resolved config and the git commit; and `packs.json`, each zip
  `harness pack` made of it (its name, sha256, content sha256, time), so a Codabench
  score recorded for a zip finds the run it came from.

Examples:
    >>> exp = get_experiment("robust_cnn")
    >>> exp.config()["filters"]       # from its PARENT, baseline_cnn
    [16, 32, 64]
    >>> exp.runs_dir.relative_to(exp.path.parent).as_posix()
    'robust_cnn/runs'
    >>> # its latest run's weights with the template model.py, in sub/
    >>> exp.stage("sub")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from harness.errors import HarnessError
from harness.fsutil import read_json, write_text_atomic
from harness.paths import project_folder
from harness.profile import Profile, get_profile
from harness.registry import Registry, unknown
from harness.stamps import local_stamp

# The template every zip starts from ships inside the package (package data), so an
# install without the checkout (a wheel on a GPU notebook) stages and packs too.
TEMPLATE_DIR = Path(__file__).resolve().parent / "submission_template"
WEIGHT_SUFFIX = ".keras"


def experiments_root() -> Path:
    """Where experiments live: $HARNESS_EXPERIMENTS, else ./experiments, else the repo's."""
    return project_folder("HARNESS_EXPERIMENTS", "experiments")


def _load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Experiment:
    """One experiment package. Use `get_experiment` to find one by name or path."""

    name: str
    path: Path

    def config_modules(self) -> list[ModuleType]:
        """Its config.py, then its PARENT's, and so on up the chain.

        Raises:
            HarnessError: an unknown parent, or parents that lead back to themselves.
        """
        modules, seen, exp = [], [self.name], self
        while True:
            module = _load_module(exp.path / "config.py", f"_exp_{exp.name}_config")
            modules.append(module)
            parent = getattr(module, "PARENT", None)
            if parent is None:
                return modules
            if parent in seen:
                raise HarnessError(f"{self.name}: its PARENT chain leads back to itself. "
                                   f"Received: PARENT={parent!r}",
                                   hint="a PARENT names another experiment, never a child")
            exp = get_experiment(parent, self.path.parent)
            seen.append(parent)

    def config(self) -> dict:
        """A fresh copy of the experiment's CONFIG over its PARENT's (and theirs): only
        what differs is written down. The training defaults fill the rest
        (`harness.training.resolve_config`)."""
        config: dict = {}
        for module in reversed(self.config_modules()):
            config.update(getattr(module, "CONFIG", {}))
        return config

    def search_space(self) -> dict:
        """The SEARCH_SPACE for tuning: its own, else its nearest parent's (empty if none
        declares one)."""
        for module in self.config_modules():
            if hasattr(module, "SEARCH_SPACE"):
                return dict(module.SEARCH_SPACE)
        return {}

    def builder(self) -> ModuleType:
        """The experiment's build.py as a module."""
        return _load_module(self.path / "build.py", f"_exp_{self.name}_build")

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    def runs(self) -> list[Path]:
        """Finished runs (those with weights), oldest first."""
        if not self.runs_dir.is_dir():
            return []
        return sorted(p for p in self.runs_dir.iterdir()
                      if p.is_dir() and any(p.glob(f"*{WEIGHT_SUFFIX}")))

    def latest_run(self) -> Path:
        """The newest run with weights; raises if the experiment was never trained."""
        runs = self.runs()
        if not runs:
            raise HarnessError(f"experiment {self.name!r} has no trained run with weights "
                               f"under {self.runs_dir}",
                               hint=f"train it first: harness train {self.name}")
        return runs[-1]

    def packs(self) -> list[dict]:
        """Every zip packed from its runs (`record_pack`), oldest first, each with `run`
        (the run folder's name) added."""
        found = [{**entry, "run": run.name} for run in self.runs()
                 for entry in read_packs(run)]
        return sorted(found, key=lambda e: str(e.get("packed_at")))

    def new_run_dir(self) -> Path:
        """A fresh, empty run folder named by the time."""
        stamp = local_stamp()
        path = self.runs_dir / stamp
        suffix = 1
        while path.exists():
            suffix += 1
            path = self.runs_dir / f"{stamp}_{suffix}"
        path.mkdir(parents=True)
        return path

    def stage(self, dest: str | os.PathLike, run: str | os.PathLike | None = None,
              profile: Profile | str | None = None, **settings) -> Path:
        """Assemble the submission folder: template, the experiment's overrides, weights,
        and what the profile's contract asks of the zip (`keep_contract`).

        Args:
            dest: folder to fill (created; must be empty or absent).
            run: a run folder (default: the latest run).
            profile: the competition (default: the active profile).
            **settings: written to `submission.json` (e.g. tta=3, ensemble="vote"),
                over the run's own `submission.json` if it has one.

        Returns:
            `dest`, holding model.py, harness_runtime.py, the weights and submission.json.
        """
        run = Path(run) if run else self.latest_run()
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise HarnessError(f"{dest}: staging folder is not empty")
        for src in (TEMPLATE_DIR, self.path / "submission"):
            if src.is_dir():
                for f in src.iterdir():
                    if f.is_file() and f.suffix in (".py", ".json"):
                        shutil.copy2(f, dest / f.name)
        weights = sorted(run.glob(f"*{WEIGHT_SUFFIX}"))
        if not weights:
            raise HarnessError(
                f"{run}: no {WEIGHT_SUFFIX} weights in this run folder (an unfinished or "
                f"damaged run)",
                hint=f"finish it: harness train {self.name} --resume {run.name}; or pack "
                     f"another run (--run), the latest finished one by default")
        for w in weights:
            shutil.copy2(w, dest / w.name)
        merged = {}
        for layer in (run / "submission.json", dest / "submission.json"):
            if layer.exists():
                settings_there = read_json(layer, "submission settings", hint=(
                    "fix or delete it; it holds JSON such as {\"tta\": 2}"))
                if not isinstance(settings_there, dict):
                    raise HarnessError(f"{layer}: submission settings are not a JSON object",
                                       hint='fix or delete it; e.g. {"tta": 2}')
                merged.update(settings_there)
        merged.update({k: v for k, v in settings.items() if v is not None})
        (dest / "submission.json").write_text(json.dumps(merged, indent=2, sort_keys=True))
        own_model_py = (self.path / "submission" / "model.py").is_file()
        keep_contract(dest, get_profile(profile), template=not own_model_py)
        return dest


def keep_contract(folder: Path, profile: Profile, template: bool = True) -> None:
    """Make a staged folder keep the profile's contract: the files the server requires
    (empty, as CodaLab's `metadata`), and, when model.py is the template's, the class
    name the server imports (an alias of the template's `Model`, whose constructor
    takes the folder as an optional `path`: `Model()` and `model(path)` both work)."""
    contract = profile.contract
    for name in contract.required_files:
        (folder / name).touch()
    if template and contract.class_name != "Model":
        with open(folder / "model.py", "a") as f:
            f.write(f"\n\n# The {profile.name} server imports `{contract.class_name}` "
                    f"and calls {contract.call}.\n{contract.class_name} = Model\n")


def list_experiments(root: str | os.PathLike | None = None) -> list[Experiment]:
    """Every experiment package under `root`, by name."""
    root = Path(root) if root else experiments_root()
    if not root.is_dir():
        return []
    return [Experiment(p.name, p) for p in sorted(root.iterdir())
            if (p / "config.py").is_file() and (p / "build.py").is_file()]


def is_experiment(path: str | os.PathLike) -> bool:
    p = Path(path)
    return (p / "config.py").is_file() and (p / "build.py").is_file()


def get_experiment(name_or_path: str | os.PathLike,
                   root: str | os.PathLike | None = None) -> Experiment:
    """Find an experiment by folder path or by name; an unknown name gets the closest."""
    path = Path(name_or_path)
    if is_experiment(path):
        return Experiment(path.resolve().name, path.resolve())
    if root is not None:
        known = {e.name: e for e in list_experiments(root)}
        if str(name_or_path) not in known:
            raise unknown("experiment", name_or_path, known, HINT)
        return known[str(name_or_path)]
    return EXPERIMENTS.get(str(name_or_path))


HINT = "make one with harness new NAME"
EXPERIMENTS: Registry[Experiment] = Registry(
    "experiment", find=lambda: {e.name: e for e in list_experiments()}, hint=HINT)


PACKS_FILE = "packs.json"


def read_packs(run_dir: str | os.PathLike) -> list[dict]:
    """The zips packed from a run (`PACKS_FILE`); none when absent or damaged, since a
    pack record only helps find a run and must never stop one being read."""
    path = Path(run_dir) / PACKS_FILE
    try:
        entries = json.loads(path.read_text()) if path.is_file() else []
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("sha256")] \
        if isinstance(entries, list) else []


def record_pack(run_dir: str | os.PathLike, entry: dict) -> Path:
    """Add a packed zip's record (name, sha256, content_sha256, packed_at, ...) to the
    run's `PACKS_FILE`, written atomically."""
    path = Path(run_dir) / PACKS_FILE
    return write_text_atomic(path, json.dumps([*read_packs(run_dir), entry], indent=2))


def read_commit(run_dir: str | os.PathLike) -> str:
    """The commit a run started at, as `git_commit` gives one ("abc123" or "abc123-dirty");
    "unknown" when its `commit.txt` says so or is missing."""
    path = Path(run_dir) / "commit.txt"
    lines = path.read_text().splitlines() if path.is_file() else []
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    return fields.get("commit", "unknown") + ("-dirty" if fields.get("dirty") == "true" else "")

@dataclass
class FinishedRun:
    """What a run folder says about itself once trained, for people to read.

    Args:
        path: the run folder.
        histories: per model (one, or one per fold), Keras' per-epoch history dict.
        train_seconds: training wall time over all its calls (None: trained before the
            harness recorded it).
        segment_seconds: each call's part of `train_seconds`.
        config: the resolved config it trained with ({} if unreadable).
    """

    path: Path
    histories: list[dict] = field(default_factory=list)
    train_seconds: float | None = None
    segment_seconds: list[float] = field(default_factory=list)
    config: dict = field(default_factory=dict)


def _json_or_empty(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_run(run_dir: str | os.PathLike) -> FinishedRun:
    """A run folder's history, training time and config; whatever is missing or damaged
    is left empty, since a report of many runs must not fail on one."""
    run_dir = Path(run_dir)
    data = _json_or_empty(run_dir / "history.json")
    if "models" in data:
        histories = [m.get("history", {}) for m in data["models"] if isinstance(m, dict)]
    elif data and all(isinstance(v, dict) for v in data.values()):
        histories = list(data.values())  # an older run: one history per fold, by name
    else:
        histories = [data] if data else []  # an older run: one model's history
    return FinishedRun(path=run_dir, histories=histories,
                       train_seconds=data.get("train_seconds"),
                       segment_seconds=list(data.get("segment_seconds") or []),
                       config=_json_or_empty(run_dir / "config.json"))
