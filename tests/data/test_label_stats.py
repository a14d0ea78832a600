"""Tests of tf_esgan.data.label_stats on hand-drawn label maps with known answers."""

import numpy as np
import pytest

from tf_esgan.data.label_stats import (LabelStats, measure_label_stats, summarise_stats,
                                       tile_label_map)


def _hand_map():
    labels = np.zeros((10, 10), np.int32)
    labels[1:4, 1:4] = 7  # 3x3 square, inner
    labels[4:6, 4:6] = 2  # 2x2 square, diagonal neighbour of the 3x3 one at (3,3)-(4,4)
    labels[7, 3:7] = 3  # 1x4 bar, inner, alone
    labels[9, 0] = 9  # single pixel on the border
    return labels


def test_counts_touching_radii_and_aspect_of_hand_map():
    stats = measure_label_stats(_hand_map())
    assert stats.count == 4
    assert stats.touching == 2  # only the diagonal pair; the bar and the pixel are alone
    assert stats.area == 100
    # ids sorted 2, 3, 7 (9 is on the border): areas 4, 4, 9
    np.testing.assert_allclose(stats.radii, np.sqrt(np.array([4, 4, 9]) / np.pi))
    # Squares are round (1); a 1 x n bar has variances (n^2 - 1)/12 and 0, plus 1/12 each.
    np.testing.assert_allclose(stats.aspect_ratios, [1.0, 4.0, 1.0])


def test_four_adjacent_pair_touches_and_one_pixel_gap_does_not():
    labels = np.zeros((6, 6), np.int32)
    labels[2, 1] = 1
    labels[2, 2] = 2  # 4-adjacent to 1
    labels[2, 4] = 3  # one free pixel away from 2
    stats = measure_label_stats(labels)
    assert (stats.count, stats.touching) == (3, 2)


def test_empty_and_full_maps():
    empty = measure_label_stats(np.zeros((5, 4), np.uint16))
    assert (empty.count, empty.touching, empty.radii.size, empty.area) == (0, 0, 0, 20)
    full = measure_label_stats(np.full((3, 3), 4, np.int32))  # no background at all
    assert (full.count, full.touching, full.radii.size) == (1, 0, 0)  # cut by the border


def test_rejects_non_integer_or_non_2d_maps():
    # The one label-map check (`data.labels`): whole-valued floats are label maps.
    assert measure_label_stats(np.zeros((4, 4), np.float32)).count == 0
    with pytest.raises(ValueError, match="labels"):
        measure_label_stats(np.full((4, 4), 0.5, np.float32))
    with pytest.raises(ValueError, match="labels: expected labels >= 0"):
        measure_label_stats(np.full((4, 4), -1, np.int32))
    with pytest.raises(ValueError, match="labels"):
        measure_label_stats(np.zeros((4, 4, 1), np.int32))


@pytest.mark.parametrize("size, starts", [(256, [0]), (200, [0]), (439, [0, 183]),
                                          (600, [0, 172, 344])])
def test_tiles_cover_the_map_with_least_overlap(size, starts):
    labels = np.arange(size * 300).reshape(size, 300)
    tiles = tile_label_map(labels)
    columns = [0, 44]  # 300 px wide: crops at 0 and 300 - 256
    assert len(tiles) == len(starts) * 2
    for tile, (y, x) in zip(tiles, [(y, x) for y in starts for x in columns]):
        assert tile.shape == (min(size, 256), 256)
        assert tile[0, 0] == labels[y, x]


def test_summary_pools_by_hand():
    one = LabelStats(count=2, touching=2, radii=np.array([1.0, np.e**2, np.e]),
                     aspect_ratios=np.array([1.0, 3.0]), area=65536)
    two = LabelStats(count=4, touching=0, radii=np.array([np.e]), aspect_ratios=np.zeros(0),
                     area=65536)
    summary = summarise_stats([one, two])
    assert summary["maps"] == 2 and summary["nuclei"] == 6
    assert summary["mean_radius"] == pytest.approx((1 + np.e**2 + 2 * np.e) / 4)
    # log radii of map one: 0, 2, 1 -> deviations -1, 1, 0; map two has < 3 radii.
    assert summary["radius_log_std"] == pytest.approx(np.sqrt(2 / 3))
    assert np.isnan(summary["size_bias_log_std"])  # only one map with >= 3 radii
    assert summary["count_per_map"] == 3.0
    assert summary["count_cv"] == pytest.approx(1 / 3)
    assert summary["nuclei_per_256"] == 3.0
    assert summary["touching_fraction"] == pytest.approx(2 / 6)
    assert summary["mean_aspect_ratio"] == 2.0
