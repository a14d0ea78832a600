"""esgan-train: train the GAN of a Table 1 variant (paper settings by default).

    esgan-train --dataset_dir=data/tnbc --model_dir=runs/enhanced
    esgan-train --flagfile=runs/enhanced.flags

Rerunning the same command resumes from the last checkpoint (a larger --epochs extends a
finished run). Watch it with `tensorboard --logdir runs/enhanced/logs`.
"""

import dataclasses

from absl import flags

from tf_esgan.cli.app import build_config, run_command

from tf_esgan.models.generator import UPSAMPLINGS
from tf_esgan.models.normalization import NORMALIZATIONS
from tf_esgan.models.precision import AUTO_DTYPE_POLICY, DTYPE_POLICIES
from tf_esgan.models.variants import VARIANTS
from tf_esgan.training.gan_config import STRATEGIES, TrainConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrainConfig)}

_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Dataset in canonical layout (images/, masks/).")
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Run folder: config.json, checkpoints/, logs/.")
_VARIANT = flags.DEFINE_enum("variant", _DEFAULTS["variant"], sorted(VARIANTS), "Model of the paper's Table 1.")
_EPOCHS = flags.DEFINE_integer("epochs", _DEFAULTS["epochs"], "Total training epochs (paper: 150).")
_STEPS_PER_EPOCH = flags.DEFINE_integer("steps_per_epoch", _DEFAULTS["steps_per_epoch"], "Batches per epoch (0: training images // batch).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", _DEFAULTS["batch_size"], "Global batch size (paper: 1).")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", _DEFAULTS["learning_rate"], "Adam learning rate of G and D (paper: 1e-4).")
_L1_WEIGHT = flags.DEFINE_float("l1_weight", _DEFAULTS["l1_weight"], "Weight of the L1 term.")
_BETA = flags.DEFINE_float("beta", _DEFAULTS["beta"], "beta of Eq. 1 (weight of L_s2).")
_LAMBDA = flags.DEFINE_float("lambda", _DEFAULTS["lam"], "lambda of Eq. 7 (gray-level contrast scale).")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", _DEFAULTS["image_size"], "Training crop side = network input (paper: 256).")
_G_FILTERS = flags.DEFINE_integer("generator_base_filters", _DEFAULTS["generator_base_filters"], "Generator width (pix2pix: 64).")
_G_DEPTH = flags.DEFINE_integer("generator_depth", _DEFAULTS["generator_depth"], "Generator stride-2 blocks (pix2pix at 256: 8).")
_D_FILTERS = flags.DEFINE_integer("discriminator_base_filters", _DEFAULTS["discriminator_base_filters"], "Discriminator width (pix2pix: 64).")
_NORM = flags.DEFINE_enum("norm", _DEFAULTS["norm"], list(NORMALIZATIONS),
                          "Normalisation of both networks; instance = pix2pix's batch-1 batch norm, same at inference.")
_UPSAMPLING = flags.DEFINE_enum("upsampling", _DEFAULTS["upsampling"], list(UPSAMPLINGS),
                                "Generator decoder: transpose (pix2pix) or resize (nearest 2x + 3x3 conv, no checkerboard).")
_DROPOUT = flags.DEFINE_float("dropout_rate", _DEFAULTS["dropout_rate"], "Generator decoder dropout in training (pix2pix: 0.5).")
_DTYPE_POLICY = flags.DEFINE_enum("dtype_policy", _DEFAULTS["dtype_policy"], [AUTO_DTYPE_POLICY, *DTYPE_POLICIES],
                                  "auto: mixed_bfloat16 on a bf16 CPU, mixed_float16 on a GPU, else float32.")
_SPLIT_SEED = flags.DEFINE_integer("split_seed", None, "Seed of the slide split (default: --seed).")
_TEST_FRACTION = flags.DEFINE_float("test_fraction", _DEFAULTS["test_fraction"], "Fraction of slides held out for validation images.")
_SEED = flags.DEFINE_integer("seed", _DEFAULTS["seed"], "Split, initialisation, data order and augmentation.")
_XLA = flags.DEFINE_bool("xla", False, "XLA-compile the whole train step (slower on CPU).")
_STRATEGY = flags.DEFINE_enum("strategy", _DEFAULTS["strategy"], list(STRATEGIES),
                              "default: one device; mirrored: local devices; multi_worker: TF_CONFIG cluster.")
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every_steps", _DEFAULTS["checkpoint_every_steps"], "Also checkpoint every N steps (0: per epoch).")
_KEEP = flags.DEFINE_integer("keep_checkpoints", _DEFAULTS["keep_checkpoints"], "Checkpoints kept.")
_MAX_SECONDS = flags.DEFINE_float("max_train_seconds", _DEFAULTS["max_train_seconds"], "Stop after this much training (0: no limit).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a differing run in --model_dir and start over.")
_QUIET = flags.DEFINE_bool("quiet", False, "No progress bar, only the final summary line.")

flags.mark_flags_as_required(["dataset_dir", "model_dir"])


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    config = build_config(
        TrainConfig,
        dataset_dir=_DATASET_DIR.value, model_dir=_MODEL_DIR.value, variant=_VARIANT.value,
        epochs=_EPOCHS.value, steps_per_epoch=_STEPS_PER_EPOCH.value, batch_size=_BATCH_SIZE.value,
        learning_rate=_LEARNING_RATE.value, l1_weight=_L1_WEIGHT.value, beta=_BETA.value, lam=_LAMBDA.value,
        image_size=_IMAGE_SIZE.value, generator_base_filters=_G_FILTERS.value, generator_depth=_G_DEPTH.value,
        discriminator_base_filters=_D_FILTERS.value, norm=_NORM.value, upsampling=_UPSAMPLING.value,
        dropout_rate=_DROPOUT.value, dtype_policy=_DTYPE_POLICY.value, split_seed=_SPLIT_SEED.value,
        test_fraction=_TEST_FRACTION.value, seed=_SEED.value,
        jit_compile=_XLA.value, strategy=_STRATEGY.value, checkpoint_every_steps=_CHECKPOINT_EVERY.value,
        keep_checkpoints=_KEEP.value, max_train_seconds=_MAX_SECONDS.value, overwrite=_OVERWRITE.value,
        verbose=0 if _QUIET.value else 1)
    train_and_evaluate(config)
    return 0


def run() -> None:
    run_command(main, "esgan-train")


if __name__ == "__main__":
    run()
