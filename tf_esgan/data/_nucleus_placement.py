"""Places rasterised nuclei into one instance label map (helper of `tf_esgan.data.masks`).

Overlap and contact are checked against the label raster itself, not polygon geometry:
a nucleus is a small boolean stamp, and a placement is tested by reading the labels
under the stamp (overlap) or under its 3 x 3 dilation (contact).
"""

from __future__ import annotations

import cv2
import numpy as np

_CONTACT_KERNEL = np.ones((3, 3), np.uint8)  # 8-adjacency


def place_nuclei(shape: tuple[int, int], stamps: list[np.ndarray], radii: np.ndarray,
                 touch_probability: float, max_overlap: float, max_tries: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Stamps nuclei one by one; later nuclei win contested pixels.

    Args:
      shape: (H, W) of the label map.
      stamps: per nucleus, uint8 [S, S] (S odd) polygon centred on pixel (S // 2, S // 2)
        with an empty 1-px border.
      radii: float [N] equivalent radii in px (sets the push-in depth of touching nuclei).
      touch_probability: chance that a nucleus is slid against an earlier one instead of
        being kept one free pixel away from all of them.
      max_overlap: largest fraction of the smaller nucleus of a pair that the later one
        may hide.
      max_tries: positions tried per nucleus; a nucleus with no valid one is left out.
      rng: source of positions, directions and depths.

    Returns:
      int32 [H, W], 0 = background, 1..N consecutive (hidden nuclei dropped, renumbered).
    """
    placer = _Placer(shape, len(stamps), max_overlap)
    for stamp, radius in zip(stamps, radii):
        mask = stamp.astype(bool)
        halo = cv2.dilate(stamp, _CONTACT_KERNEL).astype(bool)
        touching = placer.placed and rng.random() < touch_probability
        for _ in range(max_tries):
            if touching:
                position = placer.contact_position(mask, halo, radius, rng)
            else:
                position = placer.free_position(mask, halo, rng)
            if position is not None:
                placer.stamp(mask, *position)
                break
    return placer.relabelled()


class _Placer:
    """The growing label map, visible area per id and the placed centres."""

    def __init__(self, shape, capacity, max_overlap):
        self.height, self.width = shape
        self.labels = np.zeros(shape, np.int32)
        self.areas = np.zeros(capacity + 1, np.int64)  # visible pixels per id
        self.max_overlap = max_overlap
        self.placed = []  # (row, col, half size of the stamp) per id - 1

    def _window(self, row, col, half):
        """Slices of the label map and of a (2 half + 1)^2 stamp centred at (row, col)."""
        top, left = row - half, col - half
        y0, y1 = max(top, 0), min(top + 2 * half + 1, self.height)
        x0, x1 = max(left, 0), min(left + 2 * half + 1, self.width)
        if y0 >= y1 or x0 >= x1:
            return None
        return ((slice(y0, y1), slice(x0, x1)),
                (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left)))

    def _in_contact(self, halo, row, col):
        window = self._window(row, col, halo.shape[0] // 2)
        if window is None:
            return False
        image, local = window
        return bool(self.labels[image][halo[local]].any())

    def _allowed(self, mask, row, col):
        """True if the stamp shows at least one pixel and hides little enough of others."""
        window = self._window(row, col, mask.shape[0] // 2)
        if window is None:
            return False
        image, local = window
        under = self.labels[image][mask[local]]
        if under.size == 0:
            return False
        hidden = np.bincount(under)
        hidden[0] = 0
        ids = np.flatnonzero(hidden)
        if ids.size == 0:
            return True
        share = hidden[ids] / np.minimum(under.size, self.areas[ids])
        return bool(share.max() <= self.max_overlap)

    def free_position(self, mask, halo, rng):
        """A uniform centre in the map whose stamp is not 8-adjacent to any nucleus."""
        row, col = int(rng.integers(self.height)), int(rng.integers(self.width))
        window = self._window(row, col, mask.shape[0] // 2)
        if window is None:
            return None
        image, local = window
        # Mask and halo stamps share one frame, so one window serves both.
        if self.labels[image][halo[local]].any() or not mask[local].any():
            return None
        return row, col

    def contact_position(self, mask, halo, radius, rng):
        """Slides the stamp towards a random placed nucleus until first contact.

        Starts where the two stamps cannot touch and moves 1 px at a time along a random
        direction, so at first contact the new nucleus is 8-adjacent without overlap.
        It is then pushed in by up to max_overlap * 2 * radius px (halving the push
        until `_allowed`).
        """
        anchor_row, anchor_col, anchor_half = self.placed[rng.integers(len(self.placed))]
        angle = rng.uniform(0, 2 * np.pi)
        step_row, step_col = np.sin(angle), np.cos(angle)
        half = mask.shape[0] // 2
        for distance in range(half + anchor_half, -1, -1):
            row = anchor_row + int(round(distance * step_row))
            col = anchor_col + int(round(distance * step_col))
            if self._in_contact(halo, row, col):
                break
        else:
            return None
        push = rng.uniform(0, 1) * self.max_overlap * 2 * radius
        while push >= 1:
            pushed = distance - push
            pushed_row = anchor_row + int(round(pushed * step_row))
            pushed_col = anchor_col + int(round(pushed * step_col))
            if self._allowed(mask, pushed_row, pushed_col):
                return pushed_row, pushed_col
            push /= 2
        return (row, col) if self._allowed(mask, row, col) else None

    def stamp(self, mask, row, col):
        image, local = self._window(row, col, mask.shape[0] // 2)
        region = self.labels[image]
        pixels = mask[local]
        hidden = np.bincount(region[pixels])
        new_id = len(self.placed) + 1
        self.areas[: hidden.size] -= hidden
        region[pixels] = new_id
        self.areas[new_id] = int(pixels.sum())
        self.areas[0] = 0
        self.placed.append((row, col, mask.shape[0] // 2))

    def relabelled(self):
        """The label map with fully hidden nuclei dropped and ids made consecutive."""
        count = len(self.placed)
        visible = self.areas[1:count + 1] > 0
        if visible.all():
            return self.labels
        lookup = np.zeros(count + 1, np.int32)
        lookup[1:][visible] = np.arange(1, int(visible.sum()) + 1, dtype=np.int32)
        return lookup[self.labels]
