"""esgan-train-segnet: train SegNet (+ watershed tuning) on R, R*, S or S*.

    esgan-train-segnet --train_set=R --dataset_dir=data/tnbc --model_dir=runs/segnet_r
    esgan-train-segnet --train_set=S* --dataset_dir=data/tnbc --synthetic_dir=runs/synth \
        --model_dir=runs/segnet_s_star --real_fraction=0.5     # half of every batch real
    esgan-train-segnet --train_set=R --augmentation=on ...      # R with S*'s augmentation
    esgan-train-segnet --train_set=R --dataset_dir=data/tnbc --real_train_dir=data/cpm15 ...  # cross-dataset R

Rerunning the same command resumes from the last checkpoint (a larger --epochs extends a
finished run); --strategy=mirrored|multi_worker trains on several devices or machines.
Every leaf field of `SegNetTrainConfig` is a flag of the same name (`--helpshort` lists them);
`--config=<run>/config.json` starts from a run's values. Then score it with
esgan-evaluate-segnet --model=...
"""


from absl import flags

from tf_esgan.cli.app import fail, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.cli.quiet_flag import define_quiet_flag, training_verbose
from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet

# Every SegNetTrainConfig leaf field is a flag of the same name (see config_flags); enum flags
# take their values from the fields' choices.
_CONFIG_FLAGS = define_config_flags(SegNetTrainConfig)
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Run folder (new, empty or an esgan-train-segnet run): "
                                  "config, checkpoints, logs, model.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Start over: delete what an earlier run wrote in --model_dir "
                               "(only that) and train from scratch.")
_QUIET = define_quiet_flag()

flags.mark_flags_as_required(["model_dir"])


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    config = config_from_flags(_CONFIG_FLAGS)
    if not config.data.dataset_dir:
        fail("esgan-train-segnet", "--dataset_dir is required (the real dataset, canonical layout)")
    model_path = train_segnet(config, _MODEL_DIR.value, overwrite=_OVERWRITE.value,
                              verbose=training_verbose(_QUIET.value))
    print(f"model: {model_path}")
    return 0


def run() -> None:
    run_command(main, "esgan-train-segnet")


if __name__ == "__main__":
    run()
