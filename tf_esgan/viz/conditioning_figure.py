"""PNG figure of masks and their conditioning maps (the paper's Fig. 3 layout)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from tf_esgan.data import skeleton
from tf_esgan.io_utils import atomic_path


def _label_colours(labels: np.ndarray) -> np.ndarray:
    """Random but fixed colour per nucleus id so touching nuclei are told apart."""
    palette = np.random.default_rng(0).integers(60, 256, size=(int(labels.max()) + 1, 3))
    palette[0] = 0
    return palette[labels].astype(np.uint8)


def _skeleton_overlay(labels: np.ndarray) -> np.ndarray:
    """Distance map in gray with skeleton pixels in red (Fig. 3, right)."""
    gray = (skeleton.distance_map(labels) * 255).astype(np.uint8)
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    rgb[skeleton.skeleton(labels)] = (255, 0, 0)
    return rgb


def save_conditioning_figure(rows: Sequence[tuple[str, np.ndarray, np.ndarray | None]],
                             path: str | os.PathLike) -> Path:
    """Writes a grid, one row per mask: [image], nuclei, contour, distance map, skeleton map.

    Args:
      rows: (title, label map [H, W], optional uint8 RGB image [H, W, 3] or None).
      path: PNG to write (atomically: a reader never sees a half-written file).
    Returns:
      The written path.
    """
    with_images = any(image is not None for _, _, image in rows)
    columns = ["image"] * with_images + ["nuclei (ids)", "contour set c", "distance map",
                                         "skeleton map (skeleton in red)"]
    figure = Figure(figsize=(2.6 * len(columns), 2.6 * len(rows)))
    axes = figure.subplots(len(rows), len(columns), squeeze=False)
    for row, (title, labels, image) in enumerate(rows):
        labels = skeleton.as_labels(labels)
        panels = ([image if image is not None else np.zeros((*labels.shape, 3), np.uint8)]
                  if with_images else [])
        panels += [_label_colours(labels), skeleton.contour_mask(labels),
                   skeleton.distance_map(labels), _skeleton_overlay(labels)]
        for column, panel in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel, cmap="gray", interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(columns[column], fontsize=9)
        axes[row, 0].set_ylabel(f"{title}\n{int(labels.max() and len(np.unique(labels)) - 1)} nuclei",
                                fontsize=8)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    return path
