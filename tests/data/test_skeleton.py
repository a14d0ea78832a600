"""Conditioning maps on hand-made shapes with known answers and on real TNBC masks."""

import cv2
import numpy as np
import pytest
from scipy import ndimage

from tf_esgan.data import skeleton as sk


def disk_labels(size=41, centre=(20, 20), radius=12.0, label=1, labels=None):
    yy, xx = np.mgrid[0:size, 0:size]
    inside = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
    out = np.zeros((size, size), np.int32) if labels is None else labels
    out[inside] = label
    return out


def real_crop(datasets_dir, name="01_1", size=128):
    mask = cv2.imread(str(datasets_dir / "tnbc" / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    return mask[:size, :size].astype(np.int32)


def literal_erosion_depth(labels):
    """Slow reference: erode each nucleus alone with a 3x3 square until it vanishes.

    Outside the image counts as the same nucleus (the image border is not a contour).
    """
    depth = np.zeros(labels.shape, np.float32)
    for label in np.unique(labels[labels > 0]):
        region = labels == label
        count = 0
        while region.any():
            eroded = ndimage.binary_erosion(region, structure=np.ones((3, 3)), border_value=1)
            depth[region & ~eroded] = count
            region, count = eroded, count + 1
    return depth


def literal_skeleton(labels):
    """Slow reference of `skeleton`'s definition with explicit loops over pixels."""
    depth = sk.euclidean_depth(labels)
    height, width = labels.shape
    out = np.zeros(labels.shape, bool)
    peak = {}
    for (y, x), label in np.ndenumerate(labels):
        if label:
            peak[label] = max(peak.get(label, 0.0), depth[y, x])
    for (y, x), label in np.ndenumerate(labels):
        if not label:
            continue
        if depth[y, x] == peak[label]:
            out[y, x] = True
            continue
        steepest = -np.inf
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                q = (y + dy, x + dx)
                if (dy or dx) and 0 <= q[0] < height and 0 <= q[1] < width and labels[q] == label:
                    steepest = max(steepest, (depth[q] - depth[y, x]) / np.hypot(dy, dx))
        rise = min(max(steepest, 0.0), 1.0)
        separation = 2 * depth[y, x] * np.sqrt(1 - rise * rise)
        out[y, x] = (
            depth[y, x] > 0 and steepest < sk.MEDIAL_MAX_RISE and separation >= sk.MEDIAL_MIN_SEPARATION
        )
    return out


def test_disk_distance_map_is_zero_on_rim_and_one_at_centre():
    labels = disk_labels()
    distance = sk.distance_map(labels)
    contour = sk.contour_mask(labels)
    assert contour.sum() > 50
    np.testing.assert_array_equal(distance[contour], 0.0)
    assert distance[20, 20] == 1.0
    assert distance.max() == 1.0 and distance[labels == 0].max() == 0.0
    # Monotone towards the centre along a radius.
    assert np.all(np.diff(distance[20, 8:21]) >= 0)


def test_disk_skeleton_is_its_centre():
    for centre, radius in [((20, 20), 12.0), ((20.5, 19.7), 9.0), ((20, 20), 5.0), ((20.3, 20.6), 3.0)]:
        labels = disk_labels(centre=centre, radius=radius)
        points = np.argwhere(sk.skeleton(labels))
        assert len(points) >= 1
        offsets = np.abs(points - np.array(centre))
        assert offsets.max() <= max(1.5, 0.3 * radius), (centre, radius, points.tolist())


def test_square_skeleton_is_its_diagonals():
    labels = np.zeros((21, 21), np.int32)
    labels[2:19, 2:19] = 1  # 17 x 17, centre (10, 10)
    skeleton = sk.skeleton(labels)
    rows, cols = np.nonzero(skeleton)
    on_diagonal = (rows - 10 == cols - 10) | (rows - 10 == 10 - cols)
    assert on_diagonal.all()
    # Every diagonal pixel at least 2 pixels deep is on it: only the tips are pruned.
    for i in range(5, 16):
        assert skeleton[i, i] and skeleton[i, 20 - i], i


def test_two_touching_disks_stay_apart():
    labels = disk_labels(size=60, centre=(30, 18), radius=11.0, label=1)
    labels = disk_labels(size=60, centre=(30, 38), radius=9.0, label=2, labels=labels)
    # The right disk overwrote the left one where they overlap: they touch along x = 29.
    assert np.any((labels[:, :-1] == 1) & (labels[:, 1:] == 2))
    distance = sk.distance_map(labels)
    contour = sk.contour_mask(labels)
    # A contour line runs between them: each pixel next to the other nucleus is contour.
    touching_left = (labels[:, :-1] == 1) & (labels[:, 1:] == 2)
    assert contour[:, :-1][touching_left].all() and contour[:, 1:][touching_left].all()
    # Two separate peaks of exactly 1.0, one per nucleus, and a valley of 0 between them.
    peaks, count = ndimage.label(distance == 1.0)
    assert count == 2
    assert set(np.unique(labels[peaks > 0])) == {1, 2}
    assert distance[30, 28:30].max() == 0.0
    # The binary union would merge them: the label map must not.
    merged = sk.distance_map(labels > 0)
    assert ndimage.label(merged == 1.0)[1] == 1


def test_erosion_depth_equals_iterated_erosion_on_real_mask(datasets_dir):
    labels = real_crop(datasets_dir, "01_1", size=160)
    np.testing.assert_array_equal(sk.erosion_depth(labels), literal_erosion_depth(labels))


def test_skeleton_equals_literal_definition_on_real_mask(datasets_dir):
    labels = real_crop(datasets_dir, "04_1", size=96)
    np.testing.assert_array_equal(sk.skeleton(labels), literal_skeleton(labels))


@pytest.mark.parametrize("name", ["01_1", "03_2", "07_1"])
def test_maps_are_per_nucleus_on_real_masks(datasets_dir, name):
    labels = real_crop(datasets_dir, name, size=256)
    full = sk.skeleton_map(labels)
    ids = np.unique(labels[labels > 0])
    assert len(ids) > 5
    assert 0.0 <= full.min() and full.max() <= 2.0
    distance = sk.distance_map(labels)
    for label in ids:
        inside = labels == label
        assert distance[inside].max() == 1.0
        # Computing a nucleus alone gives the same values: neighbours never leak in.
        alone = sk.skeleton_map(np.where(inside, label, 0))
        np.testing.assert_array_equal(alone[inside], full[inside])
    np.testing.assert_array_equal(full[labels == 0], 0.0)


def test_binary_mask_is_split_into_components():
    binary = np.zeros((30, 30), np.uint8)
    binary[2:10, 2:10] = 255
    binary[15:25, 15:25] = 255
    labels = sk.as_labels(binary)
    assert labels.max() == 2 and labels.dtype == np.int32
    np.testing.assert_array_equal(sk.skeleton_map(binary), sk.skeleton_map(labels))
    np.testing.assert_array_equal(sk.as_labels(binary.astype(bool)), labels)


def test_empty_mask_gives_zero_maps():
    empty = np.zeros((32, 32), np.uint16)
    for kind in sk.CONDITIONINGS:
        condition = sk.conditioning(empty, kind)
        assert condition.shape == (32, 32, 1) and condition.dtype == np.float32
        assert not condition.any()
    assert not sk.contour_mask(empty).any()


def test_thin_nucleus_is_its_own_skeleton_and_peaks_at_one():
    labels = np.zeros((10, 10), np.int32)
    labels[4, 2:8] = 3  # one pixel wide: every pixel is contour
    assert sk.contour_mask(labels)[4, 2:8].all()
    np.testing.assert_array_equal(sk.distance_map(labels)[4, 2:8], 1.0)
    np.testing.assert_array_equal(sk.skeleton(labels), labels > 0)


def test_conditioning_kinds_and_bad_input():
    labels = disk_labels(size=21, centre=(10, 10), radius=6.0)
    np.testing.assert_array_equal(sk.conditioning(labels, "binary")[..., 0], labels > 0)
    np.testing.assert_array_equal(sk.conditioning(labels, "distance")[..., 0], sk.distance_map(labels))
    np.testing.assert_array_equal(sk.conditioning(labels, "skeleton")[..., 0], sk.skeleton_map(labels))
    with pytest.raises(ValueError, match="kind"):
        sk.conditioning(labels, "heatmap")
    with pytest.raises(ValueError, match="non-integer"):
        sk.skeleton_map(labels * 0.5)
    with pytest.raises(ValueError, match="2-D"):
        sk.skeleton_map(np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match=">= 0"):
        sk.skeleton_map(-labels)
