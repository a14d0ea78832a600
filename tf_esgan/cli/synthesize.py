"""esgan-synthesize: random nuclei masks -> synthetic H&E images, as a canonical dataset.

    esgan-synthesize --model=runs/enhanced --out_dir=runs/synth --num_images=6000 --preset=tnbc
    esgan-synthesize --model=pretrained:tnbc --out_dir=synth --num_images=64     # shipped model

    esgan-synthesize --model=pretrained:tnbc --out_dir=synth_sd --num_images=64 --format=stardist

Rerunning the same command after an interruption writes only the missing pairs; the
result is identical to an uninterrupted run (same seed and batch size). A larger
--num_images extends the set, with the same generator weights only (config.json records
their hash); --overwrite deletes the set and starts over. A folder holding files
esgan-synthesize did not write (a real dataset) is refused, and so is a second command
writing the same --out_dir at the same time.
"""


from absl import flags

from tf_esgan.cli.app import build_config, run_command

from tf_esgan.data.masks import PRESETS
from tf_esgan.data.pair_formats import PAIR_FORMATS
from tf_esgan.synthesis import SynthesisConfig, synthesize

_MODEL = flags.DEFINE_string("model", None, "pretrained:NAME, an esgan-train run folder, or a .keras generator file.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output dataset folder (images/, masks/).")
_NUM_IMAGES = flags.DEFINE_integer("num_images", None, "Image/mask pairs to produce (paper: 6000).")
_PRESET = flags.DEFINE_enum("preset", "tnbc", sorted(PRESETS), "Nuclei size/density preset.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the whole set (image i depends on (seed, i) only).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 8, "Generator batch size.")
_CONDITIONING = flags.DEFINE_string("conditioning", "", "binary|distance|skeleton; default: the run's variant "
                                    "(required for a .keras file).")
_FORMAT = flags.DEFINE_enum("format", "canonical", list(PAIR_FORMATS),
                            "File layout: canonical (images/, masks/ PNGs), or what StarDist, Cellpose or "
                            "HoVer-Net train on.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Delete the synthetic set in --out_dir (only the files "
                               "esgan-synthesize wrote) and start over.")
_QUIET = flags.DEFINE_bool("quiet", False, "No progress bar.")

flags.mark_flags_as_required(["model", "out_dir", "num_images"])


def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    config = build_config(SynthesisConfig, model=_MODEL.value, out_dir=_OUT_DIR.value,
                          num_images=_NUM_IMAGES.value, preset=_PRESET.value, seed=_SEED.value,
                          batch_size=_BATCH_SIZE.value, conditioning=_CONDITIONING.value,
                          format=_FORMAT.value, overwrite=_OVERWRITE.value)
    synthesize(config, verbose=0 if _QUIET.value else 1)
    return 0


def run() -> None:
    run_command(main, "esgan-synthesize")


if __name__ == "__main__":
    run()
