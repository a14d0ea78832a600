"""esgan-demo: the README's demo on the sample and models shipped in the package (no downloads).

Synthesizes --num_masks pairs with the shipped TNBC generator, re-synthesizes and scores
the embedded TNBC crops, segments real and synthetic crops with the shipped SegNet, writes
figures, metrics.json and the exported generator. --train_seconds=180 trains a small
model on the crops first and uses it instead of the shipped generator.
"""

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.demo import DemoConfig, run_demo

# Every DemoConfig field is a flag of the same name (see config_flags).
_CONFIG_FLAGS = define_config_flags(DemoConfig)  # enum flags: the fields' own choices
define_deprecated_alias("out", "out_dir")


def main(argv):
    del argv  # run_command refuses positional arguments
    config = config_from_flags(_CONFIG_FLAGS)
    print(f"esgan-demo: results in {config.out_dir}/")
    summary = run_demo(config)
    print(f"esgan-demo: done in {summary['seconds']} s ({summary['generator']})\n"
          f"  figures:   {', '.join(summary['figures'])}\n"
          f"  metrics:   {summary['metrics']}\n"
          f"  model:     {summary['model']}\n"
          f"  synthetic: {summary['synthetic_dataset']} ({config.num_masks} image/mask pairs)\n"
          + (f"\n  run:       {summary['run_dir']} (tensorboard --logdir {summary['run_dir']}/logs)"
             if summary["run_dir"] else ""))


def run():
    run_command(main, "esgan-demo")


if __name__ == "__main__":
    run()
