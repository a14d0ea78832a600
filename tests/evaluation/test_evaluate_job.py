"""esgan-evaluate's job on a tiny saved generator and the embedded sample."""

import json

import numpy as np
import pytest

from tf_esgan.data.datasets import sample_root
from tf_esgan.evaluation.table1_job import EvaluationConfig, evaluate_generator
from tf_esgan.models.networks import NetworkConfig, build_networks


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory):
    config = NetworkConfig(image_size=64, generator_base_filters=4, generator_depth=6,
                           discriminator_base_filters=4)
    generator, _ = build_networks("enhanced", config)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    generator.save(path)
    return path


def test_evaluate_writes_table1_reports_for_every_tile(tiny_generator, tmp_path):
    config = EvaluationConfig(model=str(tiny_generator), dataset_dir=str(sample_root()),
                              out_dir=str(tmp_path / "eval"), conditioning="skeleton", method="tiny")
    result = evaluate_generator(config, log=lambda message: None)
    assert len(result.tiles) == 4 * 16  # four 256x256 images, 4x4 tiles of 64
    for name in ("ssim", "fsim", "gmsd"):
        values = np.array([getattr(t, name) for t in result.tiles])
        assert np.all(np.isfinite(values))
    assert all(0 < t.fsim <= 1 and -1 <= t.ssim < 0.9 and 0 < t.gmsd for t in result.tiles)
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["tiles"] == 64 and summary["mean"] == pytest.approx(result.mean)
    assert summary["aji"] is None
    assert (tmp_path / "eval" / "table1.md").read_text().splitlines()[2].startswith("| tiny |")
    assert len(list((tmp_path / "eval" / "synthetic").glob("*.png"))) == 4


def test_keras_generator_needs_its_conditioning(tiny_generator, tmp_path):
    config = EvaluationConfig(model=str(tiny_generator), dataset_dir=str(sample_root()),
                              out_dir=str(tmp_path))
    with pytest.raises(ValueError, match="conditioning"):
        evaluate_generator(config, log=lambda message: None)
    with pytest.raises(ValueError, match="split"):
        EvaluationConfig(model="m", dataset_dir="d", out_dir="o", split="val")
