"""Converters of the original releases: exact output on hand-made sources, errors, CLI."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import scipy.io

from tf_esgan.data.convert import convert_dataset
from tf_esgan.data.datasets import DatasetError, list_samples, load_pair, validate
from tf_esgan.data.image_io import read_image, read_mask

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def _rgba(rgb):
    """BGRA file content with an opaque alpha, as in the TNBC and CPM-15 releases."""
    return np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 255, np.uint8)])


def _raw(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _check_output_files(out):
    """Canonical output: 8-bit 3-channel images, 16-bit masks, no temp files left."""
    for path in (out / "images").iterdir():
        assert path.suffix == ".png" and _raw(path).dtype == np.uint8 and _raw(path).shape[2] == 3
    for path in (out / "masks").iterdir():
        assert path.suffix == ".png" and _raw(path).dtype == np.uint16 and _raw(path).ndim == 2
    assert validate(out) == []


# ---------------------------------------------------------------- TNBC

TNBC_GT = np.array([[1, 1, 0, 0, 0, 1],
                    [1, 1, 0, 0, 1, 1],
                    [0, 0, 1, 0, 0, 0],   # corner contact with the first blob: separate (4-conn)
                    [0, 0, 1, 1, 0, 1]], np.uint8) * 255
TNBC_LABELS = np.array([[1, 1, 0, 0, 0, 2],
                        [1, 1, 0, 0, 2, 2],
                        [0, 0, 3, 0, 0, 0],
                        [0, 0, 3, 3, 0, 4]])


def test_tnbc_converts_exactly_and_reports_unpaired(tmp_path, rng):
    source, out = tmp_path / "TNBC", tmp_path / "out"
    first = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    second = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    _save(source / "Slide_01" / "01_1.png", _rgba(first))
    _save(source / "Slide_01" / "01_2.png", second[..., ::-1])       # some are plain RGB
    _save(source / "GT_01" / "01_1.png", TNBC_GT)
    _save(source / "GT_01" / "01_2.png", np.zeros((4, 6), np.uint8))  # no nuclei
    _save(source / "Slide_02" / "02_1.png", _rgba(first))
    _save(source / "GT_02" / "02_7.png", TNBC_GT)
    progress = []
    summary = convert_dataset(format="tnbc", source=source, out=out,
                              progress=lambda *args: progress.append(args))
    assert [(s.id, s.nuclei, s.height, s.width) for s in summary.converted] == [
        ("01_1", 4, 4, 6), ("01_2", 0, 4, 6)]
    assert summary.total_nuclei == 4
    assert len(summary.failures) == 2
    assert "Slide_02/02_1.png: image has no ground truth" in summary.failures[0]
    assert "GT_02/02_7.png: ground truth has no image" in summary.failures[1]
    assert progress == [(1, 2, "01_1: 6x4, 4 nuclei"), (2, 2, "01_2: 6x4, 0 nuclei")]
    np.testing.assert_array_equal(read_image(out / "images" / "01_1.png"), first)
    np.testing.assert_array_equal(read_image(out / "images" / "01_2.png"), second)
    np.testing.assert_array_equal(_raw(out / "masks" / "01_1.png"), TNBC_LABELS)
    assert not _raw(out / "masks" / "01_2.png").any()
    _check_output_files(out)
    assert "converted 2 image(s), 4 nuclei; 2 failure(s)" in summary.format_report()


def test_tnbc_bad_files_fail_alone(tmp_path, rng):
    source = tmp_path / "TNBC"
    image = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    for patch in (1, 2, 3, 4):
        _save(source / "Slide_03" / f"03_{patch}.png", image)
        _save(source / "GT_03" / f"03_{patch}.png", TNBC_GT)
    _save(source / "GT_03" / "03_2.png", np.array([[0, 128, 255]], np.uint8))
    _save(source / "GT_03" / "03_3.png", TNBC_GT[:3])
    (source / "Slide_03" / "03_4.png").write_bytes(b"corrupt")
    summary = convert_dataset(format="tnbc", source=source, out=tmp_path / "out")
    assert [s.id for s in summary.converted] == ["03_1"]
    assert "03_2.png: expected a binary ground truth (0/255), found 3" in summary.failures[0]
    assert "GT_03/03_3.png: mask is 6x3 (WxH) but its image" in summary.failures[1]
    assert "Slide_03/03_4.png: not a readable image" in summary.failures[2]
    assert sorted(os.listdir(tmp_path / "out" / "masks")) == ["03_1.png"]


def test_tnbc_without_slides_raises(tmp_path):
    with pytest.raises(DatasetError, match="no Slide_XX/ folders"):
        convert_dataset(format="tnbc", source=tmp_path, out=tmp_path / "out")
    with pytest.raises(DatasetError, match="source folder not found"):
        convert_dataset(format="tnbc", source=tmp_path / "nope", out=tmp_path / "out")
    with pytest.raises(ValueError, match="format must be one of"):
        convert_dataset(format="kumar", source=tmp_path, out=tmp_path / "out")


def test_tnbc_real_round_trip(datasets_dir, tmp_path):
    """Binary GT rebuilt from canonical masks converts back to the same instance maps."""
    samples = list_samples(datasets_dir / "tnbc")[:3]
    for sample in samples:
        image, labels = load_pair(sample)
        slide = sample.id.split("_")[0]
        _save(tmp_path / "src" / f"Slide_{slide}" / f"{sample.id}.png", _rgba(image))
        _save(tmp_path / "src" / f"GT_{slide}" / f"{sample.id}.png",
              (labels > 0).astype(np.uint8) * 255)
    summary = convert_dataset(format="tnbc", source=tmp_path / "src", out=tmp_path / "out")
    assert not summary.failures and len(summary.converted) == 3
    for sample in samples:
        image, labels = load_pair(sample)
        np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / f"{sample.id}.png"),
                                      labels)
        np.testing.assert_array_equal(read_image(tmp_path / "out" / "images" /
                                                 f"{sample.id}.png"), image)


# ---------------------------------------------------------------- CPM-15 / CPM-17

def _cpm15_txt(path, labels, per_line=4):
    height, width = labels.shape
    values = labels.reshape(-1).tolist()   # row-major = x fastest
    lines = [f"{width} {height}"] + [" ".join(map(str, values[i:i + per_line]))
                                     for i in range(0, len(values), per_line)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_cpm15_txt_converts_exactly(tmp_path, rng):
    source = tmp_path / "cpm15"
    image = rng.integers(0, 256, (3, 5, 3), dtype=np.uint8)
    _save(source / "image01.png", _rgba(image))
    _save(source / "image01_poly.png", _rgba(image))           # overlay: ignored
    (source / "README_training.txt").write_text("15 images")  # not a mask: ignored
    _cpm15_txt(source / "image01_mask.txt", np.array([[0, 0, 7, 7, 0],
                                                      [3, 0, 7, 0, 0],
                                                      [3, 3, 0, 0, 9]]), per_line=3)
    _save(source / "image02.png", _rgba(image))
    (source / "image02_mask.txt").write_text("5 3\n" + "0 " * 14)
    _save(source / "image03.png", _rgba(image))
    (source / "image03_mask.txt").write_text("5 3\n" + "0 " * 14 + "1.0")
    _save(source / "image06.png", _rgba(image))
    summary = convert_dataset(format="cpm", source=source, out=tmp_path / "out")
    assert [(s.id, s.nuclei) for s in summary.converted] == [("image01", 3)]
    # Labels keep their order (3 < 7 < 9) and become 1..3.
    np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / "image01.png"),
                                  [[0, 0, 2, 2, 0], [1, 0, 2, 0, 0], [1, 1, 0, 0, 3]])
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "images" / "image01.png"), image)
    failures = "\n".join(summary.failures)
    assert "image06.png: no mask (looked for image06_mask.txt" in failures
    assert "image02_mask.txt: header says 5x3 = 15 labels, found 14" in failures
    assert "image03_mask.txt: expected integer labels, found '1.0'" in failures
    _check_output_files(tmp_path / "out")


def test_cpm15_known_mask_swap_is_fixed(tmp_path, rng):
    source = tmp_path / "cpm15"
    mask04 = rng.integers(0, 4, (3, 4))   # belongs to image04 (W=4, H=3)
    mask05 = rng.integers(0, 4, (5, 2))   # belongs to image05 (W=2, H=5)
    _save(source / "image04.png", _rgba(rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)))
    _save(source / "image05.png", _rgba(rng.integers(0, 256, (5, 2, 3), dtype=np.uint8)))
    _cpm15_txt(source / "image04_mask.txt", mask05)  # swapped as in the release
    _cpm15_txt(source / "image05_mask.txt", mask04)
    summary = convert_dataset(format="cpm", source=source, out=tmp_path / "out")
    assert not summary.failures
    assert "fixed known CPM-15 swap" in summary.notes[0]
    for sample_id, expected in (("image04", mask04), ("image05", mask05)):
        np.testing.assert_array_equal(read_mask(tmp_path / "out" / "masks" / f"{sample_id}.png"),
                                      read_mask_reference(expected))


def read_mask_reference(labels):
    """Consecutive relabelling keeping order, written literally."""
    mapping = {value: rank for rank, value in enumerate(sorted(set(labels.ravel()) - {0}), 1)}
    return np.vectorize(lambda v: mapping.get(v, 0))(labels)


def test_cpm15_real_round_trip(datasets_dir, tmp_path):
    (sample,) = [s for s in list_samples(datasets_dir / "cpm15") if s.id == "image02"]
    image, labels = load_pair(sample)
    _save(tmp_path / "src" / "image02.png", _rgba(image))
    _cpm15_txt(tmp_path / "src" / "image02_mask.txt", labels, per_line=1000)
    summary = convert_dataset(format="cpm", source=tmp_path / "src", out=tmp_path / "out")
    assert [(s.id, s.nuclei, s.width, s.height) for s in summary.converted] == [
        ("image02", 127, 488, 490)]
    np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / "image02.png"), labels)


def test_cpm17_mat_and_png_layouts(tmp_path, rng):
    source = tmp_path / "cpm17"
    image = rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)
    inst_map = np.array([[0, 5, 5], [0, 0, 2], [8, 0, 2], [8, 8, 0]], np.float64)
    for split in ("train", "test"):
        _save(source / split / "Images" / "image_01.png", image[..., ::-1])
        _save(source / split / "Overlay" / "image_01.png", image[..., ::-1])  # ignored
        (source / split / "Labels").mkdir()
    scipy.io.savemat(source / "train" / "Labels" / "image_01.mat",
                     {"inst_map": inst_map, "type_map": np.ones((4, 3))})
    scipy.io.savemat(source / "test" / "Labels" / "image_01.mat",
                     {"labels": inst_map.astype(np.int32), "centroids": np.ones((3, 2))})
    _save(source / "test" / "Images" / "image_02.png", image[..., ::-1])
    scipy.io.savemat(source / "test" / "Labels" / "image_02.mat",
                     {"a": np.zeros((4, 3)), "b": np.zeros((4, 3))})
    _save(source / "extra" / "tile.png", image[..., ::-1])
    _save(source / "extra" / "tile_mask.png", inst_map.astype(np.uint16))
    summary = convert_dataset(format="cpm", source=source, out=tmp_path / "out")
    assert [(s.id, s.nuclei) for s in summary.converted] == [
        ("extra_tile", 3), ("test_image_01", 3), ("train_image_01", 3)]
    expected = [[0, 2, 2], [0, 0, 1], [3, 0, 1], [3, 3, 0]]
    for sample in summary.converted:
        np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / f"{sample.id}.png"),
                                      expected)
    (failure,) = summary.failures
    assert "image_02.mat: expected key 'inst_map' or exactly one 2-D numeric array" in failure


# ---------------------------------------------------------------- MoNuSeg

def _monuseg_xml(path, regions):
    body = "".join(
        f'<Region Id="{k}"><Attributes/><Vertices>'
        + "".join(f'<Vertex X="{x}" Y="{y}" Z="0"/>' for x, y in vertices)
        + "</Vertices></Region>" for k, vertices in enumerate(regions, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?><Annotations><Annotation Id="1"><Regions>'
                    f"<RegionAttributeHeaders/>{body}</Regions></Annotation></Annotations>")


def _box(col0, col1, row0, row1):
    """Polygon through pixel edges, so it covers exactly cols col0..col1, rows row0..row1."""
    return [(col0 - .5, row0 - .5), (col1 + .5, row0 - .5), (col1 + .5, row1 + .5),
            (col0 - .5, row1 + .5)]


MONUSEG_REGIONS = [
    _box(1, 4, 1, 3),                 # 1
    [(5.0, 5.0), (6.0, 6.0)],         # fewer than 3 vertices: dropped
    _box(3, 6, 2, 5),                 # 2, overwrites part of the first
    _box(8, 9, 7, 8),                 # hidden under the next one: dropped
    _box(7, 10, 6, 9),                # 3
    _box(20, 25, 2, 4),               # outside the 12 px wide image: dropped
    _box(0, 0, 9, 9),                 # 4, a single pixel
]


def _monuseg_expected():
    labels = np.zeros((10, 12), np.int64)
    labels[1:4, 1:5] = 1
    labels[2:6, 3:7] = 2
    labels[6:10, 7:11] = 3
    labels[9, 0] = 4
    return labels


def test_monuseg_converts_exactly(tmp_path, rng):
    source = tmp_path / "MoNuSeg"
    image = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    train_image = source / "MoNuSegTrainingData" / "Tissue Images" / "TCGA-A.tif"
    _save(train_image, image[..., ::-1])
    _monuseg_xml(source / "MoNuSegTrainingData" / "Annotations" / "TCGA-A.xml", MONUSEG_REGIONS)
    _save(source / "MoNuSegTestData" / "TCGA-B.tif", image[..., ::-1])
    _monuseg_xml(source / "MoNuSegTestData" / "TCGA-B.xml", [])         # no nuclei
    _save(source / "MoNuSegTestData" / "TCGA-C.tif", image[..., ::-1])
    (source / "MoNuSegTestData" / "TCGA-C.xml").write_text("<Annotations><Regions>")
    _save(source / "MoNuSegTestData" / "TCGA-D.tif", image[..., ::-1])
    (source / "MoNuSegTestData" / "TCGA-D.xml").write_text(
        '<Annotations><Regions><Region Id="1"><Vertex X="1"/></Region></Regions></Annotations>')
    _save(source / "MoNuSegTestData" / "TCGA-E.tif", image[..., ::-1])
    _monuseg_xml(source / "MoNuSegTestData" / "TCGA-F.xml", MONUSEG_REGIONS)
    summary = convert_dataset(format="monuseg", source=source, out=tmp_path / "out")
    assert [(s.id, s.nuclei) for s in summary.converted] == [("TCGA-A", 4), ("TCGA-B", 0)]
    np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / "TCGA-A.png"),
                                  _monuseg_expected())
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "images" / "TCGA-A.png"), image)
    failures = "\n".join(summary.failures)
    assert "TCGA-E.tif: no annotation" in failures
    assert "TCGA-F.xml: annotation has no image" in failures
    assert "TCGA-C.xml: not valid XML" in failures
    assert "TCGA-D.xml: region 0 (Id=1) has a Vertex without numeric X and Y" in failures
    assert len(summary.failures) == 4
    _check_output_files(tmp_path / "out")


# ---------------------------------------------------------------- CLI

def _prepare(*args):
    return subprocess.run([sys.executable, "-m", "tf_esgan.cli.prepare", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_converts_and_exits_nonzero_on_failures(tmp_path):
    source = tmp_path / "TNBC"
    _save(source / "Slide_01" / "01_1.png", np.zeros((4, 6, 3), np.uint8))
    _save(source / "GT_01" / "01_1.png", TNBC_GT)
    result = _prepare("--format=tnbc", f"--source={source}", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    assert "[1/1] 01_1: 6x4, 4 nuclei" in result.stdout
    assert "converted 1 image(s), 4 nuclei; 0 failure(s)" in result.stdout
    np.testing.assert_array_equal(_raw(tmp_path / "out" / "masks" / "01_1.png"), TNBC_LABELS)
    _save(source / "Slide_01" / "01_2.png", np.zeros((4, 6, 3), np.uint8))
    result = _prepare("--format=tnbc", f"--source={source}", f"--out_dir={tmp_path / 'out'}")
    assert result.returncode == 1 and "FAILED: " in result.stdout


def test_cli_requires_flags():
    result = _prepare("--format=tnbc")
    assert result.returncode != 0
    assert "--source" in result.stderr and "--out_dir" in result.stderr
