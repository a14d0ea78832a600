"""esgan-synthesize: random nuclei masks -> synthetic H&E images, as a canonical dataset.

    esgan-synthesize --model=runs/enhanced --out_dir=runs/synth --num_images=6000 --preset=tnbc
    esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=64     # shipped model

    esgan-synthesize --model=pretrained:tnbc --out_dir=synth_sd --num_images=64 --format=stardist

    # Slurm array job (sbatch --array=0-7): eight shards write one set at the same time.
    esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=60000 --num_shards=8 \\
        --shard_index=$SLURM_ARRAY_TASK_ID

Every field of `SynthesisConfig` is a flag of the same name, generated from the config
(see `config_flags`). Rerunning the same command after an interruption writes only the
missing pairs; the result is identical to an uninterrupted run (same seed and batch
size). A larger --num_images extends the set, with the same generator weights only
(config.json records their hash); --overwrite deletes the set and starts over. A folder
holding files esgan-synthesize did not write (a real dataset) is refused, and so is a
second command writing the same --out_dir at the same time, except another shard.

Shard K of N (--num_shards=N --shard_index=K; `$JOB_COMPLETION_INDEX` in a Kubernetes
indexed job) writes the batch blocks b with b % N == K, so the shards together write
the files of one unsharded run. Without these flags, a `TF_CONFIG` naming a cluster
gives the shard: its `chief` task first, then its `worker` tasks in order.
"""


from absl import flags

from tf_esgan.cli.app import run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.data.masks import PRESETS
from tf_esgan.data.pair_formats import PAIR_FORMATS
from tf_esgan.data.skeleton import CONDITIONING_KINDS
from tf_esgan.errors import ConfigError
from tf_esgan.synthesis import SynthesisConfig, synthesize, tf_config_shard

_CONFIG_FLAGS = define_config_flags(
    SynthesisConfig, choices={"preset": sorted(PRESETS), "conditioning": ["", *CONDITIONING_KINDS],
                              "format": list(PAIR_FORMATS)})
_QUIET = flags.DEFINE_bool("quiet", False, "No progress bar.")


def _shard() -> dict:
    """--num_shards/--shard_index as given (else their defaults), or the TF_CONFIG task's shard."""
    num_shards, shard_index = flags.FLAGS["num_shards"], flags.FLAGS["shard_index"]
    if num_shards.present and num_shards.value > 1 and not shard_index.present:
        raise ConfigError(f"--num_shards={num_shards.value} needs --shard_index (e.g. $SLURM_ARRAY_TASK_ID): "
                          "which shard this process writes")
    shard = None if num_shards.present or shard_index.present else tf_config_shard()
    return {"shard_index": shard[0], "num_shards": shard[1]} if shard else {}


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    synthesize(config_from_flags(_CONFIG_FLAGS, **_shard()), verbose=0 if _QUIET.value else 1)
    return 0


def run() -> None:
    run_command(main, "esgan-synthesize")


if __name__ == "__main__":
    run()
