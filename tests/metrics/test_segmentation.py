"""Tests for PQ and AJI: hand-computed cases, a slow literal reference and real masks."""

import cv2
import numpy as np
import pytest

from tf_esgan.metrics.segmentation import (
    aggregate,
    aggregated_jaccard_index,
    instance_counts,
    panoptic_quality,
)


def _ids(labels):
    return [int(i) for i in np.unique(labels) if i != 0]


def slow_pq(true, pred):
    """PQ straight from the definition: one boolean mask per pair, Python loops."""
    matches = []
    for t in _ids(true):
        for p in _ids(pred):
            inter = np.logical_and(true == t, pred == p).sum()
            union = np.logical_or(true == t, pred == p).sum()
            if inter / union > 0.5:
                matches.append(inter / union)
    tp = len(matches)
    fp, fn = len(_ids(pred)) - tp, len(_ids(true)) - tp
    if tp + fp + fn == 0:
        return (np.nan,) * 3
    dq = tp / (tp + fp / 2 + fn / 2)
    sq = sum(matches) / tp if tp else 0.0
    return dq, sq, dq * sq


def slow_aji(true, pred):
    """AJI of Kumar et al. 2017 from its definition (ties go to the smaller predicted id)."""
    if not _ids(true) and not _ids(pred):
        return np.nan
    inter_sum = union_sum = 0
    used = set()
    for t in _ids(true):
        best, best_iou = None, 0.0
        for p in _ids(pred):
            inter = np.logical_and(true == t, pred == p).sum()
            union = np.logical_or(true == t, pred == p).sum()
            if inter > 0 and inter / union > best_iou:
                best, best_iou = p, inter / union
        if best is None:
            union_sum += (true == t).sum()
        else:
            used.add(best)
            inter_sum += np.logical_and(true == t, pred == best).sum()
            union_sum += np.logical_or(true == t, pred == best).sum()
    for p in _ids(pred):
        if p not in used:
            union_sum += (pred == p).sum()
    return inter_sum / union_sum


def _disk(shape, centre, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def _random_pair(rng, size=48, objects=12):
    """True map of random disks (gapped ids) and a prediction that shifts, drops and adds."""
    true = np.zeros((size, size), np.int32)
    pred = np.zeros((size, size), np.int32)
    for index in range(objects):
        centre = rng.integers(0, size, 2)
        radius = rng.integers(2, 8)
        true[_disk(true.shape, centre, radius)] = 3 * index + 5
        if rng.random() < 0.8:  # kept, possibly shifted and resized
            shifted = centre + rng.integers(-3, 4, 2)
            pred[_disk(pred.shape, shifted, max(1, radius + rng.integers(-2, 3)))] = 7 * index + 2
    for extra in range(rng.integers(0, 3)):
        pred[_disk(pred.shape, rng.integers(0, size, 2), rng.integers(2, 6))] = 1000 + extra
    return true, pred


def _hand_case():
    """Squares with exact areas; see test_hand_computed_counts for the arithmetic."""
    true = np.zeros((100, 100), np.int32)
    pred = np.zeros((100, 100), np.int32)
    true[10:20, 10:20] = 1
    true[10:20, 22:32] = 2
    true[50:60, 50:60] = 3
    true[80:85, 10:15] = 5
    true[30:40, 60:70] = 6
    pred[10:20, 10:32] = 7  # covers true 1 and 2 (IoU 100/220 each)
    pred[70:80, 70:80] = 9  # overlaps nothing
    pred[50:60, 55:65] = 4  # IoU 50/150 with true 3
    pred[32:42, 60:70] = 2  # IoU 80/120 with true 6
    return true, pred


def test_identical_maps_score_one(datasets_dir):
    mask = cv2.imread(str(datasets_dir / "tnbc" / "masks" / "01_1.png"), cv2.IMREAD_UNCHANGED)
    counts = instance_counts(mask, mask)
    assert counts.tp == counts.num_true == len(_ids(mask)) and counts.fp == counts.fn == 0
    assert panoptic_quality(mask, mask) == (1.0, 1.0, 1.0)
    assert aggregated_jaccard_index(mask, mask) == 1.0


def test_hand_computed_counts():
    true, pred = _hand_case()
    counts = instance_counts(true, pred)
    assert (counts.tp, counts.fp, counts.fn) == (1, 3, 4)
    dq, sq, pq = panoptic_quality(true, pred)
    assert dq == pytest.approx(1 / 4.5) and sq == pytest.approx(2 / 3)
    assert pq == pytest.approx(4 / 27)
    # Paired: (1, 7) 100/220, (2, 7) 100/220, (3, 4) 50/150, (6, 2) 80/120;
    # unpaired true 5 adds 25, never-paired prediction 9 adds 100.
    assert (counts.aji_intersection, counts.aji_union) == (330, 835)
    assert aggregated_jaccard_index(true, pred) == pytest.approx(330 / 835)


def test_shifted_disks():
    shape = (120, 120)
    true = np.zeros(shape, np.int32)
    pred = np.zeros(shape, np.int32)
    true[_disk(shape, (30, 30), 10)] = 10
    pred[_disk(shape, (32, 31), 10)] = 20  # small shift: a match
    true[_disk(shape, (30, 90), 10)] = 11
    pred[_disk(shape, (30, 104), 10)] = 21  # 14 px shift: overlaps, IoU < 0.5
    true[_disk(shape, (90, 30), 8)] = 12  # missed
    pred[_disk(shape, (90, 90), 8)] = 22  # spurious
    counts = instance_counts(true, pred)
    assert (counts.tp, counts.fp, counts.fn) == (1, 2, 2)
    assert panoptic_quality(true, pred)[0] == pytest.approx(1 / 3)
    inter_a = np.sum((true == 10) & (pred == 20))
    inter_b = np.sum((true == 11) & (pred == 21))
    union_a = np.sum((true == 10) | (pred == 20))
    union_b = np.sum((true == 11) | (pred == 21))
    expected = (inter_a + inter_b) / (union_a + union_b + np.sum(true == 12) + np.sum(pred == 22))
    assert aggregated_jaccard_index(true, pred) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(12))
def test_against_slow_reference(seed):
    true, pred = _random_pair(np.random.default_rng(seed))
    np.testing.assert_allclose(panoptic_quality(true, pred), slow_pq(true, pred), rtol=1e-12)
    assert aggregated_jaccard_index(true, pred) == pytest.approx(slow_aji(true, pred), rel=1e-12)


def test_tie_goes_to_smaller_predicted_id():
    true = np.zeros((10, 10), np.int32)
    pred = np.zeros((10, 10), np.int32)
    true[0:4, 0:4] = 1
    pred[0:4, 0:2] = 9  # same IoU (8/16) with true 1 as prediction 3
    pred[0:4, 2:4] = 3
    counts = instance_counts(true, pred)
    assert counts.aji_intersection == 8 and counts.aji_union == 16 + 8  # 9 never paired
    assert slow_aji(true, pred) == pytest.approx(8 / 24)


def test_empty_maps():
    empty = np.zeros((16, 16), np.uint16)
    one = empty.copy()
    one[2:6, 2:6] = 4
    assert np.isnan(panoptic_quality(empty, empty)).all()
    assert np.isnan(aggregated_jaccard_index(empty, empty))
    assert panoptic_quality(one, empty) == (0.0, 0.0, 0.0)
    assert panoptic_quality(empty, one) == (0.0, 0.0, 0.0)
    assert aggregated_jaccard_index(one, empty) == 0.0
    assert aggregated_jaccard_index(empty, one) == 0.0


def test_no_background_and_float_input():
    true = np.full((6, 6), 3, np.int64)
    pred = true.astype(np.float32)
    assert panoptic_quality(true, pred) == (1.0, 1.0, 1.0)
    assert aggregated_jaccard_index(true, np.full((6, 6), 8)) == 1.0


def test_aggregate_mean_and_pooled():
    hand_true, hand_pred = _hand_case()
    same = np.zeros((100, 100), np.int32)
    same[5:15, 5:25] = 2
    empty = np.zeros((100, 100), np.int32)
    scores = aggregate(
        [instance_counts(hand_true, hand_pred), instance_counts(empty, empty),
         instance_counts(same, same)]
    )
    assert (scores.num_images, scores.num_skipped) == (3, 1)
    assert scores.mean_pq == pytest.approx((4 / 27 + 1) / 2)
    assert scores.mean_dq == pytest.approx((2 / 9 + 1) / 2)
    assert scores.mean_aji == pytest.approx((330 / 835 + 1) / 2)
    # Pooled: TP 2, FP 3, FN 4, IoU sum 2/3 + 1; AJI (330 + 200) / (835 + 200).
    assert scores.pooled_dq == pytest.approx(2 / 5.5)
    assert scores.pooled_sq == pytest.approx((2 / 3 + 1) / 2)
    assert scores.pooled_pq == pytest.approx(2 / 5.5 * (5 / 6))
    assert scores.pooled_aji == pytest.approx(530 / 1035)
    all_empty = aggregate([instance_counts(empty, empty)])
    assert np.isnan(all_empty.mean_pq) and all_empty.num_skipped == 1


@pytest.mark.parametrize(
    "true, pred, message",
    [
        (np.zeros((4, 4), int), np.zeros((4, 5), int), "same shape"),
        (np.zeros((4, 4, 1), int), np.zeros((4, 4, 1), int), "true: expected a 2-D"),
        (np.zeros((4, 4), int), np.full((4, 4), 0.5), "pred: expected integer labels"),
        (np.full((4, 4), -1), np.zeros((4, 4), int), "true: expected labels >= 0"),
        (np.zeros((4, 4), int), np.zeros((4, 4), bool), "pred: expected an integer label map, got dtype bool"),
    ],
)
def test_invalid_inputs(true, pred, message):
    with pytest.raises(ValueError, match=message):
        instance_counts(true, pred)


def test_huge_ids_give_the_same_counts(rng):
    # Ids far above the pixel count take the sorting path instead of the lookup table.
    true, pred = _random_pair(rng)
    huge_true = np.where(true > 0, true.astype(np.int64) * 10**9 + 17, 0)
    huge_pred = np.where(pred > 0, pred.astype(np.int64) * 10**9 + 3, 0)
    assert instance_counts(huge_true, huge_pred) == instance_counts(true, pred)
    assert instance_counts(np.full((6, 6), 10**12), np.full((6, 6), 2)).aji_union == 36
