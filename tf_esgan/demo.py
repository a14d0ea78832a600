"""The README's one-command demo on the embedded TNBC sample (no downloads).

1. Conditioning maps of the real sample masks and of synthetic masks (paper Fig. 3 layout).
2. Takes the generator shipped in the package (`pretrained:tnbc`), or with
   `train_seconds` > 0 trains a small enhanced model on 3 of the 4 crops instead (a
   demonstration of the machinery, not of the shipped model's quality).
3. Synthesizes `num_masks` image/mask pairs from random masks (canonical layout) and
   draws 16 of them with their outlines.
4. Regenerates the 4 real crops from their skeleton maps, scores them against the real
   images (SSIM, FSIM, GMSD, and a flat mean-colour image for scale) and draws mask |
   skeleton map | real | synthetic (Fig. 4).
5. Segments the real crops and the synthetic images with the shipped SegNet, scores them
   against their masks (DQ, SQ, PQ, AJI) and draws the outlines (Fig. 5).
6. Exports the generator for TF Serving.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from tf_esgan import synthesis
from tf_esgan.data import masks, skeleton
from tf_esgan.data.datasets import list_samples, load_pair, sample_root, split_samples_by_group
from tf_esgan.data.image_io import read_image, read_mask
from tf_esgan.data.image_range import to_uint8
from tf_esgan.io_utils import atomic_write_bytes
from tf_esgan.metrics.image_quality import fsim, gmsd, ssim
from tf_esgan.metrics.segmentation import aggregate, instance_counts
from tf_esgan.models.inference import generate
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig
from tf_esgan.config_fields import choice_field
from tf_esgan.models.precision import auto_policy_section
from tf_esgan.pretrained import registry
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.pretrained.loading import model_card
from tf_esgan.pretrained.segnet_loading import load_segnet_and_watershed
from tf_esgan.segmentation.scoring import segment_image
from tf_esgan.serving import export_generator
from tf_esgan.training.gan_config import GanDataConfig, RuntimeConfig, TrainConfig, TrainerConfig
from tf_esgan.training.gan_trainer import train_and_evaluate
from tf_esgan.viz.comparison_figure import save_comparison_figure
from tf_esgan.viz.conditioning_figure import save_conditioning_figure
from tf_esgan.viz.segmentation_figure import save_segmentation_figure


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Attributes:
      out_dir: where results go (created).
      model: the generator: `pretrained:NAME` (shipped in the package), an esgan-train run
        folder or a `.keras` file; ignored when `train_seconds` > 0.
      segnet: the SegNet that segments the real and synthetic crops (`pretrained:NAME` or
        an esgan-train-segnet run folder). Default `tnbc`, the shipped S* SegNet (real slides
        03-05 + synthetic pairs of the shipped generator): of the two shipped SegNets the one
        with the higher PQ on the validation slides 06-07 (0.390 vs 0.359 for `tnbc_r`); on the
        test slides 01-02 the two are level (PQ 0.465 / 0.466, MODEL_CARD.md).
      num_masks: synthetic image/mask pairs to generate.
      preset: nuclei preset of `masks.PRESETS` (sizes and density of a real dataset).
      seed: makes masks, split and training reproducible.
      train_seconds: 0 (default) uses `model`; > 0 instead trains a small enhanced model
        for that long on the sample crops first (a demonstration of the machinery, ~3 min
        is enough to see it learn; its images are not the shipped model's quality).
      network: the networks `train_seconds` > 0 trains (NetworkConfig; its fields are flags): 16
        filters (paper: 64), 256 px crops (the embedded crops are 256x256), "auto" precision, and a
        resize decoder: the demo's 3 minutes of training leave a transposed-convolution decoder
        painting a checkerboard.
    """

    out_dir: str = "demo_out"
    model: str = "pretrained:tnbc"
    segnet: str = "pretrained:tnbc"
    num_masks: int = 8
    preset: str = choice_field("tnbc", sorted(masks.PRESETS))
    seed: int = 0
    train_seconds: float = 0.0
    network: NetworkConfig = dataclasses.field(default_factory=auto_policy_section(
        NetworkConfig, image_size=256, generator_base_filters=16, discriminator_base_filters=16, norm="instance",
        upsampling="resize"))

    def __post_init__(self):
        if self.num_masks < 1:
            raise ValueError(f"num_masks: expected >= 1, got {self.num_masks}")
        if self.preset not in masks.PRESETS:
            raise ValueError(f"preset: expected one of {sorted(masks.PRESETS)}, got {self.preset!r}")
        if self.train_seconds < 0:
            raise ValueError(f"train_seconds: expected >= 0, got {self.train_seconds}")


def _train(config: DemoConfig, out: Path, progress):
    train_config = TrainConfig(
        data=GanDataConfig(dataset_dir=str(sample_root()), test_fraction=0.25),
        model=config.network,
        loss=GanLossConfig(variant="enhanced"),
        trainer=TrainerConfig(epochs=100_000, steps_per_epoch=30, batch_size=1, seed=config.seed,
                              max_train_seconds=config.train_seconds),
        runtime=RuntimeConfig(model_dir=str(out / "run"), verbose=1))
    progress(f"training the enhanced model for {config.train_seconds:.0f} s (TensorBoard: {out / 'run' / 'logs'})")
    return train_and_evaluate(train_config, log=progress)


def _export(generator, out: Path, conditioning: str) -> str:
    return str(export_generator(generator, out / "model", conditioning=conditioning, overwrite=True, version=1))


def _score(real_images: list, synthetic_images: list) -> dict:
    real = np.stack(real_images).astype(np.float32) / 255.0
    synthetic = np.stack(synthetic_images).astype(np.float32) / 255.0
    return {name: [round(float(value), 4) for value in metric(real, synthetic).numpy()]
            for name, metric in (("ssim", ssim), ("fsim", fsim), ("gmsd", gmsd))}


def _generator(config: DemoConfig, out: Path, progress):
    """(generator, conditioning, description, held-out sample-slide ids or None, train result)."""
    if config.train_seconds > 0:
        result = _train(config, out, progress)
        return result.generator, "skeleton", (
            f"trained here for {result.step} steps in {result.seconds:.0f} s (budget {config.train_seconds:.0f} s) "
            f"with a {config.network.generator_base_filters}-filter generator: a demonstration, "
            "not the shipped model"), result

    generator, kind, _ = load_generator(config.model, log=progress)
    return generator, kind, f"generator {config.model}", None


def _training_slides(model: str) -> set[str] | None:
    """Slides a pretrained model was trained on (from its card), or None if unknown."""
    name = registry.pretrained_name(model)
    if name is None:
        return None

    slides = model_card("generator", name).get("card", {}).get("train_slides")
    return set(slides) if slides else None


def _segmentation_scores(pairs: list) -> dict:
    """Mean per-image DQ, SQ, PQ, AJI of (true labels, predicted labels) pairs."""
    scores = aggregate([instance_counts(true, predicted) for true, predicted in pairs])
    return {name: round(float(getattr(scores, f"mean_{name}")), 4) for name in ("dq", "sq", "pq", "aji")}


def _held_out(config: DemoConfig, samples: list, trained_here: bool) -> set[str]:
    """Ids of the sample crops the generator did not train on (empty if unknown)."""
    if trained_here:
        return {s.id for s in split_samples_by_group(samples, test_fraction=0.25, seed=config.seed)[1]}
    slides = _training_slides(config.model)
    # Sample ids are tnbc_<slide>_<patch>_y.._x..: the source image's slide is the 2nd field.
    return {s.id for s in samples if s.id.split("_")[1] not in slides} if slides is not None else set()


def _image_quality(generator, kind: str, real_rows: list, samples: list, held_out: set[str],
                   out: Path) -> tuple[dict, dict, Path]:
    """(scores of the re-synthesized crops, scores of a flat image, Fig. 4-like comparison)."""
    maps = [skeleton.conditioning(labels, kind)[..., 0] for _, labels, _ in real_rows]
    regenerated = to_uint8(generate(generator, np.stack(maps)[..., None]))
    real_images = [image for _, _, image in real_rows]
    scores = _score(real_images, list(regenerated))
    flat_colour = np.mean(np.stack(real_images).reshape(-1, 3), axis=0)
    flat = _score(real_images, [np.broadcast_to(np.rint(flat_colour), image.shape).astype(np.uint8)
                                for image in real_images])
    comparison = save_comparison_figure(
        [(title + (" (held out)" if sample.id in held_out else ""), labels, skeleton_map, image, fake)
         for (title, labels, image), skeleton_map, fake, sample in zip(real_rows, maps, regenerated, samples)],
        out / "fig4_real_vs_synthetic.png")
    return scores, flat, comparison


def _segmentation(segnet_name: str, real_rows: list, synthetic_rows: list, synthetic_samples: list,
                  out: Path) -> tuple[dict, Path]:
    """(SegNet's scores on the real crops and the synthetic pairs, Fig. 5-like figure)."""
    segnet, watershed = load_segnet_and_watershed(segnet_name)
    real_segmented = [segment_image(segnet, image, watershed) for _, _, image in real_rows]
    synthetic_images = [read_image(sample.image_path) for sample in synthetic_samples]
    synthetic_segmented = [segment_image(segnet, image, watershed) for image in synthetic_images]
    figure = save_segmentation_figure(
        [(title, image, labels, predicted) for (title, labels, image), predicted in zip(real_rows, real_segmented)]
        + [(title, image, labels, predicted) for (title, labels, _), image, predicted
           in list(zip(synthetic_rows, synthetic_images, synthetic_segmented))[:4]],
        out / "fig5_segmentation.png")
    scores = {"segnet": segnet_name,
              "real_crops": _segmentation_scores(list(zip([l for _, l, _ in real_rows], real_segmented))),
              "synthetic_pairs": _segmentation_scores(list(zip([l for _, l, _ in synthetic_rows],
                                                               synthetic_segmented)))}
    return scores, figure


def _metrics(source: str, samples: list, held_out: set[str], scores: dict, flat: dict, segmentation: dict,
             result) -> dict:
    """The content of metrics.json (`result`: the training result, None for a given generator)."""
    metrics = {
        "note": (f"{source}. Image quality: real crops vs the generator's output for their own "
                 "conditioning maps; `flat` is an image of the crops' mean colour, for scale (SSIM "
                 "rewards it). Segmentation: SegNet's instances vs the masks (mean per image)."),
        "images": [sample.id for sample in samples],
        "held_out": sorted(held_out),
        **scores,
        "mean": {name: round(float(np.mean(values)), 4) for name, values in scores.items()},
        "flat_mean": {name: round(float(np.mean(values)), 4) for name, values in flat.items()},
        "segmentation": segmentation,
    }
    if result is not None:
        metrics.update(train_steps=result.step, final_losses={n: round(v, 4) for n, v in result.losses.items()})
    return metrics


def run_demo(config: DemoConfig, *, progress=print) -> dict:
    """Runs the demo; returns (and writes to `<out_dir>/summary.json`) what it made."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    samples = list_samples(sample_root())
    real_rows = []
    for sample in samples:
        image, labels = load_pair(sample)
        real_rows.append((f"TNBC {sample.id}", labels, image))

    generator, kind, source, result = _generator(config, out, progress)
    synthetic_dir = out / "synthetic"
    progress(f"synthesizing {config.num_masks} image/mask pairs from random {config.preset} masks")
    synthesis.synthesize(synthesis.SynthesisConfig(
        model=str(out / "run") if result else config.model, out_dir=str(synthetic_dir),
        num_images=config.num_masks, preset=config.preset, seed=config.seed, batch_size=4, conditioning=kind,
        overwrite=True),  # a rerun may have trained on: the set always shows this run's generator
        generator=generator, verbose=0, log=progress)
    synthetic_samples = list_samples(synthetic_dir)
    synthetic_rows = [(sample.id, read_mask(sample.mask_path), None) for sample in synthetic_samples]

    held_out = _held_out(config, samples, result is not None)
    progress("re-synthesizing the real sample crops from their own skeleton maps")
    scores, flat, comparison = _image_quality(generator, kind, real_rows, samples, held_out, out)
    progress(f"segmenting the real crops and the synthetic images with SegNet {config.segnet}")
    segmentation, segmentation_figure = _segmentation(config.segnet, real_rows, synthetic_rows,
                                                      synthetic_samples, out)
    metrics = _metrics(source, samples, held_out, scores, flat, segmentation, result)
    atomic_write_bytes(out / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    progress("exporting the generator for TF Serving")
    model_path = _export(generator, out, kind)

    real_figure = save_conditioning_figure(real_rows, out / "real_sample_maps.png")
    synthetic_figure = save_conditioning_figure(synthetic_rows[:4], out / "synthetic_maps.png")
    summary = {
        "config": dataclasses.asdict(config),
        "generator": source,
        "real_sample": {title: int(len(np.unique(labels)) - 1) for title, labels, _ in real_rows},
        "synthetic_nuclei_per_mask": [int(labels.max()) for _, labels, _ in synthetic_rows],
        "figures": [str(real_figure), str(synthetic_figure), str(comparison), str(segmentation_figure),
                    str(synthetic_dir / "synthetic_pairs.png")],
        "synthetic_dataset": str(synthetic_dir),
        "metrics": str(out / "metrics.json"),
        "model": model_path,
        "run_dir": str(out / "run") if result is not None else None,
        "train_seconds_budget": config.train_seconds,
        "seconds": round(time.perf_counter() - started, 2),
    }
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
