"""Nuclei instance segmentation of a user's own H&E images (`esgan-segment`).

For every input image, of any size (`tiled_prediction`), SegNet + its tuned watershed
write into `out_dir`:

    labels/<stem>.png          16-bit instance labels of the input's exact size
                               (0 = background, 1..N = nuclei)
    overlays/<stem>.png        the image with the nuclei outlines drawn in green
    nuclei.csv                 one row per image: file, height, width, nuclei,
                               mean_area_px, median_area_px (empty without nuclei)
    nuclei_per_instance.csv    one row per nucleus: file, nucleus_id, area_px,
                               centroid_row, centroid_col

RGBA and 16-bit images are converted to 8-bit RGB (`image_io.read_any_image`). A file
that cannot be read, or has no colour (grayscale: SegNet reads the H&E stain colours and
finds almost no nuclei in a gray copy), is reported through `warn` (one line naming it)
and skipped; the others are still done, and the CSVs list the images segmented. Output
problems (an unwritable `out_dir`, a full disk) stop the job with a `UserError`.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np

from tf_esgan.console import progress_bar
from tf_esgan.data.datasets import IMAGES_DIR
from tf_esgan.data.image_io import DatasetError, read_any_image, write_image, write_mask
from tf_esgan.io_utils import atomic_path, ensure_writable_dir
from tf_esgan.pretrained.segnet_loading import load_segnet_and_watershed
from tf_esgan.segmentation.postprocess import WatershedConfig, watershed_instances
from tf_esgan.segmentation.tiled_prediction import (DEFAULT_MARGIN, DEFAULT_TILE_SIZE, check_tiling,
                                                    predict_maps_tiled)
from tf_esgan.viz.synthetic_pairs import outline_overlay

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
LABELS_DIR = "labels"
OVERLAYS_DIR = "overlays"
SUMMARY_CSV = "nuclei.csv"
INSTANCES_CSV = "nuclei_per_instance.csv"
SUMMARY_COLUMNS = ("file", "height", "width", "nuclei", "mean_area_px", "median_area_px")
INSTANCE_COLUMNS = ("file", "nucleus_id", "area_px", "centroid_row", "centroid_col")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentConfig:
    """One `esgan-segment` job.

    Attributes:
      model: `pretrained:NAME`, an `esgan-train-segnet` run folder, or a run's `segnet.keras`.
      inputs: image files and/or folders (a folder's .png/.jpg/.jpeg/.tif/.tiff files,
        not recursive; a canonical dataset folder's images/).
      out_dir: output folder (labels/, overlays/, the CSVs).
      tile_size, tile_margin: images with a side above `tile_size` are segmented in
        overlapping tiles (see `tiled_prediction`).
    """

    model: str
    inputs: tuple[str, ...]
    out_dir: str
    tile_size: int = DEFAULT_TILE_SIZE
    tile_margin: int = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(str(path) for path in self.inputs))
        if not self.inputs:
            raise ValueError("SegmentConfig: `inputs` is empty; give image files or folders")
        if not self.out_dir:
            raise ValueError("SegmentConfig: `out_dir` is required")
        check_tiling(self.tile_size, self.tile_margin, "SegmentConfig")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegmentSummary:
    """What a job did: the images segmented and the (file, reason) of those skipped."""

    segmented: list[str]
    skipped: list[tuple[str, str]]
    out_dir: Path
    seconds: float


def list_input_images(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The image files of `inputs`, in order, folders expanded (sorted, hidden files skipped).

    Raises:
      DatasetError: an input does not exist, a folder holds no image, or two inputs share a
        file stem (their outputs would overwrite each other).
    """
    files: list[Path] = []
    for entry in map(Path, inputs):
        if entry.is_dir():
            folder = entry / IMAGES_DIR if (entry / IMAGES_DIR).is_dir() else entry
            found = [path for path in sorted(folder.iterdir()) if path.is_file()
                     and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES]
            if not found:
                raise DatasetError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        else:
            raise DatasetError(f"{entry}: no such file or folder")
    stems: dict[str, Path] = {}
    for path in files:
        if path.stem in stems:
            raise DatasetError(f"{path} and {stems[path.stem]}: same file stem {path.stem!r}, so both would "
                             f"write {LABELS_DIR}/{path.stem}.png; rename one or segment them separately")
        stems[path.stem] = path
    return files


def instance_table(labels: np.ndarray) -> np.ndarray:
    """[N, 4] float64 rows (nucleus_id, area_px, centroid_row, centroid_col) of labels 1..N."""
    count = int(labels.max()) if labels.size else 0
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=count + 1)[1:].astype(np.float64)
    rows, cols = np.indices(labels.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid_rows = np.bincount(flat, rows.ravel(), minlength=count + 1)[1:] / areas
        centroid_cols = np.bincount(flat, cols.ravel(), minlength=count + 1)[1:] / areas
    return np.column_stack([np.arange(1, count + 1), areas, centroid_rows, centroid_cols])


def _summary_row(file: str, labels: np.ndarray, areas: np.ndarray) -> dict:
    return {"file": file, "height": labels.shape[0], "width": labels.shape[1], "nuclei": len(areas),
            "mean_area_px": f"{areas.mean():.2f}" if len(areas) else "",
            "median_area_px": f"{np.median(areas):.1f}" if len(areas) else ""}


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    with atomic_path(path) as temporary:
        with open(temporary, "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


def check_colour(image: np.ndarray, path: str | os.PathLike) -> None:
    """Raises `DatasetError` for an RGB image without colour: equal channels at every pixel.

    That is what gray images become when read as RGB (`read_any_image`), or saved as RGB.
    SegNet was trained on colour H&E, where hematoxylin's blue tells nuclei apart; on a
    gray copy of a TNBC image the `tnbc_r` SegNet shipped before 2026-12-07 found 1 nucleus instead
    of 87 (BUILD_NOTES).
    """
    if np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 1], image[..., 2]):
        raise DatasetError(f"{path}: a grayscale image (no colour); SegNet needs the colour H&E image "
                           "(in a gray copy it finds almost no nuclei)")


def segment_file(segnet: keras.Model, watershed: WatershedConfig, path: Path, out_dir: Path, *,
                 tile_size: int = DEFAULT_TILE_SIZE, tile_margin: int = DEFAULT_MARGIN) -> np.ndarray:
    """Segments one image file and writes its label and overlay PNGs; returns the labels.

    Raises:
      DatasetError: the file is unreadable or has no colour (`check_colour`).
      OSError (`DiskFullError`...): an output could not be written.
    """
    image = read_any_image(path)
    check_colour(image, path)
    maps = predict_maps_tiled(segnet, image, tile_size=tile_size, margin=tile_margin)
    labels = watershed_instances(maps[..., 0], maps[..., 1], watershed)
    write_mask(out_dir / LABELS_DIR / f"{path.stem}.png", labels)
    write_image(out_dir / OVERLAYS_DIR / f"{path.stem}.png", outline_overlay(image, labels))
    return labels


def segment_images(config: SegmentConfig, *, segnet: keras.Model | None = None,
                   watershed: WatershedConfig | None = None, verbose: int = 0,
                   warn: Callable[[str], None] = print, log: Callable[[str], None] = print) -> SegmentSummary:
    """Runs the job of `config` (see the module docstring).

    Args:
      config: the job.
      segnet, watershed: an already loaded model and its thresholds (else loaded from
        `config.model`).
      verbose: 1 = progress bar.
      warn: receives one line per skipped file, naming it and why.
      log: receives the final summary line.
    Raises:
      UserError (`DatasetError`, `UnwritableFolderError`, `ModelLoadError`...): bad
        inputs, output folder or model (before any image is done); `DiskFullError` or
        another OSError: an output could not be written (the job stops).
    """
    files = list_input_images(config.inputs)
    out = ensure_writable_dir(config.out_dir, "--out_dir")
    if segnet is None:
        segnet, watershed = load_segnet_and_watershed(config.model)
    elif watershed is None:
        raise ValueError("segment_images: pass `watershed` with an in-memory `segnet`")
    progress = progress_bar(len(files), unit_name="image", enabled=bool(verbose))
    started = time.perf_counter()
    segmented, skipped, summary_rows, instance_rows = [], [], [], []
    for path in files:
        try:
            labels = segment_file(segnet, watershed, path, out, tile_size=config.tile_size,
                                  tile_margin=config.tile_margin)
        except DatasetError as error:  # the input's fault; an output's (disk full) stops the job
            reason = str(error) if str(path) in str(error) else f"{path}: {error}"
            skipped.append((str(path), reason))
            warn(f"skipped {reason}")
        else:
            table = instance_table(labels)
            segmented.append(str(path))
            summary_rows.append(_summary_row(str(path), labels, table[:, 1]))
            instance_rows.extend({"file": str(path), "nucleus_id": int(nucleus), "area_px": int(area),
                                  "centroid_row": f"{row:.1f}", "centroid_col": f"{col:.1f}"}
                                 for nucleus, area, row, col in table)
        progress.add(1)
    _write_csv(out / SUMMARY_CSV, SUMMARY_COLUMNS, summary_rows)
    _write_csv(out / INSTANCES_CSV, INSTANCE_COLUMNS, instance_rows)
    seconds = time.perf_counter() - started
    log(f"segmented {len(segmented)} of {len(files)} images in {seconds:.1f} s ({len(skipped)} skipped); "
        f"labels in {out / LABELS_DIR}, overlays in {out / OVERLAYS_DIR}, counts in {out / SUMMARY_CSV}")
    return SegmentSummary(segmented=segmented, skipped=skipped, out_dir=out, seconds=round(seconds, 2))
