"""`esgan-evaluate`: a trained generator against a folder of real pairs (paper Table 1)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

from tf_esgan.config_fields import choice_field
from tf_esgan.console import progress_bar
from tf_esgan.data.skeleton import CONDITIONINGS
from tf_esgan.data.datasets import DatasetError, check_samples
from tf_esgan.errors import ConfigError, ModelLoadError
from tf_esgan.evaluation.image_quality_table import Table1Result, evaluate_image_quality, write_reports
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.models.inference import generate
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.pretrained.registry import open_model, pretrained_name
from tf_esgan.run_lock import run_lock
from tf_esgan.runs.run_dir import CONFIG_FILE
from tf_esgan.segmentation.scoring import SPLITS, evaluation_samples, load_segmenter
from tf_esgan.training.gan_config import TrainConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluationConfig:
    """Attributes:
      model: `pretrained:NAME`, an `esgan-train` run folder or a `.keras` generator.
      dataset_dir: real pairs in the canonical layout; with split "all" the whole folder
        is scored (the path for an external test set); "" = the dataset the model was
        trained on (split "test"/"train" only).
      out_dir: reports (tiles.csv, per_image.csv, table1.md, summary.json) and images.
      conditioning: the generator's conditioning kind; "" = from the run folder.
      split: "all", or the slide-grouped "test"/"train" split of the model's own training
        run (its config.json, or a pretrained model's record).
      test_fraction, seed: that split's settings; None = the model's own. Given for a
        model that records its split, they must equal it (a contradicting value would
        score training images as test); a `.keras` file records none, so it needs both.
      segnet_dir: optional `esgan-train-segnet` run or `pretrained:NAME`; adds the AJI column.
      method: row name in table1.md; "" = the run folder's or file's name.
      batch_size: generator batch (tiles).
    """

    model: str
    dataset_dir: str = ""
    out_dir: str
    conditioning: str = choice_field("", ("", *CONDITIONINGS))
    split: str = choice_field("all", SPLITS)
    test_fraction: float | None = None
    seed: int | None = None
    segnet_dir: str = ""
    method: str = ""
    batch_size: int = 8

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {self.split!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {self.batch_size}")
        if self.split == "all" and (self.test_fraction is not None or self.seed is not None):
            raise ConfigError("--test_fraction/--seed choose the slides of --split=test or train; "
                              "--split=all scores the whole --dataset_dir")
        if self.split == "all" and not self.dataset_dir:
            raise ConfigError("--dataset_dir is required with --split=all (the folder scored whole)")


@dataclasses.dataclass(frozen=True)
class TrainingSplit:
    """The slide-grouped split a generator was trained with, and where that was read."""

    dataset_dir: str
    test_fraction: float
    seed: int
    source: str


def training_split(model: str) -> TrainingSplit | None:
    """The split recorded with `model`: an esgan-train run's config.json or a pretrained
    model's record (its card's `evaluation_split` {dataset_dir, test_fraction, seed} if it has
    one, else its training config); None for a `.keras` file or a missing model.

    Raises:
      ModelLoadError: the run's config.json is unreadable.
      PretrainedModelError: an unknown or damaged pretrained model.
    """
    name = pretrained_name(str(model))
    if name is not None:
        files = open_model("generator", name)
        # A model trained on a copy of some slides records, in its card, the split of the whole
        # dataset that holds its test slides out (its training config's own split would not).
        declared = files.record.get("card", {}).get("evaluation_split")
        if declared:
            return TrainingSplit(dataset_dir=str(declared["dataset_dir"]), test_fraction=declared["test_fraction"],
                                 seed=declared["seed"], source=f"{files.record_path} (card: evaluation_split)")
        values = files.record.get("source", {}).get("training_config", {})
        if "test_fraction" not in values:
            return None
        seed = values.get("split_seed")
        return TrainingSplit(dataset_dir=str(values.get("dataset_dir", "")), test_fraction=values["test_fraction"],
                             seed=values.get("seed", 0) if seed is None else seed, source=str(files.record_path))
    path = Path(model) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        run = TrainConfig.from_json_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as error:
        raise ModelLoadError(f"{path}: not an esgan-train run config ({error})") from None
    return TrainingSplit(dataset_dir=run.data.dataset_dir, test_fraction=run.data.test_fraction,
                         seed=run.data_split_seed, source=str(path))


def _split_samples(config: EvaluationConfig) -> tuple[str, list]:
    """(dataset folder, samples) of the split `config` asks for, the model's own split for test/train."""
    if config.split == "all":
        return config.dataset_dir, evaluation_samples(config.dataset_dir, split="all", test_fraction=0.0, seed=0)
    recorded = training_split(config.model)
    if recorded is None:
        if config.test_fraction is None or config.seed is None:
            if pretrained_name(config.model) is None and not Path(config.model).exists():
                raise ModelLoadError(f"{config.model}: no such file or folder; expected pretrained:NAME, an "
                                     "esgan-train run folder or a .keras generator file")
            raise ConfigError(f"{config.model}: records no training split; pass --test_fraction and --seed "
                              f"of the split it was trained on for --split={config.split}, or score an "
                              "external test set with --split=all")
        recorded = TrainingSplit(dataset_dir="", test_fraction=config.test_fraction, seed=config.seed,
                                 source="--test_fraction/--seed")
    for flag, given, own in (("test_fraction", config.test_fraction, recorded.test_fraction),
                             ("seed", config.seed, recorded.seed)):
        if given is not None and given != own:
            raise ConfigError(f"--{flag}={given} contradicts the split {config.model} was trained with "
                              f"({flag} {own}, {recorded.source}): --split={config.split} would score other "
                              "slides; leave the flag out, or score an external test set with --split=all")
    dataset_dir = config.dataset_dir or recorded.dataset_dir
    if not dataset_dir:
        raise ConfigError(f"--dataset_dir is required: {config.model} does not record its dataset")
    if not config.dataset_dir and not Path(dataset_dir).is_dir():
        raise DatasetError(f"{recorded.source}: dataset_dir {dataset_dir} does not exist (moved or deleted); "
                           "pass --dataset_dir=<the dataset's folder now>")
    return dataset_dir, evaluation_samples(dataset_dir, split=config.split, test_fraction=recorded.test_fraction,
                                           seed=recorded.seed)


def evaluate_generator(config: EvaluationConfig, *, log: Callable[[str], None] = print) -> Table1Result:
    """Synthesizes every real image of the split from its own mask, scores, writes reports.

    The output folder, every file of the split and the model are checked before the
    first image is synthesized.

    Raises:
      UnwritableFolderError: `out_dir` cannot be created or written.
      DatasetError: `dataset_dir` is missing or empty, or holds bad files (named).
      ModelLoadError / ModelNotFoundError / PretrainedModelError: `model` or `segnet_dir`
        is not a model of the right kind (e.g. an esgan-train-segnet run as `model`).
      ConfigError: an image is smaller than the generator's input (tile) size.
    """
    dataset_dir, samples = _split_samples(config)
    if not samples:
        raise DatasetError(f"{dataset_dir}: no image/mask pairs in split {config.split!r}")
    check_samples(samples, source=dataset_dir)
    ensure_writable_dir(config.out_dir, "--out_dir")
    generator, kind, _ = load_generator(config.model, config.conditioning, log=log)
    segment = load_segmenter(config.segnet_dir) if config.segnet_dir else None
    tile = int(generator.input_shape[1])
    check_samples(samples, source=dataset_dir, crop_size=tile, crop_flag="--model's input size")
    bar = progress_bar(len(samples), unit_name="image")
    with run_lock(config.out_dir, what="evaluation"):  # one writer per output folder
        result = evaluate_image_quality(
            samples, lambda condition: generate(generator, condition), kind=kind, tile=tile,
            batch_size=config.batch_size, segment=segment, out_dir=str(Path(config.out_dir) / "synthetic"),
            progress=bar.update)
        method = config.method or pretrained_name(config.model) or Path(config.model).stem
        paths = write_reports(result, method, config.out_dir)
        log(f"{len(samples)} images, {len(result.tiles)} tiles of {tile}x{tile}: "
            + ", ".join(f"{k.upper()} {v:.3f}" for k, v in result.mean.items())
            + (f", AJI {result.aji:.3f}" if result.aji is not None else "")
            + f"; reports in {paths['table1.md'].parent}")
        return result
