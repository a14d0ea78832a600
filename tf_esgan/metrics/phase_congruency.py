"""Phase congruency from log-Gabor quadrature filters (Kovesi 1999), as used by FSIM.

FSIM (Zhang et al. 2011, Sec. II-A) measures feature similarity with the
phase congruency (PC) of the luminance. This module builds the log-Gabor filter bank in the
frequency domain and evaluates Kovesi's PC_2 measure with his noise compensation, with
the parameters of Zhang's reference code (4 scales, 4 orientations, minWaveLength 6,
mult 2, sigmaOnf 0.55, dThetaOnSigma 1.2, k 2.0, epsilon 1e-4).
"""

import dataclasses
import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True, kw_only=True)
class PhaseCongruencyConfig:
    """Filter-bank and noise parameters (Kovesi / Zhang's FSIM reference values).

    Attributes:
        scales: number of log-Gabor wavelet scales.
        orientations: number of filter orientations, evenly spaced over [0, pi).
        min_wavelength: wavelength in pixels of the smallest-scale filter.
        mult: ratio between the wavelengths of successive scales.
        sigma_on_f: bandwidth of the log-Gabor radial component (sigma / centre frequency).
        d_theta_on_sigma: ratio of the angle between orientations to the angular sigma.
        k: number of noise-energy standard deviations above the mean kept as noise.
        epsilon: keeps the mean phase direction defined where the summed response is zero.
        lowpass_cutoff: cut-off (fraction of the sampling frequency) of the Butterworth
            low-pass that removes the corners of the frequency plane.
        lowpass_order: order of that Butterworth filter.
        pc2_noise_rescale: Kovesi's empirical factor by which the PC_1 noise threshold
            over-estimates the noise effect for the PC_2 measure.
    """

    scales: int = 4
    orientations: int = 4
    min_wavelength: float = 6.0
    mult: float = 2.0
    sigma_on_f: float = 0.55
    d_theta_on_sigma: float = 1.2
    k: float = 2.0
    epsilon: float = 1e-4
    lowpass_cutoff: float = 0.45
    lowpass_order: int = 15
    pc2_noise_rescale: float = 1.7


class FilterBank(NamedTuple):
    """Log-Gabor filters and their noise statistics for one image size (see `filter_bank`).

    Passed to traced functions as tensors rather than captured as constants, which keeps
    graph construction fast.
    """

    filters: tf.Tensor  # complex64 [orientations, scales, H, W], frequency domain
    smallest_energy: tf.Tensor  # float32 [orientations], sum of |smallest-scale filter|^2
    sum_squares: tf.Tensor  # float32 [orientations], sum over scales of spatial filter^2
    sum_cross: tf.Tensor  # float32 [orientations], sum over scales i < j of products


def _frequency_axis(size: int) -> np.ndarray:
    """Normalised frequencies in [-0.5, 0.5] of one axis, zero frequency in the middle."""
    if size % 2:
        return np.arange(-(size - 1) / 2, (size - 1) / 2 + 1) / (size - 1)
    return np.arange(-size / 2, size / 2) / size


def log_gabor_bank(height: int, width: int, config: PhaseCongruencyConfig) -> np.ndarray:
    """Frequency-domain log-Gabor filters, float64 [orientations, scales, H, W].

    Zero frequency is at [0, 0] (un-shifted FFT layout), where every filter is 0 so that
    the responses carry no DC component.
    """
    fy, fx = np.meshgrid(_frequency_axis(height), _frequency_axis(width), indexing="ij")
    radius = np.fft.ifftshift(np.sqrt(fx**2 + fy**2))
    theta = np.fft.ifftshift(np.arctan2(-fy, fx))
    lowpass = 1.0 / (1.0 + (radius / config.lowpass_cutoff) ** (2 * config.lowpass_order))
    radius[0, 0] = 1.0  # log(0) would be undefined; the DC value is zeroed below anyway.

    radial = []
    for scale in range(config.scales):
        centre_frequency = 1.0 / (config.min_wavelength * config.mult**scale)
        component = np.exp(
            -(np.log(radius / centre_frequency) ** 2) / (2 * math.log(config.sigma_on_f) ** 2)
        )
        component *= lowpass
        component[0, 0] = 0.0
        radial.append(component)

    theta_sigma = math.pi / config.orientations / config.d_theta_on_sigma
    angular = []
    for orientation in range(config.orientations):
        angle = orientation * math.pi / config.orientations
        # Angular distance through sin/cos differences avoids the wrap-around at +-pi.
        sin_diff = np.sin(theta) * math.cos(angle) - np.cos(theta) * math.sin(angle)
        cos_diff = np.cos(theta) * math.cos(angle) + np.sin(theta) * math.sin(angle)
        distance = np.abs(np.arctan2(sin_diff, cos_diff))
        angular.append(np.exp(-(distance**2) / (2 * theta_sigma**2)))

    return np.stack([np.stack([a * r for r in radial]) for a in angular])


def _noise_sums(bank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-orientation filter statistics for the noise model, each float64 [orientations].

    Returns (sum of squared smallest-scale filter in frequency, sum over scales of the
    squared spatial filters, sum over scale pairs i < j of the spatial filter products),
    the spatial filters being real(ifft2(filter)) * sqrt(H * W) as in Kovesi's code.
    """
    height, width = bank.shape[-2:]
    spatial = np.real(np.fft.ifft2(bank)) * math.sqrt(height * width)
    smallest_energy = np.sum(bank[:, 0] ** 2, axis=(-2, -1))
    sum_squares = np.sum(spatial**2, axis=(1, 2, 3))
    sum_cross = np.zeros(bank.shape[0])
    for i in range(bank.shape[1]):
        for j in range(i + 1, bank.shape[1]):
            sum_cross += np.sum(spatial[:, i] * spatial[:, j], axis=(-2, -1))
    return smallest_energy, sum_squares, sum_cross


def filter_bank(height: int, width: int, config: PhaseCongruencyConfig) -> FilterBank:
    """The `FilterBank` for [H, W] images, computed in float64 and stored as float32."""
    bank = log_gabor_bank(height, width, config)
    statistics = [tf.constant(value, tf.float32) for value in _noise_sums(bank)]
    return FilterBank(tf.constant(bank, tf.complex64), *statistics)


def _lower_median(values: tf.Tensor) -> tf.Tensor:
    """Exact lower median (the smaller middle value for even counts) along the last axis.

    Args:
        values: float32 [..., N], all >= 0 and finite.

    Returns:
        float32 [...], an element of each row.

    Non-negative float32 values order like their int32 bit patterns, so the ((N - 1) // 2)-th
    smallest value is found bit by bit from the top (31 counting passes); this is several
    times faster than tf.sort on CPU and gives the same element.
    """
    rank = (tf.shape(values)[-1] - 1) // 2
    bits = tf.bitcast(values, tf.int32)

    def set_bit_if_below_rank(bit: tf.Tensor, answer: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        candidate = answer + tf.bitwise.left_shift(1, bit)
        below = tf.reduce_sum(tf.cast(bits < candidate, tf.int32), axis=-1, keepdims=True)
        return bit - 1, tf.where(below <= rank, candidate, answer)

    # A while loop rather than 31 unrolled steps keeps traced graphs small.
    _, answer = tf.while_loop(
        lambda bit, answer: bit >= 0,
        set_bit_if_below_rank,
        (tf.constant(30), tf.zeros_like(bits[..., :1])),
    )
    return tf.bitcast(answer[..., 0], tf.float32)


def phase_congruency(
    luminance: tf.Tensor,
    config: PhaseCongruencyConfig = PhaseCongruencyConfig(),
    bank: FilterBank | None = None,
) -> tf.Tensor:
    """Kovesi's PC_2 phase congruency map with noise compensation (FSIM Sec. II-A).

    Args:
        luminance: float32 [B, H, W], any range; FSIM passes 0-255. H and W must be
            static unless `bank` is given.
        config: filter-bank parameters.
        bank: `filter_bank(H, W, config)`, built here when omitted.

    Returns:
        float32 [B, H, W] in [0, 1]: sum over orientations of the noise-thresholded
        local energy, divided by the sum over orientations and scales of the amplitudes.
    """
    if bank is None:
        bank = filter_bank(*luminance.shape[-2:], config)
    spectrum = tf.signal.fft2d(tf.cast(luminance, tf.complex64))[:, tf.newaxis]

    energy_total = tf.zeros_like(luminance)
    amplitude_total = tf.zeros_like(luminance)
    # One orientation at a time keeps memory at B*scales*H*W complex values.
    for orientation in range(config.orientations):
        response = tf.signal.ifft2d(spectrum * bank.filters[orientation])  # [B, scales, H, W]
        even, odd = tf.math.real(response), tf.math.imag(response)
        amplitude = tf.abs(response)
        sum_even = tf.reduce_sum(even, axis=1, keepdims=True)
        sum_odd = tf.reduce_sum(odd, axis=1, keepdims=True)
        norm = tf.sqrt(sum_even**2 + sum_odd**2) + config.epsilon
        mean_even, mean_odd = sum_even / norm, sum_odd / norm
        # A_n (cos(dphi) - |sin(dphi)|) through dot and cross products with the mean phase.
        energy = tf.reduce_sum(
            even * mean_even + odd * mean_odd - tf.abs(even * mean_odd - odd * mean_even),
            axis=1,
        )

        # Noise: |E|^2 of the smallest scale is chi-squared with 2 dof when the image is
        # noise, so its mean is -median / log(0.5); dividing by the filter energy gives
        # the noise power, and the energy of noise is then Rayleigh-distributed.
        smallest_power = tf.reshape(amplitude[:, 0] ** 2, [tf.shape(amplitude)[0], -1])
        noise_power = -_lower_median(smallest_power) / math.log(0.5)
        noise_power /= bank.smallest_energy[orientation]
        noise_energy2 = 2 * noise_power * bank.sum_squares[orientation] + (
            4 * noise_power * bank.sum_cross[orientation]
        )
        tau = tf.sqrt(noise_energy2 / 2)
        threshold = tau * math.sqrt(math.pi / 2) + config.k * tau * math.sqrt(2 - math.pi / 2)
        threshold /= config.pc2_noise_rescale

        energy_total += tf.maximum(energy - threshold[:, tf.newaxis, tf.newaxis], 0.0)
        amplitude_total += tf.reduce_sum(amplitude, axis=1)

    return energy_total / (amplitude_total + np.finfo(np.float32).eps)
