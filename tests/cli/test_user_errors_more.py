"""More user mistakes, end to end: `esgan-segment` and `esgan-export` print one line naming
the file or flag and exit with status 2 (a missing input, colliding outputs, an output
folder that is a file, a full disk), or one line per skipped file and status 1 (truncated,
damaged or grayscale images); never a traceback, nor libpng's own stderr line."""

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import keras
import pytest
import tensorflow as tf

from tf_esgan.io_utils import DiskFullError
from tf_esgan.serving.servable import ServingModule, write_servable

REPO = Path(__file__).resolve().parents[2]
# A 256x256 crop of a held-out TNBC image: pretrained:tnbc_r finds nuclei in it within seconds.
TNBC_IMAGE = "01_1.png"
CROP = 256
# Smaller than the files written: every large write fails with EFBIG, as a full disk does.
FILE_SIZE_LIMIT = 20_000


def _limit_file_size() -> None:
    """In the child: writes beyond FILE_SIZE_LIMIT fail with EFBIG instead of killing it (SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _command(module: str, *flags: str, full_disk: bool = False):
    return subprocess.run([sys.executable, "-m", f"tf_esgan.cli.{module}", *flags], cwd=REPO, capture_output=True,
                          text=True, timeout=300, preexec_fn=_limit_file_size if full_disk else None,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def _assert_error_lines(result, status: int, *lines: str) -> None:
    """Exit `status`; stderr is exactly `lines` (each given as a prefix), no traceback."""
    printed = result.stderr.strip().splitlines()
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and len(printed) == len(lines), result.stderr[-3000:]
    for line, expected in zip(printed, lines):
        assert line.startswith(expected), (line, expected)


@pytest.fixture
def colour_crop(datasets_dir, tmp_path) -> Path:
    """BGR 256x256 crop of a TNBC image, saved as PNG."""
    image = cv2.imread(str(datasets_dir / "tnbc" / "images" / TNBC_IMAGE))[:CROP, :CROP]
    path = tmp_path / "in" / "crop.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), image)
    return path


def _segment(*flags: str, full_disk: bool = False):
    return _command("segment", "--model=pretrained:tnbc_r", "--quiet", *flags, full_disk=full_disk)


@pytest.mark.parametrize("mistake", ["missing input", "same stem", "out_dir is a file"])
def test_segment_refuses_bad_inputs_and_outputs_in_one_line(colour_crop, tmp_path, mistake):
    out = tmp_path / "out"
    if mistake == "missing input":
        missing = tmp_path / "in" / "missing.png"
        flags, expected = [f"--input={missing}"], f"{missing}: no such file or folder"
    elif mistake == "same stem":
        twin = colour_crop.with_suffix(".tif")
        cv2.imwrite(str(twin), cv2.imread(str(colour_crop)))
        flags, expected = [f"--input={colour_crop}", f"--input={twin}"], f"{twin} and {colour_crop}: same file stem"
    else:
        out = tmp_path / "afile"
        out.write_text("not a folder")
        flags, expected = [f"--input={colour_crop}"], f"--out_dir={out}: cannot write there (it is a file"
    _assert_error_lines(_segment(*flags, f"--out_dir={out}"), 2, f"esgan-segment: error: {expected}")
    assert not (tmp_path / "out").exists()


def test_segment_skips_damaged_images_with_one_line_each_and_no_libpng_line(colour_crop, tmp_path):
    folder = tmp_path / "damaged"
    folder.mkdir()
    data = colour_crop.read_bytes()
    (folder / "cut.png").write_bytes(data[:len(data) // 2])
    damaged = bytearray(data)
    damaged[2000:3000] = bytes(value ^ 0xFF for value in damaged[2000:3000])  # complete PNG, bad pixel data
    (folder / "flipped.png").write_bytes(bytes(damaged))
    result = _segment(f"--input={folder}", f"--out_dir={tmp_path / 'out'}")
    _assert_error_lines(result, 1, f"esgan-segment: skipped {folder / 'cut.png'}: truncated PNG",
                        f"esgan-segment: skipped {folder / 'flipped.png'}: not a readable image")
    assert "segmented 0 of 2 images" in result.stdout


def test_segment_skips_grayscale_images_which_would_segment_to_nothing(colour_crop, tmp_path):
    """A gray copy of this crop gives pretrained:tnbc_r almost no nuclei (1 of 87 on the whole image)."""
    folder = colour_crop.parent
    gray = cv2.cvtColor(cv2.imread(str(colour_crop)), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(folder / "gray.jpg"), gray)
    cv2.imwrite(str(folder / "gray_as_rgb.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    out = tmp_path / "out"
    result = _segment(f"--input={folder}", f"--out_dir={out}")
    grayscale = ": a grayscale image (no colour); SegNet needs the colour H&E image"
    _assert_error_lines(result, 1, f"esgan-segment: skipped {folder / 'gray.jpg'}{grayscale}",
                        f"esgan-segment: skipped {folder / 'gray_as_rgb.png'}{grayscale}")
    assert "segmented 1 of 3 images" in result.stdout
    assert sorted(path.name for path in (out / "labels").iterdir()) == ["crop.png"]
    assert cv2.imread(str(out / "labels" / "crop.png"), cv2.IMREAD_UNCHANGED).max() >= 10  # nuclei found


def test_segment_on_a_full_disk_stops_with_status_2(colour_crop, tmp_path):
    out = tmp_path / "out"
    result = _segment(f"--input={colour_crop}", f"--out_dir={out}", full_disk=True)
    _assert_error_lines(result, 2, f"esgan-segment: error: {out}/")
    assert "could not write it: file too large" in result.stderr and "skipped" not in result.stderr


def test_export_on_a_full_disk_names_the_version_and_leaves_nothing(tmp_path):
    result = _command("export", "--kind=segnet", "--model=pretrained:tnbc_r", f"--out_dir={tmp_path}",
                      full_disk=True)
    _assert_error_lines(result, 2, f"esgan-export: error: {tmp_path / 'segnet' / '1'}: could not write it: "
                                   "file too large")
    assert sorted(path.name for path in (tmp_path / "segnet").iterdir()) == []


def test_export_removes_the_partial_folders_of_killed_exports_only(tmp_path):
    model_dir = tmp_path / "segnet"
    now = time.time()
    for name, modified in ((".1.killed.partial", now - 3600), (".7.writing.partial", now + 3600)):
        # A killed writer's folder was last touched before this export started; one touched
        # later may belong to a live writer on a file system without flock, and is kept.
        (model_dir / name / "variables").mkdir(parents=True)
        (model_dir / name / "variables" / "variables.index").write_bytes(b"half")
        for path in (model_dir / name / "variables" / "variables.index", model_dir / name / "variables",
                     model_dir / name):
            os.utime(path, (modified, modified))
    result = _command("export", "--kind=segnet", "--model=pretrained:tnbc_r", f"--out_dir={tmp_path}")
    assert result.returncode == 0 and result.stdout.strip() == str(model_dir / "1"), result.stderr[-3000:]
    assert sorted(path.name for path in model_dir.iterdir()) == [".7.writing.partial", "1"]


def test_tensorflow_s_disk_full_error_becomes_one_line(tmp_path, monkeypatch):
    """ENOSPC reaches Python as a ResourceExhaustedError without errno (what a real full disk gave)."""
    def save_on_a_full_disk(obj, export_dir, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, f"{export_dir}/variables/variables_temp/part-0; "
                                                           "No space left on device [Op:SaveV2]")

    monkeypatch.setattr(tf.saved_model, "save", save_on_a_full_disk)
    module = ServingModule(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))
    module.add_signature("serving_default", lambda x: {"y": module.call_model(x)},
                         [tf.TensorSpec([None, 3], tf.float32, name="x")])
    with pytest.raises(DiskFullError) as error:
        write_servable(module, tmp_path, model_name="m", version=None, overwrite=False, info={})
    assert error.value.errno == errno.ENOSPC and "\n" not in str(error.value)
    assert str(error.value).startswith(f"{tmp_path / 'm' / '1'}: could not write it: no space left on the device")
    assert sorted(path.name for path in (tmp_path / "m").iterdir()) == []
