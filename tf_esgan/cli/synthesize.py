"""esgan-synthesize: random nuclei masks -> synthetic H&E images, as a canonical dataset.

    esgan-synthesize --model=runs/enhanced --out_dir=runs/synth --num_images=6000 --preset=tnbc
    esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=64     # shipped model

    esgan-synthesize --model=pretrained:tnbc --out_dir=synth_sd --num_images=64 --format=stardist

    # Slurm array job (sbatch --array=0-7): eight shards write one set at the same time.
    esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=60000 --num_shards=8 \\
        --shard_index=$SLURM_ARRAY_TASK_ID

Every field of `SynthesisConfig` is a flag of the same name, generated from the config
(see `config_flags`). Rerunning the same command after an interruption writes only the
missing pairs; the result is identical to an uninterrupted run. A larger --num_images
extends the set, with the same generator weights (config.json records their hash) and
settings (--seed, --preset, --conditioning, --format, --batch_size) only; a smaller one
than the set holds is refused; --overwrite deletes the set and starts over. A folder
holding files esgan-synthesize did not write (a real dataset) is refused, and so is a
second command writing the same --out_dir at the same time, except another shard.

Shard K of N (--num_shards=N --shard_index=K; `$JOB_COMPLETION_INDEX` in a Kubernetes
indexed job) writes the batch blocks b with b % N == K, so the shards together write
the files of one unsharded run. Without these flags, a `TF_CONFIG` naming a cluster
gives the shard: its `chief` task first, then its `worker` tasks in order. Shards of
another --num_shards than the job writing the set are refused until it is complete.
"""

import re

from absl import flags

from tf_esgan.cli.app import run_command
from tf_esgan.cli.config_flags import CONFIG_FLAG, config_from_flags, define_config_flags
from tf_esgan.cli.quiet_flag import define_quiet_flag
from tf_esgan.errors import ConfigError
from tf_esgan.synthesis import SynthesisConfig, synthesize, tf_config_shard

_CONFIG_FLAGS = define_config_flags(SynthesisConfig)  # enum flags: the fields' own choices
_QUIET = define_quiet_flag("No progress bar: only the summary lines.")


def _shard() -> dict:
    """--num_shards/--shard_index as given (else their defaults), or the TF_CONFIG task's shard."""
    num_shards, shard_index = flags.FLAGS["num_shards"], flags.FLAGS["shard_index"]
    if num_shards.present and num_shards.value > 1 and not shard_index.present:
        raise ConfigError(f"--num_shards={num_shards.value} needs --shard_index (e.g. $SLURM_ARRAY_TASK_ID): "
                          "which shard this process writes")
    shard = None if num_shards.present or shard_index.present else tf_config_shard()
    return {"shard_index": shard[0], "num_shards": shard[1]} if shard else {}


def _config() -> SynthesisConfig:
    """The job of the flags; an error of a SynthesisConfig field names the field's flag."""
    shard = _shard()
    try:
        config = config_from_flags(_CONFIG_FLAGS, **shard)
    except ConfigError as error:
        flag_names = {path[-1]: name for path, name in _CONFIG_FLAGS.names.items()}
        raise ConfigError(re.sub(rf"^{SynthesisConfig.__name__}: `(\w+)`",
                                 lambda match: f"--{flag_names.get(match.group(1), match.group(1))}",
                                 str(error))) from None
    if config.num_shards > 1 and not shard and not flags.FLAGS["shard_index"].present:
        # Only --config gives num_shards so: a set being written in shards records it.
        raise ConfigError(f"--num_shards={config.num_shards} (from --{CONFIG_FLAG}) needs --shard_index: "
                          "which shard this process writes; or pass --num_shards=1")
    return config


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    synthesize(_config(), verbose=0 if _QUIET.value else 1)
    return 0


def run() -> None:
    run_command(main, "esgan-synthesize")


if __name__ == "__main__":
    run()
