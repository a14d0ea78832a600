"""Configuration of one SegNet training run (every `esgan-train-segnet` flag value).

    SegNetTrainConfig
      data:    SegNetDataConfig     train_set, dataset_dir, synthetic_dir, crop_size, test_fraction, split_seed
      model:   SegNetConfig         base_filters, batch_norm_momentum, dtype_policy
      loss:    SegNetLossConfig     distance_weight
      trainer: SegNetTrainerConfig  epochs, steps_per_epoch, batch_size, learning_rate, seed, tune_images,
                                    checkpoints
      runtime: SegNetRuntimeConfig  strategy

The split, trainer and runtime sections share their common fields (and checks) with the
GAN's: `training.config_sections`.
config.json holds this nesting. Runs written before it hold one flat dict of the leaf
fields; `SegNetTrainConfig.from_json_dict` reads both, `nested_json_dict` converts a flat
one (so a run folder of either kind resumes, see `runs/run_dir.prepare_run_dir`) and
`nest_json_dict` sorts one into sections without checking it (evaluation reads only a few).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Mapping

from tf_esgan.config_fields import check_choices, choice_field
from tf_esgan.models.precision import auto_policy_section, with_resolved_dtype_policy
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.runs.run_dir import (
    config_to_dict, nest_flat_dict, resolved_path, sections_from_dict, with_added_fields)
from tf_esgan.segmentation.data import AUGMENTATIONS, TRAIN_SETS
from tf_esgan.training.config_sections import (
    SplitConfig, StrategyConfig, TrainerBaseConfig, trainer_defaults)

# Fields (dotted paths) that may change between restarts of one run: they do not change what
# a checkpoint means (config.json files of the fit-era trainer lack the middle two; tune_on
# only decides the watershed tuning after the last step).
RESUMABLE_CHANGES = ("trainer.epochs", "runtime.strategy", "trainer.checkpoint_every_steps",
                     "trainer.keep_checkpoints", "trainer.tune_on")
# Fields holding paths (compared resolved on resume).
PATH_FIELDS = ("data.dataset_dir", "data.synthetic_dir", "data.real_train_dir")
# Values of fields that flat config.json files predate: the Keras BatchNormalization momentum
# SegNet was always built with.
LEGACY_DEFAULTS = {"batch_norm_momentum": 0.99}
# Fields added after runs were written (issue 20), by dotted path, with what those runs did:
# all crops pooled, the paper's augmentation, the dataset's own training slides, the
# watershed tuned on the training set's own images.
ADDED_FIELDS = {("data", "real_fraction"): 0.0, ("data", "augmentation"): "auto",
                ("data", "real_train_dir"): "", ("trainer", "tune_on"): "training",
                ("trainer", "lr_halving_steps"): 0}
TUNE_ON = ("real", "training")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetDataConfig(SplitConfig):
    """The training set of a SegNet run and the real dataset's slide-grouped split (SplitConfig's fields).

    Attributes:
      train_set: "R", "R*", "S" or "S*" (see `segmentation.data`).
      dataset_dir: real dataset (canonical layout); its slide-grouped train split is R. Stored absolute.
      synthetic_dir: synthetic pairs (canonical layout), needed by S and S*. Stored absolute.
      crop_size: side of the square training crops (a multiple of 32).
      real_fraction: S* only: share of real crops in every batch; 0 = real and synthetic images
        pooled (each image once per pass, so ~2 % real crops with 6,000 synthetic pairs).
      augmentation: "auto" = the paper's (R*, S* augmented, R and S random crops only); "on" /
        "off" = every set alike (flips, rotations, scale, HED stain jitter, median blur).
      real_train_dir: real training images from another canonical dataset instead of
        dataset_dir's training slides (a cross-dataset R, e.g. CPM-15 for TNBC); the held-out
        slides stay dataset_dir's. Stored absolute.
    """

    OWNER: ClassVar[str] = "SegNetTrainConfig"

    train_set: str = choice_field("R", TRAIN_SETS)
    dataset_dir: str = ""
    synthetic_dir: str = ""
    crop_size: int = 256
    real_fraction: float = 0.0
    augmentation: str = choice_field("auto", AUGMENTATIONS)
    real_train_dir: str = ""

    def __post_init__(self) -> None:
        check_choices(self, "train_set", self.OWNER)
        if not self.dataset_dir:
            raise ValueError("SegNetTrainConfig: `dataset_dir` is required (the real dataset)")
        if self.train_set in ("S", "S*") and not self.synthetic_dir:
            raise ValueError(f"SegNetTrainConfig: train_set {self.train_set!r} needs `synthetic_dir`")
        # Absolute, so the run's evaluation finds them from any folder.
        object.__setattr__(self, "dataset_dir", resolved_path(self.dataset_dir))
        object.__setattr__(self, "synthetic_dir", resolved_path(self.synthetic_dir))
        object.__setattr__(self, "real_train_dir", resolved_path(self.real_train_dir))
        check_choices(self, "augmentation", self.OWNER)
        if not 0.0 <= self.real_fraction <= 1.0:
            raise ValueError(f"SegNetTrainConfig: `real_fraction` must be in [0, 1], got {self.real_fraction}")
        if self.real_fraction and self.train_set != "S*":
            raise ValueError(f"SegNetTrainConfig: `real_fraction` mixes real into synthetic crops (S*); "
                             f"train_set {self.train_set!r} has one kind")
        if self.crop_size < 1:
            raise ValueError(f"SegNetTrainConfig: `crop_size` must be >= 1, got {self.crop_size}")
        if self.crop_size % 32:
            raise ValueError(f"SegNetTrainConfig: `crop_size` must be a multiple of 32, got {self.crop_size}")
        super().__post_init__()


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetLossConfig:
    """Weights of SegNet's loss (`segmentation.loss.segnet_loss`).

    Attributes:
      distance_weight: weight of the distance-map term of the loss.
    """

    distance_weight: float = 1.0


@dataclasses.dataclass(frozen=True, kw_only=True)
@trainer_defaults(epochs=50, batch_size=4, learning_rate=1e-3)
class SegNetTrainerConfig(TrainerBaseConfig):
    """How long and how SegNet trains (the shared fields: TrainerBaseConfig), and how its watershed is tuned.

    Defaults: 50 epochs of batch 4 at Adam step 1e-3.

    Attributes:
      tune_images: images used to tune the watershed thresholds.
      tune_on: "real": the real training images of the run (R's, also for S and S*: the
        thresholds then fit real tissue, not synthetic); "training": the training set's own
        images (before issue 20; for S, synthetic ones).
      lr_halving_steps: halve Adam's step every this many optimizer steps (a staircase
        `keras.optimizers.schedules.ExponentialDecay`; it does not depend on `epochs`, so a
        finished run can still be extended); 0 = constant, the paper's 1e-3.
    """

    OWNER: ClassVar[str] = "SegNetTrainConfig"

    tune_images: int = 16
    tune_on: str = choice_field("real", TUNE_ON)
    lr_halving_steps: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choices(self, "tune_on", self.OWNER)
        if self.lr_halving_steps < 0:
            raise ValueError(f"SegNetTrainConfig: `lr_halving_steps` must be >= 0, got {self.lr_halving_steps}")
        if self.tune_images < 1:
            raise ValueError(f"SegNetTrainConfig: `tune_images` must be >= 1, got {self.tune_images}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetRuntimeConfig(StrategyConfig):
    """On what a SegNet run executes (strategy: StrategyConfig, as for the GAN)."""

    OWNER: ClassVar[str] = "SegNetTrainConfig"


@dataclasses.dataclass(frozen=True, kw_only=True)
class SegNetTrainConfig:
    """One run of `esgan-train-segnet`.

    Attributes:
      data: the training set and the real dataset's split (SegNetDataConfig).
      model: SegNet's size and precision (SegNetConfig); `dtype_policy` defaults to "auto", resolved
        when the config is made (as for the GAN: mixed_bfloat16 on a bf16 CPU, mixed_float16 on a
        GPU, float32 otherwise); config.json records the resolved policy.
      loss: the loss weights (SegNetLossConfig).
      trainer: epochs, batches, optimizer, seed, watershed tuning, checkpoints (SegNetTrainerConfig).
      runtime: devices (SegNetRuntimeConfig).
    """

    data: SegNetDataConfig
    model: SegNetConfig = dataclasses.field(default_factory=auto_policy_section(SegNetConfig))
    loss: SegNetLossConfig = dataclasses.field(default_factory=SegNetLossConfig)
    trainer: SegNetTrainerConfig = dataclasses.field(default_factory=SegNetTrainerConfig)
    runtime: SegNetRuntimeConfig = dataclasses.field(default_factory=SegNetRuntimeConfig)

    def __post_init__(self) -> None:
        # Frozen dataclass: resolve "auto" once, so config.json names the policy used.
        object.__setattr__(self, "model", with_resolved_dtype_policy(self.model, "SegNetTrainConfig"))

    @classmethod
    def from_json_dict(cls, values: Mapping) -> "SegNetTrainConfig":
        """A config.json's SegNetTrainConfig, nested or flat (written before the nesting).

        Unknown keys are ignored; fields a flat file predates get the values they meant then
        (LEGACY_DEFAULTS).
        """
        return cls(**sections_from_dict(nest_json_dict(values), _SECTION_CLASSES))

    @property
    def data_split_seed(self) -> int:
        return self.data.split_seed_for(self.trainer.seed)


_SECTION_CLASSES = {"data": SegNetDataConfig, "model": SegNetConfig, "loss": SegNetLossConfig,
                    "trainer": SegNetTrainerConfig, "runtime": SegNetRuntimeConfig}


def is_flat_json_dict(values: Mapping) -> bool:
    """True for a config.json written before the nesting (its leaf fields at the top level)."""
    return not isinstance(values.get("data"), Mapping)


def nest_json_dict(values: Mapping) -> dict:
    """config.json's values sorted into SegNetTrainConfig's sections, unchecked; a nested one is returned as is.

    A flat (older) dict gets LEGACY_DEFAULTS for the fields it predates; unknown keys are dropped.
    """
    if not is_flat_json_dict(values):
        return _with_added_fields(values)
    return _with_added_fields(nest_flat_dict(values, _SECTION_CLASSES, LEGACY_DEFAULTS))


def _with_added_fields(values: Mapping) -> dict:
    """A copy of a nested dict with ADDED_FIELDS filled in where a run predates them."""
    return with_added_fields(values, ADDED_FIELDS)


def nested_json_dict(values: Mapping) -> dict:
    """config.json's values in the nested layout; a flat (older) one is read and converted.

    Raises:
      ValueError, TypeError: a flat dict that is no valid SegNetTrainConfig.
    """
    if not is_flat_json_dict(values):
        return _with_added_fields(values)
    return config_to_dict(SegNetTrainConfig.from_json_dict(values))
