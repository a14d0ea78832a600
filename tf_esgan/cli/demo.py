"""esgan-demo: the README's demo on the sample and models shipped in the package (no downloads).

Synthesizes --num_masks pairs with the shipped TNBC generator, re-synthesizes and scores
the embedded TNBC crops, segments real and synthetic crops with the shipped SegNet, writes
figures, metrics.json and the exported generator. --train_seconds=180 trains a small
model on the crops first and uses it instead of the shipped generator.
"""

from absl import flags

from tf_esgan.cli.app import build_config, define_deprecated_alias, run_command
from tf_esgan.demo import DemoConfig, run_demo

_OUT_DIR = flags.DEFINE_string("out_dir", "demo_out", "Folder for the figures, synthetic pairs, metrics and model.")
_MODEL = flags.DEFINE_string("model", DemoConfig.model, "Generator: pretrained:NAME, a run folder or .keras file.")
_SEGNET = flags.DEFINE_string("segnet", DemoConfig.segnet, "SegNet: pretrained:NAME or an esgan-train-segnet run.")
_NUM_MASKS = flags.DEFINE_integer("num_masks", 8, "Synthetic image/mask pairs to generate.")
_PRESET = flags.DEFINE_string("preset", "tnbc", "Nuclei size/density preset (tnbc, cpm15, monuseg).")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")
_TRAIN_SECONDS = flags.DEFINE_float("train_seconds", DemoConfig.train_seconds,
                                    "0: use --model; > 0: train a small model for this many seconds first.")
_G_FILTERS = flags.DEFINE_integer("generator_base_filters", DemoConfig.generator_base_filters, "Generator width.")
_D_FILTERS = flags.DEFINE_integer("discriminator_base_filters", DemoConfig.discriminator_base_filters,
                                  "Discriminator width.")
_NORM = flags.DEFINE_enum("norm", DemoConfig.norm, ["instance", "batch"], "Normalisation of both networks.")
_UPSAMPLING = flags.DEFINE_enum("upsampling", DemoConfig.upsampling, ["transpose", "resize"],
                                "Generator decoder upsampling.")
_DTYPE_POLICY = flags.DEFINE_enum("dtype_policy", DemoConfig.dtype_policy,
                                  ["auto", "float32", "mixed_bfloat16", "mixed_float16"], "Keras dtype policy.")

define_deprecated_alias("out", "out_dir")

def main(argv):
    del argv  # run_command refuses positional arguments
    config = build_config(DemoConfig, out_dir=_OUT_DIR.value, model=_MODEL.value, segnet=_SEGNET.value, num_masks=_NUM_MASKS.value, preset=_PRESET.value,
                        seed=_SEED.value, train_seconds=_TRAIN_SECONDS.value,
                        generator_base_filters=_G_FILTERS.value, discriminator_base_filters=_D_FILTERS.value,
                        norm=_NORM.value, upsampling=_UPSAMPLING.value, dtype_policy=_DTYPE_POLICY.value)
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
