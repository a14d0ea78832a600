"""The README's demo: figures, synthetic pairs, metrics.json and the model on disk, with
counts that match the shipped sample (a tiny network and a 1 s training budget here)."""

import json
from pathlib import Path

import cv2
import numpy as np

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.data.image_io import read_image, read_mask
from tf_esgan.demo import DemoConfig, run_demo


def test_demo_writes_figures_pairs_metrics_and_model(tmp_path):
    config = DemoConfig(out_dir=str(tmp_path / "out"), num_masks=3, seed=4, train_seconds=1.0,
                        generator_base_filters=4, discriminator_base_filters=4)
    messages = []
    summary = run_demo(config, progress=messages.append)
    assert len(summary["figures"]) == 3
    for figure in summary["figures"]:
        picture = cv2.imread(figure)
        assert picture is not None and picture.shape[0] > 500 and picture.shape[1] > 700
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
    assert metrics["images"] == [sample.id for sample in samples] and len(metrics["held_out"]) == 1
    for name, (low, high) in {"ssim": (-1, 1), "fsim": (0, 1), "gmsd": (0, 1)}.items():
        assert len(metrics[name]) == 4 and all(low <= value <= high for value in metrics[name])
        assert metrics["mean"][name] == round(float(np.mean(metrics[name])), 4)
    assert metrics["train_steps"] >= 1 and "budget 1 s" in metrics["note"]
    assert Path(summary["model"]).exists()
    assert any("time budget" in message for message in messages)
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
