"""SavedModel of the generator for TF Serving, with the conditioning map in the graph.

Signatures (all of them float32 in, uint8 out; B is free, 0 included, H = W = S is fixed):

- `serving_default`: input `skeleton_map` float32 [B, S, S, C], the conditioning map the
  model was trained on (binary mask in {0, 1}, distance map in [0, 1] or skeleton map in
  [0, 2], per the variant's `conditioning`); output `image` uint8 [B, S, S, 3] RGB.
- `from_mask`: input `mask` int32 [B, S, S] instance labels (uint8/uint16 values fit),
  or per image a binary mask ({0, 1} or {0, 255}, split into 4-connected nuclei, the
  rule of `data.labels.is_binary_mask`); the conditioning map is computed in the graph with
  plain TF ops (`skeleton_graph`, equal to the numpy maps), then the generator; output
  `image` uint8 [B, S, S, 3].
- `condition_from_mask`: input `mask` as above; output `skeleton_map` float32
  [B, S, S, 1], the map `from_mask` feeds to the generator (for inspection).

S is the size the generator was built for (256 in the paper). Other sizes are rejected
at run time with InvalidArgumentError "...height and width must be SxS..." (TF Serving
returns it as the request's error): the U-Net's stride-2 stack would accept any multiple
of 2**depth, but its bottleneck was only trained at 1x1, so larger inputs are a
different model; tile or crop on the client side instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from tf_esgan.data.image_range import to_uint8_tensor
from tf_esgan.data.skeleton_graph import conditioning as conditioning_map
from tf_esgan.models.inference import generate
from tf_esgan.models.variants import CONDITIONINGS
from tf_esgan.serving.mask_labels import labels_from_mask
from tf_esgan.serving.servable import ServingModule, write_servable
from tf_esgan.serving.versioned_dir import check_version_free

DEFAULT_MODEL_NAME = "esgan_generator"
CONDITION_INPUT = "skeleton_map"
MASK_INPUT = "mask"
IMAGE_OUTPUT = "image"


def _input_size(generator) -> tuple[int, int]:
    """(S, C) of a Keras generator with input [B, S, S, C]."""
    shape = tuple(generator.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[1] != shape[2] or shape[3] is None:
        raise ValueError(f"generator: expected a model with input [B, S, S, C] of fixed S, got {shape}")
    return int(shape[1]), int(shape[3])


def _with_size_check(tensor: tf.Tensor, size: int, name: str) -> tf.Tensor:
    """`tensor` [B, H, W, ...] after a run-time check that H = W = size, with static shape."""
    check = tf.debugging.assert_equal(
        tf.shape(tensor)[1:3], tf.constant([size, size]),
        message=(f"{name}: height and width must be {size}x{size}, the size the generator was "
                 f"exported for (other sizes are not supported; crop or tile on the client)"))
    with tf.control_dependencies([check]):
        tensor = tf.identity(tensor)
    return tf.ensure_shape(tensor, [None, size, size, *tensor.shape[3:]])


def build_generator_module(generator, conditioning: str) -> ServingModule:
    """A ServingModule with the three signatures of the module docstring."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning: expected one of {CONDITIONINGS}, got {conditioning!r}")
    size, channels = _input_size(generator)
    if channels != 1:
        raise ValueError(f"generator: `from_mask` builds one-channel maps, but the generator takes "
                         f"{channels} channels")
    module = ServingModule(generator, name="esgan_generator",
                           model_call=lambda condition: generate(generator, condition))

    def image_from_condition(condition):
        condition = _with_size_check(condition, size, CONDITION_INPUT)
        # An empty batch is a valid request, but TF's CPU convolution fails on it ("input
        # depth must be evenly divisible by filter depth"): answer it without the generator.
        return tf.cond(tf.shape(condition)[0] > 0,
                       lambda: to_uint8_tensor(module.call_model(condition)),
                       lambda: tf.zeros([0, size, size, 3], tf.uint8))

    def condition_from_mask(mask):
        mask = _with_size_check(mask, size, MASK_INPUT)
        return conditioning_map(labels_from_mask(mask), conditioning)

    condition_spec = tf.TensorSpec([None, None, None, channels], tf.float32, name=CONDITION_INPUT)
    mask_spec = tf.TensorSpec([None, None, None], tf.int32, name=MASK_INPUT)

    def serving_default(skeleton_map):
        return {IMAGE_OUTPUT: image_from_condition(skeleton_map)}

    def from_mask(mask):
        return {IMAGE_OUTPUT: image_from_condition(condition_from_mask(mask))}

    def mask_to_condition(mask):
        return {CONDITION_INPUT: condition_from_mask(mask)}

    module.add_signature("serving_default", serving_default, [condition_spec])
    module.add_signature("from_mask", from_mask, [mask_spec])
    module.add_signature("condition_from_mask", mask_to_condition, [mask_spec])
    return module


def export_generator(generator, export_base: str | os.PathLike, *, conditioning: str,
                     model_name: str = DEFAULT_MODEL_NAME, version: int | None = None,
                     overwrite: bool = False) -> Path:
    """Exports `generator` as `<export_base>/<model_name>/<version>/` for TF Serving.

    Args:
      generator: Keras generator, condition float32 [B, S, S, 1] -> RGB float32 in [-1, 1].
      export_base: TF Serving's base folder (holds one folder per model name).
      conditioning: the map the generator was trained on: "binary", "distance" or
        "skeleton" (`variants.get_variant(name).conditioning`).
      model_name: folder and TF Serving model name.
      version: integer version; None = one more than the largest existing version.
      overwrite: replace an existing version (otherwise VersionExistsError).
    Returns:
      The new version directory (written atomically; see `versioned_dir`).
    """
    # Refuse an existing version before the few seconds of tracing.
    check_version_free(Path(export_base) / model_name, version, overwrite=overwrite)
    module = build_generator_module(generator, conditioning)
    size, channels = _input_size(generator)
    return write_servable(module, export_base, model_name=model_name, version=version,
                          overwrite=overwrite, info={"model": "generator", "conditioning": conditioning,
                                                     "image_size": size, "condition_channels": channels})
