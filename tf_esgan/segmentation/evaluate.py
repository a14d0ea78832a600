"""Segment whole images with a trained SegNet + watershed and score DQ, SQ, PQ, AJI.

Images of any size are padded by reflection to the next multiple of 32 (SegNet's
constraint), run through the network one at a time, and the outputs cropped back.
Scores: `metrics.segmentation.aggregate`, i.e. both the mean of the per-image values and
the pooled (dataset-level) values.
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
from tf_esgan.segmentation.postprocess import WatershedConfig, watershed_instances

WATERSHED_FILE = "watershed.json"
MODEL_FILE = "segnet.keras"
SPLITS = ("test", "train", "all")


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


def save_watershed_config(config: WatershedConfig, path: str | os.PathLike) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def load_watershed_config(path: str | os.PathLike) -> WatershedConfig:
    return WatershedConfig(**json.loads(Path(path).read_text()))


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


def evaluate_run(model_dir: str | os.PathLike, *, dataset_dir: str | os.PathLike | None = None,
                 split: str = "test") -> dict:
    """Evaluates a finished `train_segnet` run on its real dataset's split.

    Reads `config.json` (dataset, seed, test fraction), `segnet.keras` and
    `watershed.json` from `model_dir`; `dataset_dir` overrides the run's dataset (then
    use split="all" to score a whole other dataset). Writes and returns
    `<model_dir>/eval_<split>.json`: the scores plus the image count and source.
    """
    folder = Path(model_dir)
    for name in ("config.json", MODEL_FILE, WATERSHED_FILE):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name}: missing; is {folder} a finished esgan-train-segnet run?")
    run_config = json.loads((folder / "config.json").read_text())
    source = Path(dataset_dir or run_config["dataset_dir"])
    samples = evaluation_samples(source, split=split, test_fraction=run_config["test_fraction"],
                                 seed=run_config["seed"] if run_config.get("split_seed") is None
                                 else run_config["split_seed"])
    model = keras.models.load_model(folder / MODEL_FILE, compile=False)
    scores = evaluate_samples(model, samples, load_watershed_config(folder / WATERSHED_FILE))
    report = {"dataset_dir": str(source), "split": split, "images": [s.id for s in samples],
              **dataclasses.asdict(scores)}
    with atomic_path(folder / f"eval_{split}.json") as temporary:
        temporary.write_text(json.dumps(report, indent=2) + "\n")
    return report


def load_segmenter(model_dir: str | os.PathLike):
    """A finished `esgan-train-segnet` run as a function uint8 RGB [H, W, 3] -> labels [H, W]."""
    folder = Path(model_dir)
    for name in (MODEL_FILE, WATERSHED_FILE):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder / name}: missing; is {folder} a finished esgan-train-segnet run?")
    model = keras.models.load_model(folder / MODEL_FILE, compile=False)
    config = load_watershed_config(folder / WATERSHED_FILE)
    return lambda image: segment_image(model, image, config)
