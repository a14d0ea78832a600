"""A Conv2D computed by XLA: for shapes where oneDNN's kernels are far from the machine.

The PatchGAN's last convolution maps 512 channels to one logit per patch. Its gradient
with respect to its input (a 1 -> 512 channel transposed convolution) is a shape oneDNN
handles badly: on a 2-core AMD EPYC (AVX2) the layer took 0.19 s of op time per batch-1
GAN step for 0.12 GFLOP (0.6 GFLOP/s), while the same forward and backward compiled by XLA
ran 6.7x faster in isolation and the whole default step 7 % faster, 1.183 -> 1.104 s
side by side (benchmarks/README.md, "Profile of the step on an AVX2 machine"). Every other convolution of the networks was
slower under XLA there, so only this layer uses it.

`XlaConv2D` is a `keras.layers.Conv2D` (same weights, config and checkpoints) whose
convolution and bias run inside one `tf.function(jit_compile=True)`; its gradient is
compiled too. Inside a step that is itself XLA-compiled (`EnhancedSharpGAN.compile(
jit_compile=True)`) nesting XLA functions made the contour losses ~20x slower, so `set_nested_xla(model, False)` makes
the layers of `model` run the plain Keras convolution.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tf_esgan")
class XlaConv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` (channels_last, no dilation or groups) run as one XLA cluster."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data_format != "channels_last" or self.groups != 1 or tuple(self.dilation_rate) != (1, 1):
            raise ValueError(f"{self.name}: XlaConv2D supports channels_last, groups=1 and no dilation only")
        self.use_xla = True
        self._xla_conv = None

    def _compiled(self) -> Any:
        if self._xla_conv is None:
            strides, padding = tuple(self.strides), self.padding.upper()

            def convolve(inputs: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
                outputs = tf.nn.conv2d(inputs, kernel, strides=strides, padding=padding)
                return outputs if bias is None else tf.nn.bias_add(outputs, bias)

            self._xla_conv = tf.function(convolve, jit_compile=True, reduce_retracing=True)
        return self._xla_conv

    def call(self, inputs: Any) -> Any:
        if not self.use_xla:
            return super().call(inputs)
        kernel = tf.convert_to_tensor(self.kernel)
        bias = tf.convert_to_tensor(self.bias) if self.use_bias else None
        outputs = self._compiled()(tf.cast(inputs, kernel.dtype), kernel, bias)
        return self.activation(outputs) if self.activation is not None else outputs


def set_nested_xla(model: keras.Model, enabled: bool) -> None:
    """Lets the XlaConv2D layers of `model` use their own XLA cluster (or not, inside an XLA step)."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, XlaConv2D):
            layer.use_xla = enabled
