"""esgan-train: train the GAN of a Table 1 variant (paper settings by default).

    esgan-train --dataset_dir=data/tnbc --model_dir=runs/enhanced
    esgan-train --config=runs/enhanced/config.json --epochs=200     # a run's config, one value changed
    esgan-train --flagfile=runs/enhanced.flags

Every leaf field of `TrainConfig`'s sections (data, model, loss, trainer, runtime) is a
flag of its own name (`lam` is --lambda), generated from the config (see `config_flags`);
`esgan-train --helpshort` lists them with the config's own documentation. --config reads
a run's config.json, nested or flat (written before the nesting). Rerunning the same
command resumes from the last checkpoint (a larger --epochs extends a finished run).
Watch it with `tensorboard --logdir runs/enhanced/logs`.
"""

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.cli.quiet_flag import define_quiet_flag, training_verbose
from tf_esgan.training.gan_config import TrainConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

# Enum flags take their values from the config fields' choices (see config_fields).
_CONFIG_FLAGS = define_config_flags(TrainConfig, exclude=("verbose",), renames={"lam": "lambda"})
_QUIET = define_quiet_flag()
define_deprecated_alias("xla", "jit_compile")


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    train_and_evaluate(config_from_flags(_CONFIG_FLAGS, verbose=training_verbose(_QUIET.value)))
    return 0


def run() -> None:
    run_command(main, "esgan-train")


if __name__ == "__main__":
    run()
