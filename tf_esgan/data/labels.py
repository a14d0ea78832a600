"""Instance label maps: the one validation, binary-mask rule and relabelling every module uses.

An instance label map is int [H, W]: 0 = background, other values = nucleus ids (>= 0,
gaps allowed). Whole-valued floats are accepted (MATLAB and TIFF files store them);
bool arrays are masks, never label maps.

Binary-mask rule (`is_binary_mask`): a mask is binary when it is bool or when all its
values lie within {0, 1} or within {0, 255}. It looks at values only, never at the
integer dtype, because the served `from_mask` signature receives every mask as int32
and must apply the same rule (`tf_esgan.serving.mask_labels`, in TF ops; a test checks
that both agree). A binary mask is split into 4-connected components numbered in raster
order (`connected_components`), the TNBC conversion: touching nuclei merged in a binary
ground truth stay one instance. Two values without background, e.g. {1, 255}, are two
nuclei, not a binary mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.segmentation import relabel_sequential

#: The foreground value of a binary mask: 1 (0/1 masks) or 255 (8-bit 0/255 masks).
BINARY_FOREGROUND_VALUES = (1, 255)


def check_label_map(array: np.ndarray, *, name: str, error: type[Exception] = ValueError) -> np.ndarray:
    """Validates an instance label map and returns it as an array (dtype unchanged).

    Args:
      array: int [H, W] (or float with whole values), 0 = background, ids >= 0.
      name: the argument or file named in error messages.
      error: the exception type raised (e.g. `DatasetError` for files).
    Raises:
      `error` naming `name`: not 2-D, bool or non-numeric dtype, non-integer or
      non-finite values, negative ids.
    """
    array = np.asarray(array)
    if array.ndim != 2:
        raise error(f"{name}: expected a 2-D label map [H, W], got shape {array.shape}")
    if np.issubdtype(array.dtype, np.floating):
        whole = np.isfinite(array) & (array == np.round(array))
        if not np.all(whole):
            raise error(f"{name}: expected integer labels, found non-integer value {array[~whole].flat[0]}")
    elif not np.issubdtype(array.dtype, np.integer):
        raise error(f"{name}: expected an integer label map, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise error(f"{name}: expected labels >= 0, found {array.min()}")
    return array


def is_binary_mask(array: np.ndarray) -> bool:
    """True for bool arrays and arrays whose values all lie within {0, 1} or {0, 255}.

    An all-zero array counts as binary (its components are all zero as well).
    """
    array = np.asarray(array)
    if array.dtype == bool or not array.size:
        return True
    top = array.max()
    if top == 0:
        return True
    return top in BINARY_FOREGROUND_VALUES and bool(np.all((array == 0) | (array == top)))


def connected_components(foreground: np.ndarray) -> np.ndarray:
    """4-connected components of a mask, numbered 1..N in raster order of their first pixel.

    Args:
      foreground: bool or numeric [H, W]; nonzero = nucleus.
    Returns:
      int32 [H, W], 0 = background, 1..N = components.
    """
    foreground = np.asarray(foreground) != 0
    if not foreground.size:
        return np.zeros(foreground.shape, np.int32)
    _, labels = cv2.connectedComponents(foreground.astype(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    return labels


def instance_labels(array: np.ndarray, *, name: str, error: type[Exception] = ValueError) -> np.ndarray:
    """Instance labels of a label map or binary mask (`check_label_map`, then `is_binary_mask`).

    Returns:
      int32 [H, W] when the mask is binary (its 4-connected components), else the
      validated label map with its ids and dtype unchanged.
    """
    array = np.asarray(array)
    if array.dtype != bool:
        array = check_label_map(array, name=name, error=error)
    if is_binary_mask(array):
        return connected_components(array)
    return array


def relabel_consecutive(labels: np.ndarray) -> np.ndarray:
    """int32 [H, W] with the same nuclei numbered 1..N in increasing order of their ids."""
    renumbered, _, _ = relabel_sequential(np.asarray(labels).astype(np.int32, copy=False))
    return renumbered.astype(np.int32, copy=False)
