"""Experiments: the registry of experiment packages, their runs, and their submissions.

An experiment is a folder `experiments/NAME/` holding:

- `config.py`: `CONFIG`, a dict of hyper-parameters (commented), and optionally
  `SEARCH_SPACE` for `harness tune`.
- `build.py`: `build_model(config, profile) -> keras.Model`. The model takes float32
  pixels 0-255 of the profile's input shape (it carries its own preprocessing) and
  returns class probabilities. It may also define `build_augmentation(config)`.
- `submission/` (optional): files that replace or join the template's in the zip
  (its own `model.py`, say).
- `runs/` (ignored by git): one folder per training run, `runs/YYMMDD_HHMMSS/`, with
  the weights (`weights.keras`, or `fold_1.keras` ... for a K-fold ensemble), the
  history, plots, the resolved config and the git commit.

Examples:
    >>> exp = get_experiment("baseline_cnn")
    >>> exp.config()["epochs"]
    12
    >>> exp.stage("sub")             # latest run's weights + the template model.py
"""

from __future__ import annotations

import datetime as _dt
import difflib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from harness.errors import HarnessError
from harness.fsutil import read_json
from harness.paths import REPO_ROOT, project_folder
from harness.profile import Profile, get_profile

TEMPLATE_DIR = REPO_ROOT / "submission"
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

    def config(self) -> dict:
        """A fresh copy of the experiment's CONFIG."""
        return dict(_load_module(self.path / "config.py", f"_exp_{self.name}_config").CONFIG)

    def search_space(self) -> dict:
        """The experiment's SEARCH_SPACE for tuning (empty if it declares none)."""
        module = _load_module(self.path / "config.py", f"_exp_{self.name}_config")
        return dict(getattr(module, "SEARCH_SPACE", {}))

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

    def new_run_dir(self) -> Path:
        """A fresh, empty run folder named by the time."""
        stamp = _dt.datetime.now().strftime("%y%m%d_%H%M%S")
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
    """Find an experiment by folder path or by name; an unknown name gets "did you mean"."""
    path = Path(name_or_path)
    if is_experiment(path):
        return Experiment(path.resolve().name, path.resolve())
    known = {e.name: e for e in list_experiments(root)}
    if str(name_or_path) in known:
        return known[str(name_or_path)]
    close = difflib.get_close_matches(str(name_or_path), known, n=1)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"known experiments: {', '.join(known) or 'none'}; make one with harness new NAME")
    raise HarnessError(f"unknown experiment. Received: {str(name_or_path)!r}", hint=hint)
