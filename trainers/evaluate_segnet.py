"""esgan-evaluate-segnet: DQ, SQ, PQ, AJI of a trained SegNet + watershed on a test split.

    esgan-evaluate-segnet --model_dir=runs/segnet_r                 # the run's test slides
    esgan-evaluate-segnet --model_dir=runs/segnet_r --dataset_dir=data/cpm15 --split=all

Prints the scores as JSON and writes them to <model_dir>/eval_<split>.json.
"""

import json
import sys

from absl import app, flags

from tf_esgan.data.datasets import DatasetError
from tf_esgan.segmentation.evaluate import SPLITS, evaluate_run

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Folder of a finished esgan-train-segnet run.")
_DATASET_DIR = flags.DEFINE_string("dataset_dir", None, "Dataset to score (default: the run's own).")
_SPLIT = flags.DEFINE_enum("split", "test", list(SPLITS),
                           "Slide-grouped split of the run (its seed and test fraction), or all images.")

flags.mark_flags_as_required(["model_dir"])


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        report = evaluate_run(_MODEL_DIR.value, dataset_dir=_DATASET_DIR.value, split=_SPLIT.value)
    except (ValueError, DatasetError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def run() -> None:
    app.run(main)


if __name__ == "__main__":
    run()
