"""How much compute `esgan-reproduce` spends: the paper's settings, a CPU budget, a toy.

Every number of a budget lives in `BUDGETS` below, so retuning one is a one-line change. A
budget holds the sections of `TrainConfig` (its `NetworkConfig` and `TrainerConfig`) and of
`SegNetTrainConfig` (its `SegNetConfig` and `SegNetTrainerConfig`) rather than copies of their
fields; `pipeline._gan_config` and `pipeline._segnet_config` put them into each run's config.
"""

from __future__ import annotations

import dataclasses

from tf_esgan.models.networks import NetworkConfig
from tf_esgan.models.precision import AUTO_DTYPE_POLICY
from tf_esgan.models.segnet import SegNetConfig
from tf_esgan.models.variants import VARIANTS
from tf_esgan.segmentation.train_config import SegNetTrainerConfig
from tf_esgan.training.gan_config import TrainerConfig

#: Table 1's GAN variants in the paper's row order.
ALL_VARIANTS = tuple(VARIANTS)
#: The variant whose generator makes the synthetic sets S and S* of Table 2.
SYNTHESIS_VARIANT = "enhanced"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Budget:
    """Sizes and lengths of every stage of the reproduction.

    Attributes:
      network: every GAN's networks (image_size is also the Table 1 tile side; paper: 256, pix2pix
        widths; dtype_policy "auto": resolved when each run's config is made).
      gan_trainer: GAN training length: epochs and steps_per_epoch (0 = one pass over every
        `image_size` tile of the training images; paper: 150 epochs at batch 1).
      variants: GAN variants trained for Table 1 (must include "enhanced", which makes the
        synthetic set); default all four, in the paper's row order.
      num_synthetic: synthetic pairs for S and S* (paper: 6,000).
      segnet_model: every SegNet's size and precision (the paper: 64 base filters; "auto" as for network).
      segnet_trainer: SegNet training length, batch and watershed tuning images (the paper gives none
        of these); its seed is replaced by each run's.
      segnet_crop_size: side of SegNet's training crops (the rest of its data section is the run's).
    """

    network: NetworkConfig
    gan_trainer: TrainerConfig
    variants: tuple[str, ...] = ALL_VARIANTS
    num_synthetic: int
    segnet_model: SegNetConfig
    segnet_trainer: SegNetTrainerConfig
    segnet_crop_size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", tuple(self.variants))  # a list from JSON or a caller
        unknown = [name for name in self.variants if name not in ALL_VARIANTS]
        if unknown or len(set(self.variants)) != len(self.variants):
            raise ValueError(f"Budget: `variants` must be distinct names from {ALL_VARIANTS}, got {self.variants}")
        if SYNTHESIS_VARIANT not in self.variants:
            raise ValueError(f"Budget: `variants` must include {SYNTHESIS_VARIANT!r} (it makes the synthetic "
                             f"sets of Table 2), got {self.variants}")


def _network(**sizes) -> NetworkConfig:
    """A budget's networks: TrainConfig's precision ("auto") and `sizes`."""
    return NetworkConfig(dtype_policy=AUTO_DTYPE_POLICY, **sizes)


def _segnet(base_filters: int) -> SegNetConfig:
    """A budget's SegNet: SegNetTrainConfig's precision ("auto") and `base_filters`."""
    return SegNetConfig(base_filters=base_filters, dtype_policy=AUTO_DTYPE_POLICY)


def budget_from_flat_dict(values: dict) -> Budget:
    """The Budget a reproduction's config.json recorded flat (before Budget held its sections).

    Also reads one that held the GAN's sections but SegNet's fields flat (`segnet_epochs`, ...),
    and one of today's (every section nested).
    """
    network_fields = {field.name for field in dataclasses.fields(NetworkConfig)}
    sections = {"network", "gan_trainer", "segnet_model", "segnet_trainer"}
    budget_fields = {field.name for field in dataclasses.fields(Budget)} - sections
    if isinstance(values.get("network"), dict):
        network, gan_trainer = NetworkConfig(**values["network"]), TrainerConfig(**values["gan_trainer"])
    else:
        network = NetworkConfig(**{"dtype_policy": AUTO_DTYPE_POLICY,
                                   **{k: v for k, v in values.items() if k in network_fields}})
        gan_trainer = TrainerConfig(epochs=values["gan_epochs"], steps_per_epoch=values["gan_steps_per_epoch"])
    if isinstance(values.get("segnet_trainer"), dict):
        segnet_model = SegNetConfig(**values["segnet_model"])
        segnet_trainer = SegNetTrainerConfig(**values["segnet_trainer"])
    else:
        segnet_model = _segnet(values["segnet_base_filters"])
        segnet_trainer = SegNetTrainerConfig(epochs=values["segnet_epochs"],
                                             steps_per_epoch=values["segnet_steps_per_epoch"],
                                             batch_size=values["segnet_batch_size"],
                                             tune_images=values.get("segnet_tune_images", 16))
    return Budget(network=network, gan_trainer=gan_trainer, segnet_model=segnet_model, segnet_trainer=segnet_trainer,
                  **{k: v for k, v in values.items() if k in budget_fields})


BUDGETS = {
    # The paper's GAN settings (Sec. 3.1) and 6k synthetic images (Sec. 3.3); SegNet length is
    # not given: 50 epochs of one pass, the SegNet trainer's default.
    "paper": Budget(network=_network(image_size=256, generator_base_filters=64, generator_depth=8,
                                     discriminator_base_filters=64),
                    gan_trainer=TrainerConfig(epochs=150, steps_per_epoch=0),
                    num_synthetic=6000, segnet_model=_segnet(64), segnet_crop_size=256,
                    segnet_trainer=SegNetTrainerConfig(batch_size=4, epochs=50, steps_per_epoch=0)),
    # The paper's 256x256 tiles at half width in bfloat16, two variants (the baseline and
    # ours), ~35 min per seed for TNBC on 2 cores (3 seeds ~1 h 45): GAN 10 epochs of every
    # 256 tile (~920 steps at ~0.28 s), SegNet 600 steps of 8 crops of 128 (~0.55 s), 1,000
    # synthetic pairs. Lengths measured in benchmarks/README.md; readings in BUILD_NOTES.md.
    "cpu": Budget(network=_network(image_size=256, generator_base_filters=32, generator_depth=8,
                                   discriminator_base_filters=32, upsampling="resize"),
                  gan_trainer=TrainerConfig(epochs=10, steps_per_epoch=0), variants=("pix2pix", "enhanced"),
                  num_synthetic=1000, segnet_model=_segnet(32), segnet_crop_size=128,
                  segnet_trainer=SegNetTrainerConfig(batch_size=8, epochs=24, steps_per_epoch=25)),
    # Half-width networks at 128x128; measured at 47 min for TNBC with float32 batch-norm
    # networks and four variants (before the bf16 / instance-norm defaults; faster now).
    "small": Budget(network=_network(image_size=128, generator_base_filters=32, generator_depth=7,
                                     discriminator_base_filters=32),
                    gan_trainer=TrainerConfig(epochs=12, steps_per_epoch=250),
                    num_synthetic=500, segnet_model=_segnet(32), segnet_crop_size=128,
                    segnet_trainer=SegNetTrainerConfig(batch_size=4, epochs=24, steps_per_epoch=50)),
    # Seconds: only proves the pipeline runs end to end (tests); two variants keep it short.
    "toy": Budget(network=_network(image_size=64, generator_base_filters=4, generator_depth=6,
                                   discriminator_base_filters=4),
                  gan_trainer=TrainerConfig(epochs=1, steps_per_epoch=2), variants=("pix2pix", "enhanced"),
                  num_synthetic=4, segnet_model=_segnet(4), segnet_crop_size=64,
                  segnet_trainer=SegNetTrainerConfig(batch_size=2, epochs=1, steps_per_epoch=2, tune_images=2)),
}


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ValueError(f"budget: expected one of {sorted(BUDGETS)}, got {name!r}")
    return BUDGETS[name]


#: The paper's numbers, printed beside ours (Tables 1 and 2; CPM is CPM-15 & 17 there).
PAPER_TABLE1 = {
    "cpm15": {"pix2pix": (0.452, 0.712, 0.212, 0.657), "sharp_gan": (0.569, 0.731, 0.174, 0.671),
              "sharp_gan_plus": (0.594, 0.740, 0.165, 0.677), "enhanced": (0.689, 0.757, 0.156, 0.681)},
    "tnbc": {"pix2pix": (0.473, 0.751, 0.145, 0.554), "sharp_gan": (0.504, 0.755, 0.139, 0.568),
             "sharp_gan_plus": (0.513, 0.756, 0.134, 0.572), "enhanced": (0.522, 0.760, 0.131, 0.580)},
}
PAPER_TABLE2 = {
    "cpm15": {"R": (0.760, 0.764, 0.584, 0.613), "R*": (0.818, 0.791, 0.649, 0.650),
              "S": (0.753, 0.784, 0.594, 0.592), "S*": (0.835, 0.798, 0.668, 0.667)},
    "tnbc": {"R": (0.648, 0.731, 0.475, 0.486), "R*": (0.724, 0.753, 0.545, 0.522),
             "S": (0.838, 0.797, 0.669, 0.654), "S*": (0.855, 0.863, 0.691, 0.683)},
}
