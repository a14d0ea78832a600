"""`esgan-reproduce`: the paper's experiments in one resumable command, over several seeds.

Each seed s = seed, seed+1, ..., seed+seeds-1 runs every stage in `out_dir/seed_<s>/`,
each stage in its own folder there and resumed or skipped on a rerun:

1. `gan/<variant>`: the budget's Table 1 variants trained on the real train slides.
2. `segnet/R`: SegNet on real images, needed for Table 1's AJI column and Table 2's R row.
3. `table1/<variant>`: each generator re-synthesizes the held-out slides from their own
   masks; SSIM, FSIM, GMSD against the real images, AJI of SegNet-R on the synthetic images.
   `table1/flat`, `table1/real`: the calibration rows (see `calibration`).
4. `synthetic`: `num_synthetic` random masks -> the enhanced generator -> image/mask pairs.
5. `segnet/R*`, `segnet/S`, `segnet/S*`: the other training sets of Table 2.
6. `table2/<set>.json`: DQ, SQ, PQ, AJI of each SegNet on the held-out slides.
Then the seed's `table1.md/.csv`, `table2.md/.csv` (next to the paper's numbers) and figures.

The held-out slides are the same for every seed (split with the base `seed`, listed in
`out_dir/split.json`); the seed changes initialisation, data order, augmentation and the
synthetic masks. `out_dir/table1.md/.csv` and `table2.md/.csv` give mean ± sd over seeds.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Callable, ClassVar

import keras

from tf_esgan.config_fields import check_choices, choice_field
from tf_esgan.data.datasets import Sample, list_samples, split_samples_by_group
from tf_esgan.data.masks import PRESETS
from tf_esgan.errors import ConfigError
from tf_esgan.evaluation.image_quality_table import evaluate_image_quality
from tf_esgan.io_utils import atomic_path
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.variants import get_variant
from tf_esgan.pretrained.segnet_loading import MODEL_FILE, WATERSHED_FILE, load_watershed_config
from tf_esgan.reproduce.budgets import BUDGETS, SYNTHESIS_VARIANT, Budget, budget_from_flat_dict, get_budget
from tf_esgan.reproduce.calibration import FLAT_CONDITIONING, flat_generate, mean_colour, real_image_aji
from tf_esgan.reproduce.report import write_seed_summary, write_tables_and_figure
from tf_esgan.runs.run_dir import config_to_dict, prepare_run_dir
from tf_esgan.segmentation.scoring import evaluate_samples, load_segmenter
from tf_esgan.segmentation.train import train_segnet
from tf_esgan.segmentation.data import TRAIN_SETS
from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainConfig
from tf_esgan.synthesis import SynthesisConfig, synthesize
from tf_esgan.training.config_sections import SplitConfig
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig
from tf_esgan.training.gan_trainer import train_and_evaluate

TRAINING_SETS = TRAIN_SETS  # Table 2's rows: every training set
NAMED_DATASETS = ("tnbc", "cpm15", "monuseg")
SPLIT_FILE = "split.json"
# ReproduceConfig fields added after reproductions were written, with what those runs did.
ADDED_RUN_FIELDS = {"real_set": "", "real_fraction": 0.0}


def _quiet(message: str) -> None:
    """The log of a stage run inside a reproduction: its stage line says enough."""
    del message


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReproduceConfig(SplitConfig):
    """One `esgan-reproduce` job; test_fraction (here in (0, 1)) and split_seed: SplitConfig.

    Attributes:
      dataset: "tnbc", "cpm15", "monuseg" (under `datasets_root`) or a folder path.
      out_dir: everything is written here; a rerun resumes.
      budget: a name in `budgets.BUDGETS` ("paper", "cpu", "small", "toy").
      datasets_root: where the named datasets live (canonical layout).
      seed: first seed: initialisation, data order, augmentation, synthetic masks (and the
        split, see split_seed).
      seeds: number of seeds run (seed, seed+1, ...); the tables give mean ± sd over them.
      preset: nuclei preset of the synthetic masks; "" = the dataset's own if it has one.
      real_set: where Table 2's real images (R, R*, and S*'s real part) come from: "" = the
        dataset's own training slides (the reading `esgan-reproduce` always had); a named
        dataset ("cpm15", ...) or a folder = all of that dataset's images, a cross-dataset R as
        in the paper's Sec. 3.3 ("R contains only real histopathology images from the CPM-15&17
        training set"). The held-out slides, the GANs and the synthetic set stay `dataset`'s.
      real_fraction: S* only: the share of real crops in every batch; 0 = real and synthetic
        images pooled per image (the paper's reading; ~2 % real with 6,000 synthetic pairs).
    """

    OWNER: ClassVar[str] = "ReproduceConfig"

    dataset: str
    out_dir: str
    budget: str = choice_field("small", sorted(BUDGETS))
    datasets_root: str = "../shared/datasets"
    seed: int = 0
    seeds: int = 1
    preset: str = choice_field("", ("", *sorted(PRESETS)))
    real_set: str = ""
    real_fraction: float = 0.0

    def __post_init__(self):
        get_budget(self.budget)
        check_choices(self, "preset", "ReproduceConfig")
        if not 0.0 <= self.real_fraction <= 1.0:
            raise ValueError(f"real_fraction: expected a share in [0, 1], got {self.real_fraction}")
        if self.real_set and self.real_set == self.dataset:
            raise ValueError(f"real_set: {self.real_set!r} is the dataset itself; leave it empty for "
                             "the dataset's own training slides")
        # Both tables need held-out slides, so 0 is refused here.
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction: expected a value in (0, 1), got {self.test_fraction}")
        super().__post_init__()
        if self.seeds < 1:
            raise ValueError(f"seeds: expected at least 1 seed, got {self.seeds}")

    @property
    def dataset_dir(self) -> Path:
        if self.dataset in NAMED_DATASETS:
            return Path(self.datasets_root) / self.dataset
        return Path(self.dataset)

    @property
    def dataset_name(self) -> str:
        return self.dataset if self.dataset in NAMED_DATASETS else Path(self.dataset).name

    @property
    def real_set_dir(self) -> str:
        """The folder of a cross-dataset R, or "" for the dataset's own training slides."""
        if not self.real_set:
            return ""
        if self.real_set in NAMED_DATASETS:
            return str(Path(self.datasets_root) / self.real_set)
        return self.real_set

    @property
    def data_split_seed(self) -> int:
        return self.split_seed_for(self.seed)

    @property
    def nuclei_preset(self) -> str:
        if self.preset:
            return self.preset
        return self.dataset_name if self.dataset_name in PRESETS else "tnbc"

    def seed_configs(self) -> list["ReproduceConfig"]:
        """One single-seed run per seed, in `out_dir/seed_<s>`, all on this run's split."""
        return [dataclasses.replace(self, seed=seed, seeds=1, split_seed=self.data_split_seed,
                                    out_dir=str(Path(self.out_dir) / f"seed_{seed}"))
                for seed in range(self.seed, self.seed + self.seeds)]


def _gan_config(config: ReproduceConfig, budget: Budget, variant: str) -> TrainConfig:
    """`variant`'s TrainConfig: the budget's networks and length, this seed, this run's split."""
    return TrainConfig(
        data=GanDataConfig(dataset_dir=str(config.dataset_dir), test_fraction=config.test_fraction,
                           split_seed=config.data_split_seed),
        model=budget.network,
        loss=GanLossConfig(variant=variant),
        trainer=dataclasses.replace(budget.gan_trainer, seed=config.seed),
        runtime=RuntimeConfig(model_dir=str(Path(config.out_dir) / "gan" / variant),
                              verbose=1))  # a bar on a terminal only


def _segnet_config(config: ReproduceConfig, budget: Budget, train_set: str) -> SegNetTrainConfig:
    """`train_set`'s SegNetTrainConfig: the budget's SegNet and length, this seed, this run's split."""
    return SegNetTrainConfig(
        data=SegNetDataConfig(train_set=train_set, dataset_dir=str(config.dataset_dir),
                              synthetic_dir=str(Path(config.out_dir) / "synthetic"),
                              crop_size=budget.segnet_crop_size, test_fraction=config.test_fraction,
                              split_seed=config.data_split_seed, real_train_dir=config.real_set_dir,
                              real_fraction=config.real_fraction if train_set == "S*" else 0.0),
        model=budget.segnet_model,
        trainer=dataclasses.replace(budget.segnet_trainer, seed=config.seed))


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
    """Runs (or resumes) every stage for every seed, then the tables over seeds.

    Returns:
      {"seeds": {s: {"table1": {...}, "table2": {...}, "files": {...}}}, "files": {...}}:
      each seed's scores (as in its folder) and the paths of the aggregated tables.
    """
    budget = get_budget(config.budget)
    # The budget's values are recorded too: a rerun must not mix two budgets' stages. The
    # number of seeds may grow on a rerun: the finished seeds are read back.
    run = {k: v for k, v in config_to_dict(config).items() if k != "seeds"}
    out = prepare_run_dir(config.out_dir, {"run": run, "seeds": config.seeds, "budget": budget}, ignore=("seeds",),
                          upgrade=_nested_budget)
    train, test = split_samples_by_group(list_samples(config.dataset_dir), test_fraction=config.test_fraction,
                                         seed=config.data_split_seed)
    if not test or not train:
        raise ConfigError(f"{config.dataset_dir}: test_fraction={config.test_fraction} leaves no "
                         f"{'held-out' if not test else 'training'} slides")
    with atomic_path(out / SPLIT_FILE) as temporary:
        temporary.write_text(json.dumps({"split_seed": config.data_split_seed, "test_fraction": config.test_fraction,
                                         "train": [s.id for s in train], "test": [s.id for s in test]}, indent=2))
    started = time.perf_counter()
    stages = StageLog(total=config.seeds * stages_per_seed(budget), log=log)
    results = {}
    for index, seed_config in enumerate(config.seed_configs(), start=1):
        stages.prefix = f"seed {index}/{config.seeds} (seed {seed_config.seed})"
        log(f"[{time.perf_counter() - started:7.0f} s] {stages.prefix}: in {seed_config.out_dir}")
        results[seed_config.seed] = run_one_seed(seed_config, budget, train, test, stages.stage)
    files = write_seed_summary(config, {seed: (r["table1"], r["table2"]) for seed, r in results.items()}, test, out)
    log(f"[{time.perf_counter() - started:7.0f} s] done: " + ", ".join(str(path) for path in files.values()))
    return {"seeds": results, "files": {k: str(v) for k, v in files.items()}}


def _nested_budget(record: dict) -> dict:
    """A reproduction's config.json with a budget recorded flat (before Budget held sections) nested.

    Also one whose budget held the GAN's sections but SegNet's fields flat."""
    budget = record.get("budget")
    if isinstance(budget, dict) and "segnet_trainer" not in budget:
        record = {**record, "budget": config_to_dict(budget_from_flat_dict(budget))}
    run = record.get("run")
    if isinstance(run, dict):  # written before issue 20's options: the own-dataset R, pooled S*
        record = {**record, "run": {**ADDED_RUN_FIELDS, **run}}
    return record


def stages_per_seed(budget: Budget) -> int:
    """How many `stage(...)` lines `run_one_seed` logs: training and Table 1 per variant,
    SegNet R, the flat and real rows, synthesis, training and scoring of the other sets."""
    return 2 * len(budget.variants) + 1 + 2 + 1 + (len(TRAINING_SETS) - 1) + len(TRAINING_SETS)


@dataclasses.dataclass
class StageLog:
    """Numbers the stages of a reproduction: "[elapsed] stage k/M, seed i/N: what"."""

    total: int
    log: Callable[[str], None]
    prefix: str = ""
    done: int = 0
    started: float = dataclasses.field(default_factory=time.perf_counter)

    def stage(self, message: str) -> None:
        self.done += 1
        self.log(f"[{time.perf_counter() - self.started:7.0f} s] stage {self.done}/{self.total}, "
                 f"{self.prefix}: {message}")


def run_one_seed(config: ReproduceConfig, budget: Budget, train: list[Sample], test: list[Sample],
                 stage: Callable[[str], None]) -> dict:
    """Every stage of one seed in `config.out_dir`; returns {"table1", "table2", "files"}.

    Long stages (GAN and SegNet training, synthesis) draw their own progress bar on a
    terminal (see `tf_esgan.console`).
    """
    out = prepare_run_dir(config.out_dir, {"run": config, "budget": budget}, upgrade=_nested_budget)
    generators = {}
    for variant in budget.variants:
        stage(f"GAN {variant}: training (resumes from its last checkpoint)")
        generators[variant] = train_and_evaluate(_gan_config(config, budget, variant), log=_quiet).generator

    stage("SegNet R: training")
    train_segnet(_segnet_config(config, budget, "R"), out / "segnet" / "R", verbose=0)
    segment_r = load_segmenter(out / "segnet" / "R")

    def image_quality(generate, kind: str, row: str) -> dict:
        result = evaluate_image_quality(test, generate, kind=kind, tile=budget.network.image_size, segment=segment_r,
                                        out_dir=str(out / "table1" / row / "synthetic"))
        return {**result.mean, "aji": result.aji, "tiles": len(result.tiles)}

    table1 = {}
    for variant in budget.variants:
        stage(f"Table 1 {variant}: synthesizing {len(test)} held-out images from their masks")
        generate = lambda condition, generator=generators[variant]: generator(condition, training=False)  # noqa: E731
        table1[variant] = _cached_json(out / "table1" / variant / "scores.json", functools.partial(
            image_quality, generate, get_variant(variant).conditioning, variant))

    def flat_scores() -> dict:
        colour = mean_colour(train)
        return {**image_quality(flat_generate(colour), FLAT_CONDITIONING, "flat"), "colour": colour.tolist()}
    stage(f"Table 1 flat: the mean colour of the {len(train)} training images")
    table1["flat"] = _cached_json(out / "table1" / "flat" / "scores.json", flat_scores)
    stage(f"Table 1 real: SegNet R on the {len(test)} real held-out images")
    table1["real"] = _cached_json(out / "table1" / "real" / "scores.json", lambda: {
        "ssim": None, "fsim": None, "gmsd": None, "aji": real_image_aji(test, segment_r)})

    stage(f"synthesizing {budget.num_synthetic} pairs with the {SYNTHESIS_VARIANT} generator")
    synthesize(SynthesisConfig(model=str(out / "gan" / SYNTHESIS_VARIANT), out_dir=str(out / "synthetic"),
                               num_images=budget.num_synthetic, preset=config.nuclei_preset, seed=config.seed,
                               conditioning=get_variant(SYNTHESIS_VARIANT).conditioning),
               generator=generators[SYNTHESIS_VARIANT], verbose=1, log=_quiet)

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

    files = write_tables_and_figure(config, table1, table2, test, out, variants=budget.variants)
    return {"table1": table1, "table2": table2, "files": {k: str(v) for k, v in files.items()}}
