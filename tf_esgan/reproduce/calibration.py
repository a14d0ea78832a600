"""Table 1's calibration rows: what a content-free image and the real images score.

`flat`: every held-out tile replaced by one colour, the mean colour of the training
images, and scored exactly like a generator's output (SSIM, FSIM, GMSD against the real
tiles; AJI of SegNet-R on it). It shows what the image-quality scores give an image that
carries no nuclei at all.
`real`: SegNet-R on the real held-out images, AJI scored the same way as on the
synthetic ones (per-image AJI against the masks, averaged), the figure the Table 1 AJI
column ("segments synthetic images about as well as real ones") is read against.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tf_esgan.data.datasets import Sample, load_pair
from tf_esgan.data.image_io import read_image
from tf_esgan.data.image_range import from_uint8
from tf_esgan.metrics.segmentation import aggregate, instance_counts

CALIBRATION_ROWS = ("flat", "real")
#: The conditioning map is built and ignored by the flat "generator"; binary is cheapest.
FLAT_CONDITIONING = "binary"


def mean_colour(samples: Sequence[Sample]) -> np.ndarray:
    """Mean RGB over every pixel of `samples`' images, float64 [3] in [0, 255]."""
    if not samples:
        raise ValueError("samples: expected the training images to average, got none")
    total, pixels = np.zeros(3, np.float64), 0
    for sample in samples:
        image = read_image(sample.image_path)
        total += image.reshape(-1, 3).sum(axis=0, dtype=np.float64)
        pixels += image.shape[0] * image.shape[1]
    return total / pixels


def flat_generate(colour: np.ndarray):
    """A "generator" that ignores its condition: [B, S, S, 1] -> `colour` (0-255) in [-1, 1]."""
    value = from_uint8(colour)

    def generate(condition: np.ndarray) -> np.ndarray:
        return np.broadcast_to(value, (*np.shape(condition)[:3], 3))

    return generate


def real_image_aji(samples: Sequence[Sample], segment) -> float:
    """Mean per-image AJI of `segment` (uint8 RGB -> labels) on the real images."""
    counts = []
    for sample in samples:
        image, labels = load_pair(sample)
        counts.append(instance_counts(labels, segment(image)))
    return aggregate(counts).mean_aji
