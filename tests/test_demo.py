"""The README's demo: figures and masks on disk, counts that match the shipped sample."""

import json

import cv2
import numpy as np

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.data.image_io import read_mask
from tf_esgan.demo import DemoConfig, run_demo


def test_demo_writes_figures_masks_and_summary(tmp_path):
    config = DemoConfig(out_dir=str(tmp_path / "out"), num_masks=3, seed=4)
    summary = run_demo(config, progress=lambda message: None)
    for figure in summary["figures"]:
        picture = cv2.imread(figure)
        assert picture is not None and picture.shape[0] > 500 and picture.shape[1] > 900
        assert picture.std() > 20  # not a blank canvas
    samples = list_samples(sample_root())
    expected = {f"TNBC {s.id}": len(np.unique(read_mask(s.mask_path))) - 1 for s in samples}
    assert summary["real_sample"] == expected and min(expected.values()) > 10
    masks = sorted((tmp_path / "out" / "synthetic" / "masks").glob("*.png"))
    assert len(masks) == 3
    counts = [int(read_mask(path).max()) for path in masks]
    assert counts == summary["synthetic_nuclei_per_mask"] and min(counts) > 0
    maps = np.load(tmp_path / "out" / "synthetic" / "skeleton_map_0000.npy")
    assert maps.shape == (256, 256) and 1.0 < maps.max() <= 2.0
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    # Same seed, same masks.
    again = run_demo(DemoConfig(out_dir=str(tmp_path / "again"), num_masks=3, seed=4),
                     progress=lambda message: None)
    assert again["synthetic_nuclei_per_mask"] == counts
