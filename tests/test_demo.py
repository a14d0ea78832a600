"""The README's demo: figures, synthetic pairs, metrics.json and the model on disk, with
counts that match the shipped sample. Tiny random models packaged into a temporary models
folder stand in for the shipped ones (their numbers are meaningless; the wiring is not)."""

import dataclasses
import json
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.data.image_io import read_image, read_mask
from tf_esgan.demo import DemoConfig, run_demo
from tf_esgan.metrics.segmentation import aggregate, instance_counts


@pytest.fixture(scope="module")
def demo_models(tmp_path_factory):
    """A 256x256 tiny generator and a tiny SegNet packaged as "demo" (trained on slides 04, 05, 07)."""
    from tf_esgan.models.generator import build_generator
    from tf_esgan.models.networks import NetworkConfig, generator_config
    from tf_esgan.models.segnet import SegNetConfig, build_segnet
    from tf_esgan.serving.pretrained_packaging import package_generator, package_segnet
    from tf_esgan.segmentation.postprocess import WatershedConfig

    directory = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(3)
    network = NetworkConfig(image_size=256, generator_base_filters=4, generator_depth=8, discriminator_base_filters=4,
                            upsampling="resize")
    package_generator(build_generator(generator_config("enhanced", network)), name="demo", variant="enhanced",
                      network=network, card={"train_slides": ["04", "05", "07"]}, directory=directory)
    segnet_config = SegNetConfig(base_filters=4)
    package_segnet(build_segnet(segnet_config), name="demo", segnet_config=segnet_config,
                   watershed=WatershedConfig(foreground_threshold=0.5, marker_threshold=0.5, min_area=5),
                   directory=directory)
    return directory


def _check_common(summary, out):
    for figure in summary["figures"]:
        picture = cv2.imread(figure)
        assert picture is not None and min(picture.shape[:2]) > 300, figure
        assert picture.std() > 20  # not a blank canvas
    samples = list_samples(sample_root())
    expected = {f"TNBC {s.id}": len(np.unique(read_mask(s.mask_path))) - 1 for s in samples}
    assert summary["real_sample"] == expected and min(expected.values()) > 10
    synthetic = list_samples(summary["synthetic_dataset"])  # a complete canonical dataset
    assert len(synthetic) == 3
    counts = [int(read_mask(sample.mask_path).max()) for sample in synthetic]
    assert counts == summary["synthetic_nuclei_per_mask"] and min(counts) > 0
    assert read_image(synthetic[0].image_path).shape == (256, 256, 3)
    metrics = json.loads(Path(summary["metrics"]).read_text())
    assert metrics["images"] == [sample.id for sample in samples]
    for name, (low, high) in {"ssim": (-1, 1), "fsim": (0, 1), "gmsd": (0, 1)}.items():
        assert len(metrics[name]) == 4 and all(low <= value <= high for value in metrics[name])
        assert metrics["mean"][name] == round(float(np.mean(metrics[name])), 4)
    # The flat image's scores, recomputed here from the crops' mean colour.
    from tf_esgan.metrics.image_quality import ssim

    real = np.stack([read_image(s.image_path) for s in samples])
    flat = np.broadcast_to(np.rint(real.reshape(-1, 3).mean(axis=0)), real.shape).astype(np.float32)
    assert metrics["flat_mean"]["ssim"] == pytest.approx(
        float(np.mean(ssim(real.astype(np.float32) / 255, flat / 255).numpy())), abs=1e-4)
    for part in ("real_crops", "synthetic_pairs"):
        assert set(metrics["segmentation"][part]) == {"dq", "sq", "pq", "aji"}
    assert Path(summary["model"]).exists()
    assert json.loads((out / "summary.json").read_text()) == summary
    return metrics


def test_demo_with_pretrained_models(demo_models, monkeypatch, tmp_path):
    from tf_esgan.pretrained.registry import DIRECTORY_ENV
    from tf_esgan.segmentation.scoring import segment_image
    from tf_esgan.pretrained.segnet_loading import load_segnet_and_watershed

    monkeypatch.setenv(DIRECTORY_ENV, str(demo_models))
    config = DemoConfig(out_dir=str(tmp_path / "out"), model="pretrained:demo", segnet="pretrained:demo",
                        num_masks=3, seed=4)
    summary = run_demo(config, progress=lambda message: None)
    assert len(summary["figures"]) == 5 and summary["run_dir"] is None
    metrics = _check_common(summary, tmp_path / "out")
    assert metrics["held_out"] == ["tnbc_01_2_y160_x160"]  # the one crop from a slide the card does not list
    # Segmentation scores equal an independent recomputation on the real crops.
    segnet, watershed = load_segnet_and_watershed("pretrained:demo")
    samples = list_samples(sample_root())
    counts = [instance_counts(read_mask(s.mask_path), segment_image(segnet, read_image(s.image_path), watershed))
              for s in samples]
    assert metrics["segmentation"]["real_crops"]["aji"] == round(float(aggregate(counts).mean_aji), 4)


def test_demo_training_option(demo_models, monkeypatch, tmp_path):
    from tf_esgan.pretrained.registry import DIRECTORY_ENV

    monkeypatch.setenv(DIRECTORY_ENV, str(demo_models))
    config = DemoConfig(out_dir=str(tmp_path / "out"), segnet="pretrained:demo", num_masks=3, seed=4,
                        train_seconds=1.0, network=dataclasses.replace(DemoConfig().network, generator_base_filters=4,
                                                                       discriminator_base_filters=4))
    messages = []
    summary = run_demo(config, progress=messages.append)
    metrics = _check_common(summary, tmp_path / "out")
    assert len(metrics["held_out"]) == 1 and metrics["train_steps"] >= 1 and "budget 1 s" in metrics["note"]
    assert any("time budget" in message for message in messages)
