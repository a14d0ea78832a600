"""SegNet (Badrinarayanan et al. 2017, ref. [14]) with outputs for watershed (ref. [3]).

Encoder: the 13 convolutions of VGG16 in 5 blocks (2, 2, 3, 3, 3 convs of 3x3 + batch
norm + ReLU, widths f, 2f, 4f, 8f, 8f with f = `base_filters`), each block ending in a
2x2 max pooling that also returns its argmax indices. Decoder: the mirror image; each
block first unpools with the indices of its encoder block (values go back to where the
maxima were, zeros elsewhere: no transposed convolutions, no skip connections), then
the same number of 3x3 convs. As in the original SegNet, the decoder's last conv is the
per-pixel classifier (no batch norm / ReLU).

Outputs (float32 [B, H, W, 2], sigmoid, in [0, 1]):
  channel 0: nucleus probability.
  channel 1: per-nucleus normalised distance map (`skeleton.distance_map`), 1 at every
    nucleus' centre, 0 on contours and background; its peaks are the watershed markers.

Inputs: RGB [B, H, W, 3] with values in [0, 255] (uint8 or float). The model itself
casts to float32 and scales to [-1, 1] (layer `ImageScaling`), so clients send raw
images. H and W must be multiples of 32 (five 2x2 poolings); anything else raises
ValueError (InvalidArgumentError when the size is only known inside a traced graph).
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tf_esgan.data.image_range import from_uint8_tensor
from tf_esgan.models.precision import check_config_dtype_policy, dtype_policy_field, with_resolved_dtype_policy

#: Convs per block of the VGG16 encoder (and, mirrored, of the decoder).
ENCODER_BLOCKS = (2, 2, 3, 3, 3)
#: Width of each block as a multiple of `base_filters`.
WIDTH_MULTIPLIERS = (1, 2, 4, 8, 8)
#: H and W must be divisible by 2 ** number of poolings.
SIZE_MULTIPLE = 2 ** len(ENCODER_BLOCKS)
OUTPUT_CHANNELS = 2
NUCLEUS_CHANNEL = 0
DISTANCE_CHANNEL = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetConfig:
    """SegNet hyper-parameters.

    Attributes:
      base_filters: width of the first block (64 in the paper); tests use 4.
      batch_norm_momentum: Keras BatchNormalization momentum.
      dtype_policy: Keras policy of the hidden layers ("float32", "mixed_bfloat16",
        "mixed_float16", or "auto": the policy `precision.recommended_dtype_policy()` picks; a job
        config resolves it when made); input scaling and the output stay float32.
    """

    base_filters: int = 64
    batch_norm_momentum: float = 0.99
    dtype_policy: str = dtype_policy_field()

    def __post_init__(self) -> None:
        check_config_dtype_policy(self.dtype_policy, "SegNetConfig")
        if self.base_filters < 1:
            raise ValueError(f"SegNetConfig: `base_filters` must be >= 1, got {self.base_filters}")


@keras.saving.register_keras_serializable(package="tf_esgan")
class ImageScaling(keras.layers.Layer):
    """uint8/float RGB in [0, 255] -> float32 in [-1, 1]; checks H, W % `multiple` == 0.

    Args:
      multiple: required divisor of H and W.
    """

    def __init__(self, multiple: int = SIZE_MULTIPLE, **kwargs):
        super().__init__(**kwargs)
        self.multiple = multiple

    def call(self, images):
        images = tf.convert_to_tensor(images)
        height, width = images.shape[1], images.shape[2]
        if (height is not None and height % self.multiple) or (width is not None and width % self.multiple):
            raise ValueError(
                f"SegNet input: height and width must be multiples of {self.multiple}, got "
                f"{height}x{width} (pad or crop the image first, e.g. segmentation.scoring.pad_to_multiple)")
        if height is None or width is None:
            dynamic = tf.shape(images)[1:3]
            tf.debugging.assert_equal(
                dynamic % self.multiple, tf.zeros_like(dynamic),
                message=f"SegNet input: height and width must be multiples of {self.multiple}")
        return from_uint8_tensor(images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="tf_esgan")
class MaxPoolWithArgmax(keras.layers.Layer):
    """2x2 stride-2 max pooling that also returns where each maximum was.

    Input float [B, H, W, C] (H, W even). Returns (pooled [B, H/2, W/2, C], indices int64
    [B, H/2, W/2, C]): flat positions ((b * H + y) * W + x) * C + c of the maxima in the
    input (`tf.nn.max_pool_with_argmax` with include_batch_in_index=True).
    """

    def call(self, inputs):
        pooled, indices = tf.nn.max_pool_with_argmax(
            inputs, ksize=2, strides=2, padding="VALID", include_batch_in_index=True)
        return pooled, indices

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        half = (batch, None if height is None else height // 2, None if width is None else width // 2, channels)
        return half, half


@keras.saving.register_keras_serializable(package="tf_esgan")
class MaxUnpool(keras.layers.Layer):
    """Inverse of `MaxPoolWithArgmax`: scatters values back to their argmax positions.

    Inputs [values float [B, h, w, C], indices int64 [B, h, w, C]] -> float
    [B, 2h, 2w, C]: each value at its recorded flat position, zeros elsewhere.
    """

    def call(self, inputs):
        values, indices = inputs
        shape = tf.shape(values, out_type=tf.int64)
        output_shape = tf.stack([shape[0], 2 * shape[1], 2 * shape[2], shape[3]])
        flat = tf.scatter_nd(tf.reshape(indices, [-1, 1]), tf.reshape(values, [-1]),
                             tf.reduce_prod(output_shape, keepdims=True))
        return tf.reshape(flat, output_shape)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape[0]
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, channels)


def _conv_bn(x, filters: int, config: SegNetConfig, name: str):
    policy = config.dtype_policy
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv", dtype=policy)(x)
    return keras.layers.BatchNormalization(momentum=config.batch_norm_momentum, name=f"{name}_bn", dtype=policy)(x)


def _conv_bn_relu(x, filters: int, config: SegNetConfig, name: str):
    return keras.layers.ReLU(name=f"{name}_relu", dtype=config.dtype_policy)(_conv_bn(x, filters, config, name))


def build_segnet(config: SegNetConfig = SegNetConfig(), *, name: str = "segnet") -> keras.Model:
    """Builds the SegNet of the module docstring for any input size divisible by 32.

    Returns:
      A Keras model: RGB [B, H, W, 3] in [0, 255] -> float32 [B, H, W, 2] in [0, 1]
      (nucleus probability, distance map).
    """
    config = with_resolved_dtype_policy(config, "SegNetConfig")
    policy = config.dtype_policy
    widths = [config.base_filters * multiplier for multiplier in WIDTH_MULTIPLIERS]
    images = keras.Input(shape=(None, None, 3), name="image")
    x = ImageScaling(name="scaling")(images)
    pool_indices = []
    for block, (convs, width) in enumerate(zip(ENCODER_BLOCKS, widths), start=1):
        for conv in range(1, convs):
            x = _conv_bn_relu(x, width, config, f"encoder{block}_{conv}")
        # ReLU after the pooling: max_pool(relu(x)) == relu(max_pool(x)) (ReLU is monotonic)
        # at a quarter of the cost, and grappler's rewrite of max_pool(relu) mis-wires the
        # argmax output (it then drops all graph optimisations with a warning).
        x = _conv_bn(x, width, config, f"encoder{block}_{convs}")
        x, indices = MaxPoolWithArgmax(name=f"encoder{block}_pool", dtype=policy)(x)
        x = keras.layers.ReLU(name=f"encoder{block}_{convs}_relu", dtype=policy)(x)
        pool_indices.append(indices)
    for block in range(len(ENCODER_BLOCKS), 0, -1):
        x = MaxUnpool(name=f"decoder{block}_unpool", dtype=policy)([x, pool_indices[block - 1]])
        convs = ENCODER_BLOCKS[block - 1]
        for conv in range(convs, 0, -1):
            if block == 1 and conv == 1:
                break  # the classifier below replaces the decoder's last conv
            # The last conv of a block narrows to the width of the next (shallower) block.
            width = widths[block - 2] if conv == 1 else widths[block - 1]
            x = _conv_bn_relu(x, width, config, f"decoder{block}_{conv}")
    logits = keras.layers.Conv2D(OUTPUT_CHANNELS, 3, padding="same", name="classifier", dtype=policy)(x)
    outputs = keras.layers.Activation("sigmoid", dtype="float32", name="outputs")(logits)
    return keras.Model(images, outputs, name=name)
