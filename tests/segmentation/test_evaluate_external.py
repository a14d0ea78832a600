"""evaluate_run on an external test folder, and SegNet loading in its three forms."""

import json

import numpy as np
import pytest

from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.metrics import segmentation as seg_metrics
from tf_esgan.models.segnet import SegNetConfig, build_segnet
from tf_esgan.pretrained.segnet_loading import load_segnet, load_segnet_and_watershed, save_watershed_config
from tf_esgan.segmentation.scoring import evaluate_run, segment_image
from tf_esgan.segmentation.postprocess import WatershedConfig


@pytest.fixture(scope="module")
def segnet_run(tmp_path_factory):
    """A finished-looking esgan-train-segnet run folder of a tiny random SegNet."""
    folder = tmp_path_factory.mktemp("segrun")
    (folder / "config.json").write_text(json.dumps({"dataset_dir": "/nowhere", "test_fraction": 0.5, "seed": 0}))
    build_segnet(SegNetConfig(base_filters=2)).save(folder / "segnet.keras")
    save_watershed_config(WatershedConfig(min_area=3), folder / "watershed.json")
    return folder


def test_external_test_dir_is_scored_whole_and_reported_beside_the_run(segnet_run):
    report = evaluate_run(segnet_run, test_dir=sample_root())
    samples = list_samples(sample_root())
    assert report["split"] == "all" and report["images"] == [s.id for s in samples]
    written = segnet_run / f"eval_external_{sample_root().name}.json"
    assert report["report_path"] == str(written)
    assert json.loads(written.read_text())["pooled_pq"] == report["pooled_pq"]
    segnet, watershed = load_segnet_and_watershed(segnet_run)
    counts = [seg_metrics.instance_counts(truth, segment_image(segnet, image, watershed))
              for image, truth in map(load_pair, samples)]
    assert report["mean_pq"] == pytest.approx(seg_metrics.aggregate(counts).mean_pq)
    with pytest.raises(ValueError, match="do not combine it with dataset_dir=None or split=test"):
        evaluate_run(segnet_run, test_dir=sample_root(), split="test")


def test_segnet_loading_forms(segnet_run, tmp_path):
    model, watershed = load_segnet(segnet_run / "segnet.keras")  # a run's own file: thresholds beside it
    assert watershed == WatershedConfig(min_area=3)
    image = np.zeros((32, 32, 3), np.uint8)
    np.testing.assert_array_equal(model(image[None]), load_segnet(segnet_run)[0](image[None]))
    (tmp_path / "alone.keras").write_bytes((segnet_run / "segnet.keras").read_bytes())
    assert load_segnet(tmp_path / "alone.keras")[1] is None  # fine for export
    with pytest.raises(FileNotFoundError, match="alone.keras: no watershed.json beside it"):
        load_segnet_and_watershed(tmp_path / "alone.keras")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'segnet.keras'}: missing; is {tmp_path} a finished"):
        load_segnet(tmp_path)
    with pytest.raises(FileNotFoundError, match="expected pretrained:NAME, an esgan-train-segnet run folder"):
        load_segnet(tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError, match="config.json: missing"):
        evaluate_run(tmp_path)
