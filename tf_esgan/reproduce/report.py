"""Tables 1 and 2 as markdown and CSV next to the paper's numbers, and the figures.

Per seed (`seed_<s>/`): the seed's values. Over seeds (`out_dir`): mean ± sd in markdown,
and a CSV with one row per (row, seed) plus the rows `mean` and `sd`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from tf_esgan.data.datasets import Sample, load_pair
from tf_esgan.data.image_io import read_image
from tf_esgan.evaluation.image_quality_table import TABLE1_COLUMNS, TABLE1_HEADER
from tf_esgan.evaluation.markdown_table import format_score, markdown_table
from tf_esgan.io_utils import atomic_path
from tf_esgan.reproduce.budgets import PAPER_TABLE1, PAPER_TABLE2
from tf_esgan.reproduce.spread import format_mean_sd, mean_and_sd
from tf_esgan.segmentation.scoring import load_segmenter

TABLE2_COLUMNS = ("dq", "sq", "pq", "aji")
TABLE2_HEADER = ("Training set", "DQ", "SQ", "PQ", "AJI")
CALIBRATION_NOTE = ("Calibration rows of Table 1: `flat` = every held-out tile filled with the mean colour of "
                    "the training images; `real` = SegNet R on the real held-out images (AJI only).\n\n")


def _csv_number(value) -> str:
    return "" if value is None else f"{value:.6f}"


def _write(path: Path, text: str) -> Path:
    with atomic_path(path) as temporary:
        temporary.write_text(text)
    return path


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _dataset_label(config) -> str:
    """The dataset as the reports name it: "tnbc" for a named dataset, a folder as given when
    relative ("data/mine"), else the folder's name; never a machine's absolute path."""
    return config.dataset_name if Path(config.dataset).is_absolute() else config.dataset


def _real_note(config) -> str:
    """Which real images R, R* and S* trained on, and S*'s real share (issue 20's two readings)."""
    if getattr(config, "real_set", ""):
        real_set = Path(config.real_set).name  # "cpm15", or a folder's name
        reading = (f"R, R* and S*'s real part: all images of {real_set} (cross-dataset reading, the paper's "
                   "Sec. 3.3); the held-out slides stay the dataset's")
    else:
        reading = "R, R* and S*'s real part: the dataset's own training slides (own-dataset reading)"
    fraction = getattr(config, "real_fraction", 0.0)
    share = f"{fraction:.0%} real crops in every S* batch" if fraction else "S* pools real and synthetic images"
    return f"{reading}; {share}. "


def _rows(table1: dict, table2: dict) -> tuple[dict, dict]:
    """Each table as {row name: [values in column order]} (None where a score does not apply)."""
    rows1 = {variant: [scores[c] for c in TABLE1_COLUMNS] for variant, scores in table1.items()}
    rows2 = {train_set: [scores[f"mean_{c}"] for c in TABLE2_COLUMNS] for train_set, scores in table2.items()}
    return rows1, rows2


def write_tables_and_figure(config, table1: dict, table2: dict, test: Sequence[Sample], out: Path, *,
                            variants: Sequence[str]) -> dict:
    """One seed's table1.md/.csv, table2.md/.csv, figure_synthetic.png, figure_segmentation.png."""
    name = config.dataset_name
    rows1, rows2 = _rows(table1, table2)
    cells1 = {row: [format_score(v) for v in values] for row, values in rows1.items()}
    cells2 = {row: [format_score(v) for v in values] for row, values in rows2.items()}
    budget_note = (f"Budget `{config.budget}`, seed {config.seed}; held-out slides: {len(test)} images of "
                   f"{_dataset_label(config)}. {_real_note(config)}Table 2 values are means of per-image scores "
                   "(pooled values in table2/*.json).\n\n")
    files = {
        "table1.md": _write(out / "table1.md", budget_note + CALIBRATION_NOTE + markdown_table(
            TABLE1_HEADER, cells1, title=f"Table 1 ({name})", paper=PAPER_TABLE1.get(name))),
        "table1.csv": _csv(out / "table1.csv", ["method", *TABLE1_COLUMNS],
                           [[row, *map(_csv_number, values)] for row, values in rows1.items()]),
        "table2.md": _write(out / "table2.md", budget_note + markdown_table(
            TABLE2_HEADER, cells2, title=f"Table 2 ({name})", paper=PAPER_TABLE2.get(name))),
        "table2.csv": _csv(out / "table2.csv", ["training_set", *TABLE2_COLUMNS],
                           [[row, *map(_csv_number, values)] for row, values in rows2.items()]),
    }
    files["figure_synthetic.png"] = _synthetic_figure(test[:3], variants, out)
    files["figure_segmentation.png"] = _segmentation_figure(test[0], out)
    return files


def _spread_csv_rows(per_seed: dict[int, dict[str, list]]) -> list[list[str]]:
    """[row, seed, values...] for each seed, then [row, "mean", ...] and [row, "sd", ...]."""
    lines = []
    for row in next(iter(per_seed.values())):
        columns = list(zip(*(per_seed[seed][row] for seed in per_seed)))  # one tuple of seed values per column
        lines += [[row, str(seed), *map(_csv_number, per_seed[seed][row])] for seed in per_seed]
        spread = [(None, None) if all(v is None for v in values) else mean_and_sd(values) for values in columns]
        lines.append([row, "mean", *(_csv_number(mean) for mean, _ in spread)])
        lines.append([row, "sd", *(_csv_number(sd) for _, sd in spread)])
    return lines


def _spread_cells(per_seed: dict[int, dict[str, list]]) -> dict[str, list[str]]:
    rows = next(iter(per_seed.values()))
    return {row: [format_mean_sd([per_seed[seed][row][column] for seed in per_seed])
                  for column in range(len(rows[row]))] for row in rows}


def write_seed_summary(config, results: dict[int, tuple[dict, dict]], test: Sequence[Sample], out: Path) -> dict:
    """table1.md/.csv and table2.md/.csv over the seeds of `results` ({seed: (table1, table2)})."""
    name = config.dataset_name
    per_seed = {seed: _rows(table1, table2) for seed, (table1, table2) in results.items()}
    per_seed1 = {seed: rows[0] for seed, rows in per_seed.items()}
    per_seed2 = {seed: rows[1] for seed, rows in per_seed.items()}
    seeds = ", ".join(map(str, results))
    spread = "mean ± sd (sample sd, ddof=1)" if len(results) > 1 else "one seed"
    note = (f"Budget `{config.budget}`; {len(results)} seed(s) ({seeds}): {spread}. Held-out slides, the same "
            f"for every seed: {len(test)} images of {_dataset_label(config)} (split.json). {_real_note(config)}"
            "Table 2 values are means of per-image scores. Per-seed tables and figures: seed_<s>/.\n\n")
    title = f"over {len(results)} seed(s)"
    return {
        "table1.md": _write(out / "table1.md", note + CALIBRATION_NOTE + markdown_table(
            TABLE1_HEADER, _spread_cells(per_seed1), title=f"Table 1 ({name}), {title}",
            paper=PAPER_TABLE1.get(name))),
        "table1.csv": _csv(out / "table1.csv", ["method", "seed", *TABLE1_COLUMNS], _spread_csv_rows(per_seed1)),
        "table2.md": _write(out / "table2.md", note + markdown_table(
            TABLE2_HEADER, _spread_cells(per_seed2), title=f"Table 2 ({name}), {title}",
            paper=PAPER_TABLE2.get(name))),
        "table2.csv": _csv(out / "table2.csv", ["training_set", "seed", *TABLE2_COLUMNS],
                           _spread_csv_rows(per_seed2)),
    }


def _figure(panels: list[list[tuple[str, np.ndarray]]], path: Path) -> Path:
    rows, columns = len(panels), len(panels[0])
    figure = Figure(figsize=(2.4 * columns, 2.4 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
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
    image, labels = load_pair(sample)
    line = [("image", _central(image)), ("mask", _central(labels))]
    for train_set in ("R", "S*"):
        segment = load_segmenter(out / "segnet" / train_set)
        line.append((f"SegNet {train_set}", _central(segment(image))))
    return _figure([line], out / "figure_segmentation.png")
