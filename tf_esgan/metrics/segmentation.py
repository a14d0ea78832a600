"""Instance-segmentation metrics: panoptic quality (DQ, SQ, PQ) and AJI, in numpy.

Inputs are two instance label maps of the same 2-D shape: 0 is background and every
other value one nucleus (ids need not be contiguous). Everything is derived from one
sparse table of pairwise intersections built from the pixels' combined (true, pred) ids,
so the cost is one pass over the pixels plus a sort of the overlapping pairs, not one
boolean mask per pair.

Dataset scores come two ways (`aggregate`):
- "mean": the mean over images of the per-image scores (HoVer-Net's convention); images
  where both maps are empty score NaN and are skipped (and counted).
- "pooled": TP / FP / FN / summed IoU and the AJI intersections / unions are summed over
  all images first, and the scores computed once from the totals.
"""

import dataclasses
from collections.abc import Iterable

import numpy as np

from tf_esgan.data.labels import check_label_map

# A true and a predicted nucleus match when their IoU is strictly above this (Kirillov et
# al. 2019); above 0.5 each nucleus can have at most one match.
_MATCH_IOU = 0.5


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceCounts:
    """Per-image sufficient statistics of PQ and AJI (summable over images).

    Attributes:
        num_true, num_pred: nuclei in the true / predicted map.
        tp, fp, fn: matched pairs (IoU > 0.5), unmatched predicted, unmatched true nuclei.
        iou_sum: sum of the IoU of the matched pairs.
        aji_intersection, aji_union: AJI numerator and denominator in pixels.
    """

    num_true: int
    num_pred: int
    tp: int
    fp: int
    fn: int
    iou_sum: float
    aji_intersection: int
    aji_union: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetScores:
    """Dataset-level PQ and AJI, both aggregations.

    Attributes:
        mean_dq, mean_sq, mean_pq, mean_aji: mean over images of the per-image scores,
            skipping images where both maps are empty (NaN if all are).
        pooled_dq, pooled_sq, pooled_pq, pooled_aji: scores of the summed counts.
        num_images: images aggregated.
        num_skipped: images skipped by the means because both maps were empty.
        num_true, num_pred, tp, fp, fn, iou_sum: the pooled counts (sums over images),
            from which `score_conventions` names the scores as StarDist does.
    """

    mean_dq: float
    mean_sq: float
    mean_pq: float
    mean_aji: float
    pooled_dq: float
    pooled_sq: float
    pooled_pq: float
    pooled_aji: float
    num_images: int
    num_skipped: int
    num_true: int
    num_pred: int
    tp: int
    fp: int
    fn: int
    iou_sum: float


def _dense_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel to 0 (background), 1..N in increasing id order; also return the areas [N+1]."""
    flat = labels.reshape(-1)
    top = int(flat.max()) if flat.size else 0
    if top <= flat.size + 65536:  # a lookup table is cheaper than sorting the pixels
        present = np.bincount(flat, minlength=top + 1) > 0
        present[0] = True  # index 0 stays background even when no pixel is 0
        dense = (np.cumsum(present) - 1)[flat]
        return dense, np.bincount(dense, minlength=int(present.sum()))
    ids, dense = np.unique(flat, return_inverse=True)
    dense = dense.reshape(-1)
    has_background = ids[0] == 0
    if not has_background:
        dense = dense + 1
    return dense, np.bincount(dense, minlength=len(ids) + (not has_background))


def instance_counts(true: np.ndarray, pred: np.ndarray) -> InstanceCounts:
    """PQ and AJI counts of one image.

    Args:
        true, pred: int [H, W] instance label maps (0 = background), ids >= 0, any gaps;
            floats with integral values are accepted.

    Returns:
        The `InstanceCounts` of the pair.
    """
    # Instance label maps only: a binary mask here would be scored as one nucleus.
    true = check_label_map(true, name="true").astype(np.int64, copy=False)
    pred = check_label_map(pred, name="pred").astype(np.int64, copy=False)
    if true.shape != pred.shape:
        raise ValueError(f"`true` {true.shape} and `pred` {pred.shape} must have the same shape")
    true_ids, true_areas = _dense_ids(true)
    pred_ids, pred_areas = _dense_ids(pred)
    num_true, num_pred = len(true_areas) - 1, len(pred_areas) - 1

    # Sparse intersection table: one code per (true, pred) pair that shares pixels.
    codes = true_ids.astype(np.int64) * (num_pred + 1) + pred_ids
    codes = codes[(true_ids > 0) & (pred_ids > 0)]
    if (num_true + 1) * (num_pred + 1) <= 4 * codes.size + 1024:
        table = np.bincount(codes, minlength=(num_true + 1) * (num_pred + 1))
        pair_codes = np.flatnonzero(table)
        intersection = table[pair_codes]
    else:  # many ids, few pixels: a dense table would be larger than the image
        pair_codes, intersection = np.unique(codes, return_counts=True)
    pair_true, pair_pred = np.divmod(pair_codes, num_pred + 1)
    union = true_areas[pair_true] + pred_areas[pair_pred] - intersection
    iou = intersection / union

    matched = iou > _MATCH_IOU
    tp = int(np.count_nonzero(matched))

    # AJI: each true nucleus takes the overlapping prediction of largest IoU (ties: the
    # smallest predicted id, i.e. the first in id order as argmax would).
    order = np.lexsort((pair_pred, -iou, pair_true))
    first = np.ones(order.size, dtype=bool)
    first[1:] = pair_true[order][1:] != pair_true[order][:-1]
    best = order[first]
    paired_pred = np.unique(pair_pred[best])
    unpaired_true_area = true_areas[1:].sum() - true_areas[pair_true[best]].sum()
    unpaired_pred_area = pred_areas[1:].sum() - pred_areas[paired_pred].sum()
    return InstanceCounts(
        num_true=num_true,
        num_pred=num_pred,
        tp=tp,
        fp=num_pred - tp,
        fn=num_true - tp,
        iou_sum=float(iou[matched].sum()),
        aji_intersection=int(intersection[best].sum()),
        aji_union=int(union[best].sum() + unpaired_true_area + unpaired_pred_area),
    )


def _pq_from_counts(tp: int, fp: int, fn: int, iou_sum: float) -> tuple[float, float, float]:
    if tp + fp + fn == 0:
        return float("nan"), float("nan"), float("nan")
    dq = tp / (tp + 0.5 * fp + 0.5 * fn)
    sq = iou_sum / tp if tp else 0.0
    return dq, sq, dq * sq


def _aji_from_counts(intersection: int, union: int) -> float:
    return intersection / union if union else float("nan")


def panoptic_quality(true: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Panoptic quality (Kirillov et al. 2019, eq. 1) of one image, split as DQ * SQ.

    A match is a (true, pred) pair with IoU > 0.5. DQ = TP / (TP + FP/2 + FN/2),
    SQ = mean IoU of the matches (0 if none), PQ = DQ * SQ.

    Args:
        true, pred: int [H, W] instance label maps (see `instance_counts`).

    Returns:
        (dq, sq, pq), floats in [0, 1]; all NaN when both maps are empty, 0 when only one is.
    """
    counts = instance_counts(true, pred)
    return _pq_from_counts(counts.tp, counts.fp, counts.fn, counts.iou_sum)


def aggregated_jaccard_index(true: np.ndarray, pred: np.ndarray) -> float:
    """Aggregated Jaccard Index (Kumar et al. 2017, MoNuSeg / HoVer-Net version) of one image.

    Each true nucleus is paired with the overlapping predicted nucleus of largest IoU (a
    prediction may serve several true nuclei); AJI = sum of paired intersections /
    (sum of paired unions + areas of unpaired true nuclei + areas of never-paired
    predicted nuclei).

    Args:
        true, pred: int [H, W] instance label maps (see `instance_counts`).

    Returns:
        Float in [0, 1]; NaN when both maps are empty, 0 when only one is.
    """
    counts = instance_counts(true, pred)
    return _aji_from_counts(counts.aji_intersection, counts.aji_union)


def aggregate(counts: Iterable[InstanceCounts]) -> DatasetScores:
    """Dataset PQ / AJI from per-image counts, as per-image means and pooled (see module doc).

    Args:
        counts: `instance_counts(true, pred)` of every image.

    Returns:
        `DatasetScores`; NaN fields when there is nothing to average.
    """
    counts = list(counts)
    per_image = np.array(
        [
            _pq_from_counts(c.tp, c.fp, c.fn, c.iou_sum)
            + (_aji_from_counts(c.aji_intersection, c.aji_union),)
            for c in counts
        ],
        dtype=np.float64,
    ).reshape(-1, 4)  # columns: dq, sq, pq, aji
    skipped = np.isnan(per_image).all(axis=1)
    kept = per_image[~skipped]
    means = kept.mean(axis=0) if len(kept) else np.full(4, np.nan)

    def total(field: str) -> float:
        return sum(getattr(c, field) for c in counts)

    pooled_dq, pooled_sq, pooled_pq = _pq_from_counts(
        total("tp"), total("fp"), total("fn"), total("iou_sum")
    )
    return DatasetScores(
        mean_dq=float(means[0]),
        mean_sq=float(means[1]),
        mean_pq=float(means[2]),
        mean_aji=float(means[3]),
        pooled_dq=pooled_dq,
        pooled_sq=pooled_sq,
        pooled_pq=pooled_pq,
        pooled_aji=_aji_from_counts(total("aji_intersection"), total("aji_union")),
        num_images=len(counts),
        num_skipped=int(skipped.sum()),
        num_true=int(total("num_true")),
        num_pred=int(total("num_pred")),
        tp=int(total("tp")),
        fp=int(total("fp")),
        fn=int(total("fn")),
        iou_sum=float(total("iou_sum")),
    )
