"""Config sections shared by the GAN and SegNet jobs (and the reproduction), each field defined once.

    SplitConfig        test_fraction, split_seed            GanDataConfig, SegNetDataConfig, ReproduceConfig
    TrainerBaseConfig  epochs, steps_per_epoch, batch_size,  TrainerConfig (GAN), SegNetTrainerConfig
                       learning_rate, seed, checkpoint_every_steps, keep_checkpoints
    StrategyConfig     strategy                             RuntimeConfig (GAN), SegNetRuntimeConfig

A job's section subclasses these, so config.json keeps its keys: the shared fields sit in
the section as before. `OWNER` names the job in error messages. The two trainers differ
only in the defaults of `epochs`, `batch_size` and `learning_rate` (the paper's settings:
GAN 150 / 1 / 1e-4, SegNet 50 / 4 / 1e-3), which each subclass sets with `trainer_defaults`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from tf_esgan.config_fields import check_choices, check_minimum, choice_field
from tf_esgan.data.datasets import DEFAULT_TEST_FRACTION

STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SplitConfig:
    """The slide-grouped train/test split of a real dataset.

    Attributes:
      test_fraction: fraction of the slides held out (for validation or testing).
      split_seed: seed of the slide-grouped split; None = the run's `seed` (several seeds, one split).
    """

    OWNER: ClassVar[str] = "SplitConfig"

    test_fraction: float = DEFAULT_TEST_FRACTION
    split_seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"{self.OWNER}: `test_fraction` must be in [0, 1), got {self.test_fraction}")

    def split_seed_for(self, seed: int) -> int:
        """The split's seed for a run of `seed`: `split_seed` where set, else `seed`."""
        return seed if self.split_seed is None else self.split_seed


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerBaseConfig:
    """How long a network trains, with which batches, optimizer step, seed and checkpoints.

    Attributes:
      epochs: total epochs (paper: GAN 150, SegNet 50); a larger value on restart extends a run.
      steps_per_epoch: batches per epoch; 0 = one pass over the training set // batch_size (GAN: over
        every `image_size` tile of the training images; SegNet: ceil(training images / batch_size)).
      batch_size: global batch (paper: GAN 1, SegNet 4), split evenly over the replicas.
      learning_rate: Adam step size (paper: GAN 1e-4 for G and D with beta_1 = 0.5 as in pix2pix; SegNet 1e-3).
      seed: initial weights, data order and augmentation (and the split, unless split_seed is set).
      checkpoint_every_steps: also checkpoint every this many steps (0 = once per epoch).
      keep_checkpoints: checkpoints kept (older ones are deleted).
    """

    OWNER: ClassVar[str] = "TrainerBaseConfig"

    epochs: int
    steps_per_epoch: int = 0
    batch_size: int
    learning_rate: float
    seed: int = 0
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 3

    def __post_init__(self) -> None:
        check_minimum(self, ("epochs", "batch_size", "keep_checkpoints"), 1, self.OWNER)
        check_minimum(self, ("steps_per_epoch", "checkpoint_every_steps"), 0, self.OWNER)
        if not self.learning_rate > 0:
            raise ValueError(f"{self.OWNER}: `learning_rate` must be > 0, got {self.learning_rate}")


def trainer_defaults(*, epochs: int, batch_size: int, learning_rate: float):
    """Class decorator: a TrainerBaseConfig subclass with the job's defaults of these three fields.

    The fields stay TrainerBaseConfig's (type, place in config.json, documentation, checks);
    only their defaults are the job's. Apply it below `@dataclasses.dataclass`.
    """
    defaults = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate}

    def with_defaults(cls: type) -> type:
        annotations = cls.__dict__.get("__annotations__", {})
        cls.__annotations__ = {**{name: TrainerBaseConfig.__annotations__[name] for name in defaults}, **annotations}
        for name, value in defaults.items():
            setattr(cls, name, value)
        return cls

    return with_defaults


@dataclasses.dataclass(frozen=True, kw_only=True)
class StrategyConfig:
    """The devices a job runs on (it does not change what a checkpoint means).

    Attributes:
      strategy: "default" (one device), "mirrored" (local devices) or "multi_worker" (TF_CONFIG
        cluster); the trainer's `batch_size` is the global batch.
    """

    OWNER: ClassVar[str] = "StrategyConfig"

    strategy: str = choice_field("default", STRATEGIES)

    def __post_init__(self) -> None:
        check_choices(self, "strategy", self.OWNER)
