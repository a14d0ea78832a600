"""Table 1 evaluation: synthesize every real image from its own mask and score it.

Real images are larger than the generator's input (TNBC 512, MoNuSeg 1000 px), so each
image is cut into generator-sized tiles (a grid whose last row/column is aligned with the
image border, overlapping the previous one when the size is not a multiple). Each tile's
conditioning map is built from the tile's own mask, as in training. SSIM, FSIM and GMSD
are computed per tile (the paper's 256x256 patches) and averaged per image and over all
tiles; with a segmenter, the synthetic images are segmented and scored against the masks
(AJI, the last column of Table 1).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

from tf_esgan.data import skeleton
from tf_esgan.data.datasets import Sample, load_pair
from tf_esgan.data.image_io import write_image
from tf_esgan.data.image_range import to_uint8
from tf_esgan.evaluation.markdown_table import format_score, markdown_table
from tf_esgan.io_utils import atomic_path
from tf_esgan.metrics.image_quality import fsim, gmsd, ssim
from tf_esgan.metrics.segmentation import aggregate, instance_counts

#: A generator as a function: condition float32 [B, S, S, 1] -> images in [-1, 1] [B, S, S, 3].
GenerateFn = Callable[[np.ndarray], np.ndarray]
#: A segmenter: uint8 RGB [H, W, 3] -> int32 instance labels [H, W].
SegmentFn = Callable[[np.ndarray], np.ndarray]

COLUMNS = ("ssim", "fsim", "gmsd")
#: Table 1's columns (the image scores, then the AJI of a segmentation) and their titles.
TABLE1_COLUMNS = (*COLUMNS, "aji")
TABLE1_HEADER = ("Method", "SSIM↑", "FSIM↑", "GMSD↓", "AJI↑")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TileScores:
    sample_id: str
    top: int
    left: int
    ssim: float
    fsim: float
    gmsd: float


def tile_origins(length: int, tile: int) -> list[int]:
    """Tile starts covering [0, length): a grid, the last one aligned with the end."""
    if length < tile:
        raise ValueError(f"image side {length} is smaller than the {tile}-pixel tile")
    count = math.ceil(length / tile)
    return sorted({min(i * tile, length - tile) for i in range(count)})


def synthesize_image(labels: np.ndarray, generate: GenerateFn, kind: str, tile: int,
                     batch_size: int = 8) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A synthetic uint8 RGB image of the labels' size, tile by tile, and the tile origins."""
    origins = [(top, left) for top in tile_origins(labels.shape[0], tile)
               for left in tile_origins(labels.shape[1], tile)]
    conditions = np.stack([skeleton.conditioning(labels[t:t + tile, l:l + tile], kind) for t, l in origins])
    out = np.zeros((*labels.shape, 3), np.uint8)
    for start in range(0, len(origins), batch_size):
        images = to_uint8(generate(conditions[start:start + batch_size]))
        for (top, left), image in zip(origins[start:start + batch_size], images):
            out[top:top + tile, left:left + tile] = image
    return out, origins


def score_tiles(real: np.ndarray, synthetic: np.ndarray, origins: Sequence[tuple[int, int]],
                tile: int, sample_id: str) -> list[TileScores]:
    """SSIM, FSIM, GMSD of each tile (uint8 inputs scaled to [0, 1])."""
    def stack(image):
        return tf.constant(np.stack([image[t:t + tile, l:l + tile] for t, l in origins]), tf.float32) / 255.0
    real_tiles, synthetic_tiles = stack(real), stack(synthetic)
    values = {name: fn(real_tiles, synthetic_tiles).numpy() for name, fn in
              (("ssim", ssim), ("fsim", fsim), ("gmsd", gmsd))}
    return [TileScores(sample_id=sample_id, top=t, left=l, **{k: float(v[i]) for k, v in values.items()})
            for i, (t, l) in enumerate(origins)]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Table1Result:
    tiles: list[TileScores]
    per_image: dict[str, dict[str, float]]
    mean: dict[str, float]
    aji: float | None


def evaluate_image_quality(samples: Sequence[Sample], generate: GenerateFn, *, kind: str, tile: int = 256,
                           batch_size: int = 8, segment: SegmentFn | None = None,
                           out_dir: str | None = None, progress: Callable[[int], None] | None = None
                           ) -> Table1Result:
    """Synthesizes each sample from its own mask and scores it against the real image.

    Args:
      samples: real image/mask pairs (each side >= `tile`).
      generate: the generator as a function (see `GenerateFn`).
      kind: conditioning kind the generator was trained on.
      tile: generator input size.
      segment: optional segmenter; adds AJI of its segmentation of the synthetic images.
      out_dir: if given, the synthetic images are written there as `<id>.png`.
      progress: called with the number of images done.
    Returns:
      Per-tile scores, per-image means, the mean over all tiles, and the AJI (mean of
      per-image values, HoVer-Net's convention) when a segmenter is given.
    """
    tiles: list[TileScores] = []
    counts = []
    for done, sample in enumerate(samples, start=1):
        real, labels = load_pair(sample)
        synthetic, origins = synthesize_image(labels, generate, kind, tile, batch_size)
        if out_dir is not None:
            write_image(Path(out_dir) / f"{sample.id}.png", synthetic)
        tiles += score_tiles(real, synthetic, origins, tile, sample.id)
        if segment is not None:
            counts.append(instance_counts(labels, segment(synthetic)))
        if progress is not None:
            progress(done)
    per_image = {}
    for sample in samples:
        own = [t for t in tiles if t.sample_id == sample.id]
        per_image[sample.id] = {c: float(np.mean([getattr(t, c) for t in own])) for c in COLUMNS}
    mean = {c: float(np.mean([getattr(t, c) for t in tiles])) for c in COLUMNS}
    aji = aggregate(counts).mean_aji if counts else None
    return Table1Result(tiles=tiles, per_image=per_image, mean=mean, aji=aji)


def table1_markdown(rows: dict[str, Table1Result]) -> str:
    """Markdown in the layout of the paper's Table 1 (one dataset), one row per method."""
    cells = {method: [format_score(result.mean[c]) for c in COLUMNS] + [format_score(result.aji)]
             for method, result in rows.items()}
    return markdown_table(TABLE1_HEADER, cells)


def write_reports(result: Table1Result, method: str, out_dir: str | Path) -> dict[str, Path]:
    """tiles.csv, per_image.csv, table1.md and summary.json in `out_dir` (atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("tiles.csv", "per_image.csv", "table1.md", "summary.json")}
    with atomic_path(paths["tiles.csv"]) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "top", "left", *COLUMNS])
        for t in result.tiles:
            writer.writerow([t.sample_id, t.top, t.left, *(f"{getattr(t, c):.6f}" for c in COLUMNS)])
    with atomic_path(paths["per_image.csv"]) as temporary, open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", *COLUMNS])
        for sample_id, values in result.per_image.items():
            writer.writerow([sample_id, *(f"{values[c]:.6f}" for c in COLUMNS)])
    with atomic_path(paths["table1.md"]) as temporary:
        temporary.write_text(table1_markdown({method: result}))
    with atomic_path(paths["summary.json"]) as temporary:
        temporary.write_text(json.dumps({"method": method, "tiles": len(result.tiles), "mean": result.mean,
                                         "aji": result.aji}, indent=2))
    return paths
