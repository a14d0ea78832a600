"""PNG figure in the spirit of the paper's Fig. 5: image | true outlines | SegNet outlines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_esgan.viz.panel_grid import save_panel_grid
from tf_esgan.viz.synthetic_pairs import outline_overlay

COLUMNS = ("image", "mask (green)", "SegNet (yellow)")
_PREDICTION_COLOUR = (255, 255, 0)


def save_segmentation_figure(rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
                             path: str | os.PathLike) -> Path:
    """Writes one row per image: image | its mask's outlines | the segmentation's outlines.

    Args:
      rows: (title, image uint8 [H, W, 3], true labels int [H, W], predicted labels int [H, W]).
      path: PNG to write, atomically.
    """
    return save_panel_grid(
        [(title, [image, outline_overlay(image, true_labels),
                  outline_overlay(image, predicted, color=_PREDICTION_COLOUR)])
         for title, image, true_labels, predicted in rows], COLUMNS, path, dpi=100, label_size=7)
