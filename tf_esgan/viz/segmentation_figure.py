"""PNG figure in the spirit of the paper's Fig. 5: image | true outlines | SegNet outlines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_esgan.io_utils import atomic_path
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
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(len(rows), len(COLUMNS), squeeze=False,
                                   figsize=(2.6 * len(COLUMNS), 2.6 * len(rows)))
    for row, (title, image, true_labels, predicted) in enumerate(rows):
        panels = [image, outline_overlay(image, true_labels),
                  outline_overlay(image, predicted, color=_PREDICTION_COLOUR)]
        for column, panel in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(COLUMNS[column])
        axes[row, 0].set_ylabel(title, fontsize=7)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    pyplot.close(figure)
    return path
