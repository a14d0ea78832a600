"""Architecture options for the A/B: reflect padding of the generator (numpy's definition, the same geometry
as "same", saved models) and the discriminator's patch size."""

import keras
import numpy as np
import pytest

from tf_esgan.models.generator import GeneratorConfig, build_generator
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.padding import ReflectPadding2D

CONFIG = dict(image_size=32, base_filters=4, depth=5, dropout_rate=0.0, dtype_policy="float32")


def _literal_conv(padded, kernel, bias, stride):
    """sum_{a,b,c} padded[s*i + a, s*j + b, c] * kernel[a, b, c, o] + bias[o], one image [H, W, C]."""
    k = kernel.shape[0]
    rows = (padded.shape[0] - k) // stride + 1
    cols = (padded.shape[1] - k) // stride + 1
    out = np.zeros((rows, cols, kernel.shape[-1]))
    for a in range(k):
        for b in range(k):
            window = padded[a:a + stride * rows:stride, b:b + stride * cols:stride, :]
            out += np.einsum("ijc,co->ijo", window.astype(np.float64), kernel[a, b].astype(np.float64))
    return out + bias


def test_reflect_padding_is_numpys_reflect(rng):
    x = rng.normal(size=(2, 5, 4, 3)).astype("float32")
    padded = ReflectPadding2D(2)(x).numpy()
    np.testing.assert_array_equal(padded, np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect"))
    assert padded[0, 0, 2, 0] == x[0, 2, 0, 0]  # the edge pixel is not repeated


@pytest.mark.parametrize("padding, mode", [("zero", "constant"), ("reflect", "reflect")])
def test_first_encoder_conv_pads_its_border_as_named(rng, padding, mode):
    generator = build_generator(GeneratorConfig(padding=padding, **CONFIG))
    x = rng.uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    layer = generator.get_layer("down0_conv")
    output = keras.Model(generator.inputs, layer.output)(x).numpy()[0]
    kernel, bias = (w.numpy() for w in layer.weights)
    # TensorFlow's "same" for a 4x4 stride-2 kernel on an even input: one pixel before, one after.
    expected = _literal_conv(np.pad(x[0], [(1, 1), (1, 1), (0, 0)], mode=mode), kernel, bias, stride=2)
    assert output.shape == (16, 16, 4)
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)


def test_reflect_generator_has_the_zero_generators_weights_and_differs_only_at_borders(rng):
    zero = build_generator(GeneratorConfig(padding="zero", **CONFIG))
    reflect = build_generator(GeneratorConfig(padding="reflect", **CONFIG))
    reflect.set_weights(zero.get_weights())  # padding layers hold no weights
    x = rng.uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    probe = lambda g: keras.Model(g.inputs, g.get_layer("down0_conv").output)(x).numpy()  # noqa: E731
    near, far = probe(zero), probe(reflect)
    np.testing.assert_allclose(near[:, 1:-1, 1:-1], far[:, 1:-1, 1:-1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(near[:, 0], far[:, 0], atol=1e-4)


def test_resize_decoder_with_reflect_padding_saves_and_loads(rng, tmp_path):
    generator, _ = build_networks("enhanced", NetworkConfig(
        image_size=32, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4,
        upsampling="bilinear", padding="reflect", dropout_rate=0.0, dtype_policy="float32"))
    assert generator.get_layer("up1_conv_pad") is not None  # the decoder's 3x3 conv is padded too
    x = rng.uniform(0, 2, (1, 32, 32, 1)).astype("float32")
    path = tmp_path / "g.keras"
    generator.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded(x, training=False).numpy(), generator(x, training=False).numpy())
    with pytest.raises(ValueError, match="padding"):
        GeneratorConfig(padding="mirror")


@pytest.mark.parametrize("blocks, logits", [(2, 62), (3, 30), (4, 14)])
def test_network_config_passes_the_discriminators_strided_blocks(rng, blocks, logits):
    _, discriminator = build_networks("enhanced", NetworkConfig(
        image_size=256, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4,
        discriminator_strided_blocks=blocks, dtype_policy="float32"))
    pair = [rng.uniform(0, 1, (1, 256, 256, 1)).astype("float32"), rng.uniform(-1, 1, (1, 256, 256, 3)).astype("float32")]
    # 256 / 2**blocks - 2 logits a side, each judging a 34, 70 or 142-pixel patch (pix2pix's arithmetic:
    # r = 2 r + 2 per stride-2 block from 7 after the two stride-1 convolutions).
    assert discriminator(pair, training=False).shape == (1, logits, logits, 1)
    assert len([l for l in discriminator.layers if l.name.endswith("_conv")]) == blocks + 1
