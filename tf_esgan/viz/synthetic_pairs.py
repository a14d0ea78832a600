"""PNG grid of synthetic pairs as written on disk: each image with its mask's nucleus outlines.

Every synthesis run writes one (`<out_dir>/synthetic_pairs.png`) so the synthetic set gets
looked at. The pairs are read back from `images/<id>.png` and `masks/<id>.png`, so the
figure shows the files themselves, also after a resumed run. The figure sits beside
images/ and masks/, never inside them, where it would be read as a sample. Pairs of the
other `pair_formats` are read with `read_pair`; Cellpose reads every image of the
dataset folder itself, so its figure goes into `figures/`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from tf_esgan.data import skeleton
from tf_esgan.data.pair_formats import pair_paths, read_pair
from tf_esgan.io_utils import atomic_path

FIGURE_NAME = "synthetic_pairs.png"
#: Where the figure goes for formats that read images from the dataset folder itself.
FIGURE_DIR = "figures"
#: Pairs shown: a GRID_SIDE x GRID_SIDE grid.
GRID_SIDE = 4
OUTLINE_COLOR = (0, 255, 0)
#: Figure inches per grid cell, and the share of a cell the image gets (the rest is title
#: and margin); the dpi is chosen so an image is drawn at least 1:1 and its 1-pixel
#: outlines survive.
_CELL_INCHES = 2.2
_IMAGE_SHARE = 0.8
_MIN_DPI = 80
_TITLE_FONTSIZE = 7


def outline_overlay(image: np.ndarray, labels: np.ndarray,
                    color: tuple[int, int, int] = OUTLINE_COLOR) -> np.ndarray:
    """Draws the instance outlines of `labels` onto a copy of `image`.

    The outline is the contour set c of the losses (`skeleton.contour_mask`): nucleus
    pixels with an 8-neighbour of another label, so the boundary between two touching
    nuclei is drawn on both sides; the image border is not an outline.

    Args:
      image: uint8 [H, W, 3] RGB.
      labels: int [H, W] instance labels, 0 = background (a binary mask is split into
        4-connected components).
      color: RGB of the outline pixels, each in [0, 255].
    Returns:
      uint8 [H, W, 3]: `image` with outline pixels set to `color`, all others unchanged.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"outline_overlay: `image` must be uint8 [H, W, 3], got {image.dtype} {image.shape}")
    labels = skeleton.as_labels(labels, name="outline_overlay: `labels`")
    if labels.shape != image.shape[:2]:
        raise ValueError(f"outline_overlay: `labels` shape {labels.shape} does not match "
                         f"`image` shape {image.shape[:2]}")
    if len(color) != 3 or not all(0 <= int(value) <= 255 for value in color):
        raise ValueError(f"outline_overlay: `color` must be 3 values in [0, 255], got {color!r}")
    overlay = image.copy()
    overlay[skeleton.contour_mask(labels)] = np.asarray(color, np.uint8)
    return overlay


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) of the grid for `count` pairs: at most GRID_SIDE columns."""
    if not 1 <= count <= GRID_SIDE * GRID_SIDE:
        raise ValueError(f"grid_shape: `count` must be in [1, {GRID_SIDE * GRID_SIDE}], got {count}")
    columns = min(count, GRID_SIDE)
    return math.ceil(count / columns), columns


def _read_as_sample(path: Path, root: Path, format: str) -> bool:
    """Whether `path` lies where `format`'s readers look for pair files."""
    for pair_file in pair_paths(root, format, "probe"):
        folder = pair_file.parent.resolve()
        if path.parent.resolve() == folder and (folder != root.resolve() or path.suffix == pair_file.suffix):
            return True
    return False


def default_figure_path(dataset_dir: str | os.PathLike, format: str = "canonical") -> Path:
    """`<dataset_dir>/synthetic_pairs.png`, or in `figures/` where it would be read as an image."""
    root = Path(dataset_dir)
    path = root / FIGURE_NAME
    return root / FIGURE_DIR / FIGURE_NAME if _read_as_sample(path, root, format) else path


def save_synthetic_pairs_figure(dataset_dir: str | os.PathLike, sample_ids: Sequence[str],
                                path: str | os.PathLike | None = None, *, format: str = "canonical") -> Path:
    """Writes a grid of the pairs `sample_ids` of a dataset, read from disk.

    Args:
      dataset_dir: folder of pairs in `format` (canonical: images/<id>.png and masks/<id>.png).
      sample_ids: the ids to show, in grid order (1 to GRID_SIDE**2 of them).
      path: PNG to write, atomically; default `default_figure_path(dataset_dir, format)`.
      format: one of `pair_formats.PAIR_FORMATS`.
    Returns:
      The written path.
    Raises:
      DatasetError: a pair is missing, unreadable or its image and mask sizes differ.
    """
    root = Path(dataset_dir)
    path = Path(path) if path is not None else default_figure_path(root, format)
    if _read_as_sample(path, root, format):
        raise ValueError(f"save_synthetic_pairs_figure: `path` {path} is among the dataset's {format} "
                         f"pair files and would be read as a sample")
    rows, columns = grid_shape(len(sample_ids))
    panels = []
    for sample_id in sample_ids:
        image, labels = read_pair(root, format, sample_id)
        panels.append((sample_id, outline_overlay(image, labels)))
    largest_side = max(max(panel.shape[:2]) for _, panel in panels)
    dpi = max(_MIN_DPI, math.ceil(largest_side / (_CELL_INCHES * _IMAGE_SHARE)))
    figure = Figure(figsize=(_CELL_INCHES * columns, _CELL_INCHES * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, (sample_id, panel) in zip(axes.flat, panels):
        axis.imshow(panel, interpolation="nearest")
        axis.set_title(sample_id, fontsize=_TITLE_FONTSIZE)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return path
