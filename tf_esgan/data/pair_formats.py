"""Image/label pairs in the layouts StarDist, Cellpose and HoVer-Net train on.

Every format stores one uint8 RGB image [H, W, 3] and one instance label map [H, W]
(0 = background, 1..N = nuclei) per pair `name`, under a folder `root`:

- "canonical": `images/<name>.png` (8-bit RGB) + `masks/<name>.png` (16-bit labels), this
  project's own layout (`tf_esgan.data.datasets`), read and written by `image_io`.
- "stardist": `images/<name>.tif` (uint8 RGB) + `masks/<name>.tif` (uint16 labels, int32
  above 65535), as StarDist's example notebooks read them: `sorted(glob(".../images/*.tif"))`
  and `.../masks/*.tif`, each file with `tifffile.imread`, paired by sorted order (so
  the names of both folders must be the same, which they are here).
- "cellpose": `<name>.png` (RGB) beside `<name>_masks.tif` (uint16/int32 labels) in one
  folder: Cellpose's training default `--mask_filter _masks`, where the labels of image
  `<stem>.<ext>` are looked up as `<stem>_masks.tif` first. Names ending in a suffix
  Cellpose treats as its own (`_masks`, `_flows`, ...) are refused, since Cellpose would
  not take such a file as an image.
- "hovernet": `<name>.npy`, int32 [H, W, 4] = RGB + instance map, what HoVer-Net's
  `extract_patches.py` saves (`np.concatenate([uint8 image, int32 ann])` promotes to int32)
  and its training loader reads back (`data[..., :3].astype("uint8")`,
  `data[..., 3:].astype("int32")`). The same pair is also written in the layout that
  `extract_patches.py` itself reads (the CoNSeP/Kumar/CPM-17 release layout):
  `Images/<name>.png` and `Labels/<name>.mat` with key `inst_map` (int32; HoVer-Net casts
  it to int32 on loading). So a folder can be used both as training patches (`*.npy`
  in `root`, no subfolders are globbed) and as a source to cut larger/overlapping
  patches from. No `type_map` is written: synthetic nuclei have no class. Reading
  uses the `.npy` only (a 5-channel file with a type map is accepted, the type ignored).

Every file is written atomically (`io_utils`) and read back to verify it; the label
file(s) are written first and the file named last by `pair_paths` completes the pair,
so a crash leaves no pair that `list_pair_names` counts as complete. Every error a user
can cause raises `DatasetError` naming the file (or the argument).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import scipy.io
import tifffile

from tf_esgan.data.image_io import (DatasetError, label_map_from_array, read_image,
                                    read_mask, write_image, write_mask)
from tf_esgan.data.labels import check_label_map
from tf_esgan.io_utils import atomic_write_bytes

PAIR_FORMATS = ("canonical", "stardist", "cellpose", "hovernet")

# Per format, the files of a pair as (subfolder of root, name suffix), labels first and
# the completing file last.
_LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "canonical": (("masks", ".png"), ("images", ".png")),
    "stardist": (("masks", ".tif"), ("images", ".tif")),
    "cellpose": (("", "_masks.tif"), ("", ".png")),
    "hovernet": (("Labels", ".mat"), ("Images", ".png"), ("", ".npy")),
}
# Files that hold the labels (the evidence `detect_format` counts).
_LABEL_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "canonical": (("masks", ".png"),),
    "stardist": (("masks", ".tif"),),
    "cellpose": (("", "_masks.tif"),),
    "hovernet": (("Labels", ".mat"), ("", ".npy")),
}
# Stems Cellpose's get_image_files never takes as images (its `mask_filters`, old and new;
# "_cp_masks" ends in "_masks").
CELLPOSE_RESERVED_SUFFIXES = ("_masks", "_flows", "_flows_0", "_flows_1", "_flows_2",
                              "_cellprob", "_cp_output")
_TIFF_SUFFIXES = (".tif", ".tiff")
_MAT_KEY = "inst_map"
_HOVERNET_CHANNELS = (4, 5)  # RGB + instance map (+ type map)
_UINT16_MAX = np.iinfo(np.uint16).max


def _check_format(format: str) -> tuple[tuple[str, str], ...]:
    if format not in _LAYOUTS:
        raise DatasetError(f"format: expected one of {PAIR_FORMATS}, got {format!r}")
    return _LAYOUTS[format]


def _check_name(format: str, name: str) -> str:
    if not name or name.startswith(".") or "/" in name or os.sep in name:
        raise DatasetError(f"name: expected a plain file stem (no folder, not hidden), got {name!r}")
    if format == "cellpose" and name.endswith(CELLPOSE_RESERVED_SUFFIXES):
        raise DatasetError(f"name {name!r}: Cellpose does not take stems ending in "
                           f"{', '.join(CELLPOSE_RESERVED_SUFFIXES)} as images; rename the pair")
    return name


def pair_paths(root: str | os.PathLike, format: str, name: str) -> tuple[Path, ...]:
    """The files of pair `name` in `format`; labels first, the completing file last.

    A pair is complete when all of them exist; `write_pair` writes them in this order.
    """
    layout = _check_format(format)
    _check_name(format, name)
    return tuple(Path(root) / folder / f"{name}{suffix}" for folder, suffix in layout)


def _encode_tiff(array: np.ndarray, photometric: str) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, photometric=photometric, compression="zlib")
    return buffer.getvalue()


def _label_array(labels: np.ndarray) -> np.ndarray:
    """uint16 when every label fits (what StarDist's and Cellpose's data use), else int32."""
    return labels.astype(np.uint16 if labels.max(initial=0) <= _UINT16_MAX else np.int32)


def _write_checked(path: Path, data: bytes, written: np.ndarray, read_back) -> None:
    atomic_write_bytes(path, data)
    if not np.array_equal(read_back(path), written):
        raise DatasetError(f"{path}: file read back differs from the array written")


def _read_tiff(path: Path) -> np.ndarray:
    try:
        return tifffile.imread(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    # A damaged TIFF fails in the parser or in the decompressor, with these types.
    except (ValueError, OSError, EOFError, IndexError, KeyError, struct.error, zlib.error) as error:
        raise DatasetError(f"{path}: not a readable TIFF ({error})") from None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(f"{path}: not a readable .npy array ({error})") from None


def _hovernet_channels(path: Path) -> np.ndarray:
    array = _read_npy(path)
    if array.ndim != 3 or array.shape[2] not in _HOVERNET_CHANNELS:
        raise DatasetError(f"{path}: expected a HoVer-Net patch [H, W, 4] (RGB + instance map) "
                           f"or [H, W, 5] (+ type map), got shape {array.shape}")
    return array


def read_image_file(path: str | os.PathLike) -> np.ndarray:
    """An RGB image from a pair file: TIFF via tifffile, HoVer-Net `.npy` channels 0-2, else `read_image`.

    Returns:
      uint8 [H, W, 3] in [0, 255], RGB order.
    """
    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES:
        image = _read_tiff(path)
    elif path.suffix.lower() == ".npy":
        image = _hovernet_channels(path)[..., :3]
    else:
        return read_image(path)
    if image.ndim != 3 or image.shape[2] != 3:
        raise DatasetError(f"{path}: expected an RGB image [H, W, 3], got shape {image.shape}")
    if image.dtype != np.uint8:
        if not (np.issubdtype(image.dtype, np.number) and np.all(image == np.round(image))
                and image.min(initial=0) >= 0 and image.max(initial=0) <= 255):
            raise DatasetError(f"{path}: expected 8-bit RGB values (integers in [0, 255]), got "
                               f"dtype {image.dtype} in [{image.min()}, {image.max()}]")
        image = image.astype(np.uint8)
    return np.ascontiguousarray(image)


def read_label_file(path: str | os.PathLike) -> np.ndarray:
    """Instance labels from a pair file: TIFF, HoVer-Net `.npy` channel 3, else `read_mask`.

    Returns:
      int32 [H, W], 0 = background, 1..N consecutive (see `label_map_from_array`).
    """
    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES:
        array = _read_tiff(path)
    elif path.suffix.lower() == ".npy":
        array = _hovernet_channels(path)[..., 3]
    else:
        return read_mask(path)
    return label_map_from_array(np.squeeze(array) if array.ndim == 3 else array, str(path))


def _check_pair_arrays(path: Path, image: np.ndarray,
                       labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, labels = np.asarray(image), np.asarray(labels)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DatasetError(f"{path}: expected image uint8 [H, W, 3], got {image.dtype} {image.shape}")
    labels = check_label_map(labels, name=f"{path}: labels", error=DatasetError)
    if labels.shape != image.shape[:2]:
        raise DatasetError(f"{path}: expected integer labels of shape {image.shape[:2]}, got "
                           f"{labels.dtype} {labels.shape}")
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise DatasetError(f"{path}: labels must be in [0, 2**31 - 1], got "
                           f"[{labels.min()}, {labels.max()}]")
    return image, labels


def _write_hovernet(paths: tuple[Path, ...], image: np.ndarray, labels: np.ndarray) -> None:
    mat_path, png_path, npy_path = paths
    inst_map = labels.astype(np.int32)
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {_MAT_KEY: inst_map}, do_compression=True)
    _write_checked(mat_path, buffer.getvalue(), inst_map,
                   lambda path: scipy.io.loadmat(path)[_MAT_KEY])
    write_image(png_path, image)
    patch = np.concatenate([image.astype(np.int32), inst_map[..., None]], axis=-1)
    buffer = io.BytesIO()
    np.save(buffer, patch, allow_pickle=False)
    _write_checked(npy_path, buffer.getvalue(), patch, _read_npy)


def write_pair(root: str | os.PathLike, format: str, name: str, image: np.ndarray,
               labels: np.ndarray) -> None:
    """Writes one pair in `format`: label file(s) first, the completing file last, each atomic.

    Args:
      root: dataset folder (created if missing).
      format: one of `PAIR_FORMATS`.
      name: file stem of the pair.
      image: uint8 [H, W, 3] RGB.
      labels: int [H, W] instance map, 0 = background; at most 65535 for "canonical"
        (16-bit PNG).
    Raises:
      DatasetError: unknown format, bad name, or arrays of the wrong type or shape.
    """
    paths = pair_paths(root, format, name)
    image, labels = _check_pair_arrays(paths[-1], image, labels)
    if format == "canonical":
        write_mask(paths[0], labels)
        write_image(paths[1], image)
    elif format == "hovernet":
        _write_hovernet(paths, image, labels)
    else:
        label_array = _label_array(labels)
        _write_checked(paths[0], _encode_tiff(label_array, "minisblack"), label_array, _read_tiff)
        if format == "stardist":
            _write_checked(paths[1], _encode_tiff(image, "rgb"), image, _read_tiff)
        else:
            write_image(paths[1], image)


def read_pair(root: str | os.PathLike, format: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Reads pair `name` of `format` (HoVer-Net: from the `.npy` alone).

    Returns:
      (image uint8 [H, W, 3] RGB, labels int32 [H, W] with 0 = background, 1..N).
    Raises:
      DatasetError: a missing or unreadable file, or image and labels of different sizes
        (the file is named).
    """
    paths = pair_paths(root, format, name)
    image_path, label_path = (paths[-1], paths[-1]) if format == "hovernet" else (paths[1], paths[0])
    image, labels = read_image_file(image_path), read_label_file(label_path)
    if labels.shape != image.shape[:2]:
        raise DatasetError(f"{label_path}: labels are {labels.shape[1]}x{labels.shape[0]} (WxH) but "
                           f"the image {image_path} is {image.shape[1]}x{image.shape[0]}")
    return image, labels


def _names_with(root: Path, folder: str, suffix: str) -> set[str]:
    directory = root / folder
    if not directory.is_dir():
        return set()
    return {entry.name[:-len(suffix)] for entry in directory.iterdir()
            if entry.name.endswith(suffix) and len(entry.name) > len(suffix)
            and not entry.name.startswith(".") and entry.is_file()}


def list_pair_names(root: str | os.PathLike, format: str) -> list[str]:
    """Sorted names of the complete pairs of `format` in `root` (every file of `pair_paths`).

    Incomplete pairs (e.g. after a crash between two files) and hidden files, such as the
    `.<file>.<random>.tmp` of an unfinished atomic write, are left out. A missing `root`
    gives [].
    """
    layout = _check_format(format)
    root = Path(root)
    folder, suffix = layout[-1]
    names = _names_with(root, folder, suffix)
    if format == "cellpose":
        names = {name for name in names if not name.endswith(CELLPOSE_RESERVED_SUFFIXES)}
    return sorted(name for name in names
                  if all(path.is_file() for path in pair_paths(root, format, name)))


def detect_format(root: str | os.PathLike) -> str | None:
    """The pair format a folder holds, from its label files; None if it holds none.

    Counted per format: the names with a label file (canonical `masks/*.png`, stardist
    `masks/*.tif`, cellpose `*_masks.tif`, hovernet `Labels/*.mat` or `*.npy`, so a folder
    of HoVer-Net training patches alone is recognised too). The format with the most
    wins; ties go to the earlier format of `PAIR_FORMATS`.
    """
    root = Path(root)
    if not root.is_dir():
        return None
    counts = {format: len(set().union(*(_names_with(root, folder, suffix)
                                        for folder, suffix in _LABEL_FILES[format])))
              for format in PAIR_FORMATS}
    best = max(PAIR_FORMATS, key=lambda format: counts[format])  # first of equal counts
    return best if counts[best] else None
