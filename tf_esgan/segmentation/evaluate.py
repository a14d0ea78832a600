"""Segment whole images with a trained SegNet + watershed and score DQ, SQ, PQ, AJI.

Images of any size are padded by reflection to the next multiple of 32 (SegNet's
constraint), run through the network one at a time, and the outputs cropped back.
Scores: `metrics.segmentation.aggregate`, i.e. both the mean of the per-image values and
the pooled (dataset-level) values. Models are loaded by `segnet_loading` (a run folder,
a `.keras` file or `pretrained:NAME`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from tf_esgan.io_utils import atomic_path
from tf_esgan.data.datasets import Sample, list_samples, load_pair, split_samples_by_group
from tf_esgan.metrics import segmentation as seg_metrics
from tf_esgan.models.segnet import SIZE_MULTIPLE
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.segmentation.postprocess import WatershedConfig, watershed_instances
# The run-folder file names and the watershed file format live with the loading code;
# imported here too because training and the reproduction name them as evaluate.*.
from tf_esgan.segmentation.segnet_loading import (  # noqa: F401
    MODEL_FILE, WATERSHED_FILE, load_segnet_and_watershed, load_watershed_config, save_watershed_config)

SPLITS = ("test", "train", "all")
RUN_CONFIG_FILE = "config.json"


def pad_to_multiple(image: np.ndarray, multiple: int = SIZE_MULTIPLE) -> np.ndarray:
    """Reflect-pads [H, W, C] at the bottom/right so H and W are multiples of `multiple`."""
    height, width = image.shape[:2]
    pad_height, pad_width = -height % multiple, -width % multiple
    if not pad_height and not pad_width:
        return image
    # "symmetric" needs no minimum size, unlike "reflect" (pad < side).
    return np.pad(image, [(0, pad_height), (0, pad_width), (0, 0)], mode="symmetric")


def predict_maps(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """SegNet outputs of one image: uint8 RGB [H, W, 3] -> float32 [H, W, 2] in [0, 1]."""
    height, width = image.shape[:2]
    padded = pad_to_multiple(np.asarray(image))
    outputs = model(padded[None].astype(np.float32), training=False)
    return np.asarray(outputs)[0, :height, :width]


def segment_image(model: keras.Model, image: np.ndarray,
                  config: WatershedConfig = WatershedConfig()) -> np.ndarray:
    """Instance label map int32 [H, W] of uint8 RGB [H, W, 3]."""
    maps = predict_maps(model, image)
    return watershed_instances(maps[..., 0], maps[..., 1], config)


def evaluate_samples(model: keras.Model, samples: Sequence[Sample],
                     config: WatershedConfig = WatershedConfig()) -> seg_metrics.DatasetScores:
    """Scores of model + watershed on image/mask pairs (mean per image and pooled)."""
    if not samples:
        raise ValueError("samples: expected at least one image/mask pair to evaluate, got none")
    counts = []
    for sample in samples:
        image, truth = load_pair(sample)
        counts.append(seg_metrics.instance_counts(truth, segment_image(model, image, config)))
    return seg_metrics.aggregate(counts)


def evaluation_samples(dataset_dir: str | os.PathLike, *, split: str, test_fraction: float,
                       seed: int) -> list[Sample]:
    """The slide-grouped split of a real dataset used by training (`split` in SPLITS)."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    samples = list_samples(dataset_dir)
    if split == "all":
        return samples
    train, test = split_samples_by_group(samples, test_fraction=test_fraction, seed=seed)
    return test if split == "test" else train


def _report_name(split: str, test_dir: str | os.PathLike | None) -> str:
    return f"eval_external_{Path(test_dir).resolve().name}.json" if test_dir else f"eval_{split}.json"


def evaluate_run(model: str | os.PathLike, *, dataset_dir: str | os.PathLike | None = None,
                 split: str | None = None, test_dir: str | os.PathLike | None = None,
                 report_path: str | os.PathLike | None = None) -> dict:
    """Evaluates a finished `train_segnet` run, or a pretrained SegNet, with its watershed.

    Three sources of test images:
      - default: the run's own held-out slides (`split`="test", the default; "train" and
        "all" also work), from `config.json`'s dataset, seed and test fraction;
      - `dataset_dir` + `split`: another dataset split the same way ("all" = whole);
      - `test_dir`: an external test set in the canonical layout (images/, masks/),
        scored whole, e.g. MoNuSeg's official test set or a user's own annotated images.
    A `pretrained:NAME` model has no run, so it needs `test_dir` (or `dataset_dir` with
    split "all").

    Writes the report to `report_path`, default `<run>/eval_<split>.json`
    (`eval_external_<folder name>.json` for `test_dir`; nothing for a pretrained model
    without `report_path`), and returns it: the scores plus the image ids and source.

    Raises:
      ValueError: contradicting arguments, or an unknown/damaged pretrained model.
      FileNotFoundError: `model` is not a finished run (the missing file is named).
    """
    pretrained = pretrained_name(str(model)) is not None
    if test_dir is not None and (dataset_dir is not None or split not in (None, "all")):
        raise ValueError(f"test_dir={test_dir}: scores that whole folder; do not combine it with "
                         f"dataset_dir={dataset_dir} or split={split}")
    if pretrained and test_dir is None and (dataset_dir is None or split not in (None, "all")):
        raise ValueError(f"{model}: a pretrained SegNet has no training split; pass test_dir (a canonical "
                         "folder scored whole) or dataset_dir with split='all'")
    split = split or ("all" if pretrained or test_dir is not None else "test")
    folder = Path(model)
    if test_dir is not None or pretrained:
        source = Path(test_dir if test_dir is not None else dataset_dir)
        samples = list_samples(source)
    else:
        if not (folder / RUN_CONFIG_FILE).exists():
            raise FileNotFoundError(f"{folder / RUN_CONFIG_FILE}: missing; is {folder} a finished "
                                    "esgan-train-segnet run?")
        run_config = json.loads((folder / RUN_CONFIG_FILE).read_text())
        source = Path(dataset_dir or run_config["dataset_dir"])
        samples = evaluation_samples(source, split=split, test_fraction=run_config["test_fraction"],
                                     seed=run_config["seed"] if run_config.get("split_seed") is None
                                     else run_config["split_seed"])
    segnet, watershed = load_segnet_and_watershed(model)
    scores = evaluate_samples(segnet, samples, watershed)
    report = {"model": str(model), "dataset_dir": str(source), "split": split,
              "images": [s.id for s in samples], **dataclasses.asdict(scores)}
    if report_path is None and not pretrained:
        report_path = folder / _report_name(split, test_dir)
    if report_path is not None:
        with atomic_path(report_path) as temporary:
            temporary.write_text(json.dumps(report, indent=2) + "\n")
        report["report_path"] = str(report_path)
    return report


def load_segmenter(model: str | os.PathLike):
    """A SegNet + its watershed as a function uint8 RGB [H, W, 3] -> labels [H, W].

    `model`: an `esgan-train-segnet` run folder, `pretrained:NAME`, or a run's `.keras`.
    """
    segnet, watershed = load_segnet_and_watershed(model)
    return lambda image: segment_image(segnet, image, watershed)
