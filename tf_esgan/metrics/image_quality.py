"""Full-reference image-quality metrics: SSIM, FSIM / FSIMc and GMSD, batched in TensorFlow.

All functions take two float32 [B, H, W, 3] RGB batches in [0, 1] (static H and W) and
return float32 [B], one score per pair. SSIM and FSIM are similarities (1 for identical
images, higher is better); GMSD is a deviation (0 for identical images, lower is better).
Conventions follow the PyTorch library piq 0.8.0, against which the project checks them
(see BUILD_NOTES.md, "Image-quality metrics").
"""

import tensorflow as tf

from tf_esgan.metrics.phase_congruency import (
    FilterBank,
    PhaseCongruencyConfig,
    filter_bank,
    phase_congruency,
)

# YIQ (NTSC) rows applied to RGB; Y is also the luminance of SSIM(grayscale) and GMSD.
_YIQ = (
    (0.299, 0.587, 0.114),
    (0.5959, -0.2746, -0.3213),
    (0.2115, -0.5227, 0.3112),
)
# FSIM constants of Zhang et al. 2011 (Sec. III and IV), for images on a 0-255 scale.
_FSIM_T1 = 0.85
_FSIM_T2 = 160.0
_FSIM_T3 = 200.0
_FSIM_T4 = 200.0
_FSIM_LAMBDA = 0.03
# GMSD constant of Xue et al. 2014: 170 on a 0-255 scale, here for [0, 1] images.
_GMSD_C = 170.0 / 255.0**2
# Images are down-sampled so that their shorter side is about this many pixels (FSIM).
_FSIM_TARGET_SIZE = 256
_SCHARR_X = ((-3 / 16, 0.0, 3 / 16), (-10 / 16, 0.0, 10 / 16), (-3 / 16, 0.0, 3 / 16))
_PREWITT_X = ((-1 / 3, 0.0, 1 / 3),) * 3


def _check_pair(a: tf.Tensor, b: tf.Tensor, metric: str) -> tuple[tf.Tensor, tf.Tensor]:
    a = tf.convert_to_tensor(a, tf.float32)
    b = tf.convert_to_tensor(b, tf.float32)
    if a.shape.rank != 4 or a.shape[-1] != 3:
        raise ValueError(f"{metric}: argument `a` must be float32 [B, H, W, 3], got {a.shape}")
    if a.shape != b.shape:
        raise ValueError(f"{metric}: `a` {a.shape} and `b` {b.shape} must have the same shape")
    if a.shape[1] is None or a.shape[2] is None:
        raise ValueError(f"{metric}: H and W must be static, got {a.shape}")
    return a, b


def _yiq(rgb: tf.Tensor) -> tf.Tensor:
    """float32 [B, H, W, 3] RGB -> [B, H, W, 3] YIQ (same scale)."""
    return tf.einsum("bhwc,kc->bhwk", rgb, tf.constant(_YIQ, tf.float32))


def _filter2d(image: tf.Tensor, kernel: tuple[tuple[float, ...], ...]) -> tf.Tensor:
    """Zero-padded 'same' cross-correlation of a [B, H, W] map with a small 2-D kernel."""
    kernel = tf.constant(kernel, tf.float32)[:, :, tf.newaxis, tf.newaxis]
    return tf.nn.conv2d(image[..., tf.newaxis], kernel, strides=1, padding="SAME")[..., 0]


def _gradient_magnitude(image: tf.Tensor, kernel_x: tuple[tuple[float, ...], ...]) -> tf.Tensor:
    """Gradient magnitude [B, H, W] from a horizontal kernel and its transpose."""
    kernel_y = tuple(zip(*kernel_x))
    return tf.sqrt(_filter2d(image, kernel_x) ** 2 + _filter2d(image, kernel_y) ** 2)


def _similarity(x: tf.Tensor, y: tf.Tensor, constant: float) -> tf.Tensor:
    """(2 x y + C) / (x^2 + y^2 + C): FSIM's S_PC, S_G, S_I, S_Q and GMSD's GMS map."""
    return (2.0 * x * y + constant) / (x**2 + y**2 + constant)


def ssim(a: tf.Tensor, b: tf.Tensor, grayscale: bool = False) -> tf.Tensor:
    """Structural similarity (Wang et al. 2004, eq. 13, mean SSIM over the image).

    11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, valid windows only (no
    padding, no down-sampling); for RGB the per-channel scores are averaged.

    Args:
        a, b: float32 [B, H, W, 3] RGB in [0, 1], H and W >= 11.
        grayscale: score the luminance Y = 0.299 R + 0.587 G + 0.114 B instead of RGB.

    Returns:
        float32 [B] in [-1, 1], 1 for identical images.
    """
    a, b = _check_pair(a, b, "ssim")
    return _ssim_scores(a, b, grayscale)


# The metric bodies run as graphs (2-3x faster than eager on CPU); one trace per input shape.
@tf.function
def _ssim_scores(a: tf.Tensor, b: tf.Tensor, grayscale: bool) -> tf.Tensor:
    if grayscale:
        a, b = _yiq(a)[..., :1], _yiq(b)[..., :1]
    return tf.image.ssim(a, b, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03)


def _fsim_downsample(image: tf.Tensor, factor: int) -> tf.Tensor:
    """Average-pool [B, H, W, C] by F = max(1, round(min(H, W) / 256)) with stride F.

    `round` is Python's (half to even), windows do not overlap and a remainder of fewer
    than F rows or columns is dropped, as in piq.
    """
    if factor == 1:
        return image
    return tf.nn.avg_pool2d(image, ksize=factor, strides=factor, padding="VALID")


def fsim(a: tf.Tensor, b: tf.Tensor, chromatic: bool = False) -> tf.Tensor:
    """Feature similarity FSIM, or FSIMc with `chromatic=True` (Zhang et al. 2011).

    Sec. III-A (FSIMc: III-B): the sum over pixels of S_PC * S_G [FSIMc: * (S_I * S_Q)^lambda]
    weighted by PC_m = max(PC_a, PC_b), divided by the sum of PC_m. Phase congruency on
    the YIQ luminance (see `phase_congruency`), Scharr gradient magnitude (eq. 5),
    T1 = 0.85, T2 = 160, T3 = T4 = 200, lambda = 0.03 on a 0-255 scale (alpha = beta = 1,
    YIQ chrominance for FSIMc). Images whose
    shorter side is 384 px or more are first average-pooled (see `_fsim_downsample`).

    Args:
        a, b: float32 [B, H, W, 3] RGB in [0, 1].
        chromatic: include the I and Q chrominance similarity (FSIMc).

    Returns:
        float32 [B] in [0, 1], 1 for identical images.
    """
    a, b = _check_pair(a, b, "fsim")
    factor = max(1, round(min(a.shape[1], a.shape[2]) / _FSIM_TARGET_SIZE))
    config = PhaseCongruencyConfig()
    bank = filter_bank(a.shape[1] // factor, a.shape[2] // factor, config)
    return _fsim_scores(a, b, bank, factor, chromatic)


# The bank is an argument (not a captured constant) and shapes are relaxed after the
# first retrace, so that new image sizes do not each pay ~1 s of graph construction.
@tf.function(reduce_retracing=True)
def _fsim_scores(
    a: tf.Tensor, b: tf.Tensor, bank: FilterBank, factor: int, chromatic: bool
) -> tf.Tensor:
    yiq_a = _yiq(_fsim_downsample(a * 255.0, factor))
    yiq_b = _yiq(_fsim_downsample(b * 255.0, factor))
    luminance_a, luminance_b = yiq_a[..., 0], yiq_b[..., 0]

    config = PhaseCongruencyConfig()
    pc_a = phase_congruency(luminance_a, config, bank)
    pc_b = phase_congruency(luminance_b, config, bank)
    gradient_a = _gradient_magnitude(luminance_a, _SCHARR_X)
    gradient_b = _gradient_magnitude(luminance_b, _SCHARR_X)

    pc_max = tf.maximum(pc_a, pc_b)
    local = _similarity(pc_a, pc_b, _FSIM_T1) * _similarity(gradient_a, gradient_b, _FSIM_T2)
    if chromatic:
        chroma = _similarity(yiq_a[..., 1], yiq_b[..., 1], _FSIM_T3) * _similarity(
            yiq_a[..., 2], yiq_b[..., 2], _FSIM_T4
        )
        # The product can be slightly negative when I or Q change sign; piq takes |.|^lambda
        # where Zhang's MATLAB takes the real part of the complex power.
        local *= tf.abs(chroma) ** _FSIM_LAMBDA
    return tf.reduce_sum(local * pc_max, axis=[1, 2]) / tf.reduce_sum(pc_max, axis=[1, 2])


def gmsd(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Gradient magnitude similarity deviation (Xue et al. 2014, Sec. II: GMS map and its std).

    On the luminance Y = 0.299 R + 0.587 G + 0.114 B, average-pooled 2x2 with stride 2
    (odd sizes zero-padded at the bottom / right first), Prewitt gradients divided by 3
    with zero padding, c = 170 / 255^2; the score is the population standard deviation of
    the gradient-magnitude similarity map.

    Args:
        a, b: float32 [B, H, W, 3] RGB in [0, 1].

    Returns:
        float32 [B] >= 0, 0 for identical images; lower is better.
    """
    a, b = _check_pair(a, b, "gmsd")
    return _gmsd_scores(a, b)


@tf.function
def _gmsd_scores(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    height, width = a.shape[1], a.shape[2]
    paddings = [[0, 0], [0, height % 2], [0, width % 2], [0, 0]]

    def luminance(rgb: tf.Tensor) -> tf.Tensor:
        y = tf.pad(_yiq(rgb)[..., :1], paddings)
        return tf.nn.avg_pool2d(y, ksize=2, strides=2, padding="VALID")[..., 0]

    similarity = _similarity(
        _gradient_magnitude(luminance(a), _PREWITT_X),
        _gradient_magnitude(luminance(b), _PREWITT_X),
        _GMSD_C,
    )
    return tf.math.reduce_std(similarity, axis=[1, 2])
