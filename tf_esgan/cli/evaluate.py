"""esgan-evaluate: SSIM, FSIM, GMSD (and AJI with a SegNet) of a generator, Table 1 layout.

    esgan-evaluate --model=runs/enhanced --dataset_dir=data/tnbc --split=test --out_dir=eval/tnbc
    esgan-evaluate --model=pretrained:tnbc --segnet=pretrained:tnbc \
        --dataset_dir=data/monuseg_test --out_dir=eval/monuseg_test      # external test set

An external test set is a folder in the canonical layout (images/<id>.png, masks/<id>.png;
`esgan-prepare` converts the public releases) given as --dataset_dir with --split=all (the
default): every pair in it is re-synthesized from its mask and scored. --split=test/train
instead picks the slide-grouped split of --seed and --test_fraction.
"""

from absl import flags

from tf_esgan.cli.app import build_config, define_deprecated_alias, run_command
from tf_esgan.evaluation.job import EvaluationConfig, evaluate_generator

_MODEL = flags.DEFINE_string("model", None, "pretrained:NAME, esgan-train run folder or .keras generator.", required=True)
_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Real pairs (images/, masks/); scored whole with --split=all (external test sets).", required=True)
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where reports and synthetic images go.", required=True)
_CONDITIONING = flags.DEFINE_enum("conditioning", "", ["", "binary", "distance", "skeleton"],
                                  "Conditioning of a .keras generator (a run folder knows its own).")
_SPLIT = flags.DEFINE_enum("split", "all", ["all", "test", "train"], "Which pairs (slide-grouped split).")
_TEST_FRACTION = flags.DEFINE_float("test_fraction", 0.3, "Test share of the split.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the split.")
_SEGNET = flags.DEFINE_string("segnet", "", "esgan-train-segnet run or pretrained:NAME for the AJI column.")
_METHOD = flags.DEFINE_string("method", "", "Row name in table1.md.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 8, "Generator batch size (tiles).")

define_deprecated_alias("segnet_dir", "segnet")

def main(argv):
    del argv  # run_command refuses positional arguments
    evaluate_generator(build_config(
        EvaluationConfig,
        model=_MODEL.value, dataset_dir=_DATASET_DIR.value, out_dir=_OUT_DIR.value,
        conditioning=_CONDITIONING.value, split=_SPLIT.value, test_fraction=_TEST_FRACTION.value,
        seed=_SEED.value, segnet_dir=_SEGNET.value, method=_METHOD.value, batch_size=_BATCH_SIZE.value))


def run():
    run_command(main, "esgan-evaluate")


if __name__ == "__main__":
    run()
