"""esgan-evaluate-segnet: DQ, SQ, PQ, AJI of a trained SegNet + watershed on test images.

    esgan-evaluate-segnet --model=runs/segnet_r                  # the run's held-out slides
    esgan-evaluate-segnet --model=runs/segnet_r --dataset_dir=data/cpm15 --split=all
    esgan-evaluate-segnet --model=runs/segnet_r --test_dir=data/monuseg_test   # external test set
    esgan-evaluate-segnet --model=pretrained:tnbc --test_dir=data/my_annotated_images

--test_dir is the external test-set path: a folder in the canonical layout (images/<id>.png,
masks/<id>.png; `esgan-prepare` converts the public releases) scored whole.
The report gives each score twice, as other tools do: `per_image_mean` (the mean over
images of each image's DQ/SQ/PQ/AJI, HoVer-Net's convention) and `pooled` (true/false
positives and IoU sums over all images first, StarDist's `matching_dataset(by_image=False)`
with its field names). Prints the scores as JSON and writes them to --report, by default
<run>/eval_<split>.json (eval_external_<folder>.json with --test_dir; a pretrained model
has no run folder, so its report is only printed unless --report is given).
"""

import json

from absl import flags

from tf_esgan.cli.app import define_deprecated_alias, fail, run_command

from tf_esgan.segmentation.scoring import SPLITS, evaluate_run

_MODEL = flags.DEFINE_string("model", None, "pretrained:NAME or the folder of a finished esgan-train-segnet run.")
_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Dataset to score (default: the run's own).")
_SPLIT = flags.DEFINE_enum("split", None, list(SPLITS),
                           "Slide-grouped split of the run (its seed and test fraction), or all images "
                           "(default: test; all for --test_dir and pretrained models).")
_TEST_DIR = flags.DEFINE_string("test_dir", None,
                                "External test set in the canonical layout, scored whole (instead of "
                                "--dataset_dir/--split).")
_REPORT = flags.DEFINE_string("report", None, "JSON report to write (default: see the module docstring).")

define_deprecated_alias("model_dir", "model")

def main(argv: list[str]) -> int:
    del argv  # run_command refuses positional arguments
    if not _MODEL.value:
        fail("esgan-evaluate-segnet", "--model is required (pretrained:NAME or an esgan-train-segnet run folder)")
    report = evaluate_run(_MODEL.value, dataset_dir=_DATASET_DIR.value,
                          split=_SPLIT.value, test_dir=_TEST_DIR.value, report_path=_REPORT.value)
    print(json.dumps(report, indent=2))
    return 0


def run() -> None:
    run_command(main, "esgan-evaluate-segnet")


if __name__ == "__main__":
    run()
