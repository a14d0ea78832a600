"""esgan-train-segnet: train SegNet (+ watershed tuning) on R, R*, S or S*.

    esgan-train-segnet --train_set=R --dataset_dir=data/tnbc --model_dir=runs/segnet_r
    esgan-train-segnet --train_set=S* --dataset_dir=data/tnbc --synthetic_dir=runs/synth \
        --model_dir=runs/segnet_s_star

Rerunning the same command resumes after the last finished epoch (a larger --epochs
extends a finished run). Then score it with esgan-evaluate-segnet --model_dir=...
"""


from absl import flags

from tf_esgan.cli.app import build_config, run_command

from tf_esgan.segmentation.data import TRAIN_SETS
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet

_TRAIN_SET = flags.DEFINE_enum("train_set", "R", list(TRAIN_SETS),
                               "R: real train split; R*: R + classical augmentation; "
                               "S: synthetic pairs; S*: real + synthetic, augmented.")
_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Real dataset in canonical layout.")
_SYNTHETIC_DIR = flags.DEFINE_string("synthetic_dir", "", "Synthetic pairs (canonical layout), for S and S*.")
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Run folder: config, checkpoints, logs, model.")
_EPOCHS = flags.DEFINE_integer("epochs", 50, "Total training epochs.")
_STEPS_PER_EPOCH = flags.DEFINE_integer("steps_per_epoch", 0, "Batches per epoch (0: one crop per training image).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 4, "Crops per batch.")
_CROP_SIZE = flags.DEFINE_integer("crop_size", 256, "Training crop side (multiple of 32).")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
_BASE_FILTERS = flags.DEFINE_integer("base_filters", 64, "SegNet width (64 in the paper).")
_DTYPE_POLICY = flags.DEFINE_enum("dtype_policy", "auto", ["auto", "float32", "mixed_bfloat16", "mixed_float16"],
                                  "auto: mixed_bfloat16 on a bf16 CPU, mixed_float16 on a GPU, else float32.")
_SEED = flags.DEFINE_integer("seed", 0, "Split, data order, augmentation and initialisation.")
_SPLIT_SEED = flags.DEFINE_integer("split_seed", None, "Seed of the slide split (default: --seed).")
_TEST_FRACTION = flags.DEFINE_float("test_fraction", 0.3, "Fraction of slides held out for testing.")
_TUNE_IMAGES = flags.DEFINE_integer("tune_images", 16, "Training images used to tune the watershed.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a differing run in --model_dir and start over.")
_QUIET = flags.DEFINE_bool("quiet", False, "One line per epoch instead of a progress bar.")

flags.mark_flags_as_required(["dataset_dir", "model_dir"])


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    config = build_config(
        SegNetTrainConfig,
        train_set=_TRAIN_SET.value, dataset_dir=_DATASET_DIR.value, synthetic_dir=_SYNTHETIC_DIR.value,
        epochs=_EPOCHS.value, steps_per_epoch=_STEPS_PER_EPOCH.value, batch_size=_BATCH_SIZE.value,
        crop_size=_CROP_SIZE.value, learning_rate=_LEARNING_RATE.value, base_filters=_BASE_FILTERS.value,
        dtype_policy=_DTYPE_POLICY.value, seed=_SEED.value, split_seed=_SPLIT_SEED.value,
        test_fraction=_TEST_FRACTION.value, tune_images=_TUNE_IMAGES.value)
    model_path = train_segnet(config, _MODEL_DIR.value, overwrite=_OVERWRITE.value,
                              verbose=2 if _QUIET.value else 1)
    print(f"model: {model_path}")
    return 0


def run() -> None:
    run_command(main, "esgan-train-segnet")


if __name__ == "__main__":
    run()
