"""esgan-evaluate: SSIM, FSIM, GMSD (and AJI with a SegNet) of a generator, Table 1 layout.

    esgan-evaluate --model=runs/enhanced --dataset_dir=data/tnbc --split=test --out_dir=eval/tnbc
    esgan-evaluate --model=pretrained:tnbc --segnet=pretrained:tnbc \
        --dataset_dir=data/monuseg_test --out_dir=eval/monuseg_test      # external test set

An external test set is a folder in the canonical layout (images/<id>.png, masks/<id>.png;
`esgan-prepare` converts the public releases) given as --dataset_dir with --split=all (the
default): every pair in it is re-synthesized from its mask and scored. --split=test/train
instead picks the slide-grouped split of --seed and --test_fraction.
"""

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.data.skeleton import CONDITIONING_KINDS
from tf_esgan.evaluation.job import EvaluationConfig, evaluate_generator
from tf_esgan.segmentation.evaluate import SPLITS

# Every EvaluationConfig field is a flag of the same name; segnet_dir is --segnet.
_CONFIG_FLAGS = define_config_flags(
    EvaluationConfig, renames={"segnet_dir": "segnet"},
    choices={"conditioning": ["", *CONDITIONING_KINDS], "split": list(SPLITS)},
    helps={"test_fraction": "Test share of the slide-grouped split (with --split=test/train).",
           "seed": "Seed of the slide-grouped split (with --split=test/train)."})
define_deprecated_alias("segnet_dir", "segnet")


def main(argv):
    del argv  # run_command refuses positional arguments
    evaluate_generator(config_from_flags(_CONFIG_FLAGS))


def run():
    run_command(main, "esgan-evaluate")


if __name__ == "__main__":
    run()
