"""harness.shipping.optimize: grouped Conv2D -> DepthwiseConv2D, equal outputs, a plain
.keras file."""

from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest

from harness.shipping.optimize import is_depthwise_conv2d, optimize_file, optimize_model


def tiny_convnext(seed=0):
    """A ConvNeXt-like block: stem, a 7x7 grouped (depthwise) conv, LN, MLP, head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(8, 2, strides=2)(x)
    # A nested Sequential block holding a grouped conv: rewritten too.
    x = keras.Sequential([keras.layers.Conv2D(8, 3, padding="same", groups=8)])(x)
    residual = x
    x = keras.layers.Conv2D(8, 7, padding="same", groups=8, name="dw7")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    x = keras.layers.Dense(16, activation="gelu")(x)
    x = keras.layers.Dense(8)(x)
    x = keras.layers.Add()([residual, x])
    # Grouped but not depthwise (groups 2 of 8 channels): left alone.
    x = keras.layers.Conv2D(8, 3, groups=2, use_bias=False)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    # Non-trivial biases, so a bias that is not copied would show.
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            layer.bias.assign(np.linspace(-0.5, 0.5, layer.bias.shape[0]))
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_convnext()


@pytest.fixture(scope="module")
def sample():
    return np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3)).astype(np.uint8)


def test_rewrites_only_depthwise_grouped_convs_with_equal_outputs(model, sample):
    new, report = optimize_model(model)
    assert report.rewritten == 2 and "dw7" in report.layers
    assert [type(layer).__name__ for layer in new.layers].count("DepthwiseConv2D") == 1
    assert not any(is_depthwise_conv2d(layer) for layer in new.layers)
    assert type(new.layers[-3]).__name__ == "Conv2D" and new.layers[-3].groups == 2
    x = sample.astype(np.float32)
    assert np.max(np.abs(new.predict_on_batch(x) - model.predict_on_batch(x))) < 1e-6


def test_model_without_grouped_convs_is_returned_unchanged():
    plain = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)])
    same, report = optimize_model(plain)
    assert same is plain and report.rewritten == 0


def test_optimize_file_keeps_the_rewrite_and_it_loads_without_custom_objects(
        model, sample, tmp_path):
    src, dst = tmp_path / "weights.keras", tmp_path / "out" / "weights.keras"
    model.save(src)
    before = src.read_bytes()
    report = optimize_file(src, dst, sample)
    assert report.kept and report.rewritten == 2 and report.max_abs_diff < 1e-4
    assert src.read_bytes() == before
    with zipfile.ZipFile(dst) as z:
        assert "DepthwiseConv2D" in z.read("config.json").decode()
    loaded = keras.models.load_model(dst, compile=False, custom_objects=None)
    x = sample.astype(np.float32)
    assert np.allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
    assert sorted(p.name for p in dst.parent.iterdir()) == ["weights.keras"]
    # Reproducible: the same source optimizes to the same bytes, save date included.
    optimize_file(src, tmp_path / "again.keras", sample)
    assert (tmp_path / "again.keras").read_bytes() == dst.read_bytes()
    with zipfile.ZipFile(src) as z1, zipfile.ZipFile(dst) as z2:
        assert z1.read("metadata.json") == z2.read("metadata.json")


def test_optimize_file_discards_a_rewrite_that_changes_predictions(model, sample, tmp_path):
    src, dst = tmp_path / "weights.keras", tmp_path / "fast.keras"
    model.save(src)
    report = optimize_file(src, dst, sample, atol=0.0)
    assert not report.kept and "original kept" in report.reason
    assert dst.read_bytes() == src.read_bytes()



def test_staging_runs_what_pack_ships_made_once_per_run(trained_experiment, tmp_path, profile,
                                                         monkeypatch):
    from harness.scoring.targets import STOCK, resolve_target
    from harness.shipping import optimize
    from harness.shipping.packing import pack_folder
    from harness.shipping.samples import sample_images

    staged = resolve_target(trained_experiment, tmp_path / "a", profile,
                            prepare=optimize.packed_rewrite)
    assert staged.model == "the packed model (CPU rewrite)"
    kept = list((trained_experiment / "runs" / "250101_000000" / "packed").glob("*-r1.keras"))
    assert len(kept) == 1
    shipped = pack_folder(trained_experiment, profile, tmp_path / "p", sample_images(profile, 8))
    # What is scored is byte for byte what pack puts in the zip.
    assert (staged.path / "weights.keras").read_bytes() == kept[0].read_bytes() == (
        shipped.path / "weights.keras").read_bytes()
    made = []
    monkeypatch.setattr(optimize, "optimize_file", lambda *a, **k: made.append(a))
    again = resolve_target(trained_experiment, tmp_path / "b", profile,
                           prepare=optimize.packed_rewrite)
    assert made == [] and again.model_sha256 == staged.model_sha256  # reused, not redone
    stock = resolve_target(trained_experiment, tmp_path / "c", profile)  # --no-optimize
    assert stock.model == STOCK and stock.model_sha256 != staged.model_sha256
