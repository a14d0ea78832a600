"""`esgan-reproduce`: the paper's experiments in one resumable command.

Stages, each in its own folder of `out_dir` and each resumed or skipped on a rerun:

1. `gan/<variant>`: the four Table 1 variants trained on the real train slides.
2. `segnet/R`: SegNet on real images, needed for Table 1's AJI column and Table 2's R row.
3. `table1/<variant>`: each generator re-synthesizes the held-out slides from their own
   masks; SSIM, FSIM, GMSD against the real images, AJI of SegNet-R on the synthetic images.
4. `synthetic`: `num_synthetic` random masks -> the enhanced generator -> image/mask pairs.
5. `segnet/R*`, `segnet/S`, `segnet/S*`: the other training sets of Table 2.
6. `table2/<set>.json`: DQ, SQ, PQ, AJI of each SegNet on the held-out slides.
Then `table1.md/.csv`, `table2.md/.csv` (next to the paper's numbers) and `figure.png`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Callable

from tf_esgan.data.datasets import list_samples, split_samples_by_group
from tf_esgan.io_utils import atomic_path
from tf_esgan.reproduce.budgets import Budget, get_budget
from tf_esgan.training.run_dir import prepare_run_dir

VARIANTS = ("pix2pix", "sharp_gan", "sharp_gan_plus", "enhanced")
TRAINING_SETS = ("R", "R*", "S", "S*")
NAMED_DATASETS = ("tnbc", "cpm15", "monuseg")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReproduceConfig:
    """Attributes:
      dataset: "tnbc", "cpm15", "monuseg" (under `datasets_root`) or a folder path.
      out_dir: everything is written here; a rerun resumes.
      budget: "paper", "small" (about an hour on 2 CPU cores) or "toy".
      datasets_root: where the named datasets live (canonical layout).
      test_fraction: share of slides held out for both tables (slide-grouped split).
      seed: split, initialisation, data order, synthetic masks.
      preset: nuclei preset of the synthetic masks; "" = the dataset's own if it has one.
    """

    dataset: str
    out_dir: str
    budget: str = "small"
    datasets_root: str = "../shared/datasets"
    test_fraction: float = 0.3
    seed: int = 0
    preset: str = ""

    def __post_init__(self):
        get_budget(self.budget)
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction: expected a value in (0, 1), got {self.test_fraction}")

    @property
    def dataset_dir(self) -> Path:
        if self.dataset in NAMED_DATASETS:
            return Path(self.datasets_root) / self.dataset
        return Path(self.dataset)

    @property
    def dataset_name(self) -> str:
        return self.dataset if self.dataset in NAMED_DATASETS else Path(self.dataset).name

    @property
    def nuclei_preset(self) -> str:
        from tf_esgan.data.masks import PRESETS

        if self.preset:
            return self.preset
        return self.dataset_name if self.dataset_name in PRESETS else "tnbc"


def _gan_config(config: ReproduceConfig, budget: Budget, variant: str):
    from tf_esgan.training.gan_config import TrainConfig

    return TrainConfig(dataset_dir=str(config.dataset_dir), model_dir=str(Path(config.out_dir) / "gan" / variant),
                       variant=variant, epochs=budget.gan_epochs, steps_per_epoch=budget.gan_steps_per_epoch,
                       image_size=budget.image_size, generator_base_filters=budget.generator_base_filters,
                       generator_depth=budget.generator_depth,
                       discriminator_base_filters=budget.discriminator_base_filters,
                       test_fraction=config.test_fraction, seed=config.seed, verbose=0)


def _segnet_config(config: ReproduceConfig, budget: Budget, train_set: str):
    from tf_esgan.segmentation.train import SegNetTrainConfig

    return SegNetTrainConfig(train_set=train_set, dataset_dir=str(config.dataset_dir),
                             synthetic_dir=str(Path(config.out_dir) / "synthetic"),
                             epochs=budget.segnet_epochs, steps_per_epoch=budget.segnet_steps_per_epoch,
                             batch_size=budget.segnet_batch_size, crop_size=budget.segnet_crop_size,
                             base_filters=budget.segnet_base_filters, seed=config.seed,
                             test_fraction=config.test_fraction, tune_images=budget.segnet_tune_images)


def _cached_json(path: Path, compute: Callable[[], dict]) -> dict:
    """The stage's result from `path` if a previous run finished it, else computed and saved."""
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(result, indent=2) + "\n")
    return result


def run_reproduction(config: ReproduceConfig, *, log: Callable[[str], None] = print) -> dict:
    """Runs (or resumes) every stage; returns {"table1": {...}, "table2": {...}, "files": {...}}."""
    import keras

    from tf_esgan.evaluation.image_quality_table import evaluate_image_quality
    from tf_esgan.models.variants import get_variant
    from tf_esgan.reproduce.report import write_tables_and_figure
    from tf_esgan.segmentation.evaluate import MODEL_FILE, evaluate_samples, load_segmenter, load_watershed_config
    from tf_esgan.segmentation.evaluate import WATERSHED_FILE
    from tf_esgan.segmentation.train import train_segnet
    from tf_esgan.synthesis import SynthesisConfig, synthesize
    from tf_esgan.training.gan_trainer import train_and_evaluate

    budget = get_budget(config.budget)
    # The budget's values are recorded too: a rerun must not mix two budgets' stages.
    out = prepare_run_dir(config.out_dir, {"run": config, "budget": budget})
    samples = list_samples(config.dataset_dir)
    _, test = split_samples_by_group(samples, test_fraction=config.test_fraction, seed=config.seed)
    if not test:
        raise ValueError(f"{config.dataset_dir}: no held-out slides at test_fraction={config.test_fraction}")
    started = time.perf_counter()

    def stage(message: str) -> None:
        log(f"[{time.perf_counter() - started:7.0f} s] {message}")

    generators = {}
    for variant in VARIANTS:
        stage(f"GAN {variant}: training (resumes from its last checkpoint)")
        generators[variant] = train_and_evaluate(_gan_config(config, budget, variant), log=lambda m: None).generator

    stage("SegNet R: training")
    train_segnet(_segnet_config(config, budget, "R"), out / "segnet" / "R", verbose=0)
    segment_r = load_segmenter(out / "segnet" / "R")

    table1 = {}
    for variant in VARIANTS:
        stage(f"Table 1 {variant}: synthesizing {len(test)} held-out images from their masks")
        generator = generators[variant]

        def compute(generator=generator, variant=variant):
            result = evaluate_image_quality(
                test, lambda condition: generator(condition, training=False),
                kind=get_variant(variant).conditioning, tile=budget.image_size, segment=segment_r,
                out_dir=str(out / "table1" / variant / "synthetic"))
            return {**result.mean, "aji": result.aji, "tiles": len(result.tiles)}
        table1[variant] = _cached_json(out / "table1" / variant / "scores.json", compute)

    stage(f"synthesizing {budget.num_synthetic} pairs with the enhanced generator")
    synthesize(SynthesisConfig(model=str(out / "gan" / "enhanced"), out_dir=str(out / "synthetic"),
                               num_images=budget.num_synthetic, preset=config.nuclei_preset, seed=config.seed,
                               conditioning=get_variant("enhanced").conditioning),
               generator=generators["enhanced"], verbose=0, log=lambda m: None)

    table2 = {}
    for train_set in TRAINING_SETS:
        folder = out / "segnet" / train_set
        if train_set != "R":
            stage(f"SegNet {train_set}: training")
            train_segnet(_segnet_config(config, budget, train_set), folder, verbose=0)

        def score(folder=folder):
            model = keras.models.load_model(folder / MODEL_FILE, compile=False)
            scores = evaluate_samples(model, test, load_watershed_config(folder / WATERSHED_FILE))
            return dataclasses.asdict(scores)
        stage(f"Table 2 {train_set}: scoring {len(test)} held-out images")
        table2[train_set] = _cached_json(out / "table2" / f"{train_set.replace('*', '_aug')}.json", score)

    files = write_tables_and_figure(config, table1, table2, test, out)
    stage("done: " + ", ".join(str(path) for path in files.values()))
    return {"table1": table1, "table2": table2, "files": {k: str(v) for k, v in files.items()}}
