"""A request of 0 images gets 0 images back from every signature of the exported generator."""

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.serving import export_generator

SIZE = 32


@pytest.fixture(scope="module")
def signatures(tmp_path_factory):
    generator, _ = build_networks("enhanced", NetworkConfig(image_size=SIZE, generator_base_filters=2,
                                                            generator_depth=5, discriminator_base_filters=2))
    version = export_generator(generator, tmp_path_factory.mktemp("serving"), conditioning="skeleton")
    return tf.saved_model.load(str(version)).signatures


@pytest.mark.parametrize("name, inputs, output, channels, dtype", [
    ("from_mask", {"mask": tf.zeros([0, SIZE, SIZE], tf.int32)}, "image", 3, tf.uint8),
    ("serving_default", {"skeleton_map": tf.zeros([0, SIZE, SIZE, 1])}, "image", 3, tf.uint8),
    ("condition_from_mask", {"mask": tf.zeros([0, SIZE, SIZE], tf.int32)}, "skeleton_map", 1, tf.float32)])
def test_an_empty_batch_gives_an_empty_batch(signatures, name, inputs, output, channels, dtype):
    result = signatures[name](**inputs)[output]
    assert result.shape == (0, SIZE, SIZE, channels) and result.dtype == dtype


def test_a_non_empty_batch_still_runs_the_generator(signatures):
    labels = np.zeros([2, SIZE, SIZE], np.int32)
    labels[:, 8:16, 8:16] = 1
    image = signatures["from_mask"](mask=tf.constant(labels))["image"].numpy()
    assert image.shape == (2, SIZE, SIZE, 3) and image.dtype == np.uint8 and image.std() > 0
