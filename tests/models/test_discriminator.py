"""PatchGAN discriminator: shapes, the 70x70 receptive field, conditioning, save/load."""

import keras
import numpy as np
import pytest

from tf_esgan.models.discriminator import DiscriminatorConfig, PatchDiscriminator, build_discriminator


def _pair(rng, size, batch=1, channels=1):
    condition = rng.random((batch, size, size, channels)).astype("float32")
    image = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    return condition, image


def test_pix2pix_256_gives_30x30_logits(rng):
    discriminator = build_discriminator(DiscriminatorConfig())
    convs = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(layer.filters, layer.strides[0]) for layer in convs] == [
        (64, 2), (128, 2), (256, 2), (512, 1), (1, 1),
    ]  # fmt: skip
    logits = discriminator(list(_pair(rng, 256)))
    assert logits.shape == (1, 30, 30, 1) and logits.dtype == "float32"


@pytest.mark.parametrize("size, expected", [(512, 62), (64, 6)])
def test_other_sizes(rng, size, expected):
    config = DiscriminatorConfig(image_size=size, base_filters=2, condition_channels=2)
    assert config.output_size() == expected
    logits = build_discriminator(config)(list(_pair(rng, size, batch=2, channels=2)))
    assert logits.shape == (2, expected, expected, 1)


def test_receptive_field_is_70_pixels(rng, monkeypatch):
    """Logit (0, 0) sees input rows/cols -23..46 (70 pixels, 47 inside the image).

    The convolutions' field: per-image normalisation statistics are global by design,
    so the norm layers are replaced by identities for this measurement.
    """
    import tf_esgan.models.discriminator as module

    monkeypatch.setattr(module, "normalization_layer", lambda kind, name, dtype: keras.layers.Identity(name=name))
    discriminator = build_discriminator(DiscriminatorConfig(image_size=64, base_filters=4))
    condition, image = _pair(rng, 64)

    def logit00_change(row, col):
        changed = image.copy()
        changed[0, row, col] += 0.5
        before = discriminator([condition, image]).numpy()[0, 0, 0, 0]
        return abs(discriminator([condition, changed]).numpy()[0, 0, 0, 0] - before)

    assert logit00_change(46, 46) > 0
    assert logit00_change(0, 46) > 0
    assert logit00_change(47, 0) == 0
    assert logit00_change(0, 47) == 0


def test_logits_depend_on_condition(rng):
    discriminator = build_discriminator(DiscriminatorConfig(image_size=32, base_filters=4))
    condition, image = _pair(rng, 32)
    logits = discriminator([condition, image]).numpy()
    flipped = discriminator([1.0 - condition, image]).numpy()
    # Tiny N(0, 0.02) weights give tiny logits; compare relative to their size.
    assert np.abs(flipped - logits).max() > 1e-3 * np.abs(logits).max()


@pytest.mark.parametrize(
    "inputs, message",
    [
        (lambda c, i: [c[0], i], r"input `condition` must be a batch of shape \[B, 32, 32, 1\]"),
        (lambda c, i: [c, i[..., :1]], r"input `image` must be a batch of shape \[B, 32, 32, 3\]"),
        (lambda c, i: [c], r"expected 2 input tensor"),
    ],
    ids=["rank3-condition", "gray-image", "one-input"],
)
def test_wrong_input_raises_clear_error(rng, inputs, message):
    discriminator = build_discriminator(DiscriminatorConfig(image_size=32, base_filters=4))
    with pytest.raises(ValueError, match=message):
        discriminator(inputs(*_pair(rng, 32)))


def test_config_rejects_too_small_or_odd_size():
    with pytest.raises(ValueError, match="image_size"):
        DiscriminatorConfig(image_size=100)
    with pytest.raises(ValueError, match="image_size"):
        DiscriminatorConfig(image_size=16)


def test_save_load_round_trip(tmp_path, rng):
    discriminator = build_discriminator(DiscriminatorConfig(image_size=32, base_filters=4, norm="instance"))
    path = tmp_path / "discriminator.keras"
    discriminator.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, PatchDiscriminator)
    pair = list(_pair(rng, 32, batch=2))
    np.testing.assert_array_equal(loaded(pair).numpy(), discriminator(pair).numpy())
