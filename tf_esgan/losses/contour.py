"""Contour regularisation terms of Enhanced Sharp-GAN (paper Sec. 2.1, Eqs. 4-7).

All losses read a gray-scale image `g` and a contour mask `c` and look at the
8-neighbourhood of every contour pixel. Neighbours are produced by `tf.roll`, so
every shape is static and the functions compile under XLA; the wrap-around of
`tf.roll` is undone by a validity mask, because a neighbour outside the image
does not exist (it is neither a contour nor a non-contour pixel).

Per image the sum over contour pixels is divided by n, the number of contour
pixels of that image, then the per-image values are averaged over the batch.
An image with no contour pixel contributes 0.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, NamedTuple

import tensorflow as tf

# The eight nearest neighbours (Sec. 2.1, last sentence), as (row, column) offsets.
NEIGHBOUR_OFFSETS: tuple[tuple[int, int], ...] = (
    (-1, -1), (-1, 0), (-1, 1),
    (0, -1), (0, 1),
    (1, -1), (1, 0), (1, 1),
)  # fmt: skip


class _Neighbour(NamedTuple):
    """One of the 8 neighbours of every pixel, all tensors [B, H, W]."""

    offset: tuple[int, int]
    distance: float  # Euclidean: 1 for axial, sqrt(2) for diagonal neighbours.
    gray: tf.Tensor  # float32 g_{p,q} at position (i, j).
    contour: tf.Tensor  # float32 0/1: (p,q) is a contour pixel.
    valid: tf.Tensor  # float32 0/1 [1, H, W]: (p,q) lies inside the image.


def to_gray(images: tf.Tensor) -> tf.Tensor:
    """Gray-scale image g of Eqs. 6-7 from generator output.

    Args:
      images: float [B, H, W, 3] in [-1, 1] (tanh output of the generator).

    Returns:
      float32 [B, H, W, 1] in [0, 1] (ITU-R 601 luma of `(images + 1) / 2`).
    """
    images = tf.cast(images, tf.float32)
    if images.shape.rank is not None and (images.shape.rank != 4 or images.shape[-1] != 3):
        raise ValueError(f"to_gray: `images` must be [B, H, W, 3], got shape {images.shape}.")
    return tf.image.rgb_to_grayscale((images + 1.0) / 2.0)


def _prepare(gray: tf.Tensor, contour: tf.Tensor, fn_name: str) -> tuple[tf.Tensor, tf.Tensor]:
    """Checks shapes and returns float32 gray and float32 0/1 contour, both [B, H, W]."""
    # Mixed-precision models hand over bfloat16/float16; exp of squared
    # differences and the division by n need float32.
    gray = tf.cast(gray, tf.float32)
    contour = tf.cast(tf.cast(contour, tf.float32) > 0.5, tf.float32)
    if gray.shape.rank is None or gray.shape.rank not in (3, 4):
        raise ValueError(f"{fn_name}: `gray` must be [B, H, W] or [B, H, W, 1], got shape {gray.shape}.")
    if gray.shape != contour.shape:
        raise ValueError(
            f"{fn_name}: `contour` must have the shape of `gray` {gray.shape}, got {contour.shape}."
        )
    if gray.shape.rank == 4:
        if gray.shape[-1] != 1:
            raise ValueError(f"{fn_name}: `gray` must have one channel, got shape {gray.shape}.")
        gray, contour = gray[..., 0], contour[..., 0]
    return gray, contour


def _gaussian_denominator(lam: float | tf.Tensor, fn_name: str) -> tf.Tensor:
    """2 lam^2 of Eq. 7 as float32; a Python `lam` must be positive."""
    if isinstance(lam, (int, float)) and not lam > 0:
        raise ValueError(f"{fn_name}: `lam` must be > 0, got {lam}.")
    return 2.0 * tf.square(tf.cast(lam, tf.float32))


def _neighbours(gray: tf.Tensor, contour: tf.Tensor) -> Iterator[_Neighbour]:
    """Yields, for each of the 8 offsets, the neighbour's gray, contour and validity.

    Args:
      gray: float32 [B, H, W].
      contour: float32 0/1 [B, H, W].
    """
    height, width = tf.shape(gray)[1], tf.shape(gray)[2]
    rows = tf.range(height)[:, tf.newaxis]
    cols = tf.range(width)[tf.newaxis, :]
    for d_row, d_col in NEIGHBOUR_OFFSETS:
        # roll by -offset puts x[i + d_row, j + d_col] at (i, j).
        shift, axis = (-d_row, -d_col), (1, 2)
        valid = (
            (rows + d_row >= 0) & (rows + d_row < height) & (cols + d_col >= 0) & (cols + d_col < width)
        )
        yield _Neighbour(
            offset=(d_row, d_col),
            distance=math.hypot(d_row, d_col),
            gray=tf.roll(gray, shift, axis),
            contour=tf.roll(contour, shift, axis),
            valid=tf.cast(valid, tf.float32)[tf.newaxis],
        )


def _mean_over_contour(per_pixel: tf.Tensor, contour: tf.Tensor) -> tf.Tensor:
    """(1/n) sum over contour pixels per image, then the batch mean.

    `per_pixel` must already be 0 off the contour. max(n, 1) keeps the value and
    its gradient finite for an image without contour pixels (its sum is 0).
    """
    total = tf.reduce_sum(per_pixel, axis=(1, 2))
    count = tf.reduce_sum(contour, axis=(1, 2))
    return tf.reduce_mean(total / tf.maximum(count, 1.0))


def smoothness_loss(gray: tf.Tensor, contour: tf.Tensor) -> tf.Tensor:
    """Smoothness loss L_s1 (Eqs. 4 and 6).

    L_s1 = (1/n) sum_{(i,j) in c} sum_{(p,q) in N_ij, (p,q) in c}
               [2 / (1 + exp(-(g_ij - g_pq)^2)) - 1]

    Each term lies in [0, 1) and grows with the gray difference between two
    neighbouring contour pixels, so minimising it makes contours uniform.

    Args:
      gray: float (any precision) [B, H, W] or [B, H, W, 1], normally in [0, 1]
        (see `to_gray`).
      contour: bool or 0/1 numbers, same shape as `gray`; True on contour pixels.

    Returns:
      float32 scalar in [0, 8): per-image value averaged over the batch; 0 for
      an image without contour pixels.
    """
    gray, contour = _prepare(gray, contour, "smoothness_loss")
    per_pixel = tf.zeros_like(gray)
    for neighbour in _neighbours(gray, contour):
        # 2 / (1 + exp(-x)) - 1 == tanh(x / 2); tanh avoids the cancellation of
        # "2 sigmoid - 1" at small differences, where most contour pairs sit.
        term = tf.tanh(tf.square(gray - neighbour.gray) / 2.0)
        per_pixel += term * neighbour.contour * neighbour.valid
    return _mean_over_contour(per_pixel * contour, contour)


def sharpness_loss(gray: tf.Tensor, contour: tf.Tensor, lam: float | tf.Tensor) -> tf.Tensor:
    """Enhanced sharpness loss L_s2 (Eqs. 5 and 7).

    L_s2 = (1/n) sum_{(i,j) in c} sum_{(p,q) in N_ij, (p,q) not in c}
               exp(-(g_ij - g_pq)^2 / (2 lam^2)) / dist((i,j), (p,q))

    dist is 1 for the 4 axial and sqrt(2) for the 4 diagonal neighbours. Each
    term is near 1/dist when contour and non-contour pixel look alike (|diff| <<
    lam) and near 0 when they contrast, so minimising it sharpens contours.

    Args:
      gray: float (any precision) [B, H, W] or [B, H, W, 1], normally in [0, 1].
      contour: bool or 0/1 numbers, same shape as `gray`.
      lam: lambda > 0, the contrast scale, in the units of `gray`.

    Returns:
      float32 scalar in [0, 4 + 4/sqrt(2)]; 0 for an image without contour pixels.
    """
    gray, contour = _prepare(gray, contour, "sharpness_loss")
    two_lam_sq = _gaussian_denominator(lam, "sharpness_loss")
    per_pixel = tf.zeros_like(gray)
    for neighbour in _neighbours(gray, contour):
        term = tf.exp(-tf.square(gray - neighbour.gray) / two_lam_sq) / neighbour.distance
        per_pixel += term * (1.0 - neighbour.contour) * neighbour.valid
    return _mean_over_contour(per_pixel * contour, contour)


def sharp_gan_loss(gray: tf.Tensor, contour: tf.Tensor, lam: float | tf.Tensor) -> tf.Tensor:
    """Original Sharp-GAN sharpness loss (Butte et al., ISBI 2022; paper ref. [8]).

    L_sharp = (1/n) sum_{(i,j) in c} sum_{(p,q) in N_ij} exp(-(g_ij - g_pq)^2 / (2 lam^2))

    Reading of Sec. 2.1: the Sharp-GAN term penalises contour pixels with small
    contrast to their neighbours and "treated all neighbouring pixels equally",
    i.e. all 8 in-image neighbours, contour or not, with the same Gaussian
    kernel as Eq. 7 and no 1/dist weighting. Used by the Sharp-GAN baselines.

    Args:
      gray: float (any precision) [B, H, W] or [B, H, W, 1], normally in [0, 1].
      contour: bool or 0/1 numbers, same shape as `gray`.
      lam: lambda > 0, the contrast scale, in the units of `gray`.

    Returns:
      float32 scalar in [0, 8]; 0 for an image without contour pixels.
    """
    gray, contour = _prepare(gray, contour, "sharp_gan_loss")
    two_lam_sq = _gaussian_denominator(lam, "sharp_gan_loss")
    per_pixel = tf.zeros_like(gray)
    for neighbour in _neighbours(gray, contour):
        per_pixel += tf.exp(-tf.square(gray - neighbour.gray) / two_lam_sq) * neighbour.valid
    return _mean_over_contour(per_pixel * contour, contour)


def compiled(fn: Callable[..., tf.Tensor]) -> Callable[..., tf.Tensor]:
    """`fn` wrapped in `tf.function(jit_compile=True)` (XLA).

    Inside a train step that is already `jit_compile=True` call the plain
    functions instead; this wrapper is for calling a loss on its own.
    """
    return tf.function(fn, jit_compile=True, reduce_retracing=True)
