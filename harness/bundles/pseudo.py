"""A phase's input data with its test images corrupted by a harness recipe: the bundle's
own programs then score a pseudo-private view of any image competition.

`corrupt_input_data(src, dst, recipe, seed)` writes a copy of the input data folder in
which every PNG or JPEG image (any size, grey or colour, read with Pillow) is replaced by
its corrupted view, under the same name, in the same format and mode, and every other
file is copied unchanged, so the bundle's ingestion reads it as it reads the original.
The view is the recipe's headline: for a compound recipe (`pp`, the default) each image
through its chain of families at the recipe's strength (`harness.testset.compound`, one
copy per image, not the test set's two, since the ingestion expects the same files); for
a single-family recipe (`pp@1`) each image at one (family, severity) of the recipe, drawn
by the seed. Images under a folder or file whose name holds "train" are the training
data an ingestion fits on; they stay clean (the hidden set is corrupted, not the data a
model learns from).

The families work on RGB batches: a grey image is corrupted as RGB and turned back into
grey (Pillow's luma). Grey and colour images get chains of their own: a family that
leaves a grey picture unchanged (saturation, stain colour) is left out of the grey
chains, and one that fails or changes the shape on the folder's image sizes (a 7x9
image is too small to occlude) out of those of that size, each with the reason in the
manifest. Deterministic: the same folder,
recipe and seed give the same bytes. Writes only `dst`, built whole and renamed in.
"""

from __future__ import annotations

import functools
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from harness import fsutil
from harness.errors import HarnessError
from harness.testset import compound, corruptions
from harness.testset.recipes import Recipe, get_recipe

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
KEEP_CLEAN = ("train",)
_CHUNK = 256  # images corrupted at once: memory stays bounded on large folders
_MODES = {"L", "LA", "RGB", "RGBA"}  # kept as they are; others become RGB


@dataclass(frozen=True)
class PseudoManifest:
    """What `corrupt_input_data` wrote.

    Args:
        recipe: the recipe's id (`pp@2.0+s1.00`), printed beside the pseudo-private score.
        chains: each corrupted image (path relative to the folder) -> its chain
            (`overlay:3>jpeg:1`; empty for an image the strength left clean).
        families: "grey" and "colour" -> the families their chains draw from (each
            kind of image its own plan: colour families do nothing to grey pictures).
        skipped_families: "grey" and "colour" -> {family: why it was left out}.
        kept: files copied unchanged -> why (training data, an unreadable image, a
            16-bit or float mode).
        grey: how many corrupted images were grey (corrupted as RGB, stored grey).
    """

    source: Path
    target: Path
    recipe: str
    seed: int
    images: int
    corrupted: int
    grey: int
    families: dict[str, tuple[str, ...]]
    skipped_families: dict[str, dict[str, str]] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)
    chains: dict[str, str] = field(default_factory=dict)


def corrupt_input_data(src: str | Path, dst: str | Path, recipe: str | Recipe | None = None,
                       seed: int = 0, keep_clean: tuple[str, ...] = KEEP_CLEAN
                       ) -> PseudoManifest:
    """Write the corrupted copy of the input data folder `src` to `dst` (which must not exist).

    Raises:
        HarnessError: `src` is not a folder, `dst` exists, `src` holds no image to corrupt
            (not an image competition), or no family of the recipe works on its images.

    Examples:
        >>> m = corrupt_input_data("Mini-MNIST-Bundle/input_data", "run/input_data")
        >>> m.corrupted, m.kept["train_labels.csv"]
        (50, 'not an image')
    """
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise HarnessError(f"{src}: not a folder of input data", hint="name the phase's input_data")
    if dst.exists():
        raise HarnessError(f"{dst} exists: the corrupted copy is written whole, never merged",
                           hint="remove it or name a new folder")
    recipe = get_recipe(recipe)
    files = sorted(p for p in src.rglob("*") if p.is_file())
    images, kept = {}, {}
    for path in files:
        rel = path.relative_to(src).as_posix()
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            kept[rel] = "not an image"
        elif any(word in part.lower() for part in Path(rel).parts for word in keep_clean):
            kept[rel] = "training data: kept clean"
        else:
            reason, loaded = _load(path)
            if loaded is None:
                kept[rel] = reason
            else:
                images[rel] = loaded
    if not images:
        raise HarnessError(f"{src}: no PNG or JPEG test image to corrupt (not an image "
                           "competition, or only training images)",
                           hint="run without --pseudo-private")
    views, chains, families, skipped = {}, {}, {}, {}
    for kind in ("grey", "colour"):
        names = [n for n, img in images.items() if img.grey == (kind == "grey")]
        if not names:
            continue
        shapes = sorted({images[n].rgb.shape for n in names})
        families[kind], skipped[kind] = _usable_families(recipe, shapes, kind == "grey")
        out, chain = _views(recipe, families[kind], [images[n].rgb for n in names],
                            zlib.crc32(f"{kind}/{int(seed)}".encode()))
        views.update(zip(names, out))
        chains.update(zip(names, chain))
    with fsutil.atomic_path(dst, directory=True) as tmp:
        for rel in kept:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, tmp / rel)
        for rel, view in views.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            images[rel].save(view, tmp / rel)
    return PseudoManifest(source=src, target=dst, recipe=recipe.id, seed=int(seed),
                          images=len(images) + sum(Path(k).suffix.lower() in IMAGE_SUFFIXES
                                                   for k in kept),
                          corrupted=len(images),
                          grey=sum(img.grey for img in images.values()),
                          families=families, skipped_families=skipped, kept=kept,
                          chains={n: chains[n] for n in images})


@dataclass
class _Image:
    """An image as RGB for the families, and how to store it back as it was."""

    rgb: np.ndarray
    mode: str
    format: str
    alpha: np.ndarray | None

    @property
    def grey(self) -> bool:
        return self.mode in ("L", "LA")

    def save(self, view: np.ndarray, path: Path) -> None:
        out = Image.fromarray(view, "RGB")
        if self.grey:
            out = out.convert("L")
        if self.alpha is not None:
            out.putalpha(Image.fromarray(self.alpha))
        if self.format == "JPEG":
            out.save(path, "JPEG", quality=95)
        else:
            out.save(path, self.format)


def _load(path: Path) -> tuple[str, _Image | None]:
    try:
        with Image.open(path) as im:
            im.load()
            mode, fmt = im.mode, im.format or "PNG"
            if mode in ("I", "I;16", "I;16B", "F"):
                return f"mode {mode} (16-bit or float): kept as it is", None
            alpha = np.asarray(im.getchannel("A")) if mode in ("LA", "RGBA") else None
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError) as e:
        return f"unreadable image: {e}", None
    return "", _Image(rgb, mode if mode in _MODES else "RGB", fmt, alpha)


def _usable_families(recipe: Recipe, shapes: list[tuple[int, ...]], grey: bool
                     ) -> tuple[tuple[str, ...], dict[str, str]]:
    """The recipe's families that corrupt every image size here (and, for grey images,
    change them at all), and why the others are left out."""
    wanted = (list(recipe.compound["families"]) if recipe.compound is not None
              else [f for f in recipe.families if f != "clean"])
    usable, skipped = [], {}
    for name in wanted:
        problem = next(filter(None, (_fails(name, shape, grey) for shape in shapes)), None)
        if problem:
            skipped[name] = problem
        else:
            usable.append(name)
    if not usable:
        raise HarnessError(f"no family of recipe {recipe.id} works on these images "
                           f"({', '.join(f'{s[1]}x{s[0]}' for s in shapes)})",
                           hint="; ".join(f"{k}: {v}" for k, v in skipped.items())[:300])
    return tuple(usable), skipped


@functools.lru_cache(maxsize=256)
def _fails(name: str, shape: tuple[int, ...], grey: bool) -> str | None:
    """Why family `name` cannot corrupt images of `shape`, or None when it can (the
    same for every folder: probed once per process)."""
    family = corruptions.get_family(name)
    probe = np.random.default_rng(0).integers(0, 256, (2, *shape), dtype=np.uint8)
    if grey:
        probe[...] = probe[..., :1]
    changed = False
    for severity in family.severities:
        try:
            out = family(probe, severity, np.random.default_rng(0))
        except Exception as e:  # whatever a family raises on this size, it is left out
            return (f"fails on {shape[1]}x{shape[0]} images "
                    f"({type(e).__name__}: {str(e).splitlines()[0][:80]})")
        if out.shape != probe.shape:
            return f"returns shape {out.shape[1:]} for {shape[1]}x{shape[0]} images"
        luma = _luma(out) if grey else out
        changed = changed or not np.array_equal(luma, _luma(probe) if grey else probe)
    # A colour family (saturation, stain colour) leaves a grey picture as it was: it
    # would make clean images count as corrupted ones.
    return None if changed else "no effect on grey images" if grey else "no effect"


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(x).convert("L")) for x in rgb])


def _views(recipe: Recipe, families: list[str], rgb: list[np.ndarray], seed: int
           ) -> tuple[list[np.ndarray], list[str]]:
    """Each image's corrupted view and its chain, in order."""
    n = len(rgb)
    if recipe.compound is not None:
        spec = {**recipe.compound,
                "families": {f: w for f, w in recipe.compound["families"].items()
                             if f in families}}
        plan = compound.sample_plan(n, spec, seed=seed)
        lengths = plan.lengths(recipe.strength)
        chains = [plan.describe(i, int(lengths[i])) for i in range(n)]
    else:
        rng = np.random.default_rng([int(seed), n])
        pairs = [(f, s) for f in families for s in recipe.families[f]]
        picks = rng.integers(0, len(pairs), n)
        chains = [f"{pairs[k][0]}:{pairs[k][1]}" for k in picks]
    views: list[np.ndarray | None] = [None] * n
    # One batch per image size, in chunks; each chunk is corrupted with its own rows of
    # the plan, so the result depends on the folder, recipe and seed only.
    by_shape: dict[tuple, list[int]] = {}
    for i, img in enumerate(rgb):
        by_shape.setdefault(img.shape, []).append(i)
    for rows in by_shape.values():
        for start in range(0, len(rows), _CHUNK):
            idx = np.array(rows[start:start + _CHUNK])
            batch = np.stack([rgb[i] for i in idx])
            if recipe.compound is not None:
                sub = compound.Plan(plan.families, plan.links[idx], plan.severities[idx],
                                    plan.draw[idx], plan.seed)
                out = compound.at_strength(batch, sub, recipe.strength)
            else:
                out = np.stack([_single(batch[j:j + 1], chains[i], seed, i)[0]
                                for j, i in enumerate(idx)])
            for j, i in enumerate(idx):
                views[i] = out[j]
    return views, chains


def _single(batch: np.ndarray, chain: str, seed: int, i: int) -> np.ndarray:
    """Image i at its one (family, severity), with a generator of its own."""
    name, severity = chain.split(":")
    return corruptions.get_family(name)(batch, int(severity), np.random.default_rng([seed, i]))
