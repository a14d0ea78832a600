"""XlaConv2D: a Conv2D computed in one XLA cluster, equal to Keras' Conv2D up to rounding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.discriminator import DiscriminatorConfig, build_discriminator
from tf_esgan.models.xla_conv import XlaConv2D, set_nested_xla


def _pair(**kwargs):
    plain = keras.layers.Conv2D(**kwargs)
    xla = XlaConv2D(**kwargs)
    inputs = np.random.default_rng(0).normal(size=(2, 11, 11, 6)).astype("float32")
    plain.build(inputs.shape)
    xla.build(inputs.shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=w.shape).astype("float32") for w in plain.get_weights()]
    plain.set_weights(weights)
    xla.set_weights(weights)
    return plain, xla, tf.constant(inputs)


def _forward_and_gradients(layer, inputs):
    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(y * tf.cos(y))  # a non-linear loss: the gradient depends on y
        return (y, *tape.gradient(loss, [x, *layer.trainable_variables]))
    return run(inputs)


@pytest.mark.parametrize("kwargs", [
    dict(filters=1, kernel_size=4, padding="valid"),  # the PatchGAN logits
    dict(filters=3, kernel_size=3, strides=2, padding="same", use_bias=False),
    dict(filters=2, kernel_size=4, padding="valid", activation="tanh"),
])
def test_forward_and_every_gradient_equal_keras_conv2d(kwargs):
    plain, xla, inputs = _pair(**kwargs)
    expected = _forward_and_gradients(plain, inputs)
    actual = _forward_and_gradients(xla, inputs)
    assert len(actual) == len(expected) == 3 + int(kwargs.get("use_bias", True))  # y, dx, dkernel[, dbias]
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-5, atol=1e-5 * np.abs(e.numpy()).max())
    graph = tf.function(xla).get_concrete_function(tf.TensorSpec(inputs.shape)).graph
    assert any(op.get_attr("_XlaMustCompile") for op in graph.get_operations()
               if op.type.endswith("PartitionedCall") and "_XlaMustCompile" in op.node_def.attr)


def test_discriminator_logits_use_it_and_a_whole_xla_step_turns_it_off(tmp_path):
    discriminator = build_discriminator(DiscriminatorConfig(image_size=64, base_filters=4))
    logits = discriminator.get_layer("logits")
    assert isinstance(logits, XlaConv2D) and logits.use_xla and logits.compute_dtype == "float32"
    set_nested_xla(discriminator, False)
    assert not logits.use_xla
    # Saved and loaded as the same layer, same weights.
    path = tmp_path / "d.keras"
    discriminator.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("logits"), XlaConv2D)
    for a, b in zip(loaded.get_weights(), discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)
