"""EnhancedSharpGAN: wiring of the loss terms, the two steps, fit on every variant, config."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.gan import LOSS_NAMES, EnhancedSharpGAN
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.variants import VARIANTS, get_variant

SIZE = 32
TINY = NetworkConfig(image_size=SIZE, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4)


def _batch(rng, batch=2):
    condition = (rng.random((batch, SIZE, SIZE, 1)) > 0.5).astype("float32")
    image = rng.uniform(-1, 1, (batch, SIZE, SIZE, 3)).astype("float32")
    contour = (rng.random((batch, SIZE, SIZE, 1)) > 0.7).astype("float32")
    return condition, image, contour


def _gan(variant, network_config=TINY, **loss_kwargs):
    keras.utils.set_random_seed(7)
    generator, discriminator = build_networks(variant, network_config)
    gan = EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant=variant, **loss_kwargs))
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    return gan


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_variants_match_table_1():
    assert {name: (v.conditioning, v.contour_loss) for name, v in VARIANTS.items()} == {
        "pix2pix": ("binary", "none"),
        "sharp_gan": ("distance", "sharp_gan"),
        "sharp_gan_plus": ("skeleton", "sharp_gan"),
        "enhanced": ("skeleton", "enhanced"),
    }
    with pytest.raises(ValueError, match="variant must be one of"):
        get_variant("cyclegan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        GanLossConfig(variant="enhanced").beta = 2.0


def test_test_step_terms_match_a_literal_computation(rng):
    """Eq. 1 total and the pix2pix/paper terms, recomputed in numpy from the networks' outputs."""
    gan = _gan("enhanced", beta=0.5, l1_weight=10.0, contour_xla=False)
    condition, image, contour = _batch(rng)
    logs = gan.evaluate(tf.data.Dataset.from_tensors((condition, image, contour)), verbose=0, return_dict=True)

    fake = gan.generator(condition).numpy()
    real_logits = gan.discriminator([tf.constant(condition), tf.constant(image)]).numpy()
    fake_logits = gan.discriminator([tf.constant(condition), tf.constant(fake)]).numpy()
    l1 = np.abs(image - fake).mean()
    g_adv = _softplus(-fake_logits).mean()
    np.testing.assert_allclose(logs["d_loss"], _softplus(-real_logits).mean() + _softplus(fake_logits).mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["g_adv"], g_adv, rtol=1e-5)
    np.testing.assert_allclose(logs["l1"], l1, rtol=1e-5)
    assert logs["ls1"] > 0 and logs["ls2"] > 0
    np.testing.assert_allclose(logs["g_total"], g_adv + 10.0 * l1 + logs["ls1"] + 0.5 * logs["ls2"], rtol=1e-5)


def test_contour_xla_switch_gives_the_same_generator_step(rng):
    """The XLA-compiled contour losses give the same losses and the same update."""
    batch = tuple(tf.constant(x) for x in _batch(rng))
    with_xla, without = _gan("enhanced", contour_xla=True), _gan("enhanced", contour_xla=False)
    terms_xla, terms = with_xla.generator_step(batch), without.generator_step(batch)
    for name in terms:
        np.testing.assert_allclose(terms_xla[name], terms[name], rtol=1e-5, atol=1e-7)
    for a, b in zip(with_xla.generator.trainable_weights, without.generator.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_each_step_updates_only_its_network(rng):
    gan = _gan("sharp_gan", contour_xla=False)
    batch = tuple(tf.constant(x) for x in _batch(rng))

    def snapshot():
        return [w.numpy().copy() for w in gan.generator.trainable_weights], [
            w.numpy().copy() for w in gan.discriminator.trainable_weights
        ]

    def changed(before, after):
        return max(np.abs(a - b).max() for a, b in zip(before, after))

    g0, d0 = snapshot()
    assert set(gan.discriminator_step(batch)) == {"d_loss"}
    g1, d1 = snapshot()
    assert changed(g0, g1) == 0 and changed(d0, d1) > 0
    assert set(gan.generator_step(batch)) == {"g_adv", "l1", "ls1", "ls2", "g_total"}
    g2, d2 = snapshot()
    assert changed(g1, g2) > 0 and changed(d1, d2) == 0


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_fit_each_variant(rng, variant):
    # XLA contour losses are covered by the switch test; compiling them again
    # here would cost seconds per variant.
    gan = _gan(variant, contour_xla=False)
    data = tf.data.Dataset.from_tensor_slices(_batch(rng, batch=4)).batch(2)
    before = [w.numpy().copy() for w in gan.generator.trainable_weights]
    history = gan.fit(data, epochs=1, verbose=0, shuffle=False).history
    assert sorted(history) == sorted(LOSS_NAMES)
    logs = {name: values[-1] for name, values in history.items()}
    assert all(np.isfinite(value) for value in logs.values()), logs
    assert int(gan.g_optimizer.iterations.numpy()) == 2 and int(gan.d_optimizer.iterations.numpy()) == 2
    contour_loss = get_variant(variant).contour_loss
    assert (logs["ls1"] > 0) == (contour_loss == "enhanced")
    assert (logs["ls2"] > 0) == (contour_loss != "none")
    after = gan.generator.trainable_weights
    assert all(np.abs(a.numpy() - b).max() > 0 for a, b in zip(after, before))


def test_bad_batch_and_mismatched_networks_raise(rng):
    gan = _gan("pix2pix")
    with pytest.raises(ValueError, match=r"tuple \(condition"):
        gan.generator_step(_batch(rng)[:2])
    generator, discriminator = build_networks("pix2pix", TINY)
    from tf_esgan.models.generator import GeneratorConfig, build_generator

    two_channel = build_generator(GeneratorConfig(input_channels=2, image_size=SIZE, base_filters=4, depth=5))
    with pytest.raises(ValueError, match="1-channel condition maps"):
        EnhancedSharpGAN(two_channel, discriminator, GanLossConfig(variant="enhanced"))
    with pytest.raises(RuntimeError, match="compile"):
        EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant="pix2pix")).train_step(_batch(rng))


def test_call_is_generator_inference_and_config_round_trips(rng):
    gan = _gan("sharp_gan_plus", lam=0.2)
    condition = _batch(rng)[0]
    np.testing.assert_array_equal(gan(condition).numpy(), gan.generator(condition, training=False).numpy())
    clone = EnhancedSharpGAN.from_config(gan.get_config())
    assert clone.loss_config == gan.loss_config
    assert clone.generator.network_config == gan.generator.network_config
