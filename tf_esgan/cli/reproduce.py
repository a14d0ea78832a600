"""esgan-reproduce: GAN variants, Table 1, synthesis, SegNet R/R*/S/S*, Table 2, over seeds."""

from tf_esgan.cli.app import run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.reproduce.pipeline import ReproduceConfig, run_reproduction

# Every ReproduceConfig field is a flag of the same name (see config_flags).
_CONFIG_FLAGS = define_config_flags(ReproduceConfig)  # enum flags: the fields' own choices


def main(argv):
    del argv  # run_command refuses positional arguments
    config = config_from_flags(_CONFIG_FLAGS)
    print(f"esgan-reproduce: {config}", flush=True)
    run_reproduction(config)


def run():
    run_command(main, "esgan-reproduce")


if __name__ == "__main__":
    run()
