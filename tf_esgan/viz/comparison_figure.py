"""PNG figure in the spirit of the paper's Fig. 4: mask | skeleton map | real | synthetic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_esgan.viz.panel_grid import save_panel_grid

COLUMNS = ("mask", "skeleton map", "real", "synthetic")


def save_comparison_figure(rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                           path: str | os.PathLike) -> Path:
    """Writes one row per sample: mask | skeleton map | real image | synthetic image.

    Args:
      rows: (title, labels int [H, W], skeleton map float32 [H, W] in [0, 2],
        real uint8 [H, W, 3], synthetic uint8 [H, W, 3]).
      path: PNG to write, atomically.
    """
    return save_panel_grid(
        [(title, [(labels > 0).astype(np.float32), skeleton_map / 2.0, real, synthetic])
         for title, labels, skeleton_map, real, synthetic in rows], COLUMNS, path)
