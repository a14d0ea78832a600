"""FusedAdam: Keras Adam's update in one ResourceApplyAdam per variable, equal up to rounding."""

import keras
import numpy as np
import tensorflow as tf

from tf_esgan.training.distributed import ReplicaMeanAdam
from tf_esgan.training.fused_adam import FusedAdam

BETA_1, BETA_2, EPSILON, RATE = 0.5, 0.999, 1e-7, 1e-2


def _gradients(steps: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(0)
    # Gradients of mixed scale, as a network's layers have.
    return [[rng.normal(0, 1e-3, (3, 3, 2, 4)).astype("float32"), rng.normal(0, 1.0, (4,)).astype("float32")]
            for _ in range(steps)]


def _start() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.normal(0, 0.1, (3, 3, 2, 4)).astype("float32"), np.zeros(4, "float32")]


def _run(optimizer: keras.optimizers.Optimizer, steps: int = 6) -> tuple[list, list, list]:
    variables = [keras.Variable(value) for value in _start()]
    apply = tf.function(lambda grads: optimizer.apply_gradients(zip(grads, variables)))
    for grads in _gradients(steps):
        apply([tf.constant(g) for g in grads])
    slots = [optimizer._momentums[i].numpy() for i in range(2)], [optimizer._velocities[i].numpy() for i in range(2)]
    return [v.numpy() for v in variables], *slots


def _reference(steps: int = 6) -> tuple[list, list, list]:
    """Adam from Kingma & Ba's algorithm 1 with Keras' epsilon placement, in float64."""
    params = [p.astype("float64") for p in _start()]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(_gradients(steps), start=1):
        for i, g in enumerate(grads):
            m[i] = BETA_1 * m[i] + (1 - BETA_1) * g
            v[i] = BETA_2 * v[i] + (1 - BETA_2) * g * g
            rate = RATE * np.sqrt(1 - BETA_2 ** t) / (1 - BETA_1 ** t)
            params[i] = params[i] - rate * m[i] / (np.sqrt(v[i]) + EPSILON)
    return params, m, v


# Largest |error| / largest |value| allowed against the float64 definition, for float32
# arithmetic: ResourceApplyAdam takes 1 - beta_2 from beta_2 rounded to float32
# (1 - 0.999f = 0.00100005), which scales v by 1 + 4.7e-5; Keras forms 1 - beta_2 in
# float64. Measured on an AMD EPYC: variables 1.1e-6 (Keras' own Adam 7.7e-6), m 5e-8,
# v 1.3e-5 (Keras 1e-7).
RELATIVE_ERROR = {"variables": 2e-5, "m": 1e-6, "v": 5e-5}


def _relative_error(value: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(value - expected).max() / np.abs(expected).max())


def test_fused_adam_follows_adams_definition_as_closely_as_keras_adam():
    fused = _run(FusedAdam(RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON))
    plain = _run(keras.optimizers.Adam(RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON))
    reference = _reference()
    for name, ours, keras_values, expected in zip(RELATIVE_ERROR, fused, plain, reference):
        for index, (a, b, c) in enumerate(zip(ours, keras_values, expected)):
            assert _relative_error(a, c) < RELATIVE_ERROR[name], (name, index, _relative_error(a, c))
            assert _relative_error(b, c) < RELATIVE_ERROR[name], (name, index, "keras", _relative_error(b, c))
    # The six updates moved every bias element by several steps of size ~RATE.
    assert np.abs(fused[0][1]).min() > 2 * RATE


def test_the_fused_kernel_is_what_runs():
    optimizer = FusedAdam(RATE)
    variable = keras.Variable(np.ones(3, "float32"))
    apply = tf.function(lambda grad: optimizer.apply_gradients([(grad, variable)]))
    graph = apply.get_concrete_function(tf.TensorSpec([3], tf.float32)).graph
    ops = {op.type for op in graph.get_operations()}
    assert "ResourceApplyAdam" in ops
    assert not {"Sqrt", "Square"} & ops  # Keras' unfused update is not built beside it


def test_amsgrad_keeps_keras_path_and_trainer_optimizer_is_fused():
    optimizer = FusedAdam(RATE, amsgrad=True)
    variable = keras.Variable(np.ones(3, "float32"))
    apply = tf.function(lambda grad: optimizer.apply_gradients([(grad, variable)]))
    graph = apply.get_concrete_function(tf.TensorSpec([3], tf.float32)).graph
    assert "ResourceApplyAdam" not in {op.type for op in graph.get_operations()}
    assert isinstance(ReplicaMeanAdam(1e-4), FusedAdam)


def test_keras_adam_checkpoint_restores_into_fused_adam(tmp_path):
    variables = [keras.Variable(value) for value in _start()]
    plain = keras.optimizers.Adam(RATE)
    plain.apply_gradients(zip([tf.constant(g) for g in _gradients(1)[0]], variables))
    tf.train.Checkpoint(optimizer=plain, variables=variables).write(str(tmp_path / "ckpt"))

    restored_vars = [keras.Variable(np.zeros_like(value)) for value in _start()]
    fused = FusedAdam(RATE)
    fused.build(restored_vars)
    tf.train.Checkpoint(optimizer=fused, variables=restored_vars).read(str(tmp_path / "ckpt")).assert_consumed()
    assert int(fused.iterations.numpy()) == 1
    np.testing.assert_array_equal(fused._momentums[0].numpy(), plain._momentums[0].numpy())
