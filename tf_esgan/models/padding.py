"""Border padding of the generator's convolutions: zeros (pix2pix) or a mirror of the image.

pix2pix's convolutions pad with zeros (`padding="same"`). A zero border is a signal every
layer sees at the image edge, and a U-Net can learn to paint it: straight frames along the
borders were one of the defects of the early images (issue 20). `"reflect"` pads each
convolution's input with its own mirror image (without repeating the edge pixel, as
`numpy.pad(mode="reflect")`), so the border carries no constant to learn from; the output
shapes and the centred geometry equal those of `"same"`.

Where it applies: the encoder's stride-2 4x4 convolutions (TensorFlow's `"same"` pads
them by one pixel before and one after, for an even input) and the 3x3 convolutions of
the resize decoders (one pixel each side). A transposed convolution has no input border to
pad (its "same" crops its output), so the `transpose` decoder is unchanged.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PADDINGS = ("zero", "reflect")


@keras.saving.register_keras_serializable(package="tf_esgan")
class ReflectPadding2D(keras.layers.Layer):
    """[B, H, W, C] -> [B, H + 2p, W + 2p, C], the border a mirror of the image (numpy's "reflect").

    Args:
      pad: pixels added on every side (< H and < W).
    """

    def __init__(self, pad: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, inputs: Any) -> Any:
        p = self.pad
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda size: None if size is None else size + 2 * self.pad  # noqa: E731
        return (batch, grow(height), grow(width), channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "pad": self.pad}


def padded_conv(padding: str, conv_kwargs: dict, *, name: str, dtype: str):
    """A callable: Conv2D(**conv_kwargs, padding="same"), or a 1-pixel reflect pad then a "valid" Conv2D.

    Only for kernels whose "same" padding is one pixel on every side: 4x4 at stride 2 on an
    even input, 3x3 at stride 1.
    """
    if padding == "zero":
        return keras.layers.Conv2D(padding="same", name=name, dtype=dtype, **conv_kwargs)
    pad = ReflectPadding2D(1, name=f"{name}_pad", dtype=dtype)
    conv = keras.layers.Conv2D(padding="valid", name=name, dtype=dtype, **conv_kwargs)
    return lambda x: conv(pad(x))
