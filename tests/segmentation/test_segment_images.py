"""esgan-segment: any-size images, label/overlay/CSV outputs, bad and gray files skipped; tiled prediction."""

import csv
import os
import subprocess
import sys

import cv2
import keras
import numpy as np
import pytest

from tf_esgan.data.image_io import decode_file, read_image
from tf_esgan.segmentation.scoring import predict_maps
from tf_esgan.segmentation.segment_images import SegmentConfig, instance_table, list_input_images
from tf_esgan.segmentation.tiled_prediction import predict_maps_tiled

from conftest import REPO


def _rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def test_cli_segments_images_of_any_size_and_skips_a_corrupt_file(pretrained_env, datasets_dir, tmp_path):
    tnbc = datasets_dir / "tnbc" / "images"
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "whole.png").write_bytes((tnbc / "01_1.png").read_bytes())  # 512x512
    crop = read_image(tnbc / "03_1.png")[17:317, 5:422]  # 300x417, no side a multiple of 32
    cv2.imwrite(str(inputs / "crop.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(inputs / "gray.tif"), cv2.cvtColor(crop[:70, :45], cv2.COLOR_RGB2GRAY))  # gray, 70x45
    (inputs / "broken.png").write_bytes((tnbc / "02_1.png").read_bytes()[:300])  # truncated
    (inputs / "notes.txt").write_text("not an image, not listed")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "tf_esgan.cli.segment", "--model=pretrained:tiny",
                             f"--input={inputs}", f"--out_dir={out}"], cwd=REPO, capture_output=True,
                            text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 1, result.stderr  # two files skipped
    skipped = [line for line in result.stderr.splitlines() if line.startswith("esgan-segment:")]
    assert skipped == [f"esgan-segment: skipped {inputs / 'broken.png'}: truncated PNG (300 bytes, no IEND "
                       "chunk at the end; an interrupted copy or download?)",
                       f"esgan-segment: skipped {inputs / 'gray.tif'}: a grayscale image (no colour); SegNet "
                       "needs the colour H&E image (in a gray copy it finds almost no nuclei)"]
    assert "segmented 2 of 4 images" in result.stdout

    summary = {row["file"]: row for row in _rows(out / "nuclei.csv")}
    instances = _rows(out / "nuclei_per_instance.csv")
    assert sorted(summary) == sorted(str(inputs / name) for name in ("whole.png", "crop.png"))
    for name, shape in (("whole", (512, 512)), ("crop", (300, 417))):
        labels = decode_file(out / "labels" / f"{name}.png")
        assert labels.dtype == np.uint16 and labels.shape == shape
        count = int(labels.max())
        assert np.array_equal(np.unique(labels), np.arange(count + 1))  # 0 and 1..N, consecutive
        row = next(row for file, row in summary.items() if os.path.basename(file).startswith(name))
        assert (int(row["height"]), int(row["width"]), int(row["nuclei"])) == (*shape, count)
        areas = np.bincount(labels.ravel().astype(int))[1:]
        mine = [r for r in instances if r["file"] == row["file"]]
        assert [int(r["area_px"]) for r in mine] == areas.tolist()
        if count:
            assert float(row["mean_area_px"]) == pytest.approx(areas.mean(), abs=0.005)
        overlay = read_image(out / "overlays" / f"{name}.png")
        assert overlay.shape == (*shape, 3)
    assert int(summary[str(inputs / "whole.png")]["nuclei"]) >= 10  # the tiny random SegNet finds blobs
    overlay = read_image(out / "overlays" / "whole.png")
    changed = np.any(overlay != read_image(inputs / "whole.png"), axis=-1)
    assert changed.any() and np.all(overlay[changed] == (0, 255, 0))  # only outline pixels, in green
    assert not (out / "labels" / "broken.png").exists() and not (out / "labels" / "gray.png").exists()


def _pointwise_model():
    """A per-pixel model (1x1 convs): any window of an image gives the same pixels."""
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255)(images)
    x = keras.layers.Conv2D(4, 1, activation="tanh", kernel_initializer=keras.initializers.RandomNormal(seed=1))(x)
    outputs = keras.layers.Conv2D(2, 1, activation="sigmoid", kernel_initializer=keras.initializers.RandomNormal(seed=2))(x)
    return keras.Model(images, outputs)


def test_tiles_stitch_back_to_the_whole_image_prediction():
    model = _pointwise_model()
    image = np.random.default_rng(0).integers(0, 256, (300, 417, 3), dtype=np.uint8)
    whole = predict_maps(model, image)
    tiled = predict_maps_tiled(model, image, tile_size=96, margin=16)  # 64-px cores: 5 x 7 tiles
    assert tiled.shape == (300, 417, 2)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    narrow = image[:, :7]  # one side far below the margin: symmetric padding repeats it
    np.testing.assert_allclose(predict_maps_tiled(model, np.tile(narrow, (4, 1, 1)), tile_size=64, margin=16),
                               predict_maps(model, np.tile(narrow, (4, 1, 1))), atol=1e-6)


def test_tiles_give_every_kept_pixel_its_context():
    images = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(2, 5, padding="same", kernel_initializer=keras.initializers.RandomNormal(seed=3))(
        keras.layers.Rescaling(1 / 255)(images))
    model = keras.Model(images, outputs)
    image = np.random.default_rng(1).integers(0, 256, (200, 150, 3), dtype=np.uint8)
    whole, tiled = predict_maps(model, image), predict_maps_tiled(model, image, tile_size=64, margin=2)
    # A 5x5 conv reads 2 px around each pixel: inside the image (not at its border, where
    # the two paths pad differently) the tiles see exactly what the whole image sees.
    np.testing.assert_allclose(tiled[2:-2, 2:-2], whole[2:-2, 2:-2], atol=1e-5)
    with pytest.raises(ValueError, match="`tile_size` must be a positive multiple of 32, got 100"):
        predict_maps_tiled(model, image, tile_size=100)
    with pytest.raises(ValueError, match="SegmentConfig: `margin` must be >= 0 and < tile_size / 2"):
        SegmentConfig(model="m", inputs=["x"], out_dir="o", tile_size=64, tile_margin=32)


def test_inputs_folders_files_and_their_errors(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("x.PNG", "y.jpeg", ".hidden.png", "z.txt"):
        (tmp_path / "a" / name).write_bytes(b"")
    (tmp_path / "ds" / "images").mkdir(parents=True)
    (tmp_path / "ds" / "images" / "w.tif").write_bytes(b"")
    assert list_input_images([tmp_path / "a", tmp_path / "ds"]) == [
        tmp_path / "a" / "x.PNG", tmp_path / "a" / "y.jpeg", tmp_path / "ds" / "images" / "w.tif"]
    with pytest.raises(ValueError, match="same file stem 'x'"):
        list_input_images([tmp_path / "a", tmp_path / "a" / "x.PNG"])
    with pytest.raises(ValueError, match=f"{tmp_path / 'nope.png'}: no such file or folder"):
        list_input_images([tmp_path / "nope.png"])
    with pytest.raises(ValueError, match=f"{tmp_path / 'ds'}: no image files"):
        (tmp_path / "ds" / "images" / "w.tif").unlink()
        (tmp_path / "ds" / "images").rmdir()
        list_input_images([tmp_path / "ds"])
    with pytest.raises(ValueError, match="`inputs` is empty"):
        SegmentConfig(model="m", inputs=[], out_dir="o")


def test_instance_table_areas_and_centroids():
    labels = np.array([[1, 1, 0],
                       [0, 0, 0],
                       [2, 0, 0]])
    np.testing.assert_allclose(instance_table(labels), [[1, 2, 0.0, 0.5], [2, 1, 2.0, 0.0]])
    assert instance_table(np.zeros((3, 3), np.int32)).shape == (0, 4)
