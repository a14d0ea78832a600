"""esgan-reproduce: GAN variants, Table 1, synthesis, SegNet R/R*/S/S*, Table 2, over seeds."""

from absl import flags

from tf_esgan.cli.app import build_config, run_command
from tf_esgan.reproduce.budgets import BUDGETS
from tf_esgan.reproduce.pipeline import ReproduceConfig, run_reproduction

_DATASET = flags.DEFINE_string("dataset", None, "tnbc, cpm15, monuseg, or a canonical dataset folder.",
                               required=True)
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder; rerunning resumes.", required=True)
_BUDGET = flags.DEFINE_enum("budget", "small", sorted(BUDGETS),
                            "paper = the paper's settings; cpu = 256x256 tiles, half width, pix2pix and ours; "
                            "small = about an hour on 2 CPU cores; toy = seconds (see tf_esgan/reproduce/budgets.py).")
_DATASETS_ROOT = flags.DEFINE_string("datasets_root", "../shared/datasets", "Where tnbc/cpm15/monuseg live.")
_TEST_FRACTION = flags.DEFINE_float("test_fraction", 0.3, "Share of slides held out for both tables.")
_SEED = flags.DEFINE_integer("seed", 0, "First seed; also the seed of the held-out split, shared by all seeds.")
_SEEDS = flags.DEFINE_integer("seeds", 1, "Seeds run (seed, seed+1, ...), each in out_dir/seed_<s>; the tables "
                              "in out_dir give mean ± sd over them. A rerun with more seeds adds the new ones.",
                              lower_bound=1)
_PRESET = flags.DEFINE_string("preset", "", "Nuclei preset of the synthetic masks ('' = the dataset's).")


def main(argv):
    del argv  # run_command refuses positional arguments
    config = build_config(ReproduceConfig, dataset=_DATASET.value, out_dir=_OUT_DIR.value, budget=_BUDGET.value,
                             datasets_root=_DATASETS_ROOT.value, test_fraction=_TEST_FRACTION.value,
                             seed=_SEED.value, seeds=_SEEDS.value, preset=_PRESET.value)
    print(f"esgan-reproduce: {config}", flush=True)
    run_reproduction(config)


def run():
    run_command(main, "esgan-reproduce")


if __name__ == "__main__":
    run()
