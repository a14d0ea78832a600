"""PNG figure in the spirit of the paper's Fig. 4: mask | skeleton map | real | synthetic."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_esgan.io_utils import atomic_path

COLUMNS = ("mask", "skeleton map", "real", "synthetic")


def save_comparison_figure(rows: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                           path: str | os.PathLike) -> Path:
    """Writes one row per sample: mask | skeleton map | real image | synthetic image.

    Args:
      rows: (title, labels int [H, W], skeleton map float32 [H, W] in [0, 2],
        real uint8 [H, W, 3], synthetic uint8 [H, W, 3]).
      path: PNG to write, atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(len(rows), len(COLUMNS), squeeze=False,
                                   figsize=(2.6 * len(COLUMNS), 2.6 * len(rows)))
    for row, (title, labels, skeleton_map, real, synthetic) in enumerate(rows):
        panels = [(labels > 0).astype(np.float32), skeleton_map / 2.0, real, synthetic]
        for column, panel in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(COLUMNS[column])
        axes[row, 0].set_ylabel(title, fontsize=8)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=80)
    pyplot.close(figure)
    return path
