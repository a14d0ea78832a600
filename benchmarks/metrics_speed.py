"""Speed of the evaluation metrics; prints one JSON object.

- Image quality: SSIM, FSIM, FSIMc and GMSD on `--num_pairs` pairs of 256x256 crops (the
  10 reference pairs, flipped / rolled / rotated), in batches of `--batch_size`.
- Segmentation: PQ + AJI of every real mask of the shared datasets against a perturbed
  copy (each nucleus shifted by up to 3 px, 10% dropped, ids permuted), plus one synthetic
  1000x1000 map with 1,000 nuclei on each side.

Usage: python benchmarks/metrics_speed.py [--datasets_dir=../shared/datasets]
"""

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
from absl import app, flags

_DEFAULT_SHARED = Path(
    os.environ.get("ESGAN_SHARED", Path(__file__).resolve().parents[2] / "shared")
)
_DATASETS_DIR = flags.DEFINE_string(
    "datasets_dir", str(_DEFAULT_SHARED / "datasets"), "Root of the canonical datasets."
)
_NUM_PAIRS = flags.DEFINE_integer("num_pairs", 1000, "Image pairs for the image metrics.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 50, "Pairs per call (FSIM needs ~25 MB/pair).")


def _image_pairs(reference: Path, count: int, rng: np.random.Generator):
    data = np.load(reference)
    real, degraded = data["real"], data["degraded"]
    index = rng.integers(0, len(real), count)
    shifts = rng.integers(0, 256, (count, 2))
    turns = rng.integers(0, 4, count)
    def augment(images: np.ndarray) -> np.ndarray:
        rolled = (np.roll(images[i], tuple(s), (0, 1)) for i, s in zip(index, shifts))
        return np.stack([np.rot90(image, t) for image, t in zip(rolled, turns)])

    return augment(real).astype(np.float32) / 255, augment(degraded).astype(np.float32) / 255


def _time_image_metrics(a: np.ndarray, b: np.ndarray, batch_size: int) -> dict:
    from tf_esgan.metrics.image_quality import fsim, gmsd, ssim

    metrics = {
        "ssim": ssim,
        "fsim": fsim,
        "fsimc": lambda x, y: fsim(x, y, chromatic=True),
        "gmsd": gmsd,
    }
    seconds, means = {}, {}
    for name, metric in metrics.items():
        metric(a[:batch_size], b[:batch_size])  # warm-up: kernels and filter construction
        start = time.perf_counter()
        scores = [
            metric(a[i : i + batch_size], b[i : i + batch_size]).numpy()
            for i in range(0, len(a), batch_size)
        ]
        seconds[name] = round(time.perf_counter() - start, 3)
        means[name] = float(np.concatenate(scores).mean())
    three = seconds["ssim"] + seconds["fsim"] + seconds["gmsd"]
    return {"seconds": seconds, "ssim_fsim_gmsd_seconds": round(three, 3), "mean_score": means}


def _perturb(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shift each nucleus by up to 3 px, drop 10% of them and permute / spread the ids."""
    top = int(mask.max())
    offsets = rng.integers(-3, 4, (top + 1, 2))
    keep = rng.random(top + 1) > 0.1
    new_ids = np.zeros(top + 1, np.int64)
    new_ids[1:] = rng.permutation(top) * 3 + 7
    rows, cols = np.nonzero(mask)
    labels = mask[rows, cols]
    chosen = keep[labels]
    rows = np.clip(rows[chosen] + offsets[labels[chosen], 0], 0, mask.shape[0] - 1)
    cols = np.clip(cols[chosen] + offsets[labels[chosen], 1], 0, mask.shape[1] - 1)
    perturbed = np.zeros(mask.shape, np.int64)
    perturbed[rows, cols] = new_ids[labels[chosen]]
    return perturbed


def _synthetic_map(rng: np.random.Generator, size: int = 1000, grid: int = 32) -> np.ndarray:
    """1,000 disjoint blobs (a 32x32 grid of radius-10 disks, first 1,000 kept)."""
    rows, cols = np.mgrid[:size, :size]
    cell = size // grid
    cell_id = (rows // cell) * grid + cols // cell
    local_r, local_c = rows % cell - cell // 2, cols % cell - cell // 2
    inside = (local_r**2 + local_c**2 <= 100) & (cell_id < 1000)
    inside &= (rows < cell * grid) & (cols < cell * grid)
    return np.where(inside, cell_id + 1, 0).astype(np.int32)


def _time_segmentation(datasets_dir: Path, rng: np.random.Generator) -> dict:
    from tf_esgan.metrics.segmentation import aggregate, instance_counts

    masks = sorted(datasets_dir.glob("*/masks/*.png"))
    pairs = []
    for path in masks:
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.int64)
        pairs.append((mask, _perturb(mask, rng)))
    start = time.perf_counter()
    counts = [instance_counts(true, pred) for true, pred in pairs]
    seconds = time.perf_counter() - start
    scores = aggregate(counts)

    synthetic = _synthetic_map(rng)
    shifted = _perturb(synthetic, rng)
    start = time.perf_counter()
    synthetic_counts = instance_counts(synthetic, shifted)
    synthetic_seconds = time.perf_counter() - start
    return {
        "num_masks": len(pairs),
        "num_true_nuclei": int(sum(c.num_true for c in counts)),
        "num_pixels": int(sum(t.size for t, _ in pairs)),
        "seconds_pq_aji_all_masks": round(seconds, 3),
        "scores": {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in vars(scores).items()
        },
        "synthetic_1000x1000": {
            "num_true": synthetic_counts.num_true,
            "num_pred": synthetic_counts.num_pred,
            "seconds": round(synthetic_seconds, 4),
        },
    }


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    datasets_dir = Path(_DATASETS_DIR.value)
    a, b = _image_pairs(datasets_dir.parent / "reference" / "iq_pairs.npz", _NUM_PAIRS.value, rng)
    result = {
        "image_quality": {
            "num_pairs": len(a),
            "size": list(a.shape[1:3]),
            "batch_size": _BATCH_SIZE.value,
            **_time_image_metrics(a, b, _BATCH_SIZE.value),
        },
        "segmentation": _time_segmentation(datasets_dir, rng),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
