"""Builds the embedded demo sample tf_esgan/data/sample/ from canonical TNBC data.

    python tools/make_demo_sample.py --tnbc=../shared/datasets/tnbc

Picks, from four different slides, the 256x256 crop with the most pairs of touching
nuclei (distinct labels at most --reach pixels apart: the binary TNBC ground truth merges
nuclei in direct contact, so annotated neighbours are separated by a thin seam),
relabels it 1..N and writes it in the canonical layout. Deterministic: same input, same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from absl import app, flags
from skimage.segmentation import relabel_sequential

from tf_esgan.data.datasets import IMAGES_DIR, MASKS_DIR, list_samples, load_pair
from tf_esgan.data.image_io import write_image, write_mask

_TNBC = flags.DEFINE_string("tnbc", None, "Canonical TNBC folder (images/, masks/).")
_OUT = flags.DEFINE_string(
    "out", str(Path(__file__).resolve().parents[1] / "tf_esgan" / "data" / "sample"),
    "Output folder.")
_CROP = flags.DEFINE_integer("crop", 256, "Crop side in pixels.")
_STRIDE = flags.DEFINE_integer("stride", 32, "Step between candidate crop corners.")
_REACH = flags.DEFINE_integer(
    "reach", 3, "Nuclei at most this many pixels apart count as touching (the 4-connected "
    "TNBC labelling merges nuclei in direct contact, so true neighbours are 1-3 px apart).")
_COUNT = flags.DEFINE_integer("count", 4, "Number of crops (one per slide).")
flags.mark_flag_as_required("tnbc")


def touching_contacts(labels: np.ndarray, reach: int) -> list[tuple[int, int, int, int]]:
    """(label_a, label_b, row, col) for each pixel pair of distinct nuclei at most `reach`
    pixels apart (Chebyshev distance)."""
    contacts = []
    height, width = labels.shape
    padded = np.pad(labels, reach)
    # Half of the neighbourhood suffices: each unordered pixel pair is seen once.
    offsets = [(d_row, d_col) for d_row in range(reach + 1) for d_col in range(-reach, reach + 1)
               if d_row > 0 or d_col > 0]
    for d_row, d_col in offsets:
        neighbour = padded[reach + d_row:reach + d_row + height,
                           reach + d_col:reach + d_col + width]
        touching = (labels > 0) & (neighbour > 0) & (labels != neighbour)
        rows, cols = np.nonzero(touching)
        for row, col, a, b in zip(rows, cols, labels[touching], neighbour[touching]):
            contacts.append((int(min(a, b)), int(max(a, b)), int(row), int(col)))
    return contacts


def best_crop(labels: np.ndarray, crop: int, stride: int) -> tuple[int, int, int]:
    """(touching pair count, top, left) of the crop with most touching pairs."""
    contacts = touching_contacts(labels, _REACH.value)
    best = (-1, 0, 0)
    for top in range(0, labels.shape[0] - crop + 1, stride):
        for left in range(0, labels.shape[1] - crop + 1, stride):
            pairs = {(a, b) for a, b, row, col in contacts
                     if top <= row < top + crop and left <= col < left + crop}
            best = max(best, (len(pairs), -top, -left))
    return best[0], -best[1], -best[2]


def main(argv: list[str]) -> None:
    del argv
    candidates = []
    for sample in list_samples(_TNBC.value):
        _, labels = load_pair(sample)
        pairs, top, left = best_crop(labels, _CROP.value, _STRIDE.value)
        candidates.append((pairs, sample, top, left))
    candidates.sort(key=lambda item: (-item[0], item[1].id))
    out = Path(_OUT.value)
    for folder in (IMAGES_DIR, MASKS_DIR):
        (out / folder).mkdir(parents=True, exist_ok=True)
    used_slides: set[str] = set()
    for pairs, sample, top, left in candidates:
        slide = sample.id.split("_")[0]
        if slide in used_slides:
            continue
        used_slides.add(slide)
        image, labels = load_pair(sample)
        window = (slice(top, top + _CROP.value), slice(left, left + _CROP.value))
        crop_labels = relabel_sequential(labels[window])[0]
        crop_id = f"tnbc_{sample.id}_y{top}_x{left}"
        write_image(out / IMAGES_DIR / f"{crop_id}.png", np.ascontiguousarray(image[window]))
        write_mask(out / MASKS_DIR / f"{crop_id}.png", crop_labels)
        print(f"{crop_id}: {crop_labels.max()} nuclei, {pairs} touching pairs")
        if len(used_slides) == _COUNT.value:
            break


if __name__ == "__main__":
    app.run(main)
