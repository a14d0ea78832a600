"""Contour losses (Eqs. 4-7) against a literal per-pixel reference and hand-computed values."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.losses.contour import (
    compiled,
    sharp_gan_loss,
    sharpness_loss,
    smoothness_loss,
    to_gray,
)

LAM = 0.3


def literal_reference(gray, contour, kind, lam=LAM):
    """Eqs. 4-7 written as loops over images, contour pixels and their 8 neighbours (float64)."""
    per_image = []
    batch, height, width = gray.shape
    for b in range(batch):
        n, total = 0, 0.0
        for i in range(height):
            for j in range(width):
                if not contour[b, i, j]:
                    continue
                n += 1
                for dp in (-1, 0, 1):
                    for dq in (-1, 0, 1):
                        p, q = i + dp, j + dq
                        if (dp, dq) == (0, 0) or not (0 <= p < height and 0 <= q < width):
                            continue
                        diff = float(gray[b, i, j]) - float(gray[b, p, q])
                        gaussian = math.exp(-(diff**2) / (2 * lam**2))
                        if kind == "smoothness" and contour[b, p, q]:
                            total += 2 / (1 + math.exp(-(diff**2))) - 1
                        elif kind == "sharpness" and not contour[b, p, q]:
                            total += gaussian / math.sqrt(dp**2 + dq**2)
                        elif kind == "sharp_gan":
                            total += gaussian
        per_image.append(total / n if n else 0.0)
    return float(np.mean(per_image))


LOSSES = {
    "smoothness": lambda g, c: smoothness_loss(g, c),
    "sharpness": lambda g, c: sharpness_loss(g, c, LAM),
    "sharp_gan": lambda g, c: sharp_gan_loss(g, c, LAM),
}


def random_case(seed, height=7, width=9, density=0.35):
    rng = np.random.default_rng(seed)
    gray = rng.uniform(0.0, 1.0, size=(2, height, width)).astype(np.float32)
    contour = rng.uniform(size=(2, height, width)) < density
    return gray, contour


def border_case():
    """Image 0: contour is the image frame plus a diagonal; image 1: no contour at all."""
    gray, _ = random_case(99)
    contour = np.zeros_like(gray, dtype=bool)
    contour[0, [0, -1], :] = True
    contour[0, :, [0, -1]] = True
    contour[0, np.arange(7), np.arange(7)] = True
    return gray, contour


@pytest.mark.parametrize("kind", sorted(LOSSES))
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_literal_reference_on_random_masks(kind, seed):
    gray, contour = random_case(seed, density=[0.2, 0.35, 0.6, 0.9][seed])
    # Random masks at these densities always reach the image border.
    assert contour[:, [0, -1], :].any() and contour[:, :, [0, -1]].any()
    got = float(LOSSES[kind](tf.constant(gray), tf.constant(contour)))
    np.testing.assert_allclose(got, literal_reference(gray, contour, kind), rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_matches_literal_reference_on_border_contour_and_empty_image(kind):
    gray, contour = border_case()
    expected = literal_reference(gray, contour, kind)
    assert expected > 0.0
    got = float(LOSSES[kind](tf.constant(gray), tf.constant(contour)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # The empty image counts as 0 in the batch mean, so image 0 alone is twice as large.
    alone = float(LOSSES[kind](tf.constant(gray[:1]), tf.constant(contour[:1])))
    np.testing.assert_allclose(alone, 2 * expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_empty_contour_gives_zero_and_finite_gradient(kind):
    gray = tf.Variable(random_case(5)[0])
    contour = tf.zeros(gray.shape, tf.bool)
    with tf.GradientTape() as tape:
        loss = LOSSES[kind](gray, contour)
    grad = tape.gradient(loss, gray)
    assert float(loss) == 0.0
    assert grad is None or np.all(np.asarray(grad) == 0.0)


def test_hand_computed_3x3():
    # g = [[0, 0, 0],      contour c = {(1,1), (2,2)}, n = 2, lam = 0.5 so 2 lam^2 = 0.5.
    #      [0, 1, 0],
    #      [0, 0, 0.5]]
    # L_s1: the two contour pixels are diagonal neighbours with |diff| = 0.5, each sees the other:
    #   S1 = 2 / (1 + e^-0.25) - 1 for each, so L_s1 = (2 S1) / 2 = 2 / (1 + e^-0.25) - 1 ~= 0.124353.
    # L_s2: (1,1) has 7 non-contour neighbours, all with |diff| = 1 -> e^-2 each; 4 axial
    #   ((0,1),(1,0),(1,2),(2,1)) and 3 diagonal ((0,0),(0,2),(2,0)): S2(1,1) = e^-2 (4 + 3/sqrt 2).
    #   (2,2) is a corner: in-image neighbours (1,1) [contour, skipped], (1,2) and (2,1) [axial,
    #   |diff| = 0.5 -> e^-0.5 each]: S2(2,2) = 2 e^-0.5. Wrapped pixels (row 0 / column 0) must not
    #   count. L_s2 = (e^-2 (4 + 3/sqrt 2) + 2 e^-0.5) / 2 ~= 1.020746.
    # Sharp-GAN: (1,1): 7 e^-2 + e^-0.5 (its contour neighbour now counts, no 1/dist);
    #   (2,2): 3 e^-0.5. L = (7 e^-2 + 4 e^-0.5) / 2 ~= 1.686735.
    gray = tf.constant([[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5]]])
    contour = tf.constant([[[0, 0, 0], [0, 1, 0], [0, 0, 1]]])
    e = math.exp
    np.testing.assert_allclose(float(smoothness_loss(gray, contour)), 0.124353, atol=1e-6)
    np.testing.assert_allclose(float(smoothness_loss(gray, contour)), 2 / (1 + e(-0.25)) - 1, atol=1e-6)
    s2 = (e(-2) * (4 + 3 / math.sqrt(2)) + 2 * e(-0.5)) / 2
    np.testing.assert_allclose(float(sharpness_loss(gray, contour, 0.5)), s2, atol=1e-6)
    np.testing.assert_allclose(s2, 1.020746, atol=1e-6)
    sharp = (7 * e(-2) + 4 * e(-0.5)) / 2
    np.testing.assert_allclose(float(sharp_gan_loss(gray, contour, 0.5)), sharp, atol=1e-6)
    np.testing.assert_allclose(sharp, 1.686735, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_xla_matches_eager_with_finite_gradients(kind):
    gray, contour = border_case()
    fn = LOSSES[kind]

    def value_and_grad(g, c):
        with tf.GradientTape() as tape:
            tape.watch(g)
            loss = fn(g, c)
        return loss, tape.gradient(loss, g)

    eager_loss, eager_grad = value_and_grad(tf.constant(gray), tf.constant(contour))
    xla_loss, xla_grad = compiled(value_and_grad)(tf.constant(gray), tf.constant(contour))
    np.testing.assert_allclose(float(xla_loss), float(eager_loss), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(xla_grad.numpy(), eager_grad.numpy(), rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(xla_grad.numpy())) and np.any(eager_grad.numpy() != 0.0)
    # Only image 0 has contour pixels; the empty image gets exactly zero gradient.
    assert np.all(eager_grad.numpy()[1] == 0.0)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_layouts_and_mask_types_agree(kind):
    gray, contour = random_case(11)
    fn = LOSSES[kind]
    base = float(fn(tf.constant(gray), tf.constant(contour)))
    variants = [
        fn(tf.constant(gray[..., None]), tf.constant(contour[..., None])),
        fn(tf.constant(gray), tf.constant(contour.astype(np.float32))),
        fn(tf.constant(gray), tf.constant(contour.astype(np.int32))),
        fn(tf.constant(gray[..., None]), tf.constant(contour[..., None].astype(np.uint8))),
    ]
    for value in variants:
        assert value.dtype == tf.float32
        assert float(value) == pytest.approx(base, abs=1e-7)


@pytest.mark.parametrize("dtype", [tf.bfloat16, tf.float16])
@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_low_precision_gray_is_computed_in_float32(kind, dtype):
    gray, contour = random_case(12)
    low = tf.cast(tf.constant(gray), dtype)
    fn = LOSSES[kind]
    value = fn(low, tf.constant(contour))
    assert value.dtype == tf.float32
    # Exactly the float32 loss of the rounded image (cast at entry, no low-precision maths) ...
    rounded = tf.cast(low, tf.float32)
    assert float(value) == pytest.approx(float(fn(rounded, tf.constant(contour))), abs=1e-6)
    # ... and close to the full-precision loss.
    assert float(value) == pytest.approx(float(fn(tf.constant(gray), tf.constant(contour))), rel=2e-2)


def test_shape_errors_name_the_argument():
    gray = tf.zeros((2, 5, 5))
    with pytest.raises(ValueError, match="smoothness_loss: `contour`"):
        smoothness_loss(gray, tf.zeros((2, 5, 4), tf.bool))
    with pytest.raises(ValueError, match="sharpness_loss: `gray`"):
        sharpness_loss(tf.zeros((5, 5)), tf.zeros((5, 5)), LAM)
    with pytest.raises(ValueError, match="sharp_gan_loss: `gray` must have one channel"):
        sharp_gan_loss(tf.zeros((2, 5, 5, 3)), tf.zeros((2, 5, 5, 3)), LAM)
    with pytest.raises(ValueError, match="sharpness_loss: `lam` must be > 0"):
        sharpness_loss(gray, tf.zeros((2, 5, 5)), 0.0)


def test_to_gray_maps_generator_range_to_unit_luma():
    images = tf.constant([[[[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]], [[1.0, -1.0, -1.0], [0.0, 0.0, 0.0]]]])
    gray = to_gray(tf.cast(images, tf.bfloat16))
    assert gray.dtype == tf.float32 and gray.shape == (1, 2, 2, 1)
    # Black -> 0, white -> 1, pure red -> ITU-R 601 red weight 0.2989, mid-gray -> 0.5.
    np.testing.assert_allclose(gray.numpy()[0, :, :, 0], [[0.0, 1.0], [0.2989, 0.5]], atol=1e-3)
    with pytest.raises(ValueError, match="to_gray: `images`"):
        to_gray(tf.zeros((1, 2, 2, 1)))
