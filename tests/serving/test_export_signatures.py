"""Exported generator and SegNet, run the way TF Serving runs them, against the Keras models."""

import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from tf_esgan.data import skeleton
from tf_esgan.data.image_io import read_image, read_mask
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.serving import export_generator, export_segnet
from tf_esgan.serving.graph_check import PYTHON_OPS, saved_model_op_types

SIZE = 64
HERE = Path(__file__).resolve().parent
SAVED_MODEL_CLI = Path(sys.executable).with_name("saved_model_cli")


def _busiest_crop(labels: np.ndarray) -> tuple[int, int]:
    """Top-left corner of the SIZE x SIZE grid window holding the most nuclei."""
    corners = [(y, x) for y in range(0, labels.shape[0] - SIZE + 1, SIZE)
               for x in range(0, labels.shape[1] - SIZE + 1, SIZE)]
    return max(corners, key=lambda c: len(np.unique(labels[c[0]:c[0] + SIZE, c[1]:c[1] + SIZE])))


def _real_crops(datasets_dir):
    masks, images = [], []
    for dataset, name in (("tnbc", "01_1"), ("monuseg", None)):
        folder = datasets_dir / dataset
        mask_path = folder / "masks" / f"{name}.png" if name else sorted((folder / "masks").glob("*.png"))[0]
        labels = read_mask(mask_path)
        y, x = _busiest_crop(labels)
        masks.append(labels[y:y + SIZE, x:x + SIZE])
        images.append(read_image(folder / "images" / mask_path.name)[y:y + SIZE, x:x + SIZE])
    # The same nuclei sent as a {0, 255} binary mask: split into 4-connected components.
    masks.append(np.where(masks[0] > 0, 255, 0))
    return np.stack(masks).astype(np.int32), np.stack(images).astype(np.uint8)


def _to_uint8(image):
    return np.round(np.clip((image.astype(np.float32) + 1.0) * np.float32(127.5), 0, 255)).astype(np.uint8)


@pytest.fixture(scope="module")
def served(tmp_path_factory, datasets_dir):
    """Exports both models, runs every signature in a fresh process, returns everything."""
    root = tmp_path_factory.mktemp("serving")
    keras.utils.set_random_seed(7)
    generator, _ = build_networks("enhanced", NetworkConfig(
        image_size=SIZE, generator_base_filters=4, generator_depth=5, discriminator_base_filters=4))
    segnet = build_segnet(SegNetConfig(base_filters=4))
    generator_dir = export_generator(generator, root / "models", conditioning="skeleton", version=3)
    segnet_dir = export_segnet(segnet, root / "models")

    masks, images = _real_crops(datasets_dir)
    maps = np.stack([skeleton.skeleton_map(mask) for mask in masks])[..., None].astype(np.float32)
    arrays = {"maps": maps, "masks": masks, "images": images,
              "small": np.zeros((1, 32, 32, 1), np.float32)}
    for name, array in arrays.items():
        np.save(root / f"{name}.npy", array)
    npy = {name: str(root / f"{name}.npy") for name in arrays}
    plan = {
        "models": {
            "generator": {"dir": str(generator_dir), "inputs": {
                "serving_default": {"skeleton_map": npy["maps"]},
                "from_mask": {"mask": npy["masks"]},
                "condition_from_mask": {"mask": npy["masks"]}}},
            "segnet": {"dir": str(segnet_dir), "inputs": {"serving_default": {"image": npy["images"]}}},
        },
        "wrong_size": {"generator": {"signature": "serving_default", "input": "skeleton_map",
                                     "npy": npy["small"]}},
        "out": str(root / "outputs.npz"),
    }
    (root / "plan.json").write_text(json.dumps(plan))
    subprocess.run([sys.executable, str(HERE / "fresh_loader.py"), str(root / "plan.json")],
                   check=True, capture_output=True, timeout=300)
    outputs = dict(np.load(root / "outputs.npz"))
    return {"outputs": outputs, "maps": maps, "masks": masks, "images": images,
            "generator": generator, "segnet": segnet,
            "generator_dir": generator_dir, "segnet_dir": segnet_dir}


LOADERS = ("tf1", "tf2")


def test_fresh_process_imports_no_project_code(served):
    assert "tf_esgan" not in str(served["outputs"]["modules"])


@pytest.mark.parametrize("loader", LOADERS)
def test_serving_default_matches_keras_generator(served, loader):
    image = served["outputs"][f"generator/{loader}/serving_default/image"]
    expected = _to_uint8(served["generator"](served["maps"], training=False).numpy())
    assert image.dtype == np.uint8 and image.shape == (3, SIZE, SIZE, 3)
    # Graph and eager float32 sums may differ in the last bit: a value on a rounding
    # boundary may move by one grey level, nothing more.
    assert np.abs(image.astype(int) - expected).max() <= 1
    assert np.mean(image == expected) > 0.999


@pytest.mark.parametrize("loader", LOADERS)
def test_condition_from_mask_equals_numpy_skeleton_map(served, loader):
    condition = served["outputs"][f"generator/{loader}/condition_from_mask/skeleton_map"]
    assert condition.dtype == np.float32
    np.testing.assert_array_equal(condition, served["maps"])
    # Mask 2 is binary ({0, 255}); numpy's as_labels split it into components, so the
    # equality above covers the in-graph binary rule too. Both maps are non-trivial:
    assert condition[0].max() == 2.0 and len(np.unique(condition[2])) > 3


@pytest.mark.parametrize("loader", LOADERS)
def test_from_mask_equals_skeleton_map_then_generator(served, loader):
    outputs = served["outputs"]
    from_mask = outputs[f"generator/{loader}/from_mask/image"]
    np.testing.assert_array_equal(from_mask, outputs[f"generator/{loader}/serving_default/image"])
    expected = _to_uint8(served["generator"](served["maps"], training=False).numpy())
    assert np.abs(from_mask.astype(int) - expected).max() <= 1


@pytest.mark.parametrize("loader", LOADERS)
def test_segnet_signature_matches_keras(served, loader):
    outputs = served["outputs"]
    expected = served["segnet"](served["images"], training=False).numpy()
    probability = outputs[f"segnet/{loader}/serving_default/nucleus_probability"]
    distance = outputs[f"segnet/{loader}/serving_default/distance"]
    assert probability.shape == distance.shape == (2, SIZE, SIZE)
    np.testing.assert_allclose(probability, expected[..., 0], atol=1e-5)
    np.testing.assert_allclose(distance, expected[..., 1], atol=1e-5)


def test_wrong_size_is_rejected_with_the_size_in_the_message(served):
    message = str(served["outputs"]["generator/wrong_size"])
    assert f"height and width must be {SIZE}x{SIZE}" in message


@pytest.mark.parametrize("key", ["generator_dir", "segnet_dir"])
def test_graph_has_no_python_ops(served, key):
    op_types = saved_model_op_types(served[key])
    assert "Conv2D" in op_types  # the walk sees the function library, where the model lives
    assert not op_types & PYTHON_OPS
    if key == "generator_dir":
        assert {"StatelessWhile", "UnsortedSegmentMax"} <= op_types  # in-graph skeleton maps


def test_layout_and_export_info(served):
    generator_dir = served["generator_dir"]
    assert generator_dir.name == "3" and generator_dir.parent.name == "esgan_generator"
    assert served["segnet_dir"].name == "1"
    assert sorted(p.name for p in generator_dir.parent.iterdir()) == ["3"]  # no leftovers
    info = json.loads((generator_dir / "assets.extra" / "esgan_export.json").read_text())
    assert info["conditioning"] == "skeleton" and info["image_size"] == SIZE
    assert info["signatures"] == ["condition_from_mask", "from_mask", "serving_default"]


def test_saved_model_cli_show_and_run(served, tmp_path):
    show = subprocess.run([str(SAVED_MODEL_CLI), "show", "--dir", str(served["generator_dir"]), "--all"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    for signature in ("serving_default", "from_mask", "condition_from_mask"):
        assert f"signature_def['{signature}']" in show
    assert "inputs['skeleton_map'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, -1, 1)" in show
    assert "inputs['mask'] tensor_info:\n        dtype: DT_INT32" in show
    assert "outputs['image'] tensor_info:\n        dtype: DT_UINT8" in show

    np.save(tmp_path / "masks.npy", served["masks"])
    subprocess.run([str(SAVED_MODEL_CLI), "run", "--dir", str(served["generator_dir"]),
                    "--tag_set", "serve", "--signature_def", "from_mask",
                    "--inputs", f"mask={tmp_path / 'masks.npy'}", "--outdir", str(tmp_path / "out")],
                   check=True, capture_output=True, timeout=120)
    image = np.load(tmp_path / "out" / "image.npy")
    np.testing.assert_array_equal(image, served["outputs"]["generator/tf1/from_mask/image"])
