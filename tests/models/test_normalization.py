"""Normalisation layers: a literal reference, batch-1 batch norm, and no moving statistics at inference."""

import keras
import numpy as np
import pytest

from tf_esgan.models.generator import GeneratorConfig, build_generator
from tf_esgan.models.normalization import InstanceNormalization, PerImageInferenceBatchNorm, normalization_layer


def _literal_instance_norm(x, gamma, beta, epsilon=1e-3):
    """Loop over images and channels, straight from the definition."""
    out = np.empty_like(x, dtype=np.float64)
    for b in range(x.shape[0]):
        for c in range(x.shape[-1]):
            plane = x[b, :, :, c].astype(np.float64)
            out[b, :, :, c] = (plane - plane.mean()) / np.sqrt(plane.var() + epsilon) * gamma[c] + beta[c]
    return out


def _set_affine(layer, rng, channels):
    gamma, beta = rng.uniform(0.5, 2, channels).astype("float32"), rng.normal(size=channels).astype("float32")
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    return gamma, beta


def test_instance_norm_matches_literal_reference_and_group_norm(rng):
    x = (rng.normal(size=(3, 9, 7, 5)) * 4 + 3).astype("float32")
    layer = InstanceNormalization()
    layer.build(x.shape)
    gamma, beta = _set_affine(layer, rng, 5)
    expected = _literal_instance_norm(x, gamma, beta)
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=2e-5)
    group = keras.layers.GroupNormalization(groups=-1)
    group.build(x.shape)
    group.gamma.assign(gamma)
    group.beta.assign(beta)
    np.testing.assert_allclose(group(x).numpy(), expected, atol=2e-5)


def test_instance_norm_bfloat16_statistics_stay_accurate(rng):
    # Large mean, small spread: bfloat16 arithmetic (x * scale + shift) would cancel.
    x = (rng.normal(size=(1, 64, 64, 4)) + 40).astype("float32")
    layer = InstanceNormalization(dtype="mixed_bfloat16")
    layer.build(x.shape)
    quantized = np.asarray(keras.ops.cast(keras.ops.cast(x, "bfloat16"), "float32"))  # what the layer sees
    out = np.asarray(keras.ops.cast(layer(x), "float32"))
    expected = _literal_instance_norm(quantized, np.ones(4), np.zeros(4))
    # Only the output's bfloat16 rounding (8 bits: <= 2**-8 relative) remains.
    assert np.abs(out - expected).max() <= 2**-8 * np.abs(expected).max()


def test_batch_norm_inference_is_batch1_training_and_changes_nothing(rng):
    x = (rng.normal(size=(3, 8, 8, 4)) * 2 + 1).astype("float32")
    layer = PerImageInferenceBatchNorm()
    layer.build(x.shape)
    gamma, beta = _set_affine(layer, rng, 4)
    layer.moving_mean.assign(np.full(4, 7.0, "float32"))  # stale statistics that must not be used
    layer.moving_variance.assign(np.full(4, 50.0, "float32"))
    inference = layer(x, training=False).numpy()
    np.testing.assert_allclose(inference, _literal_instance_norm(x, gamma, beta), atol=2e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 7.0)
    np.testing.assert_array_equal(layer.moving_variance.numpy(), 50.0)
    # What a batch-1 training step computes, image by image:
    for i in range(3):
        np.testing.assert_allclose(layer(x[i:i + 1], training=True).numpy(), inference[i:i + 1], atol=2e-5)
    assert not np.allclose(layer.moving_mean.numpy(), 7.0)  # training does update them


@pytest.mark.parametrize("kind, cls", [("instance", InstanceNormalization), ("batch", PerImageInferenceBatchNorm)])
def test_factory_and_keras_round_trip(kind, cls, tmp_path, rng):
    generator = build_generator(GeneratorConfig(image_size=32, base_filters=4, depth=5, norm=kind))
    assert any(isinstance(layer, cls) for layer in generator.layers)
    x = rng.uniform(0, 2, (2, 32, 32, 1)).astype("float32")
    generator.save(tmp_path / "g.keras")
    loaded = keras.saving.load_model(tmp_path / "g.keras", compile=False)
    assert any(isinstance(layer, cls) for layer in loaded.layers)
    np.testing.assert_allclose(loaded(x, training=False).numpy(), generator(x, training=False).numpy(), atol=1e-6)
    assert isinstance(normalization_layer(kind, name="n", dtype="float32"), cls)


def test_resize_upsampling_has_no_transposed_convolution(rng):
    config = dict(image_size=64, base_filters=4, depth=6)
    resize = build_generator(GeneratorConfig(upsampling="resize", **config))
    transpose = build_generator(GeneratorConfig(upsampling="transpose", **config))
    assert not [layer for layer in resize.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len([layer for layer in transpose.layers if isinstance(layer, keras.layers.Conv2DTranspose)]) == 6
    assert len([layer for layer in resize.layers if isinstance(layer, keras.layers.UpSampling2D)]) == 6
    image = resize(rng.uniform(0, 2, (1, 64, 64, 1)).astype("float32"), training=False).numpy()
    assert image.shape == (1, 64, 64, 3) and np.abs(image).max() <= 1
    with pytest.raises(ValueError, match="upsampling"):
        GeneratorConfig(upsampling="bicubic")


def test_bilinear_upsampling_differs_from_nearest_only_in_the_resize(rng):
    config = dict(image_size=32, base_filters=4, depth=5, dropout_rate=0.0)
    nearest = build_generator(GeneratorConfig(upsampling="resize", **config))
    bilinear = build_generator(GeneratorConfig(upsampling="bilinear", **config))
    bilinear.set_weights(nearest.get_weights())  # same layers, names and shapes
    x = rng.uniform(0, 2, (1, 32, 32, 1)).astype("float32")

    def resized(generator):  # input and output of the 2x2 -> 4x4 resize (after it, everything differs)
        layer = generator.get_layer("up1_conv_resize")
        probe = keras.Model(generator.inputs, [layer.input, layer.output])
        return [value.numpy() for value in probe(x, training=False)]

    small, big_nearest = resized(nearest)
    small_again, big_bilinear = resized(bilinear)
    np.testing.assert_allclose(small_again, small, atol=1e-6)  # a 1x1 -> 2x2 resize is the same either way
    np.testing.assert_array_equal(big_nearest, np.repeat(np.repeat(small, 2, axis=1), 2, axis=2))
    # Bilinear with half-pixel centres: an interior output pixel is 3/4 of its own cell + 1/4 of each
    # neighbour (separably), e.g. output (2y+1, 2x+1) from cells (y, x), (y+1, x), (y, x+1), (y+1, x+1).
    y, x0 = 0, 0
    expected = (9 * small[0, y, x0] + 3 * small[0, y + 1, x0] + 3 * small[0, y, x0 + 1] + small[0, y + 1, x0 + 1]) / 16
    np.testing.assert_allclose(big_bilinear[0, 2 * y + 1, 2 * x0 + 1], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(bilinear(x, training=False).numpy(), nearest(x, training=False).numpy(), atol=1e-4)
