"""Mixed precision: bfloat16 training steps track float32, float16 gets loss scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.models.gan import LOSS_NAMES, EnhancedSharpGAN
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.precision import cpu_has_bfloat16, global_dtype_policy, recommended_dtype_policy

SIZE = 32


@pytest.fixture(autouse=True)
def _restore_global_policy():
    previous = keras.config.dtype_policy().name
    yield
    keras.config.set_dtype_policy(previous)


def _gan(policy, weights=None):
    config = NetworkConfig(
        image_size=SIZE, generator_base_filters=8, generator_depth=5, discriminator_base_filters=8,
        dtype_policy=policy, norm="instance",
    )  # fmt: skip
    generator, discriminator = build_networks("enhanced", config)
    if weights is not None:
        generator.set_weights(weights[0])
        discriminator.set_weights(weights[1])
    gan = EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant="enhanced", contour_xla=False))
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.Adam(1e-4))
    return gan


def _steps(gan, batch, count=3):
    """Per-step losses with dropout switched off by calling test_step after each update."""
    losses = []
    for _ in range(count):
        gan.train_step(batch)
        for tracker in gan.metrics:
            tracker.reset_state()
        losses.append({name: float(value) for name, value in gan.test_step(batch).items()})
    return losses


def test_mixed_bfloat16_steps_are_finite_and_close_to_float32(rng):
    condition = (rng.random((2, SIZE, SIZE, 1)) > 0.5).astype("float32")
    image = rng.uniform(-1, 1, (2, SIZE, SIZE, 3)).astype("float32")
    contour = (rng.random((2, SIZE, SIZE, 1)) > 0.7).astype("float32")
    batch = tuple(tf.constant(x) for x in (condition, image, contour))

    keras.utils.set_random_seed(3)
    reference = _gan("float32")
    weights = (reference.generator.get_weights(), reference.discriminator.get_weights())
    bf16 = _gan("mixed_bfloat16", weights)
    assert bf16.generator.get_layer("down1_conv").compute_dtype == "bfloat16"
    assert bf16.generator.get_layer("to_rgb").compute_dtype == "float32"
    assert bf16.discriminator.get_layer("logits").compute_dtype == "float32"
    assert bf16.generator(condition).dtype == "float32"

    keras.utils.set_random_seed(5)
    expected = _steps(reference, batch)
    keras.utils.set_random_seed(5)
    got = _steps(bf16, batch)
    for step, (want, have) in enumerate(zip(expected, got)):
        for name in LOSS_NAMES:
            assert np.isfinite(have[name]), (step, name)
            # bfloat16 keeps ~3 significant digits; losses are means over many pixels.
            assert abs(have[name] - want[name]) <= 0.02 * abs(want[name]) + 2e-3, (step, name, have, want)
    # Variables stay float32 under a mixed policy.
    assert all(w.dtype == "float32" for w in bf16.generator.weights)
    assert keras.config.dtype_policy().name == "float32"


def test_mixed_float16_wraps_optimizers_in_loss_scaling():
    gan = _gan("mixed_float16")
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert not isinstance(_gan("float32").g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_global_policy_context_restores_previous_policy():
    with global_dtype_policy("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


def test_bfloat16_cpu_detection(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile\n")
    assert cpu_has_bfloat16(cpuinfo)
    cpuinfo.write_text("flags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert not cpu_has_bfloat16(cpuinfo)
    assert not cpu_has_bfloat16(tmp_path / "missing")
    expected = "mixed_bfloat16" if cpu_has_bfloat16() else "float32"
    if not tf.config.list_physical_devices("GPU"):
        assert recommended_dtype_policy() == expected
