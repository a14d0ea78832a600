"""pix2pix's linear decay tail (`--lr_decay_epochs`): values from the definition (a run's logged
rates: test_train_gan_cli.py)."""

import pytest

from tf_esgan.training.gan_config import TrainerConfig
from tf_esgan.training.lr_schedule import LinearDecayTail, gan_learning_rate


def test_linear_decay_tail_values_from_the_definition():
    schedule = LinearDecayTail(1e-4, start=6, end=10)
    # constant before `start`, then initial * (end - step) / (end - start), 0 from `end` on
    expected = [1e-4] * 7 + [0.75e-4, 0.5e-4, 0.25e-4, 0.0, 0.0]
    assert [float(schedule(step)) for step in range(12)] == pytest.approx(expected, rel=1e-6, abs=1e-12)  # float32
    assert LinearDecayTail.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_gan_learning_rate_is_constant_without_decay_and_spans_the_last_epochs_with_it():
    assert gan_learning_rate(2e-4, epochs=5, steps_per_epoch=3, decay_epochs=0) == 2e-4
    tail = gan_learning_rate(2e-4, epochs=5, steps_per_epoch=3, decay_epochs=2)
    assert (tail.start, tail.end, tail.initial) == (9, 15, 2e-4)


@pytest.mark.parametrize("decay", [-1, 151])
def test_decay_longer_than_the_run_is_refused(decay):
    with pytest.raises(ValueError, match="lr_decay_epochs"):
        TrainerConfig(lr_decay_epochs=decay)

