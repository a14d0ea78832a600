"""U-Net generator: shapes, pix2pix structure, input checks, dropout, save/load."""

import keras

from tf_esgan.models.normalization import InstanceNormalization
import numpy as np
import pytest

from tf_esgan.models.generator import GeneratorConfig, UNetGenerator, build_generator

TINY = dict(base_filters=4, depth=5, image_size=32)


def _condition(rng, size, channels=1, batch=2):
    return rng.random((batch, size, size, channels)).astype("float32")


def test_pix2pix_256_structure_and_output():
    generator = build_generator(GeneratorConfig())
    assert generator.output_shape == (None, 256, 256, 3)
    downs = [layer for layer in generator.layers if layer.name.endswith("_conv") and layer.name.startswith("down")]
    ups = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [layer.filters for layer in downs] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [layer.filters for layer in ups] == [512, 512, 512, 512, 256, 128, 64, 3]
    # Bottleneck is 1x1 at 256 with 8 stride-2 blocks; decoder concat doubles channels.
    assert tuple(generator.get_layer("down7_act").output.shape) == (None, 1, 1, 512)
    assert tuple(generator.get_layer("up6_skip").output.shape) == (None, 128, 128, 128)
    dropouts = [layer.name for layer in generator.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == ["up0_dropout", "up1_dropout", "up2_dropout"]
    assert all(layer.rate == 0.5 for layer in generator.layers if isinstance(layer, keras.layers.Dropout))
    image = generator(np.zeros((1, 256, 256, 1), "float32")).numpy()
    assert image.shape == (1, 256, 256, 3) and image.dtype == np.float32
    assert np.all(np.abs(image) <= 1.0)


def test_other_size_512_has_2x2_bottleneck(rng):
    generator = build_generator(GeneratorConfig(image_size=512, base_filters=2))
    assert tuple(generator.get_layer("down7_act").output.shape) == (None, 2, 2, 16)
    assert generator(_condition(rng, 512, batch=1)).shape == (1, 512, 512, 3)


def test_configurable_depth_other_size(rng):
    generator = build_generator(GeneratorConfig(input_channels=2, **TINY))
    assert generator(_condition(rng, 32, channels=2)).shape == (2, 32, 32, 3)
    assert len([layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]) == 5


@pytest.mark.parametrize(
    "shape",
    [(32, 32, 1), (2, 32, 32, 3), (2, 16, 16, 1), (2, 32, 32)],
    ids=["no-batch-axis", "wrong-channels", "wrong-size", "rank3"],
)
def test_wrong_input_raises_clear_error(shape):
    generator = build_generator(GeneratorConfig(**TINY))
    with pytest.raises(ValueError, match=r"input `condition` must be a batch of shape \[B, 32, 32, 1\]"):
        generator(np.zeros(shape, "float32"))


def test_config_rejects_size_not_divisible_by_2_pow_depth():
    with pytest.raises(ValueError, match=r"image_size.*multiple of 2\*\*depth = 256"):
        GeneratorConfig(image_size=128)
    with pytest.raises(ValueError, match="norm"):
        GeneratorConfig(norm="layer")
    with pytest.raises(ValueError, match="dtype_policy"):
        GeneratorConfig(dtype_policy="float64")


def test_dropout_is_noise_in_training_only(rng):
    generator = build_generator(GeneratorConfig(**TINY))
    condition = _condition(rng, 32)
    first, second = generator(condition, training=True), generator(condition, training=True)
    assert np.abs(first.numpy() - second.numpy()).max() > 1e-6
    np.testing.assert_array_equal(generator(condition).numpy(), generator(condition).numpy())


def test_instance_norm_treats_each_image_alone(rng):
    """In training mode instance norm makes G(a) independent of the other images in the batch."""
    config = dict(TINY, dropout_rate=0.0)
    condition = _condition(rng, 32)
    other = np.concatenate([condition[:1], _condition(rng, 32, batch=1)])
    instance = build_generator(GeneratorConfig(norm="instance", **config))
    assert any(isinstance(layer, InstanceNormalization) for layer in instance.layers)
    np.testing.assert_allclose(
        instance(condition, training=True)[0], instance(other, training=True)[0], atol=1e-6
    )
    batch = build_generator(GeneratorConfig(norm="batch", **config))
    difference = batch(condition, training=True)[0].numpy() - batch(other, training=True)[0].numpy()
    assert np.abs(difference).max() > 1e-5


def test_save_load_round_trip(tmp_path, rng):
    generator = build_generator(GeneratorConfig(norm="instance", **TINY))
    path = tmp_path / "generator.keras"
    generator.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, UNetGenerator)
    assert loaded.network_config == generator.network_config
    condition = _condition(rng, 32)
    np.testing.assert_array_equal(loaded(condition).numpy(), generator(condition).numpy())
