"""SegNet: shapes, argmax unpooling, input checks, save/load round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.segnet import (ImageScaling, MaxPoolWithArgmax, MaxUnpool, SegNetConfig,
                                    build_segnet)


@pytest.fixture(scope="module")
def tiny_segnet():
    keras.utils.set_random_seed(3)
    return build_segnet(SegNetConfig(base_filters=2))


def test_architecture_is_vgg16_segnet(tiny_segnet):
    model = tiny_segnet
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len([c for c in convs if c.name.startswith("encoder")]) == 13
    # 12 decoder convs + the classifier that replaces the decoder's last one
    assert len([c for c in convs if c.name.startswith("decoder")]) == 12
    assert convs[-1].name == "classifier" and convs[-1].filters == 2
    assert [c.filters for c in convs[:13]] == [2, 2, 4, 4, 8, 8, 8, 16, 16, 16, 16, 16, 16]
    assert sum(isinstance(layer, MaxPoolWithArgmax) for layer in model.layers) == 5
    assert sum(isinstance(layer, MaxUnpool) for layer in model.layers) == 5
    assert not any(isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.Concatenate))
                   for layer in model.layers)


def test_full_width_parameter_count():
    # VGG16's 13 convs (no bias, BN) mirrored: 29,452,098 weights at base_filters=64.
    assert build_segnet().count_params() == 29_452_098


@pytest.mark.parametrize("height,width", [(64, 64), (96, 160)])
def test_output_shape_and_range(tiny_segnet, height, width):
    images = np.random.default_rng(0).integers(0, 256, (2, height, width, 3)).astype(np.uint8)
    outputs = np.asarray(tiny_segnet(images))
    assert outputs.shape == (2, height, width, 2) and outputs.dtype == np.float32
    assert outputs.min() >= 0.0 and outputs.max() <= 1.0
    # uint8 and float inputs in [0, 255] are the same image
    np.testing.assert_allclose(np.asarray(tiny_segnet(images.astype(np.float32))), outputs, atol=1e-6)


@pytest.mark.parametrize("height,width", [(48, 64), (64, 100)])
def test_size_not_multiple_of_32_raises(tiny_segnet, height, width):
    with pytest.raises(ValueError, match="multiples of 32"):
        tiny_segnet(np.zeros((1, height, width, 3), np.float32))


def test_image_scaling_maps_0_255_to_minus1_1():
    scaled = np.asarray(ImageScaling()(np.array([0, 127.5, 255], np.float32).reshape(1, 1, 1, 3)
                                       * np.ones((1, 32, 32, 1), np.float32)))
    np.testing.assert_allclose(scaled[0, 0, 0], [-1.0, 0.0, 1.0])


def test_unpool_puts_values_back_at_argmax():
    # Batch 2, 4x4, 2 channels; distinct values so each 2x2 window has one argmax.
    values = np.random.default_rng(5).permutation(64).astype(np.float32).reshape(2, 4, 4, 2)
    pooled, indices = MaxPoolWithArgmax()(values)
    restored = np.asarray(MaxUnpool()([pooled, indices]))
    expected = np.zeros_like(values)
    for b in range(2):
        for y in range(0, 4, 2):
            for x in range(0, 4, 2):
                for c in range(2):
                    window = values[b, y:y + 2, x:x + 2, c]
                    dy, dx = np.unravel_index(np.argmax(window), (2, 2))
                    expected[b, y + dy, x + dx, c] = window.max()
    np.testing.assert_array_equal(restored, expected)
    np.testing.assert_array_equal(np.asarray(pooled), values.reshape(2, 2, 2, 2, 2, 2).max(axis=(2, 4)))


def test_unpool_gradient_flows_to_pooled_values():
    values = tf.constant(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))
    with tf.GradientTape() as tape:
        tape.watch(values)
        pooled, indices = MaxPoolWithArgmax()(values)
        restored = MaxUnpool()([pooled, indices])
        total = tf.reduce_sum(restored * tf.reshape(tf.range(16, dtype=tf.float32), [1, 4, 4, 1]))
    gradient = tape.gradient(total, values).numpy()[0, :, :, 0]
    # the maxima of the four windows are at (1,1), (1,3), (3,1), (3,3): weights 5, 7, 13, 15
    expected = np.zeros((4, 4), np.float32)
    expected[1, 1], expected[1, 3], expected[3, 1], expected[3, 3] = 5, 7, 13, 15
    np.testing.assert_array_equal(gradient, expected)


def test_save_load_round_trip(tiny_segnet, tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (1, 64, 96, 3)).astype(np.uint8)
    path = tmp_path / "segnet.keras"
    tiny_segnet.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(tiny_segnet(images)))
    assert loaded.get_layer("scaling").multiple == 32


def test_bad_config_raises():
    with pytest.raises(ValueError, match="base_filters"):
        SegNetConfig(base_filters=0)
    with pytest.raises(ValueError, match="dtype_policy"):
        SegNetConfig(dtype_policy="float8")


def test_auto_policy_is_the_recommended_one():
    from tf_esgan.models.precision import recommended_dtype_policy

    segnet = build_segnet(SegNetConfig(base_filters=1, dtype_policy="auto"))
    assert segnet.get_layer("encoder1_1_conv").dtype_policy.name == recommended_dtype_policy()
