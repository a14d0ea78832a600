"""esgan-evaluate: SSIM, FSIM, GMSD (and AJI with a SegNet) of a generator, Table 1 layout.

    esgan-evaluate --model=runs/enhanced --split=test --out_dir=eval/tnbc   # the run's held-out slides
    esgan-evaluate --model=pretrained:tnbc --segnet=pretrained:tnbc \
        --dataset_dir=data/monuseg_test --out_dir=eval/monuseg_test      # external test set

An external test set is a folder in the canonical layout (images/<id>.png, masks/<id>.png;
`esgan-prepare` converts the public releases) given as --dataset_dir with --split=all (the
default): every pair in it is re-synthesized from its mask and scored. --split=test/train
instead scores the held-out (or training) slides of the split the model was trained with,
read from its run's config.json or a pretrained model's record (--dataset_dir defaults to
the run's dataset); --test_fraction/--seed are only needed for a .keras file, and a value
contradicting the model's own split is refused.
"""

from tf_esgan.cli.app import define_deprecated_alias, run_command
from tf_esgan.cli.config_flags import config_from_flags, define_config_flags
from tf_esgan.evaluation.table1_job import EvaluationConfig, evaluate_generator

# Every EvaluationConfig field is a flag of the same name; segnet_dir is --segnet.
_CONFIG_FLAGS = define_config_flags(
    EvaluationConfig, renames={"segnet_dir": "segnet"},
    helps={"test_fraction": "Test share of the slide-grouped split (--split=test/train); default: the "
                            "model's own (needed only for a .keras file).",
           "seed": "Seed of the slide-grouped split (--split=test/train); default: the model's own (needed "
                   "only for a .keras file).",
           "dataset_dir": "Canonical dataset to score (default with --split=test/train: the model's own)."})
define_deprecated_alias("segnet_dir", "segnet")


def main(argv):
    del argv  # run_command refuses positional arguments
    evaluate_generator(config_from_flags(_CONFIG_FLAGS))


def run():
    run_command(main, "esgan-evaluate")


if __name__ == "__main__":
    run()
