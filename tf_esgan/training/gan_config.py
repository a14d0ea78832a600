"""Configuration of one GAN training run (every `esgan-train` flag value)."""

from __future__ import annotations

import dataclasses

from tf_esgan.models.generator import UPSAMPLINGS, GeneratorConfig
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig
from tf_esgan.models.normalization import DEFAULT_NORMALIZATION
from tf_esgan.models.precision import resolve_dtype_policy
from tf_esgan.models.variants import get_variant
from tf_esgan.runs.run_dir import resolved_path

STRATEGIES = ("default", "mirrored", "multi_worker")

# Fields that may change between restarts of one run without refusing the run dir:
# where it lives, how long it trains and on which devices do not change what a
# checkpoint means.
RESUMABLE_CHANGES = ("model_dir", "overwrite", "epochs", "max_train_seconds", "strategy", "verbose")

# Values of fields that config.json files written before the field existed meant: those
# runs trained batch-norm, float32, transposed-convolution networks split with `seed`.
LEGACY_DEFAULTS = {"norm": "batch", "dtype_policy": "float32", "upsampling": "transpose",
                   "dropout_rate": 0.5, "split_seed": None}


def _loss_default(name: str) -> float:
    """GanLossConfig's default for `name`: the loss weights are defined in one place."""
    return next(field.default for field in dataclasses.fields(GanLossConfig) if field.name == name)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One run of `esgan-train`.

    Attributes:
      dataset_dir: canonical dataset (images/, masks/); split by slide into train/validation.
        Stored absolute (resolved when the config is made), like `model_dir`.
      model_dir: run folder: config.json, checkpoints/, logs/ (TensorBoard).
      variant: a row of Table 1 ("pix2pix", "sharp_gan", "sharp_gan_plus", "enhanced").
      epochs: total epochs (paper: 150); a larger value on restart extends a run.
      steps_per_epoch: batches per epoch; 0 = one pass over every `image_size` tile of
        the training images (a 512x512 image holds 4 tiles of 256) // batch_size.
      batch_size: global batch (paper: 1), split evenly over the replicas.
      learning_rate: Adam step size of G and D (paper: 1e-4); Adam beta_1 = 0.5 (pix2pix).
      l1_weight, beta, lam: Eq. 1 weights and Eq. 7's lambda (defaults: GanLossConfig's).
      image_size: side of the training crops = network input (paper: 256).
      generator_base_filters, generator_depth, discriminator_base_filters: network widths
        (pix2pix: 64, 8, 64); smaller values make quick demos and tests.
      norm: "instance" (default) or "batch" for both networks (models/normalization.py).
      upsampling: generator decoder "transpose" (pix2pix) or "resize" (resize + conv).
      dropout_rate: generator decoder dropout in training (pix2pix: 0.5; off at inference).
      dtype_policy: "auto" (resolved when the config is made: mixed_float16 on a GPU,
        mixed_bfloat16 on a CPU with AVX512-BF16/AMX, float32 otherwise), "float32",
        "mixed_bfloat16" or "mixed_float16". config.json records the resolved policy.
      test_fraction: fraction of the slides held out for validation (the image grid).
      seed: initial weights, data order and augmentation (and the split, see split_seed).
      split_seed: seed of the slide-grouped split; None = `seed`. Runs of several seeds
        on one held-out split set this.
      jit_compile: XLA-compile the whole train step (slower on CPU, see benchmarks).
      strategy: "default" (one device), "mirrored" (local devices) or "multi_worker"
        (TF_CONFIG cluster).
      checkpoint_every_steps: also checkpoint every this many steps (0 = once per epoch).
      keep_checkpoints: checkpoints kept (older ones are deleted).
      max_train_seconds: stop (after a checkpoint) once training took this long; 0 = no limit.
      overwrite: replace a differing config.json and start from scratch.
      verbose: 1 = progress bar per epoch, 0 = only the final summary line.
    """

    dataset_dir: str
    model_dir: str
    variant: str = "enhanced"
    epochs: int = 150
    steps_per_epoch: int = 0
    batch_size: int = 1
    learning_rate: float = 1e-4
    l1_weight: float = _loss_default("l1_weight")
    beta: float = _loss_default("beta")
    lam: float = _loss_default("lam")
    image_size: int = 256
    generator_base_filters: int = 64
    generator_depth: int = 8
    discriminator_base_filters: int = 64
    norm: str = DEFAULT_NORMALIZATION
    upsampling: str = "transpose"
    dropout_rate: float = 0.5
    dtype_policy: str = "auto"
    test_fraction: float = 0.1
    seed: int = 0
    split_seed: int | None = None
    jit_compile: bool = False
    strategy: str = "default"
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 3
    max_train_seconds: float = 0.0
    overwrite: bool = False
    verbose: int = 1

    def __post_init__(self) -> None:
        # Frozen dataclass: resolve "auto" once, so config.json names the policy used.
        object.__setattr__(self, "dtype_policy", resolve_dtype_policy(self.dtype_policy, "TrainConfig"))
        if self.upsampling not in UPSAMPLINGS:
            raise ValueError(f"TrainConfig: `upsampling` must be one of {UPSAMPLINGS}, got {self.upsampling!r}")
        if not self.dataset_dir:
            raise ValueError("TrainConfig: `dataset_dir` is required (a folder with images/ and masks/)")
        if not self.model_dir:
            raise ValueError("TrainConfig: `model_dir` is required (the run folder)")
        # Absolute, so config.json names the same folders from wherever it is read.
        object.__setattr__(self, "dataset_dir", resolved_path(self.dataset_dir))
        object.__setattr__(self, "model_dir", resolved_path(self.model_dir))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"TrainConfig: `strategy` must be one of {STRATEGIES}, got {self.strategy!r}")
        for name in ("epochs", "batch_size", "image_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig: `{name}` must be >= 1, got {getattr(self, name)}")
        for name in ("steps_per_epoch", "checkpoint_every_steps", "max_train_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig: `{name}` must be >= 0, got {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"TrainConfig: `learning_rate` must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"TrainConfig: `test_fraction` must be in [0, 1), got {self.test_fraction}")
        # Validate the nested configs now, so a bad flag fails before any file is written.
        self.loss_config()
        self.network_config()
        GeneratorConfig(image_size=self.image_size, depth=self.generator_depth,
                        base_filters=self.generator_base_filters, dropout_rate=self.dropout_rate)

    @classmethod
    def from_json_dict(cls, values: dict) -> "TrainConfig":
        """A config.json's TrainConfig; fields it predates get the values they meant then."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**LEGACY_DEFAULTS, **{k: v for k, v in values.items() if k in known}})

    @property
    def data_split_seed(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed

    @property
    def conditioning(self) -> str:
        return get_variant(self.variant).conditioning

    def loss_config(self) -> GanLossConfig:
        return GanLossConfig(variant=self.variant, l1_weight=self.l1_weight, beta=self.beta, lam=self.lam)

    def network_config(self) -> NetworkConfig:
        return NetworkConfig(image_size=self.image_size, generator_base_filters=self.generator_base_filters,
                             generator_depth=self.generator_depth,
                             discriminator_base_filters=self.discriminator_base_filters,
                             norm=self.norm, upsampling=self.upsampling, dropout_rate=self.dropout_rate,
                             dtype_policy=self.dtype_policy)
