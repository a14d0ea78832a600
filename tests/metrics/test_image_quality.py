"""Tests for SSIM, FSIM / FSIMc and GMSD: reference scores on real pairs, golden values,
a literal GMSD reference and invariants."""

import numpy as np
import pytest
from scipy import ndimage

from tf_esgan.metrics.image_quality import fsim, gmsd, ssim
from tf_esgan.metrics.phase_congruency import phase_congruency

# Max |error| measured against the stored piq 0.8.0 scores: SSIM 2.5e-5, FSIM 2.6e-6,
# FSIMc 2.6e-6, GMSD 7.5e-9 (float32); the required agreement is 1e-3.
_REFERENCE_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def pairs(datasets_dir):
    data = np.load(datasets_dir.parent / "reference" / "iq_pairs.npz")
    return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def images(pairs):
    return pairs["real"].astype(np.float32) / 255, pairs["degraded"].astype(np.float32) / 255


@pytest.mark.parametrize(
    "name, metric",
    [
        ("ssim", ssim),
        ("fsim", fsim),
        ("fsimc", lambda a, b: fsim(a, b, chromatic=True)),
        ("gmsd", gmsd),
    ],
)
def test_matches_reference_scores(pairs, images, name, metric):
    scores = metric(*images).numpy()
    assert scores.shape == (10,)
    np.testing.assert_allclose(scores, pairs[name], rtol=0, atol=_REFERENCE_TOLERANCE)


def test_identical_images(images):
    real = images[0][:3]
    np.testing.assert_allclose(ssim(real, real).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(ssim(real, real, grayscale=True).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(fsim(real, real).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(fsim(real, real, chromatic=True).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(gmsd(real, real).numpy(), 0.0, atol=1e-7)


def test_symmetric(images):
    real, degraded = images[0][:2], images[1][:2]
    for metric in (ssim, fsim, gmsd):
        np.testing.assert_allclose(metric(real, degraded), metric(degraded, real), atol=1e-6)


def test_ssim_constant_images():
    # No variance: SSIM reduces to the luminance term (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1).
    # tf.image.ssim computes variances as E[x^2] - E[x]^2 with a float32 window whose sum
    # is not exactly 1; divided by C2 this leaves ~1.3e-4 relative error on flat images.
    c1 = 0.01**2
    a = np.full((1, 16, 16, 3), 0.5, np.float32)
    b = np.full((1, 16, 16, 3), 0.25, np.float32)
    expected = (2 * 0.5 * 0.25 + c1) / (0.5**2 + 0.25**2 + c1)
    np.testing.assert_allclose(ssim(a, b).numpy(), [expected], rtol=3e-4)
    colour = np.broadcast_to(np.float32([0.2, 0.6, 1.0]), (1, 16, 16, 3))
    luminance = 0.299 * 0.2 + 0.587 * 0.6 + 0.114 * 1.0
    expected = (2 * luminance * 0.25 + c1) / (luminance**2 + 0.25**2 + c1)
    np.testing.assert_allclose(ssim(colour, b, grayscale=True).numpy(), [expected], rtol=3e-4)


def slow_gmsd(a, b):
    """GMSD literally: zero-pad to even size, 2x2 block means, Prewitt / 3, std of GMS."""
    def gradient(rgb):
        y = rgb @ np.array([0.299, 0.587, 0.114])
        y = np.pad(y, [(0, y.shape[0] % 2), (0, y.shape[1] % 2)])
        small = np.zeros((y.shape[0] // 2, y.shape[1] // 2))
        for i in range(small.shape[0]):
            for j in range(small.shape[1]):
                small[i, j] = y[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean()
        kernel = np.array([[-1, 0, 1]] * 3) / 3
        gx = ndimage.correlate(small, kernel, mode="constant")
        gy = ndimage.correlate(small, kernel.T, mode="constant")
        return np.sqrt(gx**2 + gy**2)

    c = 170 / 255**2
    ga, gb = gradient(a.astype(np.float64)), gradient(b.astype(np.float64))
    return ((2 * ga * gb + c) / (ga**2 + gb**2 + c)).std()


@pytest.mark.parametrize("shape", [(16, 16), (15, 13), (14, 11)])
def test_gmsd_against_slow_reference(rng, shape):
    a = rng.random((2, *shape, 3), dtype=np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    expected = [slow_gmsd(a[i], b[i]) for i in range(2)]
    np.testing.assert_allclose(gmsd(a, b).numpy(), expected, rtol=1e-4)


def test_fsim_downsamples_large_images(images):
    # 384 px: F = round(1.5) = 2, so FSIM equals FSIM of the 2x2 block means (192 px, F = 1).
    real = np.kron(images[0][:2], np.ones((1, 2, 2, 1), np.float32))[:, :384, :384]
    degraded = images[1][:2, :192, :192]
    degraded_big = np.kron(degraded, np.ones((1, 2, 2, 1), np.float32))
    degraded_big += np.random.default_rng(0).normal(0, 0.02, degraded_big.shape).astype(np.float32)

    def block_mean(x):
        return x.reshape(2, 192, 2, 192, 2, 3).mean(axis=(2, 4))

    for chromatic in (False, True):
        np.testing.assert_allclose(
            fsim(real, degraded_big, chromatic=chromatic).numpy(),
            fsim(block_mean(real), block_mean(degraded_big), chromatic=chromatic).numpy(),
            atol=1e-5,
        )


def test_phase_congruency_invariant_to_contrast_and_brightness(images):
    luminance = images[1][:2] @ np.float32([0.299, 0.587, 0.114]) * 255
    pc = phase_congruency(luminance).numpy()
    assert pc.min() >= 0 and pc.max() <= 1 and pc.max() > 0.5
    np.testing.assert_allclose(phase_congruency(0.5 * luminance + 40).numpy(), pc, atol=1e-3)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        fsim(np.zeros((1, 32, 32, 3)), np.zeros((1, 32, 31, 3)))
    with pytest.raises(ValueError, match=r"\[B, H, W, 3\]"):
        gmsd(np.zeros((1, 32, 32)), np.zeros((1, 32, 32)))
