"""Configuration of one GAN training run (every `esgan-train` flag value).

    TrainConfig
      data:    GanDataConfig    dataset_dir, test_fraction, split_seed
      model:   NetworkConfig    image_size, widths, norm, upsampling, dropout_rate, dtype_policy
      loss:    GanLossConfig    variant, l1_weight, beta, lam, contour_xla
      trainer: TrainerConfig    epochs, steps_per_epoch, batch_size, learning_rate, lr_decay_epochs, seed,
                                checkpoints
      runtime: RuntimeConfig    model_dir, strategy, jit_compile, overwrite, verbose

The split, trainer and runtime sections share their common fields (and checks) with
SegNet's: `training.config_sections`.

config.json holds this nesting. Runs written before it hold one flat dict of the leaf
fields; `TrainConfig.from_json_dict` reads both, and `nested_json_dict` converts a flat
one, so a run folder of either kind resumes (see `runs/run_dir.prepare_run_dir`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, Mapping

from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig, generator_config
from tf_esgan.models.precision import auto_policy_section, with_resolved_dtype_policy
from tf_esgan.models.variants import get_variant
from tf_esgan.runs.run_dir import (
    config_to_dict, nest_flat_dict, resolved_path, sections_from_dict, with_added_fields)
from tf_esgan.training.config_sections import (  # noqa: F401  (STRATEGIES: its older home)
    STRATEGIES, SplitConfig, StrategyConfig, TrainerBaseConfig, trainer_defaults)

DEFAULT_VARIANT = "enhanced"

# Fields (dotted paths) that may change between restarts of one run without refusing the
# run dir: where it lives, how long it trains and on which devices do not change what a
# checkpoint means.
RESUMABLE_CHANGES = ("runtime.model_dir", "runtime.overwrite", "trainer.epochs", "trainer.max_train_seconds",
                     "runtime.strategy", "runtime.verbose")
# Fields holding paths (compared resolved on resume).
PATH_FIELDS = ("data.dataset_dir",)

# Values of fields that flat config.json files written before the field existed meant:
# those runs trained batch-norm, float32, transposed-convolution networks split with `seed`.
LEGACY_DEFAULTS = {"norm": "batch", "dtype_policy": "float32", "upsampling": "transpose",
                   "dropout_rate": 0.5, "split_seed": None}
# Fields added after nested runs were written (issue 20), by (section, field), with what those
# runs did: pix2pix's zero padding and 70x70 patches, a constant learning rate. A run folder
# of an earlier version resumes with them.
ADDED_FIELDS = {("model", "padding"): "zero", ("model", "discriminator_strided_blocks"): 3,
                ("trainer", "lr_decay_epochs"): 0}


@dataclasses.dataclass(frozen=True, kw_only=True)
class GanDataConfig(SplitConfig):
    """The dataset of a GAN run and its slide-grouped split (test_fraction, split_seed: SplitConfig).

    Attributes:
      dataset_dir: canonical dataset (images/, masks/); split by slide into train/validation. Stored absolute.
    """

    OWNER: ClassVar[str] = "TrainConfig"

    dataset_dir: str

    def __post_init__(self) -> None:
        if not self.dataset_dir:
            raise ValueError("TrainConfig: `dataset_dir` is required (a folder with images/ and masks/)")
        # Absolute, so config.json names the same folder from wherever it is read.
        object.__setattr__(self, "dataset_dir", resolved_path(self.dataset_dir))
        super().__post_init__()


@dataclasses.dataclass(frozen=True, kw_only=True)
@trainer_defaults(epochs=150, batch_size=1, learning_rate=1e-4)
class TrainerConfig(TrainerBaseConfig):
    """How long and how the GAN trains (the shared fields and their documentation: TrainerBaseConfig).

    Defaults: the paper's 150 epochs of batch 1 at Adam step 1e-4.

    Attributes:
      max_train_seconds: stop (after a checkpoint) once training took this long; 0 = no limit.
      lr_decay_epochs: pix2pix's schedule: the step size falls linearly from `learning_rate` to 0 over the
        last this many of `epochs` (per step); 0 = constant (the paper states no schedule).
    """

    OWNER: ClassVar[str] = "TrainConfig"

    max_train_seconds: float = 0.0
    lr_decay_epochs: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_train_seconds < 0:
            raise ValueError(f"TrainConfig: `max_train_seconds` must be >= 0, got {self.max_train_seconds}")
        if not 0 <= self.lr_decay_epochs <= self.epochs:
            raise ValueError(f"TrainConfig: `lr_decay_epochs` must be in [0, epochs={self.epochs}], "
                             f"got {self.lr_decay_epochs}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RuntimeConfig(StrategyConfig):
    """Where and on what a run executes (none of it changes what a checkpoint means; strategy: StrategyConfig).

    Attributes:
      model_dir: run folder (new, empty or an esgan-train run): config.json, checkpoints/, logs/ (TensorBoard).
        Stored absolute.
      jit_compile: XLA-compile the whole train step (slower on CPU, see benchmarks).
      overwrite: start from scratch: delete the earlier run's config.json, checkpoints/ and logs/ (only those).
      verbose: 1 = progress bar per epoch (on a terminal); 2 = one summary line per epoch (--quiet);
        0 = only the final summary line.
    """

    OWNER: ClassVar[str] = "TrainConfig"

    model_dir: str
    jit_compile: bool = False
    overwrite: bool = False
    verbose: int = 1

    def __post_init__(self) -> None:
        if not self.model_dir:
            raise ValueError("TrainConfig: `model_dir` is required (the run folder)")
        object.__setattr__(self, "model_dir", resolved_path(self.model_dir))
        super().__post_init__()


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One run of `esgan-train`.

    Attributes:
      data: the dataset and its split (GanDataConfig).
      model: both networks' sizes (NetworkConfig); `dtype_policy` defaults to "auto", resolved when
        the config is made (mixed_float16 on a GPU, mixed_bfloat16 on a CPU with AVX512-BF16/AMX,
        float32 otherwise); config.json records the resolved policy.
      loss: the variant of Table 1 and the Eq. 1 / Eq. 7 weights (GanLossConfig).
      trainer: epochs, batches, optimizer, seed, checkpoints (TrainerConfig).
      runtime: run folder, devices, XLA, overwrite, verbosity (RuntimeConfig).
    """

    data: GanDataConfig
    runtime: RuntimeConfig
    model: NetworkConfig = dataclasses.field(default_factory=auto_policy_section(NetworkConfig))
    loss: GanLossConfig = dataclasses.field(default_factory=functools.partial(GanLossConfig, variant=DEFAULT_VARIANT))
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        # Frozen dataclass: resolve "auto" once, so config.json names the policy used.
        object.__setattr__(self, "model", with_resolved_dtype_policy(self.model, "TrainConfig"))
        # The generator's own checks (image_size a multiple of 2**depth), before any file is written.
        generator_config(self.loss.variant, self.model)

    @classmethod
    def from_json_dict(cls, values: Mapping) -> "TrainConfig":
        """A config.json's TrainConfig, nested or flat (written before the nesting).

        Unknown keys are ignored; fields a flat file predates get the values they meant then
        (LEGACY_DEFAULTS).
        """
        nested = (nest_flat_dict(values, _SECTION_CLASSES, LEGACY_DEFAULTS) if is_flat_json_dict(values)
                  else values)
        return cls(**sections_from_dict(nested, _SECTION_CLASSES))

    @property
    def variant(self) -> str:
        return self.loss.variant

    @property
    def conditioning(self) -> str:
        return get_variant(self.loss.variant).conditioning

    @property
    def data_split_seed(self) -> int:
        return self.data.split_seed_for(self.trainer.seed)


_SECTION_CLASSES = {"data": GanDataConfig, "model": NetworkConfig, "loss": GanLossConfig,
                    "trainer": TrainerConfig, "runtime": RuntimeConfig}


def is_flat_json_dict(values: Mapping) -> bool:
    """True for a config.json written before the nesting (its leaf fields at the top level)."""
    return "variant" in values and not isinstance(values.get("loss"), Mapping)


def nested_json_dict(values: Mapping) -> dict:
    """config.json's values in the nested layout; a flat (older) one is read and converted.

    Raises:
      ValueError, TypeError: a flat dict that is no valid TrainConfig.
    """
    if not is_flat_json_dict(values):
        return with_added_fields(values, ADDED_FIELDS)
    return config_to_dict(TrainConfig.from_json_dict(values))
