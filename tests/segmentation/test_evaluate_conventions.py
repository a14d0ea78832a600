"""The esgan-evaluate-segnet report carries HoVer-Net's per-image means and StarDist's pooled block."""

import json

import pytest

from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.pretrained.segnet_loading import save_watershed_config
from tf_esgan.segmentation.scoring import evaluate_run
from tf_esgan.segmentation.postprocess import WatershedConfig


def test_report_has_per_image_mean_and_pooled_blocks_beside_the_old_keys(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset_dir": "/nowhere", "test_fraction": 0.5, "seed": 0}))
    build_segnet(SegNetConfig(base_filters=2)).save(run / "segnet.keras")
    save_watershed_config(WatershedConfig(min_area=3), run / "watershed.json")
    report = evaluate_run(run, test_dir=sample_root(), report_path=tmp_path / "report.json")
    mean, pooled = report["per_image_mean"], report["pooled"]
    assert mean["num_images"] == report["num_images"] == len(list_samples(sample_root()))
    for name in ("dq", "sq", "pq", "aji"):
        assert mean[name] == report[f"mean_{name}"]
    assert pooled["tp"] + pooled["fn"] == pooled["n_true"] == report["num_true"] > 0
    assert pooled["tp"] + pooled["fp"] == pooled["n_pred"]
    assert pooled["f1"] == pytest.approx(report["pooled_dq"])
    assert pooled["panoptic_quality"] == pytest.approx(report["pooled_pq"])
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["pooled"] == pooled and "StarDist" in written["score_conventions"]
