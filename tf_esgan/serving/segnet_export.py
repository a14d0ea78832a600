"""SavedModel of SegNet for TF Serving.

Signature `serving_default`: input `image` uint8 [B, H, W, 3] RGB (H, W any multiples of
32; others fail with InvalidArgumentError "SegNet input: height and width must be
multiples of 32"); outputs `nucleus_probability` and `distance`, float32 [B, H, W] in
[0, 1], the two channels of `models.segnet`. Clients turn them into instances with
`tf_esgan.segmentation.postprocess.watershed_instances(nucleus_probability, distance)`.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from tf_esgan.models.segnet import DISTANCE_CHANNEL, NUCLEUS_CHANNEL, SIZE_MULTIPLE
from tf_esgan.serving.servable import ServingModule, write_servable
from tf_esgan.serving.versioned_dir import check_version_free

DEFAULT_MODEL_NAME = "segnet"
IMAGE_INPUT = "image"
PROBABILITY_OUTPUT = "nucleus_probability"
DISTANCE_OUTPUT = "distance"


def build_segnet_module(segnet) -> ServingModule:
    """A ServingModule with the `serving_default` signature of the module docstring."""
    module = ServingModule(segnet, name="segnet")

    def segment(image):
        outputs = tf.cast(module.call_model(image), tf.float32)
        return {PROBABILITY_OUTPUT: outputs[..., NUCLEUS_CHANNEL],
                DISTANCE_OUTPUT: outputs[..., DISTANCE_CHANNEL]}

    module.add_signature("serving_default", segment,
                         [tf.TensorSpec([None, None, None, 3], tf.uint8, name=IMAGE_INPUT)])
    return module


def export_segnet(segnet, export_base: str | os.PathLike, *, model_name: str = DEFAULT_MODEL_NAME,
                  version: int | None = None, overwrite: bool = False) -> Path:
    """Exports SegNet as `<export_base>/<model_name>/<version>/` for TF Serving.

    Args:
      segnet: Keras model of `models.segnet.build_segnet` (RGB [B, H, W, 3] in [0, 255] ->
        float32 [B, H, W, 2]).
      export_base, model_name, version, overwrite: as in `export_generator`.
    Returns:
      The new version directory.
    """
    check_version_free(Path(export_base) / model_name, version, overwrite=overwrite)
    return write_servable(build_segnet_module(segnet), export_base, model_name=model_name,
                          version=version, overwrite=overwrite,
                          info={"model": "segnet", "size_multiple": SIZE_MULTIPLE})
