"""Reading and writing the canonical image and mask files, with checked errors.

Canonical files (see `tf_esgan.data.datasets`):
- image: 8-bit RGB PNG, read as uint8 [H, W, 3] in [0, 255], channels in RGB order.
- mask: single-channel PNG instance label map, read as int32 [H, W]; 0 = background,
  1..N = nuclei, consecutive.

Every error a user can cause raises `DatasetError` naming the file and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from tf_esgan.data.labels import check_label_map, instance_labels, relabel_consecutive
from tf_esgan.data.png_header import GRAY, RGB, PngHeader, PngHeaderError, contains_iend, read_png_header
from tf_esgan.errors import UserError
from tf_esgan.io_utils import atomic_write_bytes, captured_stderr

# 8-bit value v is stored as v * 257 in 16 bits (0 -> 0, 255 -> 65535), so dividing by
# 257 and rounding is the exact inverse for files that were scaled up from 8 bits.
_UINT16_PER_UINT8 = 257
_MAX_LABEL = np.iinfo(np.uint16).max


class DatasetError(UserError, ValueError):
    """A dataset file or folder is missing, unreadable or not in the expected format."""


def decode_file(path: str | os.PathLike) -> np.ndarray:
    """Decodes a file with OpenCV, unchanged (bit depth and channel count kept)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read file ({error})") from None
    if not data:
        raise DatasetError(f"{path}: not a readable image (empty file, 0 bytes)")
    # imdecode on the bytes is cv2.imread(path, IMREAD_UNCHANGED) without its silent
    # `None` for a missing file or a non-ASCII path.
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # e.g. an empty file
        array = None
    if array is None:
        raise DatasetError(f"{path}: not a readable image (corrupt or unsupported format)")
    return array


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads an RGB histopathology image.

    Accepted: 8-bit RGB; 8-bit RGBA with a fully opaque alpha channel (alpha dropped,
    as in the TNBC and CPM-15 releases); 16-bit RGB(A), scaled to 8 bits by
    round(v / 257), the exact inverse of the usual 8 -> 16 bit scaling.
    Rejected with `DatasetError`: grayscale, non-opaque alpha, other bit depths.

    Returns:
      uint8 [H, W, 3] in [0, 255], RGB channel order.
    """
    path = Path(path)
    image = decode_file(path)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        channels = 1 if image.ndim == 2 else image.shape[2]
        raise DatasetError(f"{path}: expected an RGB image, got {channels} channel(s)")
    if image.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"{path}: expected 8- or 16-bit pixels, got dtype {image.dtype}")
    if image.shape[2] == 4:
        opaque = np.iinfo(image.dtype).max
        if not np.all(image[..., 3] == opaque):
            # Compositing onto some background would invent pixel values; refuse instead.
            raise DatasetError(
                f"{path}: alpha channel is not fully opaque; expected RGB or opaque RGBA")
        image = image[..., :3]
    return np.ascontiguousarray(cv2.cvtColor(_to_uint8(image), cv2.COLOR_BGR2RGB))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 unchanged; uint16 -> round(v / 257), the inverse of the usual 8 -> 16 bit scaling."""
    if image.dtype == np.uint16:
        return np.round(image / _UINT16_PER_UINT8).astype(np.uint8)
    return image


def read_any_image(path: str | os.PathLike) -> np.ndarray:
    """Reads a user's image for inference, converting what `read_image` refuses.

    Grayscale (with or without alpha) becomes RGB by repeating the gray channel; an alpha
    channel is dropped whatever its values; 16-bit is scaled as in `read_image`; float
    pixels in [0, 1] are scaled to [0, 255] (others clipped to it). PNG, JPEG and TIFF
    (its first page) are read.

    The decoders' own complaints (libpng's "libpng error: ...", libtiff's) are kept off
    stderr: the `DatasetError` names the file instead. That redirects the process's
    stderr for the decode, so call it from one thread at a time.

    Returns:
      uint8 [H, W, 3] in [0, 255], RGB channel order.
    Raises:
      DatasetError: unreadable, empty or truncated file, or pixels of another type (the
        file named).
    """
    path = Path(path)
    _complete_png_header(path)  # a cut-off PNG is named as such, as `check_image` does
    with captured_stderr():
        image = decode_file(path)
    if image.ndim == 3 and image.shape[2] in (1, 2):
        image = image[..., 0]  # gray (+ alpha)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or not image.size:
        raise DatasetError(f"{path}: expected a gray, RGB or RGBA image, got array shape {image.shape}")
    if np.issubdtype(image.dtype, np.floating):
        scale = 255.0 if np.nanmax(image) <= 1.0 else 1.0
        image = np.clip(np.nan_to_num(image * scale), 0, 255).round().astype(np.uint8)
    if image.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"{path}: expected 8- or 16-bit (or float) pixels, got dtype {image.dtype}")
    image = _to_uint8(image)
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2))
    return np.ascontiguousarray(cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB))


def label_map_from_array(array: np.ndarray, source: str) -> np.ndarray:
    """Turns a decoded mask array into consecutive instance labels.

    Rules (also used by the converters):
    - a 3/4-channel array is accepted only if its colour channels are equal (a gray mask
      saved as RGB); colour-coded masks raise;
    - the rest is `labels.check_label_map` (integer or whole-valued float, >= 0) and
      `labels.is_binary_mask`: bool masks and masks whose values are within {0, 1} or
      {0, 255}, whatever their bit depth, are binary and are split into 4-connected
      components; any other mask is an instance label map;
    - labels are renumbered 1..N keeping their order.

    Args:
      array: decoded mask, [H, W] or [H, W, C].
      source: file name used in error messages.
    Returns:
      int32 [H, W], 0 = background, 1..N = nuclei (all-zero if there are none).
    """
    if array.ndim == 3:
        colour = array[..., :3] if array.shape[2] >= 3 else array
        if not all(np.array_equal(colour[..., 0], colour[..., c]) for c in range(colour.shape[2])):
            raise DatasetError(
                f"{source}: expected a single-channel label map, got {array.shape[2]} channels "
                "with different values (colour-coded masks are not supported)")
        array = colour[..., 0]
    labels = instance_labels(array, name=source, error=DatasetError)
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise DatasetError(f"{source}: label {labels.max()} does not fit in int32")
    return relabel_consecutive(labels)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Reads an instance label map (see `label_map_from_array` for accepted content).

    Returns:
      int32 [H, W], 0 = background, 1..N = nuclei, consecutive; a mask without nuclei
      gives an all-zero map.
    """
    path = Path(path)
    return label_map_from_array(decode_file(path), str(path))


def _complete_png_header(path: Path) -> PngHeader | None:
    """The header of a complete PNG file; None when only decoding the file can tell."""
    try:
        header = read_png_header(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except PngHeaderError as error:
        raise DatasetError(f"{path}: not a readable PNG ({error})") from None
    except OSError as error:
        raise DatasetError(f"{path}: cannot read file ({error})") from None
    if header is None:
        return None  # not a PNG (or empty): the decoder names the problem
    if not header.ends_with_iend:
        if not contains_iend(path):
            # Checked before decoding: libpng would also print its own line on stderr.
            raise DatasetError(f"{path}: truncated PNG ({header.file_size} bytes, no IEND chunk at the "
                               "end; an interrupted copy or download?)")
        return None  # bytes after a complete PNG: the decoder decides
    return header


def check_image(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of a file `read_image` accepts; the `DatasetError` it raises otherwise.

    Fast for the canonical format: a complete 8- or 16-bit RGB PNG without a transparent
    colour is accepted from its header and last bytes (`png_header`); any other file is
    decoded by `read_image`. Damage inside a complete PNG is only found by decoding.
    """
    path = Path(path)
    header = _complete_png_header(path)
    if header is not None and header.colour_type == RGB and not header.transparency:
        return header.height, header.width
    return read_image(path).shape[:2]


def check_mask(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of a file `read_mask` accepts; the `DatasetError` it raises otherwise.

    Like `check_image`: a complete gray PNG without a transparent value (any bit depth is
    a valid label map) is accepted from its header; any other file is decoded by `read_mask`.
    """
    path = Path(path)
    header = _complete_png_header(path)
    if header is not None and header.colour_type == GRAY and not header.transparency:
        return header.height, header.width
    return read_mask(path).shape


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Writes uint8 [H, W, 3] RGB as an 8-bit RGB PNG, atomically, and verifies it."""
    path = Path(path)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise DatasetError(f"{path}: expected uint8 [H, W, 3] to write, got "
                           f"{image.dtype} {image.shape}")
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise DatasetError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, encoded.tobytes())
    if not np.array_equal(read_image(path), image):
        raise DatasetError(f"{path}: file read back differs from the image written")


def write_mask(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Writes int [H, W] labels in [0, 65535] as a 16-bit PNG, atomically, and verifies it."""
    path = Path(path)
    labels = check_label_map(labels, name=f"{path}: labels to write", error=DatasetError)
    if labels.size and (labels.min() < 0 or labels.max() > _MAX_LABEL):
        raise DatasetError(f"{path}: labels must be in [0, {_MAX_LABEL}] for a 16-bit PNG, "
                           f"got [{labels.min()}, {labels.max()}]")
    ok, encoded = cv2.imencode(".png", labels.astype(np.uint16))
    if not ok:
        raise DatasetError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, encoded.tobytes())
    written = decode_file(path)
    if written.dtype != np.uint16 or not np.array_equal(written, labels):
        raise DatasetError(f"{path}: file read back differs from the mask written")
