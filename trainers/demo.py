"""esgan-demo: the README's demo on the sample shipped in the package (no downloads).

Trains the enhanced model for --train_seconds (default 3 min) on the embedded TNBC crops,
synthesizes --num_masks pairs, writes figures, metrics.json and the exported generator.
"""

from absl import app, flags

from tf_esgan.demo import DemoConfig, run_demo

_OUT = flags.DEFINE_string("out", "demo_out", "Folder for the figures, synthetic pairs, metrics and model.")
_NUM_MASKS = flags.DEFINE_integer("num_masks", 8, "Synthetic image/mask pairs to generate.")
_PRESET = flags.DEFINE_string("preset", "tnbc", "Nuclei size/density preset (tnbc, cpm15, monuseg).")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")
_TRAIN_SECONDS = flags.DEFINE_float("train_seconds", DemoConfig.train_seconds,
                                    "Training time budget in seconds (the demo takes ~1-2 min more).")
_G_FILTERS = flags.DEFINE_integer("generator_base_filters", DemoConfig.generator_base_filters, "Generator width.")
_D_FILTERS = flags.DEFINE_integer("discriminator_base_filters", DemoConfig.discriminator_base_filters,
                                  "Discriminator width.")
_NORM = flags.DEFINE_enum("norm", DemoConfig.norm, ["instance", "batch"], "Normalisation of both networks.")
_UPSAMPLING = flags.DEFINE_enum("upsampling", DemoConfig.upsampling, ["transpose", "resize"],
                                "Generator decoder upsampling.")
_DTYPE_POLICY = flags.DEFINE_enum("dtype_policy", DemoConfig.dtype_policy,
                                  ["auto", "float32", "mixed_bfloat16", "mixed_float16"], "Keras dtype policy.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = DemoConfig(out_dir=_OUT.value, num_masks=_NUM_MASKS.value, preset=_PRESET.value,
                        seed=_SEED.value, train_seconds=_TRAIN_SECONDS.value,
                        generator_base_filters=_G_FILTERS.value, discriminator_base_filters=_D_FILTERS.value,
                        norm=_NORM.value, upsampling=_UPSAMPLING.value, dtype_policy=_DTYPE_POLICY.value)
    print(f"esgan-demo: training budget {config.train_seconds:.0f} s; results in {config.out_dir}/")
    summary = run_demo(config)
    print(f"esgan-demo: done in {summary['seconds']} s (training budget {config.train_seconds:.0f} s)\n"
          f"  figures:   {', '.join(summary['figures'])}\n"
          f"  metrics:   {summary['metrics']}\n"
          f"  model:     {summary['model']}\n"
          f"  synthetic: {summary['synthetic_dataset']} ({config.num_masks} image/mask pairs)\n"
          f"  run:       {summary['run_dir']} (tensorboard --logdir {summary['run_dir']}/logs)")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
