"""Dataset scores named as HoVer-Net and StarDist report them, so numbers can be compared.

Two ways of turning per-image matches into one dataset score, both from `DatasetScores`:

- `per_image_mean` (HoVer-Net's `compute_stats.py`): each image's DQ, SQ, PQ and AJI,
  then the mean over images. Every image weighs the same, whatever its nucleus count.
  Images where both maps are empty have no score and are skipped (`num_skipped`).
- `pooled` (StarDist's `matching_dataset(..., by_image=False)`): TP, FP, FN and the sum
  of matched IoUs are summed over all images first, then
      precision = TP / (TP + FP)            recall = TP / (TP + FN)
      accuracy = TP / (TP + FP + FN)        f1 = 2 TP / (2 TP + FP + FN)  (= DQ)
      mean_matched_score = IoU sum / TP  (= SQ)
      mean_true_score = IoU sum / n_true
      panoptic_quality = IoU sum / (TP + FP/2 + FN/2)  (= DQ * SQ = PQ)
  each 0 when its denominator (or TP, for precision, recall, accuracy and f1) is 0, as
  StarDist returns. Every nucleus weighs the same, so images with many nuclei count more.

Matching: a true and a predicted nucleus match when IoU > 0.5 (Kirillov et al. 2019,
HoVer-Net), which makes matches unique. StarDist matches IoU >= thresh by an optimal
assignment; at thresh 0.5 the two agree except for pairs whose IoU is exactly 0.5.
"""

from __future__ import annotations

from tf_esgan.metrics.segmentation import DatasetScores

MATCH_THRESHOLD = 0.5
CONVENTION_NOTE = (
    "per_image_mean: HoVer-Net's convention, the mean over images of each image's DQ, SQ, PQ, "
    "AJI (images with both maps empty skipped). pooled: StarDist's matching_dataset(by_image="
    "False), TP/FP/FN and matched IoU summed over all images before computing the scores; "
    "f1 = DQ, mean_matched_score = SQ, panoptic_quality = PQ. Matches: IoU > 0.5 (StarDist "
    "counts IoU >= 0.5; the two differ only for a pair with IoU exactly 0.5).")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else 0.0


def per_image_mean(scores: DatasetScores) -> dict:
    """HoVer-Net's dataset scores: means over images of DQ, SQ, PQ, AJI (floats in [0, 1], NaN if none)."""
    return {"dq": scores.mean_dq, "sq": scores.mean_sq, "pq": scores.mean_pq,
            "aji": scores.mean_aji, "num_images": scores.num_images,
            "num_skipped": scores.num_skipped}


def pooled(scores: DatasetScores) -> dict:
    """StarDist's `DatasetMatching` fields (by_image=False, criterion IoU, thresh 0.5).

    Returns:
      {"criterion", "thresh", "by_image", "tp", "fp", "fn", "n_true", "n_pred",
      "precision", "recall", "accuracy", "f1", "mean_true_score", "mean_matched_score",
      "panoptic_quality"}: counts as ints, scores as floats in [0, 1] (see module doc).
    """
    tp, fp, fn = scores.tp, scores.fp, scores.fn
    return {
        "criterion": "iou", "thresh": MATCH_THRESHOLD, "by_image": False,
        "tp": tp, "fp": fp, "fn": fn, "n_true": scores.num_true, "n_pred": scores.num_pred,
        "precision": _ratio(tp, tp + fp) if tp else 0.0,
        "recall": _ratio(tp, tp + fn) if tp else 0.0,
        "accuracy": _ratio(tp, tp + fp + fn) if tp else 0.0,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn) if tp else 0.0,
        "mean_true_score": _ratio(scores.iou_sum, scores.num_true),
        "mean_matched_score": _ratio(scores.iou_sum, tp),
        "panoptic_quality": _ratio(scores.iou_sum, tp + fp / 2 + fn / 2),
    }


def convention_blocks(scores: DatasetScores) -> dict:
    """The report blocks {"per_image_mean": ..., "pooled": ..., "score_conventions": note}."""
    return {"per_image_mean": per_image_mean(scores), "pooled": pooled(scores),
            "score_conventions": CONVENTION_NOTE}
