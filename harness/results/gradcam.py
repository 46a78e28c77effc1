"""Grad-CAM over a Keras model: where in the image the predicted class came from.

Written here, over `tf.GradientTape`, rather than taken from a library: tf-keras-vis
0.8.7 (the maintained one) runs on Keras 3.4 for a flat model but fails with a KeyError
on a backbone nested inside the model, which is how every transfer experiment here is
built (`training.backbones`). This version taps the chosen layer's `call` for the
duration of one forward pass, so it finds the layer at any depth of nesting, and it
watches the input, so frozen backbones still carry gradients.

Examples:
    >>> layer = find_conv_layer(model)           # the last 4-D feature map, at any depth
    >>> maps = grad_cam(model, images, classes)  # (n, 96, 96) in 0..1
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np

from harness.errors import HarnessError

# Layers whose output is a 4-D map but that only shrink or copy it: the map before them
# is as good and sharper.
_SKIPPED = ("Pooling", "Dropout", "ZeroPadding", "Cropping", "Resizing", "Rescaling",
            "Normalization", "InputLayer", "Random")


def _walk(model) -> Iterator:
    """Every layer of `model` in the order it runs, nested models' layers in their place."""
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk(layer)


def _rank(layer) -> int | None:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):
        return None  # never called in a graph, or called more than once


def find_conv_layer(model, name: str | None = None):
    """The layer whose map Grad-CAM weighs: `name`, else the last 4-D feature map.

    Raises:
        HarnessError: no layer of that name, or no 4-D feature map at all.
    """
    layers = list(_walk(model))
    if name is not None:
        for layer in layers:
            if layer.name == name:
                return layer
        maps = [layer.name for layer in layers if _rank(layer) == 4]
        raise HarnessError(f"no layer named {name!r} in the model",
                           hint="layers with a feature map: " + ", ".join(maps[-8:])
                           if maps else "the model has no 4-D feature map")
    for layer in reversed(layers):
        if _rank(layer) == 4 and not hasattr(layer, "layers") \
                and not any(s in type(layer).__name__ for s in _SKIPPED):
            shape = layer.output.shape
            if (shape[1] or 0) > 1 and (shape[2] or 0) > 1:
                return layer
    raise HarnessError(f"model {model.name!r} has no convolutional feature map to explain",
                       hint="Grad-CAM needs a layer with a (height, width, channels) output; "
                            "name one with --layer")


@contextlib.contextmanager
def _tap(layer) -> Iterator[list]:
    """Record what `layer` returns while the block runs (its `call`, wrapped)."""
    seen: list = []
    original = layer.call

    def tapped(*args, **kwargs):
        out = original(*args, **kwargs)
        seen.append(out)
        return out

    layer.call = tapped
    try:
        yield seen
    finally:
        del layer.call  # back to the class's method


@contextlib.contextmanager
def _linear_output(model) -> Iterator[None]:
    """The last layer's softmax swapped for the identity: a confident softmax has
    near-zero gradients, and the most confident mistakes are the ones asked about."""
    import keras

    last = model
    while getattr(last, "layers", None):  # the output layer of a nested model too
        last = last.layers[-1]
    activation = getattr(last, "activation", None)
    if activation is not keras.activations.softmax:
        yield
        return
    last.activation = keras.activations.linear
    try:
        yield
    finally:
        last.activation = activation


def grad_cam(model, images: np.ndarray, classes: np.ndarray, layer=None,
             batch_size: int = 32, scale: float = 1.0,
             progress: Callable | None = None) -> np.ndarray:
    """Grad-CAM maps of `classes` for `images`, resized to the images, scaled to 0..1.

    Args:
        model: a Keras model.
        images: (n, H, W, 3) uint8, fed to the model as float32 times `scale` (1.0:
            pixels 0-255 as the harness's template feeds them; 1/255 for 0-1).
        classes: (n,) the class to explain for each image (e.g. the predicted one).
        layer: the layer to weigh (default `find_conv_layer(model)`).
        progress: an optional wrapper for the iterable of batches (e.g. a tqdm bar).

    Raises:
        HarnessError: the model cannot be differentiated down to that layer.
    """
    import tensorflow as tf

    layer = layer or find_conv_layer(model)
    height, width = images.shape[1:3]
    out = np.zeros(images.shape[:3], np.float32)
    with _linear_output(model):
        starts = range(0, len(images), batch_size)
        for start in progress(starts) if progress else starts:
            x = tf.convert_to_tensor(images[start:start + batch_size], tf.float32) * scale
            picked = tf.constant(classes[start:start + batch_size], tf.int32)
            with _tap(layer) as seen, tf.GradientTape() as tape:
                tape.watch(x)
                scores = model(x, training=False)
                if isinstance(scores, (list, tuple)):
                    scores = scores[0]
                score = tf.reduce_sum(tf.gather(scores, picked, axis=1, batch_dims=1))
            if not seen:
                raise HarnessError(f"layer {layer.name!r} did not run in the forward pass",
                                   hint="name another layer with --layer")
            fmap = seen[-1]
            grads = tape.gradient(score, fmap)
            if grads is None:
                raise HarnessError(f"model {model.name!r} cannot be differentiated from its "
                                   f"output back to layer {layer.name!r}",
                                   hint="Grad-CAM needs a differentiable path (no argmax or "
                                        "numpy step inside the model); try --layer")
            weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * fmap, axis=-1))[..., None]
            cam = tf.image.resize(cam, (height, width), method="bilinear")[..., 0].numpy()
            peak = cam.reshape(len(cam), -1).max(axis=1)
            out[start:start + len(cam)] = cam / np.where(peak > 0, peak, 1)[:, None, None]
    return out


def overlay(images: np.ndarray, maps: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """The heat maps drawn over the images (jet colours), uint8 like the images.

    The colour is laid on thicker where the map is hot, so the cell stays visible where
    the model did not look."""
    from matplotlib import colormaps

    maps = np.clip(maps, 0, 1)
    heat = colormaps["jet"](maps)[..., :3] * 255
    weight = (0.25 + (alpha - 0.25) * maps)[..., None]
    return np.round((1 - weight) * images + weight * heat).astype(np.uint8)
