"""Tables 1 and 2 as markdown and CSV next to the paper's numbers, and the figures."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_esgan.data.datasets import Sample, load_pair
from tf_esgan.data.image_io import read_image
from tf_esgan.io_utils import atomic_path
from tf_esgan.reproduce.budgets import PAPER_TABLE1, PAPER_TABLE2

TABLE1_COLUMNS = ("ssim", "fsim", "gmsd", "aji")
TABLE2_COLUMNS = ("dq", "sq", "pq", "aji")


def _number(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"


def _write(path: Path, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return path


def _table(title: str, header: Sequence[str], rows: dict[str, Sequence], paper: dict | None) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, values in rows.items():
        lines.append(f"| {name} | " + " | ".join(_number(v) for v in values) + " |")
    if paper:
        for name, values in paper.items():
            lines.append(f"| paper: {name} | " + " | ".join(_number(v) for v in values) + " |")
    return "\n".join(lines) + "\n"


def _csv(path: Path, header: Sequence[str], rows: dict[str, Sequence]) -> Path:
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        for name, values in rows.items():
            writer.writerow([name, *("" if v is None else f"{v:.6f}" for v in values)])
    return path


def write_tables_and_figure(config, table1: dict, table2: dict, test: Sequence[Sample], out: Path) -> dict:
    """table1.md/.csv, table2.md/.csv, figure_synthetic.png, figure_segmentation.png."""
    name = config.dataset_name
    rows1 = {variant: [scores[c] for c in TABLE1_COLUMNS] for variant, scores in table1.items()}
    rows2 = {train_set: [scores[f"mean_{c}"] for c in TABLE2_COLUMNS] for train_set, scores in table2.items()}
    budget_note = (f"Budget `{config.budget}`; held-out slides: {len(test)} images of {config.dataset_dir}. "
                   "Table 2 values are means of per-image scores (pooled values in table2/*.json).\n\n")
    files = {
        "table1.md": _write(out / "table1.md", budget_note + _table(
            f"Table 1 ({name})", ["Method", "SSIM↑", "FSIM↑", "GMSD↓", "AJI↑"], rows1, PAPER_TABLE1.get(name))),
        "table1.csv": _csv(out / "table1.csv", ["method", *TABLE1_COLUMNS], rows1),
        "table2.md": _write(out / "table2.md", budget_note + _table(
            f"Table 2 ({name})", ["Training set", "DQ", "SQ", "PQ", "AJI"], rows2, PAPER_TABLE2.get(name))),
        "table2.csv": _csv(out / "table2.csv", ["training_set", *TABLE2_COLUMNS], rows2),
    }
    files["figure_synthetic.png"] = _synthetic_figure(test[:3], list(table1), out)
    files["figure_segmentation.png"] = _segmentation_figure(test[0], out)
    return files


def _figure(panels: list[list[tuple[str, np.ndarray]]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows, columns = len(panels), len(panels[0])
    figure, axes = pyplot.subplots(rows, columns, squeeze=False, figsize=(2.4 * columns, 2.4 * rows))
    for row, line in enumerate(panels):
        for column, (title, image) in enumerate(line):
            axis = axes[row, column]
            axis.imshow(image, cmap="nipy_spectral" if image.ndim == 2 else None, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    pyplot.close(figure)
    return path


def _central(image: np.ndarray, size: int = 256) -> np.ndarray:
    top, left = max(0, (image.shape[0] - size) // 2), max(0, (image.shape[1] - size) // 2)
    return image[top:top + size, left:left + size]


def _synthetic_figure(samples: Sequence[Sample], variants: Sequence[str], out: Path) -> Path:
    """Fig. 4-like: mask | real | each variant's re-synthesis of the same held-out image."""
    panels = []
    for sample in samples:
        image, labels = load_pair(sample)
        line = [("mask", _central(labels)), ("real", _central(image))]
        for variant in variants:
            line.append((variant, _central(read_image(out / "table1" / variant / "synthetic" / f"{sample.id}.png"))))
        panels.append(line)
    return _figure(panels, out / "figure_synthetic.png")


def _segmentation_figure(sample: Sample, out: Path) -> Path:
    """Fig. 6-like: image | true mask | segmentation by the SegNet trained on each set."""
    from tf_esgan.segmentation.evaluate import load_segmenter

    image, labels = load_pair(sample)
    line = [("image", _central(image)), ("mask", _central(labels))]
    for train_set in ("R", "S*"):
        segment = load_segmenter(out / "segnet" / train_set)
        line.append((f"SegNet {train_set}", _central(segment(image))))
    return _figure([line], out / "figure_segmentation.png")
