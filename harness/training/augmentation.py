"""Training augmentation: a registry of batched augmentations keyed by name.

An experiment's CONFIG lists augmentations by name in `augment`, applied in that order
to every training batch inside the tf.data pipeline. An entry is a name or a dict with
a `name` and parameters over the registered defaults:

    "augment": ["flip", "noise", {"name": "randaugment", "magnitude": 0.32, "ops": 5}]

Each augmentation works on a batch of float32 pixels 0-255 (B, H, W, C) and one-hot
labels (B, K), and returns both: MixUp and CutMix mix labels too, which is why the
pipeline always feeds one-hot labels. The layers come from keras-cv (Keras 3.4.1 has
none of these built in); they run only in the training pipeline, never inside a saved
model, because the scoring server has no keras_cv.

Examples:
    >>> from harness.training.augmentation import build_augmenter
    >>> augment = build_augmenter(["flip", {"name": "noise", "stddev": 8}], seed=0)
    >>> images, labels = augment(images, labels)      # tf tensors, one batch
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from harness.errors import HarnessError
from harness.registry import Registry

VALUE_RANGE = (0, 255)


@dataclass(frozen=True)
class Augmentation:
    """One registered augmentation.

    Args:
        name: registry key.
        make: `make(seed=..., **params)` returns `fn(images, labels) -> (images, labels)`.
        defaults: the parameters `make` takes, with their defaults.
        doc: one line for `harness train --help` and error hints.
        draws_on: the test-set families (`harness.testset.corruptions`) it trains on, by
            their own code or their technique: `draws_on(**params)` -> names. A score
            on a recipe holding them is optimistic (`harness.testset.optimism`).
    """

    name: str
    make: Callable[..., Callable]
    defaults: dict = field(default_factory=dict)
    doc: str = ""
    draws_on: Callable[..., tuple[str, ...]] = lambda **params: ()


AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation")


def register(name: str, doc: str, draws_on=(), **defaults):
    """Decorator: register `make` under `name`; a duplicate name is a bug and raises.

    `draws_on`: the test-set families it trains on, a tuple or `fn(**params)` -> names.
    """
    families = draws_on if callable(draws_on) else (lambda **params: tuple(draws_on))

    def decorate(make):
        AUGMENTATIONS.register(name, Augmentation(name, make, defaults, doc, families))
        return make
    return decorate


def _images_only(layer):
    """Wrap a keras(-cv) layer that changes images and passes labels through."""
    def apply(images, labels):
        return layer(images, training=True), labels
    return apply


def _cv():
    import keras_cv  # slow to import: only when an augmentation is built

    return keras_cv.layers


@register("flip", "random horizontal/vertical flips and 90-degree rotations (the 8 views)")
def _flip(seed=None):
    import tensorflow as tf

    flip = _cv().RandomFlip("horizontal_and_vertical", seed=seed)

    def apply(images, labels):
        images = flip(images, training=True)
        k = tf.random.uniform([tf.shape(images)[0]], 0, 4, dtype=tf.int32, seed=seed)
        # rot90 of the whole batch, once per k, then pick each image's own.
        views = tf.stack([tf.image.rot90(images, i) for i in range(4)])
        return tf.gather(tf.transpose(views, [1, 0, 2, 3, 4]), k, batch_dims=1), labels
    return apply


@register("noise", "additive Gaussian noise, sigma ~ U(0, stddev) per image (0-255 scale)",
          stddev=12.0)
def _noise(stddev, seed=None):
    import tensorflow as tf

    def apply(images, labels):
        sigma = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], 0, stddev, seed=seed)
        noise = tf.random.normal(tf.shape(images), seed=seed) * sigma
        return tf.clip_by_value(images + noise, *VALUE_RANGE), labels
    return apply


def _randaugment(magnitude, ops, magnitude_stddev, rate, geometric, seed=None):
    return _images_only(_cv().RandAugment(
        value_range=VALUE_RANGE, augmentations_per_image=ops, magnitude=magnitude,
        magnitude_stddev=magnitude_stddev, rate=rate, geometric=geometric, seed=seed))


# RandAugment and AugMix are also test-set families (their technique, not their code).
register("randaugment", "keras-cv RandAugment: `ops` operations per image at `magnitude`",
         draws_on=("randaugment",), magnitude=0.5, ops=3, magnitude_stddev=0.15, rate=10 / 11,
         geometric=True)(_randaugment)
register("randaugment_weak", "RandAugment, 2 ops at magnitude 0.2", draws_on=("randaugment",),
         magnitude=0.2, ops=2, magnitude_stddev=0.1, rate=10 / 11, geometric=True)(_randaugment)
register("randaugment_strong", "RandAugment, 4 ops at magnitude 0.7",
         draws_on=("randaugment",), magnitude=0.7, ops=4, magnitude_stddev=0.2, rate=10 / 11,
         geometric=True)(_randaugment)


@register("augmix", "keras-cv AugMix: mixes chains of augmentations", draws_on=("augmix",),
          severity=0.3, num_chains=3)
def _augmix(severity, num_chains, seed=None):
    return _images_only(_cv().AugMix(value_range=VALUE_RANGE, severity=severity,
                                     num_chains=num_chains, seed=seed))


@register("color", "brightness, contrast, saturation and hue jitter", brightness=0.2,
          contrast=0.2, saturation=(0.3, 0.7), hue=0.1)
def _color(brightness, contrast, saturation, hue, seed=None):
    return _images_only(_cv().RandomColorJitter(
        value_range=VALUE_RANGE, brightness_factor=brightness, contrast_factor=contrast,
        saturation_factor=tuple(saturation), hue_factor=hue, seed=seed))


@register("geometric", "random rotation (fraction of a turn), zoom and shift, reflected edges",
          rotation=0.5, zoom=0.2, translate=0.1)
def _geometric(rotation, zoom, translate, seed=None):
    from keras import layers

    steps = [layers.RandomRotation(rotation, fill_mode="reflect", seed=seed),
             layers.RandomZoom(zoom, fill_mode="reflect", seed=seed),
             layers.RandomTranslation(translate, translate, fill_mode="reflect", seed=seed)]

    def apply(images, labels):
        for step in steps:
            images = step(images, training=True)
        return images, labels
    return apply


@register("blur", "Gaussian blur with a random sigma up to `sigma`", kernel=5, sigma=1.5)
def _blur(kernel, sigma, seed=None):
    return _images_only(_cv().RandomGaussianBlur(kernel_size=kernel, factor=(0.0, sigma),
                                                 seed=seed))


@register("solarize", "keras-cv Solarization: invert pixels above a random threshold",
          addition=0.0, threshold=(0.0, 0.3))
def _solarize(addition, threshold, seed=None):
    return _images_only(_cv().Solarization(VALUE_RANGE, addition_factor=addition,
                                           threshold_factor=tuple(threshold), seed=seed))


@register("cutout", "one random black rectangle per image, up to `size` of each side",
          size=0.3)
def _cutout(size, seed=None):
    return _images_only(_cv().RandomCutout(height_factor=size, width_factor=size, seed=seed))


@register("gridmask", "keras-cv GridMask: a rotated grid of black squares",
          ratio=(0.0, 0.5), rotation=0.15)
def _gridmask(ratio, rotation, seed=None):
    return _images_only(_cv().GridMask(ratio_factor=tuple(ratio), rotation_factor=rotation,
                                       seed=seed))


@register("overlay", "foreign pictures blended over or pasted on a fraction of images "
          "(the test set's overlay/occlusion families, severities 1..max_severity)",
          draws_on=("overlay", "occlusion"), probability=0.5, max_severity=5)
def _overlay(probability, max_severity, seed=None):
    import numpy as np

    from harness.testset import corruptions

    rng = np.random.default_rng(seed)
    families = [corruptions.get_family(n) for n in ("overlay", "occlusion")]

    def numpy_apply(images):
        x = np.clip(np.rint(images), 0, 255).astype(np.uint8)
        chosen = np.flatnonzero(rng.random(len(x)) < probability)
        which = rng.integers(0, len(families), len(chosen))
        severity = rng.integers(1, max_severity + 1, len(chosen))
        for f, fam in enumerate(families):
            for s in range(1, max_severity + 1):
                idx = chosen[(which == f) & (severity == s)]
                if len(idx):
                    x[idx] = fam(x[idx], s, rng)
        return x.astype(np.float32)

    return _numpy_step(numpy_apply)


def _numpy_step(numpy_apply):
    """A numpy function of a float32 batch as a step of the tf.data pipeline: the test
    set's families are numpy (and PIL drawing), not TensorFlow ops."""
    import tensorflow as tf

    def apply(images, labels):
        out = tf.numpy_function(numpy_apply, [images], tf.float32)
        out.set_shape(images.shape)
        return out, labels
    return apply


def _chain_spec(recipe: str, families) -> dict:
    """The compound spec of `recipe`, restricted to `families` when given."""
    from harness.testset.recipes import get_recipe

    spec = get_recipe(recipe).compound
    if spec is None:
        raise HarnessError(f"recipe {recipe!r} has no chains to train on. "
                           f"Received: recipe={recipe!r}", hint='use "pp" (the default)')
    if families is None:
        return spec
    missing = sorted(set(families) - set(spec["families"]))
    if missing or not families:
        raise HarnessError(f"chains: {missing or 'no family'} is not among the chain families "
                           f"of {recipe}. Received: families={families!r}",
                           hint=f"choose from {sorted(spec['families'])}")
    return {**spec, "families": {f: w for f, w in spec["families"].items() if f in families}}


@register("chains", "the test set's own chains of corruption families on a `probability` "
          "share of images, about `strength` links each (recipe's families, fresh draws)",
          draws_on=lambda recipe, families, **_: tuple(_chain_spec(recipe, families)["families"]),
          probability=0.5, strength=4.0, recipe="pp", families=None)
def _chains(probability, strength, recipe, families, seed=None):
    import numpy as np

    from harness.testset import compound

    spec = _chain_spec(recipe, families)
    rng = np.random.default_rng(None if seed is None else [seed, 0xC4A1])

    def numpy_apply(images):
        x = np.clip(np.rint(images), 0, 255).astype(np.uint8)
        chosen = np.flatnonzero(rng.random(len(x)) < probability)
        if len(chosen):
            x[chosen] = compound.chain_views(x[chosen], spec, float(strength), rng)
        return x.astype(np.float32)

    return _numpy_step(numpy_apply)


def _mixer(layer):
    def apply(images, labels):
        out = layer({"images": images, "labels": labels}, training=True)
        return out["images"], out["labels"]
    return apply


@register("mixup", "keras-cv MixUp: blends pairs of images and their one-hot labels",
          alpha=0.2)
def _mixup(alpha, seed=None):
    return _mixer(_cv().MixUp(alpha=alpha, seed=seed))


@register("cutmix", "keras-cv CutMix: pastes a patch of another image, labels by area",
          alpha=1.0)
def _cutmix(alpha, seed=None):
    return _mixer(_cv().CutMix(alpha=alpha, seed=seed))


def resolve(spec: str | dict) -> tuple[Augmentation, dict]:
    """The registered augmentation and its full parameters for one `augment` entry.

    Raises:
        HarnessError: unknown name (with the closest known one) or unknown parameter.
    """
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict) and "name" in spec:
        params = dict(spec)
        name = params.pop("name")
    else:
        raise HarnessError(f"an augmentation is a name or a dict with 'name'. Received: {spec!r}",
                           hint='e.g. "flip" or {"name": "noise", "stddev": 8}')
    aug = AUGMENTATIONS.get(name)
    unknown = sorted(set(params) - set(aug.defaults))
    if unknown:
        raise HarnessError(f"augmentation {name!r} has no parameter {unknown[0]!r}. "
                           f"Received: {spec!r}",
                           hint=f"its parameters: {aug.defaults or 'none'}")
    return aug, {**aug.defaults, **params}


def recipe_families(specs: list) -> list[str]:
    """The test-set families an `augment` list trains on (`Augmentation.draws_on`), sorted:
    what a run records, so a score on a recipe of those families can say it is optimistic.

    Examples:
        >>> recipe_families(["flip", "overlay", "augmix"])
        ['augmix', 'occlusion', 'overlay']
    """
    names = set()
    for spec in specs or []:
        aug, params = resolve(spec)
        names.update(aug.draws_on(**params))
    return sorted(names)


def build_augmenter(specs: list, seed: int | None = None) -> Callable | None:
    """One function applying every listed augmentation in order, or None for an empty list.

    Args:
        specs: `augment` entries (names or dicts), validated here before anything runs.
        seed: base seed; each augmentation gets its own (seed + position).

    Returns:
        `fn(images, labels) -> (images, labels)` on float32 batches and one-hot labels.
    """
    steps = []
    for i, spec in enumerate(specs or []):
        aug, params = resolve(spec)
        steps.append(aug.make(seed=None if seed is None else seed + i, **params))
    if not steps:
        return None

    def augment(images, labels):
        for step in steps:
            images, labels = step(images, labels)
        return images, labels
    return augment
