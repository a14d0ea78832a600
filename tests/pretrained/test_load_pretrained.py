"""Loaded pretrained models: the float32 network rebuilt from float16 weights is close to the original."""

import json

import numpy as np
import pytest

from tf_esgan.data import masks, skeleton
from tf_esgan.data.image_io import read_image
from tf_esgan.data.image_range import to_uint8
from tf_esgan.metrics import segmentation as seg_metrics
from tf_esgan.models.inference import generate
from tf_esgan.pretrained import load_generator, load_segnet, model_card
from tf_esgan.segmentation.scoring import predict_maps
from tf_esgan.segmentation.postprocess import watershed_instances


def test_generator_weights_are_the_float16_rounding_of_the_original(tiny_pretrained):
    generator, conditioning = load_generator("tiny", directory=tiny_pretrained["directory"])
    assert conditioning == "skeleton"  # the enhanced variant's
    assert all(layer.dtype_policy.name == "float32" for layer in generator.layers)
    for loaded, original in zip(generator.get_weights(), tiny_pretrained["generator"].get_weights()):
        assert loaded.dtype == np.float32
        np.testing.assert_array_equal(loaded, original.astype(np.float16).astype(np.float32))


def test_generator_image_within_two_grey_levels_of_the_original(tiny_pretrained):
    generator, conditioning = load_generator("tiny", directory=tiny_pretrained["directory"])
    rng = np.random.default_rng(3)
    conditions = np.stack([skeleton.conditioning(masks.random_nuclei_labels((32, 32), rng=rng, preset="tnbc"),
                                                 conditioning) for _ in range(4)])
    original = to_uint8(generate(tiny_pretrained["generator"], conditions)).astype(int)
    loaded = to_uint8(generate(generator, conditions)).astype(int)
    assert np.abs(original - loaded).max() <= 2
    assert original.std() > 5  # a textured image, not a flat one that any weights reproduce


def test_segnet_probabilities_close_to_the_original_on_a_real_image(tiny_pretrained, datasets_dir):
    segnet, watershed = load_segnet("tiny", directory=tiny_pretrained["directory"])
    assert watershed == tiny_pretrained["watershed"]
    image = read_image(datasets_dir / "tnbc" / "images" / "03_1.png")[100:292, 40:296]
    original = predict_maps(tiny_pretrained["segnet"], image)
    loaded = predict_maps(segnet, image)
    difference = np.abs(original - loaded)
    # Argmax unpooling moves a value by a pixel when rounding swaps two near-equal
    # maxima (weights.py), so a few isolated pixels differ more; the rest agree to 1e-2.
    assert difference.mean() < 1e-3
    assert np.mean(difference > 1e-2) < 1e-3
    true = watershed_instances(original[..., 0], original[..., 1], watershed)
    predicted = watershed_instances(loaded[..., 0], loaded[..., 1], watershed)
    counts = seg_metrics.instance_counts(true, predicted)
    assert counts.num_true >= 10 and counts.tp >= 0.95 * max(counts.num_true, counts.num_pred)


def test_record_holds_network_watershed_card_and_storage_check(tiny_pretrained):
    record = model_card("segnet", "tiny", tiny_pretrained["directory"])
    assert record["network"] == {"base_filters": 4, "batch_norm_momentum": 0.99, "dtype_policy": "float32"}
    assert record["watershed"] == {"foreground_threshold": 0.5, "marker_threshold": 0.5, "min_area": 5}
    assert record["weights_dtype"] == "float16" and record["card"] == {"data": "none: random weights for tests"}
    assert 0 < record["storage_check"]["mean_output_difference"] < 1e-3
    generator_record = json.loads((tiny_pretrained["directory"] / "tiny_generator.json").read_text())
    assert generator_record["variant"] == "enhanced" and generator_record["network"]["image_size"] == 32
    assert generator_record["storage_check"]["max_grey_level_difference"] <= 2


def test_auto_dtype_policy_is_resolved(tiny_pretrained):
    segnet, _ = load_segnet("tiny", directory=tiny_pretrained["directory"], dtype_policy="auto")
    from tf_esgan.models.precision import recommended_dtype_policy

    assert segnet.get_layer("encoder1_1_conv").dtype_policy.name == recommended_dtype_policy()
    with pytest.raises(ValueError, match="load_segnet: `dtype_policy` must be one of"):
        load_segnet("tiny", directory=tiny_pretrained["directory"], dtype_policy="float64")
