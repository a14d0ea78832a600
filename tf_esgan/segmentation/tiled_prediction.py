"""SegNet outputs of an image of any size: whole if it fits in one tile, else overlapping tiles.

An image whose sides are both <= `tile_size` runs whole, reflect-padded to the next
multiple of 32 (`evaluate.predict_maps`). A larger one is cut into windows of
`tile_size` x `tile_size` that overlap by `2 * margin`: each window keeps only its
central `tile_size - 2 * margin` square, so every kept pixel saw at least `margin`
pixels of context on every side (the image itself is reflect-padded by `margin`, as
the whole-image path pads its bottom/right). Memory then stays that of one tile
whatever the image size.
"""

from __future__ import annotations

import keras
import numpy as np

from tf_esgan.models.segnet import SIZE_MULTIPLE
from tf_esgan.segmentation.scoring import predict_maps

#: 1024 runs a 1000x1000 MoNuSeg image whole and keeps a 64-filter SegNet's activations
#: at about 1 GB.
DEFAULT_TILE_SIZE = 1024
DEFAULT_MARGIN = 64


def check_tiling(tile_size: int, margin: int, owner: str) -> None:
    """Raises ValueError naming `owner` unless the tile is a multiple of 32 larger than 2 * margin."""
    if tile_size < SIZE_MULTIPLE or tile_size % SIZE_MULTIPLE:
        raise ValueError(f"{owner}: `tile_size` must be a positive multiple of {SIZE_MULTIPLE}, got {tile_size}")
    if margin < 0 or tile_size - 2 * margin < 1:
        raise ValueError(f"{owner}: `margin` must be >= 0 and < tile_size / 2 = {tile_size / 2}, got {margin}")


def predict_maps_tiled(model: keras.Model, image: np.ndarray, *, tile_size: int = DEFAULT_TILE_SIZE,
                       margin: int = DEFAULT_MARGIN) -> np.ndarray:
    """SegNet outputs of one image of any size (see the module docstring).

    Args:
      model: RGB [B, h, w, 3] in [0, 255] -> float [B, h, w, C], h and w multiples of 32.
      image: uint8 RGB [H, W, 3], any H, W >= 1.
      tile_size, margin: window side and the context discarded on each side of a window.
    Returns:
      float32 [H, W, C].
    """
    check_tiling(tile_size, margin, "predict_maps_tiled")
    image = np.asarray(image)
    height, width = image.shape[:2]
    if height <= tile_size and width <= tile_size:
        return predict_maps(model, image)
    core = tile_size - 2 * margin
    padded = np.pad(image, [(margin, margin + -height % core), (margin, margin + -width % core), (0, 0)],
                    mode="symmetric")
    maps = None
    for top in range(0, height, core):
        for left in range(0, width, core):
            window = predict_maps(model, padded[top:top + tile_size, left:left + tile_size])
            kept = window[margin:margin + min(core, height - top), margin:margin + min(core, width - left)]
            if maps is None:
                maps = np.zeros((height, width, window.shape[-1]), np.float32)
            maps[top:top + kept.shape[0], left:left + kept.shape[1]] = kept
    return maps
