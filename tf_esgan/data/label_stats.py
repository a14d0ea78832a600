"""Size, density and contact statistics of nucleus instance label maps.

Used to measure the real datasets (`benchmarks/measure_nuclei_stats.py`) and to check that
the synthetic masks of `tf_esgan.data.masks` match them (tests/data/test_masks.py). The
same function measures both, so border effects and tiling affect them alike.

Definitions, per label map (int [H, W], 0 = background, other values = nucleus ids):
- equivalent radius of a nucleus: sqrt(area / pi) in pixels. Nuclei cut by the map's
  border are left out of the radii (their visible area is not their size).
- count: number of distinct non-zero ids (border-cut nuclei included), i.e. nuclei
  visible in the map.
- touching: a nucleus touches another if one of its pixels is 8-adjacent to a pixel of a
  different non-zero id.
- aspect ratio: sqrt(largest / smallest eigenvalue) of the pixel covariance (1 = round),
  non-border nuclei of at least 3 pixels only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from tf_esgan.data.labels import check_label_map

DEFAULT_TILE = 256  # the generator's input size (paper, Sec. 3.1)
# The four neighbour offsets that, with their mirror images, make up 8-adjacency.
_HALF_NEIGHBOURHOOD = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclasses.dataclass(frozen=True, kw_only=True)
class LabelStats:
    """Statistics of one label map.

    Attributes:
      count: nuclei visible in the map.
      touching: how many of them touch another nucleus.
      radii: float64 [K], equivalent radii (px) of the K nuclei not cut by the border.
      aspect_ratios: float64 [K'], aspect ratios of the non-border nuclei with >= 3 px.
      area: H * W of the map in pixels.
    """

    count: int
    touching: int
    radii: np.ndarray
    aspect_ratios: np.ndarray
    area: int


def measure_label_stats(labels: np.ndarray) -> LabelStats:
    """Measures one instance label map (see the module docstring for the definitions).

    Args:
      labels: integer [H, W], 0 = background; ids need not be consecutive.
    """
    labels = check_label_map(labels, name="labels")
    ids, compact = np.unique(labels, return_inverse=True)
    compact = compact.reshape(labels.shape)
    if ids[0] != 0:  # no background pixel at all: shift so that 0 stays background
        compact = compact + 1
    count = int(np.count_nonzero(ids))
    height, width = labels.shape
    if count == 0:
        empty = np.zeros(0)
        return LabelStats(count=0, touching=0, radii=empty, aspect_ratios=empty,
                          area=height * width)

    touches = np.zeros(count + 1, bool)
    for dy, dx in _HALF_NEIGHBOURHOOD:
        # a = pixel (y, x), b = its neighbour (y + dy, x + dx), over all valid pairs.
        cols_a = slice(max(0, -dx), width - max(0, dx))
        cols_b = slice(max(0, dx), width - max(0, -dx))
        a = compact[: height - dy, cols_a]
        b = compact[dy:, cols_b]
        contact = (a != b) & (a > 0) & (b > 0)
        touches[a[contact]] = True
        touches[b[contact]] = True

    flat = compact.ravel()
    area = np.bincount(flat, minlength=count + 1).astype(np.float64)
    on_border = np.zeros(count + 1, bool)
    on_border[np.concatenate([compact[0], compact[-1], compact[:, 0], compact[:, -1]])] = True
    inner = ~on_border
    inner[0] = False
    radii = np.sqrt(area[inner] / np.pi)

    rows, cols = np.indices(labels.shape)
    rows, cols = rows.ravel().astype(np.float64), cols.ravel().astype(np.float64)
    safe_area = np.maximum(area, 1.0)

    def moment(weights):
        return np.bincount(flat, weights=weights, minlength=count + 1) / safe_area

    mean_r, mean_c = moment(rows), moment(cols)
    var_r = moment(rows * rows) - mean_r**2
    var_c = moment(cols * cols) - mean_c**2
    cov = moment(rows * cols) - mean_r * mean_c
    # Eigenvalues of the 2x2 covariance; 1/12 is the variance of a unit pixel, so that a
    # single row of pixels still has a finite aspect ratio.
    half_trace = (var_r + var_c) / 2 + 1 / 12
    root = np.sqrt(np.maximum(((var_r - var_c) / 2) ** 2 + cov**2, 0.0))
    aspect = np.sqrt((half_trace + root) / np.maximum(half_trace - root, 1e-12))
    big_inner = inner & (area >= 3)
    return LabelStats(count=count, touching=int(touches[1:].sum()), radii=radii,
                      aspect_ratios=aspect[big_inner], area=height * width)


def tile_label_map(labels: np.ndarray, tile: int = DEFAULT_TILE) -> list[np.ndarray]:
    """Cuts a label map into tile x tile crops that cover it with the least overlap.

    Crops start at evenly spaced positions from 0 to size - tile on each axis, so a
    439-px side gives crops at 0 and 183. A side shorter than `tile` is kept whole.
    """
    def starts(size):
        if size <= tile:
            return [0]
        return np.linspace(0, size - tile, int(np.ceil(size / tile))).round().astype(int)

    return [labels[y:y + tile, x:x + tile]
            for y in starts(labels.shape[0]) for x in starts(labels.shape[1])]


def summarise_stats(stats: Sequence[LabelStats]) -> dict[str, float]:
    """Pools per-map statistics into the numbers the presets are fitted to.

    Returns a dict with:
      maps, nuclei: how many maps and nuclei were pooled;
      mean_radius, median_radius: over all non-border nuclei (px);
      radius_log_std: std of log radius around each map's own mean (within-map spread);
      size_bias_log_std: std over maps of their mean log radius (per-map size bias), maps
        with >= 3 non-border nuclei only;
      count_per_map: mean nuclei count per map; count_cv: its std / mean over maps;
      nuclei_per_256: count per 256 x 256 px, area-weighted;
      touching_fraction: touching nuclei / all nuclei;
      mean_aspect_ratio: mean aspect ratio of non-border nuclei.
    """
    stats = list(stats)
    if not stats:
        raise ValueError("stats: expected at least one LabelStats, got none")
    radii = np.concatenate([s.radii for s in stats])
    counts = np.array([s.count for s in stats], np.float64)
    nuclei = int(counts.sum())
    log_means, deviations = [], []
    for s in stats:
        if s.radii.size >= 3:
            log_r = np.log(s.radii)
            log_means.append(log_r.mean())
            deviations.append(log_r - log_r.mean())
    deviations = np.concatenate(deviations) if deviations else np.zeros(0)
    aspects = np.concatenate([s.aspect_ratios for s in stats])
    nan = float("nan")
    return {
        "maps": len(stats),
        "nuclei": nuclei,
        "mean_radius": float(radii.mean()) if radii.size else nan,
        "median_radius": float(np.median(radii)) if radii.size else nan,
        "radius_log_std": float(deviations.std()) if deviations.size else nan,
        "size_bias_log_std": float(np.std(log_means)) if len(log_means) > 1 else nan,
        "count_per_map": float(counts.mean()),
        "count_cv": float(counts.std() / counts.mean()) if counts.mean() > 0 else nan,
        "nuclei_per_256": float(nuclei / sum(s.area for s in stats) * DEFAULT_TILE**2),
        "touching_fraction": float(sum(s.touching for s in stats) / nuclei) if nuclei else nan,
        "mean_aspect_ratio": float(aspects.mean()) if aspects.size else nan,
    }


def measure_tiles(label_maps: Iterable[np.ndarray], tile: int = DEFAULT_TILE) -> dict[str, float]:
    """Tiles every map into tile x tile crops (`tile_label_map`) and summarises them."""
    return summarise_stats([measure_label_stats(crop)
                            for labels in label_maps for crop in tile_label_map(labels, tile)])
