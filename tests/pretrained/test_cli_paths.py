"""`pretrained:NAME` through the library calls behind esgan-synthesize, esgan-evaluate,
esgan-evaluate-segnet (and its CLI once) and Table 1's AJI column."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.data.image_io import read_image, read_mask, write_image, write_mask
from tf_esgan.data.image_range import to_uint8
from tf_esgan.evaluation.table1_job import EvaluationConfig, evaluate_generator
from tf_esgan.metrics import segmentation as seg_metrics
from tf_esgan.models.inference import generate
from tf_esgan.pretrained import PretrainedModelError, load_generator as load_pretrained_generator
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.segmentation.scoring import evaluate_run, load_segmenter
from tf_esgan.synthesis import SynthesisConfig, random_pair, synthesize

from conftest import REPO


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    """Two 64x64 crops of the embedded sample, in the canonical layout."""
    root = tmp_path_factory.mktemp("small")
    for sample in list_samples(sample_root())[:2]:
        image, labels = load_pair(sample)
        write_image(root / "images" / f"{sample.id}.png", image[:64, :64])
        write_mask(root / "masks" / f"{sample.id}.png", labels[:64, :64])
    return root


def test_generator_loading_takes_pretrained_names(pretrained_env):
    messages = []
    generator, kind, step = load_generator("pretrained:tiny", log=messages.append)
    assert step is None  # a shipped model has no checkpoint
    assert kind == "skeleton" and messages == ["generator: pretrained 'tiny' (skeleton conditioning)"]
    assert load_generator("pretrained:tiny", "skeleton", log=lambda m: None)[1] == "skeleton"
    with pytest.raises(ValueError, match="conditioning 'binary' contradicts pretrained:tiny"):
        load_generator("pretrained:tiny", "binary", log=lambda m: None)
    with pytest.raises(PretrainedModelError, match="available: pretrained:tiny"):
        load_generator("pretrained:tnbc", log=lambda m: None)


def test_synthesize_with_a_pretrained_generator(pretrained_env, tmp_path):
    config = SynthesisConfig(model="pretrained:tiny", out_dir=str(tmp_path / "synth"), num_images=3,
                             batch_size=2, seed=7)
    summary = synthesize(config, verbose=0, log=lambda m: None)
    assert summary["written"] == 3
    generator, kind = load_pretrained_generator("tiny")
    labels, condition = random_pair(2, 7, 32, "tnbc", kind)
    written = read_image(tmp_path / "synth" / "images" / "synthetic_000002.png")
    # Batches are padded to batch_size, so image 2 ran beside image 3 (one traced shape);
    # instance norm makes it independent of its neighbour up to float rounding.
    assert np.abs(written.astype(int) - to_uint8(generate(generator, condition[None]))[0].astype(int)).max() <= 1
    np.testing.assert_array_equal(read_mask(tmp_path / "synth" / "masks" / "synthetic_000002.png"), labels)
    assert json.loads((tmp_path / "synth" / "config.json").read_text())["model"] == "pretrained:tiny"


def test_evaluate_generator_with_pretrained_generator_and_segnet(pretrained_env, small_dataset, tmp_path):
    config = EvaluationConfig(model="pretrained:tiny", dataset_dir=str(small_dataset), out_dir=str(tmp_path),
                              segnet_dir="pretrained:tiny")
    result = evaluate_generator(config, log=lambda m: None)
    assert len(result.tiles) == 2 * 4  # two 64x64 images, 2x2 tiles of 32: the whole external folder
    assert result.aji is not None and 0 <= result.aji <= 1
    assert (tmp_path / "table1.md").read_text().splitlines()[2].startswith("| tiny |")


def test_evaluate_run_scores_an_external_test_dir_with_a_pretrained_segnet(pretrained_env, small_dataset,
                                                                          tmp_path):
    report = evaluate_run("pretrained:tiny", test_dir=small_dataset)
    assert report["split"] == "all" and report["images"] == [s.id for s in list_samples(small_dataset)]
    assert report["dataset_dir"] == str(small_dataset) and "report_path" not in report
    segment = load_segmenter("pretrained:tiny")
    counts = [seg_metrics.instance_counts(truth, segment(image))
              for image, truth in map(load_pair, list_samples(small_dataset))]
    assert report["pooled_aji"] == pytest.approx(seg_metrics.aggregate(counts).pooled_aji)
    with pytest.raises(ValueError, match="a pretrained SegNet has no training split; pass test_dir"):
        evaluate_run("pretrained:tiny")
    with pytest.raises(ValueError, match="do not combine it with dataset_dir"):
        evaluate_run("pretrained:tiny", test_dir=small_dataset, dataset_dir=small_dataset)


def test_evaluate_segnet_cli_with_pretrained_model_and_test_dir(pretrained_env, small_dataset, tmp_path):
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "tf_esgan.cli.evaluate_segnet", "--model=pretrained:tiny", f"--test_dir={small_dataset}",
         f"--report={report_path}"], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["num_images"] == 2 and printed["report_path"] == str(report_path)
    assert json.loads(report_path.read_text())["mean_aji"] == printed["mean_aji"]
