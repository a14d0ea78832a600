"""Pairs in StarDist, Cellpose, HoVer-Net and canonical layouts: read back with each tool's
own readers, incomplete pairs, damaged files, and esgan-prepare converting them back."""

import cv2
import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

from tf_esgan.data import image_io, pair_formats
from tf_esgan.data.convert import convert_dataset
from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.data.image_io import DatasetError
from tf_esgan.data.pair_formats import (PAIR_FORMATS, detect_format, list_pair_names,
                                        pair_paths, read_pair, write_pair)
from tf_esgan.data.source_formats import FORMATS


@pytest.fixture(scope="module")
def sample_pair():
    """A shipped canonical pair: uint8 RGB [256, 256, 3] and int32 labels 1..57."""
    image, labels = load_pair(list_samples(sample_root())[0])
    assert labels.max() > 1 and np.array_equal(np.unique(labels), np.arange(labels.max() + 1))
    return image, labels


def _png_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


def _read_with_the_tool(root, format, name):
    """(image, labels) read the way the tool itself reads its training files."""
    if format == "canonical":
        return (_png_rgb(root / "images" / f"{name}.png"),
                cv2.imread(str(root / "masks" / f"{name}.png"), cv2.IMREAD_UNCHANGED))
    if format == "stardist":  # the example notebooks: tifffile.imread on images/ and masks/
        return (tifffile.imread(root / "images" / f"{name}.tif"),
                tifffile.imread(root / "masks" / f"{name}.tif"))
    if format == "cellpose":  # --mask_filter _masks
        return np.asarray(Image.open(root / f"{name}.png")), tifffile.imread(root / f"{name}_masks.tif")
    data = np.load(root / f"{name}.npy")  # HoVer-Net's training loader
    assert data.dtype == np.int32 and data.shape[2] == 4
    inst_map = scipy.io.loadmat(root / "Labels" / f"{name}.mat")["inst_map"]
    np.testing.assert_array_equal(inst_map, data[..., 3])
    np.testing.assert_array_equal(_png_rgb(root / "Images" / f"{name}.png"), data[..., :3])
    return data[..., :3].astype(np.uint8), data[..., 3].astype(np.int32)


@pytest.mark.parametrize("format", PAIR_FORMATS)
def test_pair_reads_back_with_the_tools_own_readers(tmp_path, sample_pair, format):
    image, labels = sample_pair
    write_pair(tmp_path, format, "tile_001", image, labels)
    tool_image, tool_labels = _read_with_the_tool(tmp_path, format, "tile_001")
    assert tool_image.dtype == np.uint8 and tool_image.shape == (256, 256, 3)
    np.testing.assert_array_equal(tool_image, image)
    np.testing.assert_array_equal(tool_labels, labels)
    if format in ("stardist", "cellpose"):
        assert tool_labels.dtype == np.uint16
    round_trip = read_pair(tmp_path, format, "tile_001")
    np.testing.assert_array_equal(round_trip[0], image)
    np.testing.assert_array_equal(round_trip[1], labels)
    assert round_trip[1].dtype == np.int32
    assert detect_format(tmp_path) == format
    assert list_pair_names(tmp_path, format) == ["tile_001"]


def test_labels_above_16_bits_are_stored_as_int32(tmp_path, sample_pair):
    image, labels = sample_pair
    wide = np.where(labels > 0, labels + 70_000, 0)
    write_pair(tmp_path, "stardist", "wide", image, wide)
    stored = tifffile.imread(tmp_path / "masks" / "wide.tif")
    assert stored.dtype == np.int32 and stored.max() == labels.max() + 70_000
    np.testing.assert_array_equal(read_pair(tmp_path, "stardist", "wide")[1], labels)  # renumbered 1..N


@pytest.mark.parametrize("format", PAIR_FORMATS)
def test_files_are_written_labels_first_and_completing_file_last(tmp_path, monkeypatch,
                                                                 sample_pair, format):
    written = []

    def recording(write):
        return lambda path, data: (written.append(path), write(path, data))

    for module in (pair_formats, image_io):
        monkeypatch.setattr(module, "atomic_write_bytes", recording(module.atomic_write_bytes))
    write_pair(tmp_path, format, "a", *sample_pair)
    assert tuple(written) == pair_paths(tmp_path, format, "a")


@pytest.mark.parametrize("format", PAIR_FORMATS)
def test_listing_skips_incomplete_pairs_and_temporary_files(tmp_path, sample_pair, format):
    image, labels = sample_pair
    small_image, small_labels = image[:32, :48], labels[:32, :48]
    for name in ("b", "a", "crashed"):
        write_pair(tmp_path, format, name, small_image, small_labels)
    pair_paths(tmp_path, format, "crashed")[-1].unlink()  # killed before the completing file
    for path in pair_paths(tmp_path, format, "a"):  # unfinished atomic writes of a pair "z"
        (path.parent / f".{path.name.replace('a', 'z', 1)}.k3j9x.tmp").write_bytes(b"half")
    assert list_pair_names(tmp_path, format) == ["a", "b"]
    assert list_pair_names(tmp_path / "missing", format) == []


def test_detect_format_of_empty_unknown_and_patch_only_folders(tmp_path, sample_pair):
    assert detect_format(tmp_path / "missing") is None
    assert detect_format(tmp_path) is None
    (tmp_path / "notes.txt").write_text("x")
    assert detect_format(tmp_path) is None
    patches = tmp_path / "patches"  # what extract_patches.py leaves: .npy files only
    patches.mkdir()
    np.save(patches / "img_000.npy", np.zeros((8, 8, 4), np.int32))
    assert detect_format(patches) == "hovernet"


@pytest.mark.parametrize("format, index", [("stardist", 0), ("stardist", 1), ("cellpose", 0),
                                           ("cellpose", 1), ("hovernet", 2), ("canonical", 0)])
def test_damaged_or_missing_file_names_the_file(tmp_path, sample_pair, format, index):
    image, labels = sample_pair
    write_pair(tmp_path, format, "a", image[:40, :40], labels[:40, :40])
    path = pair_paths(tmp_path, format, "a")[index]
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match=f"{path}: not a readable"):
        read_pair(tmp_path, format, "a")
    path.unlink()
    with pytest.raises(DatasetError, match=f"{path}: file not found"):
        read_pair(tmp_path, format, "a")


def test_wrong_content_and_arguments_raise_dataset_error(tmp_path, sample_pair):
    image, labels = sample_pair
    np.save(tmp_path / "rgb_only.npy", np.zeros((8, 8, 3), np.int32))
    with pytest.raises(DatasetError, match=r"rgb_only.npy: expected a HoVer-Net patch .*\(8, 8, 3\)"):
        read_pair(tmp_path, "hovernet", "rgb_only")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    tifffile.imwrite(tmp_path / "images" / "gray.tif", np.zeros((8, 8), np.uint8))
    tifffile.imwrite(tmp_path / "masks" / "gray.tif", np.zeros((8, 8), np.uint16))
    with pytest.raises(DatasetError, match=r"images/gray.tif: expected an RGB image"):
        read_pair(tmp_path, "stardist", "gray")
    tifffile.imwrite(tmp_path / "images" / "gray.tif", np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"masks/gray.tif: labels are 8x8 .* is 9x8"):
        read_pair(tmp_path, "stardist", "gray")
    with pytest.raises(DatasetError, match="format: expected one of"):
        write_pair(tmp_path, "zarr", "a", image, labels)
    with pytest.raises(DatasetError, match="name: expected a plain file stem"):
        write_pair(tmp_path, "stardist", "sub/a", image, labels)
    with pytest.raises(DatasetError, match="Cellpose does not take stems ending in"):
        write_pair(tmp_path, "cellpose", "tile_masks", image, labels)
    with pytest.raises(DatasetError, match=r"expected integer labels of shape \(256, 256\)"):
        write_pair(tmp_path, "cellpose", "a", image, labels[:10])
    with pytest.raises(DatasetError, match="expected image uint8"):
        write_pair(tmp_path, "cellpose", "a", image.astype(np.float32), labels)


# ---------------------------------------------------------------- esgan-prepare reads them


@pytest.mark.parametrize("format", ["stardist", "cellpose", "hovernet", "canonical"])
def test_prepare_converts_a_tool_dataset_back_to_the_canonical_pairs(tmp_path, format):
    assert format in FORMATS  # so esgan-prepare --format offers it
    source, out = tmp_path / "source", tmp_path / "out"
    originals = {f"{split}_{sample.id}": load_pair(sample)
                 for split, sample in zip(("train", "train", "test"), list_samples(sample_root()))}
    for pair_id, (image, labels) in originals.items():
        split, name = pair_id.split("_", 1)
        write_pair(source / split, format, name, image, labels)
    summary = convert_dataset(format=format, source=source, out=out)
    assert summary.failures == ()
    assert [sample.id for sample in summary.converted] == sorted(originals)
    for sample in list_samples(out):
        image, labels = load_pair(sample)
        np.testing.assert_array_equal(image, originals[sample.id][0])
        np.testing.assert_array_equal(labels, originals[sample.id][1])


def test_prepare_cellpose_accepts_tif_images_and_reports_unpaired_files(tmp_path, sample_pair):
    image, labels = sample_pair
    source = tmp_path / "cellpose"
    source.mkdir()
    tifffile.imwrite(source / "img1.tif", image, photometric="rgb")  # Cellpose also takes .tif
    tifffile.imwrite(source / "img1_masks.tif", labels.astype(np.uint16))
    tifffile.imwrite(source / "img1_flows.tif", np.zeros((3, 4, 4), np.float32))  # Cellpose's own
    cv2.imwrite(str(source / "lonely.png"), image)
    summary = convert_dataset(format="cellpose", source=source, out=tmp_path / "out")
    assert [sample.id for sample in summary.converted] == ["img1"]
    assert summary.failures == (f"{source / 'lonely.png'}: image has no mask",)
    np.testing.assert_array_equal(load_pair(list_samples(tmp_path / "out")[0])[0], image)


def test_prepare_reports_a_folder_without_pairs(tmp_path):
    (tmp_path / "empty").mkdir()
    for format, expected in [("stardist", "no StarDist pairs found"),
                             ("cellpose", "no Cellpose pairs found"),
                             ("hovernet", "no HoVer-Net .npy patches found")]:
        with pytest.raises(DatasetError, match=expected):
            convert_dataset(format=format, source=tmp_path / "empty", out=tmp_path / "out")
