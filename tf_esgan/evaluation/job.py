"""`esgan-evaluate`: a trained generator against a folder of real pairs (paper Table 1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable


from tf_esgan.console import progress_bar
from tf_esgan.data.datasets import DatasetError, check_samples
from tf_esgan.evaluation.image_quality_table import Table1Result, evaluate_image_quality, write_reports
from tf_esgan.io_utils import ensure_writable_dir
from tf_esgan.models.inference import generate
from tf_esgan.pretrained.registry import pretrained_name
from tf_esgan.run_lock import run_lock
from tf_esgan.runs.generator_loading import load_generator
from tf_esgan.segmentation.evaluate import SPLITS, evaluation_samples, load_segmenter


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluationConfig:
    """Attributes:
      model: `pretrained:NAME`, an `esgan-train` run folder or a `.keras` generator.
      dataset_dir: real pairs in the canonical layout; with split "all" the whole folder
        is scored (the path for an external test set).
      out_dir: reports (tiles.csv, per_image.csv, table1.md, summary.json) and images.
      conditioning: the generator's conditioning kind; "" = from the run folder.
      split: "all", or the slide-grouped "test"/"train" split (test_fraction, seed).
      segnet_dir: optional `esgan-train-segnet` run or `pretrained:NAME`; adds the AJI column.
      method: row name in table1.md; "" = the run folder's or file's name.
      batch_size: generator batch (tiles).
    """

    model: str
    dataset_dir: str
    out_dir: str
    conditioning: str = ""
    split: str = "all"
    test_fraction: float = 0.3
    seed: int = 0
    segnet_dir: str = ""
    method: str = ""
    batch_size: int = 8

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {self.split!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {self.batch_size}")


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
    samples = evaluation_samples(config.dataset_dir, split=config.split,
                                 test_fraction=config.test_fraction, seed=config.seed)
    if not samples:
        raise DatasetError(f"{config.dataset_dir}: no image/mask pairs in split {config.split!r}")
    check_samples(samples, source=config.dataset_dir)
    ensure_writable_dir(config.out_dir, "--out_dir")
    generator, kind = load_generator(config.model, config.conditioning, log=log)
    segment = load_segmenter(config.segnet_dir) if config.segnet_dir else None
    tile = int(generator.input_shape[1])
    check_samples(samples, source=config.dataset_dir, crop_size=tile, crop_flag="--model's input size")
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
