"""`harness explain`: the most confident mistakes of a Keras submission, and where it looked.

A submission (experiment, folder or zip, staged as `harness score` stages it) is run in
this process on the test set, a seeded sample of at most `per_family` images of each
corruption family. Its mistakes are grouped two ways: by family (what to augment
against) and by confused class pair (what the model mixes up); each group's most
confident mistakes are drawn as the image beside its Grad-CAM heat map (`gradcam`),
with the true and predicted class and the confidence, one PNG gallery per group.
`explain.json` in the same folder lists them; `harness report` shows them.

Only the submission's `.keras` files are differentiated (an ensemble's probabilities
and maps are averaged). How its model.py feeds them is learnt, not assumed: the
harness's template passes pixels 0-255, course templates often divide by 255 first, so
model.py's own `predict` answers a few images (in this process) and the scale whose
answers agree with it is used. Nothing is written into the submission or its zip.

Examples:
    >>> r = explain("baseline_cnn", testset="demo", n=24)
    >>> r.galleries[0].png
    'data/explain/baseline_cnn/family_occlusion.png'
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness.contactsheet import contact_sheet
from harness.errors import HarnessError
from harness.fsutil import sha256_file, write_text_atomic
from harness.paths import data_dir
from harness.profile import Profile, get_profile
from harness.progress import progress_bar
from harness.stamps import slug

PREDICT_CHUNK = 256


def explain_dir() -> Path:
    """Where galleries go, one folder per submission: the data folder's explain/."""
    return data_dir() / "explain"


@dataclass
class Mistake:
    """One wrong answer: test-set index, family and severity, true and predicted class,
    the probability given to the prediction, and where its heat map peaks (row, col)."""

    index: int
    family: str
    severity: int | None
    true: int
    pred: int
    confidence: float
    peak: tuple[int, int] | None = None


@dataclass
class Gallery:
    """One PNG of mistakes: `kind` "family" or "pair", the group's key and mistakes."""

    kind: str
    key: str
    title: str
    png: str
    n_images: int
    n_mistakes: int
    items: list[Mistake] = field(default_factory=list)


@dataclass
class ExplainResult:
    experiment: str
    target: str
    testset: str
    layer: str
    models: int
    input_scale: float
    n_images: int
    n_mistakes: int
    accuracy: float
    out_dir: str
    summary_json: str
    seconds: float
    galleries: list[Gallery] = field(default_factory=list)
    # The competition its test set and captions' class names are of (the profile's).
    competition: str | None = None
    model: str = ""
    predictions: str = ""



def _short(name: str) -> str:
    return name if len(name) <= 11 else name[:10] + "."


def load_keras_models(folder: Path) -> list:
    """Every `.keras` file in the submission folder, loaded (as the template loads them).

    Raises:
        HarnessError: none there (not a Keras submission), or one does not load.
    """
    paths = sorted(folder.glob("*.keras"))
    if not paths:
        if any(folder.glob("*/saved_model.pb")):
            # What `harness pack` ships from a newer Keras: a graph, no layers to look into.
            raise HarnessError(f"{folder.name}: its model is a SavedModel, whose layers "
                               f"Grad-CAM cannot reach", hint="explain the experiment it was "
                                                          "packed from: harness explain NAME")
        raise HarnessError(f"{folder.name}: not a Keras submission (no .keras file beside "
                           f"model.py)", hint="explain needs the model's .keras weights; "
                                              "it cannot look inside other model.py code")
    import keras

    from harness.scoring.kerasfiles import newer, saved_keras_version

    models = []
    for path in paths:
        try:
            models.append(keras.models.load_model(path, compile=False))
        except Exception as e:  # noqa: BLE001 -- any failure to load is the submission's
            saved = saved_keras_version(path)
            raise HarnessError(
                f"{path.name}: cannot be loaded as a Keras model "
                f"({type(e).__name__}: {str(e).splitlines()[0][:200]})",
                hint=f"it was saved by Keras {saved}, this is {keras.__version__}: run "
                     f"explain under a Keras at least that new"
                if newer(saved, keras.__version__) else
                "explain loads .keras files with keras.models.load_model, as the "
                "template does") from None
    return models


def _own_answers(folder: Path, images: np.ndarray) -> np.ndarray | None:
    """model.py's own labels for `images`, run here as the server runs it (its folder the
    working directory and first on the path); None when it cannot run here."""
    import importlib.util
    import sys

    cwd = os.getcwd()
    sys.path.insert(0, str(folder))
    sys.modules.pop("harness_runtime", None)
    try:
        os.chdir(folder)
        # Course model.py files print Keras progress bars: they would break --json.
        with contextlib.redirect_stdout(io.StringIO()):
            spec = importlib.util.spec_from_file_location("_explained_model", folder / "model.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return np.asarray(module.Model().predict(images)).reshape(-1).astype(np.int64)
    except Exception:  # noqa: BLE001 -- a model.py that fails here leaves the default scale
        return None
    finally:
        os.chdir(cwd)
        sys.path.remove(str(folder))
        sys.modules.pop("harness_runtime", None)


def input_scale(folder: Path, models: list, images: np.ndarray, probe: int = 64) -> float:
    """1.0 (pixels 0-255, the template's way) or 1/255: whichever makes the .keras models
    agree with model.py's own answers on a few images."""
    sample = images[:probe]
    answers = _own_answers(folder, sample)
    if answers is None or len(answers) != len(sample):
        return 1.0
    agreement = {scale: float((_probabilities(models, sample, scale).argmax(axis=1)
                               == answers).mean()) for scale in (1.0, 1 / 255)}
    return max(agreement, key=lambda s: (agreement[s], s == 1.0))


def _probabilities(models: list, images: np.ndarray, scale: float = 1.0,
                   progress: bool = False) -> np.ndarray:
    total = None
    bar = progress_bar("predict", disable=not progress, unit="chunk")
    for model in models:
        parts = [np.asarray(model.predict_on_batch(
                     images[s:s + PREDICT_CHUNK].astype(np.float32) * np.float32(scale)))
                 for s in bar(range(0, len(images), PREDICT_CHUNK))]
        probs = np.concatenate(parts).astype(np.float64)
        if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1, atol=1e-3):
            probs = np.exp(probs - probs.max(axis=1, keepdims=True))  # logits: softmax them
            probs /= probs.sum(axis=1, keepdims=True)
        total = probs if total is None else total + probs
    return total / len(models)


def _sample(groups: np.ndarray, per_family: int, seed: int) -> np.ndarray:
    """At most `per_family` indices of each family, seeded, in test-set order."""
    rng = np.random.default_rng(seed)
    keep = []
    for family in sorted(set(groups.tolist())):
        idx = np.flatnonzero(groups == family)
        keep.append(idx if len(idx) <= per_family else rng.choice(idx, per_family, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def _most_confident(mask: np.ndarray, confidence: np.ndarray, n: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    order = np.lexsort((idx, -confidence[idx]))  # ties by index: the same every time
    return idx[order[:n]]


def explain(target: str | os.PathLike, testset: str | os.PathLike | None = None, n: int = 24,
            layer: str | None = None, out: str | os.PathLike | None = None,
            per_family: int = 400, pairs: int = 6, seed: int = 0,
            profile: Profile | str | None = None, name: str | None = None,
            progress: bool = False, optimize: bool = True) -> ExplainResult:
    """Draw the most confident mistakes of TARGET per family and per confused pair.

    Args:
        target: an experiment, a submission folder or a zip with `.keras` weights.
        testset: NAME or a path to an npz (as `harness score` takes it).
        n: mistakes per gallery.
        layer: the layer Grad-CAM weighs (default: the last convolutional feature map).
        out: the folder for the galleries and explain.json (default data/explain/NAME).
        per_family: images of each family run through the model (a seeded sample).
        pairs: galleries for this many of the most frequent (true, predicted) pairs.
        seed: seeds the sample.
        profile: the competition profile.
        name: the name it goes by (default: from TARGET, as `harness score` names it);
            give the leaderboard's name to see both together in the report.
        progress: tqdm bars (stderr) over predicting, Grad-CAM and drawing galleries.
        optimize: explain an experiment as `pack` ships it (the CPU rewrite, which
            `score` runs too); False: its stock model.

    Where `harness score` kept this model's labels on this test set, they are reused:
    the mistakes are the ones it counted, and only they are run through the model here
    (for their confidence and maps).

    Raises:
        HarnessError: not a Keras submission, a model that cannot be differentiated,
            no such layer, target or test set.
    """
    from harness.results.gradcam import find_conv_layer, grad_cam, overlay
    from harness.scoring.predictions import stored_predictions
    from harness.scoring.targets import resolve_target
    from harness.shipping.optimize import packed_rewrite
    from harness.testset.store import load_testset

    if n < 1 or per_family < 1 or pairs < 0:
        raise HarnessError(f"--n and --per-family are >= 1, pairs >= 0. Received: n={n}, "
                           f"per_family={per_family}, pairs={pairs}")
    start = time.perf_counter()
    profile = get_profile(profile)
    ts = load_testset(testset, profile)
    groups = ts.extras.get("groups")
    groups = np.full(len(ts), "all") if groups is None else groups.astype(str)
    severity = ts.extras.get("severity")
    chosen = _sample(groups, per_family, seed)
    with np.load(ts.path, allow_pickle=False) as archive:
        images = archive["images"][chosen]
    labels, groups = ts.labels[chosen].astype(np.int64), groups[chosen]
    severity = None if severity is None else severity[chosen]

    with tempfile.TemporaryDirectory(prefix="harness-explain-") as tmp:
        staged = resolve_target(target, Path(tmp) / "submission", profile, as_trained=True,
                                prepare=packed_rewrite if optimize else None)
        models = load_keras_models(staged.path)
        layers = [find_conv_layer(m, layer) for m in models]
        scale = input_scale(staged.path, models, images)
    kept = stored_predictions(staged.model_sha256, sha256_file(ts.path), len(ts)).labels[chosen]
    if len(kept) and (kept >= 0).all():
        pred, wrong = kept, kept != labels
        confidence = np.zeros(len(pred))
        if wrong.any():
            probs = _probabilities(models, images[wrong], scale, progress)
            confidence[wrong] = probs[np.arange(len(probs)), pred[wrong]]
        predictions = (f"reused the labels harness score kept for these {len(pred)} images; "
                       f"only its {int(wrong.sum())} mistakes were run through the model here")
    else:
        probs = _probabilities(models, images, scale, progress)
        pred = probs.argmax(axis=1)
        confidence = probs[np.arange(len(pred)), pred]
        wrong = pred != labels
        predictions = f"predicted here: {len(pred)} images through the .keras models"

    name = name or staged.name
    out_dir = Path(out) if out else explain_dir() / slug(name)
    picks: list[tuple[str, str, str, np.ndarray, int, int]] = []
    for family in sorted(set(groups.tolist()), key=lambda f: (f != "clean", f)):
        in_family = groups == family
        n_wrong = int((wrong & in_family).sum())
        if n_wrong:
            title = (f"{family}: the {{k}} most confident of {n_wrong} mistakes in "
                     f"{int(in_family.sum())} images")
            picks.append(("family", family, title,
                          _most_confident(wrong & in_family, confidence, n),
                          int(in_family.sum()), n_wrong))
    k = profile.num_classes
    counts = np.bincount(labels[wrong] * k + pred[wrong], minlength=k * k)
    for code in [c for c in np.lexsort((np.arange(k * k), -counts)) if counts[c]][:pairs]:
        t, p = divmod(int(code), k)
        mask = wrong & (labels == t) & (pred == p)
        names = profile.class_names
        title = (f"{names[t]} taken for {names[p]}: the {{k}} most confident of "
                 f"{int(counts[code])} such mistakes")
        picks.append(("pair", f"{t}-{p}", title, _most_confident(mask, confidence, n),
                      int((labels == t).sum()), int(counts[code])))

    needed = np.unique(np.concatenate([p[3] for p in picks])) if picks else np.zeros(0, int)
    maps = np.zeros((len(needed), *images.shape[1:3]), np.float32)
    for model, chosen_layer in zip(models, layers):
        maps += grad_cam(model, images[needed], pred[needed], chosen_layer, scale=scale,
                         progress=progress_bar("Grad-CAM", disable=not progress,
                                               unit="batch")) / len(models)
    where = {int(i): j for j, i in enumerate(needed)}

    galleries = []
    for kind, key, title, idx, n_images, n_mistakes in progress_bar(
            "galleries", disable=not progress, unit="png")(picks):
        rows = [where[int(i)] for i in idx]
        tiles = np.concatenate([images[idx], overlay(images[idx], maps[rows])], axis=2)
        items = []
        for i, row in zip(idx, rows):
            peak = np.unravel_index(int(maps[row].argmax()), maps[row].shape)
            items.append(Mistake(int(chosen[i]), str(groups[i]),
                                 None if severity is None else int(severity[i]),
                                 int(labels[i]), int(pred[i]), float(confidence[i]),
                                 (int(peak[0]), int(peak[1]))))
        captions = [f"{_short(profile.class_names[m.true])}>{_short(profile.class_names[m.pred])}"
                    f"\n{m.confidence:.2f} {m.family[:12]}"
                    + ("" if m.severity is None else f" s{m.severity}") for m in items]
        png = out_dir / f"{kind}_{slug(key)}.png"
        contact_sheet(tiles, png, captions=captions, columns=6,
                      title=f"{name}: " + title.format(k=len(items)))
        galleries.append(Gallery(kind, key, title.format(k=len(items)), str(png), n_images,
                                 n_mistakes, items))
    # Galleries of an earlier run whose group has no mistakes now would mislead: gone.
    for stale in [*out_dir.glob("family_*.png"), *out_dir.glob("pair_*.png")]:
        if str(stale) not in {g.png for g in galleries}:
            stale.unlink()
    result = ExplainResult(
        experiment=name, target=staged.source, testset=ts.name,
        layer=", ".join(sorted({layer.name for layer in layers})), models=len(models),
        input_scale=scale,
        n_images=len(chosen), n_mistakes=int(wrong.sum()),
        accuracy=float(1 - wrong.mean()) if len(wrong) else 0.0, out_dir=str(out_dir),
        summary_json=str(out_dir / "explain.json"), seconds=time.perf_counter() - start,
        galleries=galleries, competition=profile.name, model=staged.model,
        predictions=predictions)
    summary = {k: v for k, v in asdict(result).items() if k != "seconds"}
    write_text_atomic(out_dir / "explain.json", json.dumps(summary, indent=2, sort_keys=True))
    return result


def read_explanations(root: str | os.PathLike | None = None) -> list[dict]:
    """Every explain.json under `root` (default `explain_dir()`; one per explained
    submission), by experiment."""
    found = []
    for path in sorted(Path(root or explain_dir()).glob("*/explain.json")):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a broken summary leaves that submission out of the report
    return sorted(found, key=lambda s: s.get("experiment", ""))
