"""read_image / read_mask / write_*: accepted variants and the bad files of the issue."""

import os

import cv2
import numpy as np
import pytest

from tf_esgan.data.image_io import (DatasetError, label_map_from_array, read_any_image, read_image,
                                    read_mask, write_image, write_mask)


def _rgb(rng, height=5, width=7):
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def _imwrite(path, array):
    assert cv2.imwrite(str(path), array)
    return path


def test_read_image_converts_bgr_file_to_rgb(tmp_path, rng):
    rgb = _rgb(rng)
    path = _imwrite(tmp_path / "a.png", rgb[..., ::-1])
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == (5, 7, 3)
    np.testing.assert_array_equal(image, rgb)


def test_read_image_drops_opaque_alpha(tmp_path, rng):
    rgb = _rgb(rng)
    bgra = np.dstack([rgb[..., ::-1], np.full((5, 7), 255, np.uint8)])
    np.testing.assert_array_equal(read_image(_imwrite(tmp_path / "a.png", bgra)), rgb)


def test_read_image_rejects_translucent_alpha(tmp_path, rng):
    bgra = np.dstack([_rgb(rng), np.full((5, 7), 255, np.uint8)])
    bgra[2, 3, 3] = 128
    path = _imwrite(tmp_path / "translucent.png", bgra)
    with pytest.raises(DatasetError, match=r"translucent\.png.*alpha"):
        read_image(path)


def test_read_image_scales_16_bit_exactly(tmp_path, rng):
    rgb = _rgb(rng)
    wide = rgb.astype(np.uint16) * 257  # the usual 8 -> 16 bit scaling
    np.testing.assert_array_equal(read_image(_imwrite(tmp_path / "a.png", wide[..., ::-1])), rgb)
    # Values between 8-bit steps round to the nearest: 128 / 257 = 0.498 -> 0, 129 -> 1.
    odd = np.zeros((1, 2, 3), np.uint16)
    odd[0, 0], odd[0, 1] = 128, 129
    assert read_image(_imwrite(tmp_path / "b.png", odd))[0, :, 0].tolist() == [0, 1]


@pytest.mark.parametrize("content, message", [
    (None, "file not found"),
    (b"", "not a readable image"),
    (b"\x89PNG\r\n\x1a\n garbage", "not a readable image"),
])
def test_read_image_missing_or_corrupt_names_file(tmp_path, content, message):
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=rf"broken\.png.*{message}"):
        read_image(path)


def test_read_image_truncated_png_names_file(tmp_path, rng):
    good = _imwrite(tmp_path / "good.png", _rgb(rng, 64, 64))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"truncated\.png"):
        read_image(truncated)


def test_read_image_rejects_grayscale(tmp_path):
    path = _imwrite(tmp_path / "gray.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DatasetError, match=r"gray\.png: expected an RGB image, got 1 channel"):
        read_image(path)


def test_read_mask_16_bit_is_relabelled_in_order(tmp_path):
    raw = np.array([[0, 9, 9], [5, 0, 700]], np.uint16)
    labels = read_mask(_imwrite(tmp_path / "m.png", raw))
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [[0, 2, 2], [1, 0, 3]])


@pytest.mark.parametrize("on_value", [255, 1])
def test_read_mask_binary_splits_4_connected(tmp_path, on_value):
    binary = np.array([[1, 1, 0, 0],
                       [1, 1, 0, 0],
                       [0, 0, 1, 0],   # touches the first square only at a corner
                       [1, 0, 1, 1]], np.uint8) * on_value
    expected = np.array([[1, 1, 0, 0],
                         [1, 1, 0, 0],
                         [0, 0, 2, 0],
                         [3, 0, 2, 2]])
    np.testing.assert_array_equal(read_mask(_imwrite(tmp_path / "m.png", binary)), expected)


def test_read_mask_8_bit_instances_are_not_split(tmp_path):
    # Label 2 has two disconnected parts; not binary, so it stays one instance.
    raw = np.array([[2, 0, 2], [0, 3, 0]], np.uint8)
    np.testing.assert_array_equal(read_mask(_imwrite(tmp_path / "m.png", raw)),
                                  [[1, 0, 1], [0, 2, 0]])


def test_read_mask_without_nuclei_is_all_zero(tmp_path):
    for dtype in (np.uint8, np.uint16):
        labels = read_mask(_imwrite(tmp_path / "empty.png", np.zeros((3, 4), dtype)))
        assert labels.dtype == np.int32 and labels.shape == (3, 4) and not labels.any()


def test_read_mask_gray_saved_as_rgb_is_accepted(tmp_path):
    raw = np.array([[0, 4], [4, 7]], np.uint16)
    labels = read_mask(_imwrite(tmp_path / "m.png", np.dstack([raw] * 3)))
    np.testing.assert_array_equal(labels, [[0, 1], [1, 2]])


def test_read_mask_rejects_colour_coded(tmp_path):
    colour = np.zeros((3, 3, 3), np.uint8)
    colour[1, 1] = (10, 200, 30)
    path = _imwrite(tmp_path / "colour.png", colour)
    with pytest.raises(DatasetError, match=r"colour\.png: expected a single-channel label map"):
        read_mask(path)


def test_read_mask_float_tiff(tmp_path):
    whole = np.array([[0, 2.0], [2.0, 3.0]], np.float32)
    np.testing.assert_array_equal(read_mask(_imwrite(tmp_path / "whole.tif", whole)),
                                  [[0, 1], [1, 2]])
    path = _imwrite(tmp_path / "fraction.tif", np.array([[0, 1.5]], np.float32))
    with pytest.raises(DatasetError, match=r"fraction\.tif.*non-integer value 1\.5"):
        read_mask(path)


def test_label_map_rejects_negative():
    with pytest.raises(DatasetError, match=r"m\.mat: expected labels >= 0, found -1"):
        label_map_from_array(np.array([[0, -1]], np.int32), "m.mat")


def test_write_and_read_back_round_trip(tmp_path, rng):
    image = _rgb(rng)
    labels = np.array([[0, 1, 65535]], np.int64)
    write_image(tmp_path / "i.png", image)
    write_mask(tmp_path / "m.png", labels)
    raw_image = cv2.imread(str(tmp_path / "i.png"), cv2.IMREAD_UNCHANGED)
    raw_mask = cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(raw_image[..., ::-1], image)  # file holds BGR
    assert raw_mask.dtype == np.uint16
    np.testing.assert_array_equal(raw_mask, labels)
    assert sorted(os.listdir(tmp_path)) == ["i.png", "m.png"]  # no temp files left


def test_write_mask_rejects_labels_beyond_16_bits(tmp_path):
    with pytest.raises(DatasetError, match=r"m\.png: labels must be in \[0, 65535\]"):
        write_mask(tmp_path / "m.png", np.array([[65536]]))
    assert not (tmp_path / "m.png").exists()


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, rng, monkeypatch):
    old = _rgb(rng)
    write_image(tmp_path / "i.png", old)

    def failing_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / "i.png", _rgb(rng))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_image(tmp_path / "i.png"), old)
    assert os.listdir(tmp_path) == ["i.png"]


def test_read_any_image_converts_what_read_image_refuses(tmp_path, rng):
    rgb = _rgb(rng)
    np.testing.assert_array_equal(read_any_image(_imwrite(tmp_path / "rgb.png", rgb[..., ::-1])), rgb)
    gray = rgb[..., 0]
    with pytest.raises(DatasetError, match="expected an RGB image, got 1 channel"):
        read_image(_imwrite(tmp_path / "gray.png", gray))
    np.testing.assert_array_equal(read_any_image(tmp_path / "gray.png"), np.stack([gray] * 3, axis=-1))
    # 16-bit gray: 257 * v -> v, as read_image scales 16-bit RGB
    np.testing.assert_array_equal(read_any_image(_imwrite(tmp_path / "g16.tif", gray.astype(np.uint16) * 257)),
                                  np.stack([gray] * 3, axis=-1))
    bgra = np.concatenate([rgb[..., ::-1], np.full((5, 7, 1), 3, np.uint8)], axis=-1)  # almost transparent
    np.testing.assert_array_equal(read_any_image(_imwrite(tmp_path / "rgba.png", bgra)), rgb)
    (tmp_path / "cut.jpg").write_bytes(cv2.imencode(".jpg", rgb)[1].tobytes()[:40])
    with pytest.raises(DatasetError, match="cut.jpg: not a readable image"):
        read_any_image(tmp_path / "cut.jpg")
