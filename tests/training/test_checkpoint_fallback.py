"""In-process: a corrupt newest checkpoint falls back to the previous one (and says so);
a non-finite loss stops training without touching the last good checkpoint; the
synthesizer reads the run folder's generator."""

import numpy as np
import pytest
import tensorflow as tf

from tf_esgan.data.datasets import sample_root
from tf_esgan.losses import adversarial
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.training.gan_trainer import NonFiniteLossError, train_and_evaluate

from conftest import tiny_train_config


def config(model_dir, epochs):
    return tiny_train_config(sample_root(), model_dir, batch_size=2, epochs=epochs)


def test_corrupt_checkpoint_fallback_and_non_finite_stop(tmp_path, monkeypatch):
    run = tmp_path / "run"
    first = train_and_evaluate(config(run, 2), log=lambda message: None)
    assert first.step == 2 and first.checkpoint.endswith("ckpt-2")
    data = run / "checkpoints" / "ckpt-2.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # truncated newest checkpoint

    messages = []
    resumed = train_and_evaluate(config(run, 3), log=messages.append)
    assert resumed.resumed_from.endswith("ckpt-1")
    assert any("ckpt-2 is unreadable" in m and "falling back" in m for m in messages)
    assert resumed.step == 3 and resumed.epoch == 3  # 1 restored + 2 retrained steps

    generator, kind, step = load_generator(str(run), log=lambda message: None)
    condition = tf.random.uniform([1, 32, 32, 1], 0, 2, seed=1)
    assert kind == "skeleton" and step == 3  # the step of ckpt-3, the newest readable one
    np.testing.assert_allclose(generator(condition, training=False), resumed.generator(condition, training=False),
                               atol=1e-6)

    monkeypatch.setattr(adversarial, "l1_reconstruction_loss", lambda real, fake: tf.constant(np.nan))
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss at step 4 \(g_total=nan, l1=nan\).*ckpt-3"):
        train_and_evaluate(config(run, 5), log=lambda message: None)
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-3")
