"""One figure of labelled rows of image panels, written atomically as PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from tf_esgan.io_utils import atomic_path


def save_panel_grid(rows: Sequence[tuple[str, Sequence[np.ndarray]]], columns: Sequence[str],
                    path: str | os.PathLike, *, dpi: int = 80, label_size: int = 8) -> Path:
    """Writes a grid: one row per (label, panels), column titles on top.

    Args:
      rows: (row label, panels); a panel is RGB [H, W, 3] (uint8 or float in [0, 1]) or a
        grey float [H, W] in [0, 1].
      columns: one title per panel.
      path: PNG to write, atomically.
    """
    figure = Figure(figsize=(2.6 * len(columns), 2.6 * len(rows)))
    axes = figure.subplots(len(rows), len(columns), squeeze=False)
    for row, (label, panels) in enumerate(rows):
        for column, panel in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(columns[column])
        axes[row, 0].set_ylabel(label, fontsize=label_size)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return path
