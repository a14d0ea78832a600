"""The synthetic-pairs figure: instance outlines drawn exactly, and every synthesis writes one."""

import cv2
import numpy as np
import pytest

from tf_esgan import synthesis
from tf_esgan.data.datasets import list_samples
from tf_esgan.data.image_io import DatasetError, write_image, write_mask
from tf_esgan.viz import synthetic_pairs
from tf_esgan.viz.synthetic_pairs import grid_shape, outline_overlay, save_synthetic_pairs_figure

from conftest import tiny_generator

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREEN = (0, 255, 0)


def two_touching_squares() -> np.ndarray:
    """8x10 map: nucleus 1 = rows 2-5 x cols 1-4, nucleus 2 = rows 2-5 x cols 5-8."""
    labels = np.zeros((8, 10), np.int32)
    labels[2:6, 1:5] = 1
    labels[2:6, 5:9] = 2
    return labels


def gradient_image(height: int, width: int) -> np.ndarray:
    """Every pixel differs from GREEN and from its neighbours, so any change shows."""
    values = np.arange(height * width * 3, dtype=np.int64).reshape(height, width, 3)
    return (values % 200 + 10).astype(np.uint8)


def test_outline_overlay_colours_exactly_the_instance_boundaries():
    labels, image = two_touching_squares(), gradient_image(8, 10)
    before = image.copy()
    overlay = outline_overlay(image, labels)
    # Hand-derived: each 4x4 square has a 12-pixel ring; the union's outline alone (a 4x8
    # rectangle) would be 20 pixels, the shared edge adds rows 3-4 at columns 4 and 5.
    expected = np.zeros((8, 10), bool)
    expected[[2, 5], 1:9] = True
    expected[3:5, [1, 4, 5, 8]] = True
    assert expected.sum() == 24
    coloured = np.all(overlay == GREEN, axis=-1)
    np.testing.assert_array_equal(coloured, expected)
    np.testing.assert_array_equal(overlay[~expected], image[~expected])  # interiors, background
    np.testing.assert_array_equal(overlay[3:5, 2:4], image[3:5, 2:4])
    np.testing.assert_array_equal(overlay[3:5, 6:8], image[3:5, 6:8])
    np.testing.assert_array_equal(image, before)  # the input is not modified
    assert overlay.dtype == np.uint8 and overlay.shape == (8, 10, 3)


def test_outline_overlay_color_border_and_errors():
    labels = np.zeros((5, 5), np.int32)
    labels[0:3, 0:3] = 4  # touches the image's top-left corner: that border is no outline
    overlay = outline_overlay(np.zeros((5, 5, 3), np.uint8), labels, color=(255, 0, 7))
    coloured = np.all(overlay == (255, 0, 7), axis=-1)
    assert sorted(zip(*np.nonzero(coloured))) == [(0, 2), (1, 2), (2, 0), (2, 1), (2, 2)]
    assert overlay[~coloured].max() == 0
    with pytest.raises(ValueError, match="`image`"):
        outline_overlay(np.zeros((5, 5), np.uint8), labels)
    with pytest.raises(ValueError, match="`labels` shape"):
        outline_overlay(np.zeros((5, 6, 3), np.uint8), labels)
    with pytest.raises(ValueError, match="`color`"):
        outline_overlay(np.zeros((5, 5, 3), np.uint8), labels, color=(0, 256, 0))


def test_grid_shape():
    assert grid_shape(1) == (1, 1)
    assert grid_shape(3) == (1, 3)
    assert grid_shape(5) == (2, 4)
    assert grid_shape(16) == (4, 4)
    with pytest.raises(ValueError, match="count"):
        grid_shape(17)


def test_figure_reads_pairs_from_disk_and_names_a_missing_file(tmp_path):
    labels = np.kron(two_touching_squares(), np.ones((4, 4), np.int32))  # 32x40
    write_image(tmp_path / "images" / "a.png", gradient_image(32, 40))
    write_mask(tmp_path / "masks" / "a.png", labels)
    path = save_synthetic_pairs_figure(tmp_path, ["a"])
    assert path == tmp_path / synthetic_pairs.FIGURE_NAME
    figure = cv2.imread(str(path))
    assert figure is not None and figure.shape[0] > 32
    assert np.all(figure[..., 1] >= 250, axis=-1).sum() > 0  # the green outlines are there
    assert [sample.id for sample in list_samples(tmp_path)] == ["a"]
    with pytest.raises(DatasetError, match="b.png"):
        save_synthetic_pairs_figure(tmp_path, ["a", "b"])
    with pytest.raises(ValueError, match="would be read as a sample"):
        save_synthetic_pairs_figure(tmp_path, ["a"], tmp_path / "images" / "grid.png")


@pytest.fixture(scope="module")
def generator():
    return tiny_generator(seed=3, image_size=64, filters=4)


def run(generator, out_dir, count):
    config = synthesis.SynthesisConfig(model="in-memory", out_dir=str(out_dir), num_images=count,
                                       batch_size=3, conditioning="skeleton")
    return synthesis.synthesize(config, generator=generator, verbose=0, log=lambda message: None)


def test_synthesis_writes_the_figure_and_rewrites_it_on_resume(generator, tmp_path):
    out = tmp_path / "set"
    summary = run(generator, out, 5)
    figure = out / "synthetic_pairs.png"
    assert summary["figure"] == str(figure)
    first = figure.read_bytes()
    assert first.startswith(PNG_SIGNATURE)
    decoded = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)
    # 5 pairs: 2 rows x 4 columns of cells.
    assert decoded.shape[1] / decoded.shape[0] == pytest.approx(2.0, abs=0.05)
    assert [sample.id for sample in list_samples(out)] == [f"synthetic_{i:06d}" for i in range(5)]
    figure.write_bytes(b"stale")
    again = run(generator, out, 5)
    assert again["written"] == 0 and again["skipped"] == 5
    assert figure.read_bytes() == first  # redrawn from the same files on disk
    assert not list(out.rglob(".*"))  # no temporary files left
