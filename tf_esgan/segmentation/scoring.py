"""SegNet scoring: segment whole images with a trained SegNet + watershed, score DQ, SQ, PQ, AJI.

The `esgan-evaluate-segnet` job (Table 2's cells; Table 1's AJI column reuses it). The
scores themselves are the pure functions of `metrics/segmentation.py`; `evaluation/` is
Table 1 (image quality of generated images).


Images of any size are padded by reflection to the next multiple of 32 (SegNet's
constraint), run through the network one at a time, and the outputs cropped back.
Scores: `metrics.segmentation.aggregate`, i.e. both the mean of the per-image values and
the pooled (dataset-level) values; the report also names them as HoVer-Net
("per_image_mean") and StarDist ("pooled") do (`metrics.score_conventions`). Models are
loaded by `segnet_loading` (a run folder, a `.keras` file or `pretrained:NAME`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from tf_esgan.console import progress_bar
from tf_esgan.data.datasets import (DatasetError, Sample, check_samples, list_samples, load_pair,
                                    split_samples_by_group)
from tf_esgan.errors import ConfigError, ModelLoadError, ModelNotFoundError
from tf_esgan.io_utils import atomic_path, ensure_writable_dir
from tf_esgan.metrics import segmentation as seg_metrics
from tf_esgan.metrics.score_conventions import convention_blocks
from tf_esgan.models.segnet import SIZE_MULTIPLE
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.pretrained.segnet_loading import load_segnet_and_watershed, segnet_file
from tf_esgan.run_lock import run_lock
from tf_esgan.runs.run_dir import GAN_RUN, run_kind
from tf_esgan.segmentation.postprocess import WatershedConfig, watershed_instances
from tf_esgan.segmentation.train_config import nest_json_dict

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
    progress = progress_bar(len(samples), unit_name="image")  # drawn on a terminal only
    for sample in samples:
        image, truth = load_pair(sample)
        counts.append(seg_metrics.instance_counts(truth, segment_image(model, image, config)))
        progress.add(1)
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

    Everything is checked before the model is loaded: the model's kind, the stored
    dataset path, every test file and the report's folder.

    Raises:
      ConfigError: contradicting arguments.
      PretrainedModelError: an unknown or damaged pretrained model.
      ModelNotFoundError (a FileNotFoundError): `model` is not a finished run (the
        missing file is named).
      ModelLoadError: `model` is an esgan-train (generator) run or not a SegNet.
      DatasetError: the run's stored dataset folder no longer exists (the config file,
        field and flag to pass instead are named), or a bad test file.
      UnwritableFolderError: the report's folder cannot be written.
    """
    pretrained = pretrained_name(str(model)) is not None
    if test_dir is not None and (dataset_dir is not None or split not in (None, "all")):
        raise ConfigError(f"test_dir={test_dir}: scores that whole folder; do not combine it with "
                          f"dataset_dir={dataset_dir} or split={split}")
    if pretrained and test_dir is None and (dataset_dir is None or split not in (None, "all")):
        raise ConfigError(f"{model}: a pretrained SegNet has no training split; pass test_dir (a canonical "
                          "folder scored whole) or dataset_dir with split='all'")
    split = split or ("all" if pretrained or test_dir is not None else "test")
    folder = Path(model)
    source, samples = _test_samples(model, dataset_dir=dataset_dir, split=split, test_dir=test_dir,
                                    pretrained=pretrained)
    check_samples(samples, source=source)
    if report_path is not None:
        ensure_writable_dir(Path(report_path).parent, "--report's folder")
    elif not pretrained:
        report_path = folder / _report_name(split, test_dir)
        ensure_writable_dir(folder, "--model")
    segnet, watershed = load_segnet_and_watershed(model)
    scores = evaluate_samples(segnet, samples, watershed)
    report = {"model": str(model), "dataset_dir": str(source), "split": split,
              "images": [s.id for s in samples], **dataclasses.asdict(scores),
              **convention_blocks(scores)}
    if report_path is not None:
        # One writer per folder: a run folder being trained is not written behind its back.
        with run_lock(Path(report_path).parent, what="output"), atomic_path(report_path) as temporary:
            temporary.write_text(json.dumps(report, indent=2) + "\n")
        report["report_path"] = str(report_path)
    return report


def _test_samples(model: str | os.PathLike, *, dataset_dir, split: str, test_dir,
                  pretrained: bool) -> tuple[Path, list[Sample]]:
    """(dataset folder, test samples) of `evaluate_run`; checks the model's kind first."""
    if test_dir is not None or pretrained:
        segnet_file(model)  # the kind of model, before anything is read
        source = Path(test_dir if test_dir is not None else dataset_dir)
        return source, list_samples(source)
    folder = Path(model)
    if run_kind(folder) == GAN_RUN:
        segnet_file(model)  # says it is a generator run, before its config is read as a SegNet's
    run_config = _run_config(folder)
    segnet_file(model)
    source = Path(dataset_dir) if dataset_dir else _stored_dataset_dir(folder, run_config)
    data = run_config["data"]
    samples = evaluation_samples(source, split=split, test_fraction=data["test_fraction"],
                                 seed=run_config["trainer"]["seed"] if data.get("split_seed") is None
                                 else data["split_seed"])
    return source, samples


def _run_config(folder: Path) -> dict:
    path = folder / RUN_CONFIG_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: missing; is {folder} a finished esgan-train-segnet run?")
    try:
        config = json.loads(path.read_text())
    except ValueError as error:
        raise ModelLoadError(f"{path}: unreadable run config ({error})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: not an esgan-train-segnet run config (a JSON object)")
    # Nested sections; a flat config.json of an earlier version is sorted into them.
    config = nest_json_dict(config)
    wanted = (("data", "dataset_dir"), ("data", "test_fraction"), ("trainer", "seed"))
    missing = [".".join(key) for key in wanted
               if not isinstance(config.get(key[0]), dict) or key[1] not in config[key[0]]]
    if missing:
        raise ModelLoadError(f"{path}: not an esgan-train-segnet run config (no {', '.join(missing)})")
    return config


def _stored_dataset_dir(folder: Path, run_config: dict) -> Path:
    """The run's dataset: absolute in new runs; relative (to the folder training was
    started from) in runs written before paths were stored absolute."""
    stored = Path(run_config["data"]["dataset_dir"])
    if not stored.is_dir():
        relative = "" if stored.is_absolute() else f" (a path relative to {Path.cwd()})"
        raise DatasetError(f"{folder / RUN_CONFIG_FILE}: dataset_dir {stored}{relative} does not exist: "
                           "the dataset (or the run) was moved or deleted; pass --dataset_dir=<the "
                           "dataset's folder now> to score its held-out split")
    return stored.resolve()


def load_segmenter(model: str | os.PathLike):
    """A SegNet + its watershed as a function uint8 RGB [H, W, 3] -> labels [H, W].

    `model`: an `esgan-train-segnet` run folder, `pretrained:NAME`, or a run's `.keras`.
    """
    segnet, watershed = load_segnet_and_watershed(model)
    return lambda image: segment_image(segnet, image, watershed)
