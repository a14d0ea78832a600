"""Table 1 evaluation: tiling, scores against direct metric calls, perfect/constant generators."""

import csv

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.evaluation.image_quality_table import (
    evaluate_image_quality, table1_markdown, tile_origins, write_reports)
from tf_esgan.metrics.image_quality import fsim, gmsd, ssim


def test_tile_origins_cover_the_image():
    assert tile_origins(256, 256) == [0]
    assert tile_origins(512, 256) == [0, 256]
    assert tile_origins(600, 256) == [0, 256, 344]
    assert tile_origins(1000, 256) == [0, 256, 512, 744]
    with pytest.raises(ValueError, match="smaller than the 256-pixel tile"):
        tile_origins(200, 256)


@pytest.fixture
def samples(datasets_dir):
    tnbc = [s for s in list_samples(datasets_dir / "tnbc") if s.id == "01_1"]
    return list_samples(sample_root())[:2] + tnbc  # two 256 crops + one 512 image (4 tiles)


def test_perfect_generator_scores_one_and_aji_of_true_masks_is_one(samples):
    real_tiles = []
    for sample in samples:
        image, _ = load_pair(sample)
        for top in tile_origins(image.shape[0], 256):
            for left in tile_origins(image.shape[1], 256):
                real_tiles.append(image[top:top + 256, left:left + 256])
    queue = iter(real_tiles)

    def perfect(conditions):  # returns the real tiles, in the order they are asked for
        return np.stack([next(queue) for _ in conditions]).astype(np.float32) / 127.5 - 1.0

    masks = {id(s): load_pair(s)[1] for s in samples}
    truth = iter([masks[id(s)] for s in samples])
    result = evaluate_image_quality(samples, perfect, kind="skeleton", batch_size=3,
                                    segment=lambda image: next(truth))
    assert len(result.tiles) == 2 + 4
    np.testing.assert_allclose([t.ssim for t in result.tiles], 1.0, atol=1e-5)
    np.testing.assert_allclose([t.fsim for t in result.tiles], 1.0, atol=1e-5)
    np.testing.assert_allclose([t.gmsd for t in result.tiles], 0.0, atol=1e-6)
    assert result.aji == 1.0


def test_constant_generator_scores_equal_direct_metric_calls(samples, tmp_path):
    seen_conditions = []

    def gray(conditions):
        seen_conditions.append(conditions)
        return np.zeros((len(conditions), 256, 256, 3), np.float32)  # -> uint8 128

    result = evaluate_image_quality(samples, gray, kind="distance", out_dir=str(tmp_path / "synthetic"),
                                    segment=lambda image: np.zeros(image.shape[:2], np.int32))
    assert all(c.shape[1:] == (256, 256, 1) and c.max() <= 1.0 for c in seen_conditions)
    image, _ = load_pair(samples[2])
    tiles = np.stack([image[t:t + 256, l:l + 256] for t in (0, 256) for l in (0, 256)])
    real = tf.constant(tiles, tf.float32) / 255.0
    flat = tf.fill(real.shape, 128.0 / 255.0)
    own = [t for t in result.tiles if t.sample_id == samples[2].id]
    np.testing.assert_allclose([t.ssim for t in own], ssim(real, flat).numpy(), rtol=1e-6)
    np.testing.assert_allclose([t.gmsd for t in own], gmsd(real, flat).numpy(), rtol=1e-6)
    np.testing.assert_allclose([t.fsim for t in own], fsim(real, flat).numpy(), rtol=1e-6)
    assert result.per_image[samples[2].id]["gmsd"] == pytest.approx(np.mean([t.gmsd for t in own]))
    assert result.mean["ssim"] == pytest.approx(np.mean([t.ssim for t in result.tiles]))
    assert result.aji == 0.0
    assert sorted(p.name for p in (tmp_path / "synthetic").iterdir()) == sorted(f"{s.id}.png" for s in samples)

    paths = write_reports(result, "constant", tmp_path / "report")
    rows = list(csv.DictReader(open(paths["tiles.csv"])))
    assert len(rows) == 6 and float(rows[-1]["gmsd"]) == pytest.approx(own[-1].gmsd, abs=1e-6)
    table = paths["table1.md"].read_text().splitlines()
    assert table[0] == "| Method | SSIM↑ | FSIM↑ | GMSD↓ | AJI↑ |"
    assert table[2].startswith(f"| constant | {result.mean['ssim']:.3f} |") and table[2].endswith("| 0.000 |")
    assert "n/a" in table1_markdown({"x": type(result)(tiles=[], per_image={}, mean=result.mean, aji=None)})
