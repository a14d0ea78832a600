"""esgan-demo: the README's demo on the sample shipped in the package (no downloads)."""

from absl import app, flags

from tf_esgan.demo import DemoConfig, run_demo

_OUT = flags.DEFINE_string("out", "demo_out", "Folder for the figures and synthetic masks.")
_NUM_MASKS = flags.DEFINE_integer("num_masks", 8, "Synthetic nuclei masks to generate.")
_PRESET = flags.DEFINE_string("preset", "tnbc", "Nuclei size/density preset (tnbc, cpm15, monuseg).")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = DemoConfig(out_dir=_OUT.value, num_masks=_NUM_MASKS.value, preset=_PRESET.value,
                        seed=_SEED.value)
    summary = run_demo(config)
    print(f"esgan-demo: wrote {', '.join(summary['figures'])} and "
          f"{config.num_masks} synthetic masks in {summary['seconds']} s")


def run():
    app.run(main)


if __name__ == "__main__":
    run()
