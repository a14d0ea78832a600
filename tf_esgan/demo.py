"""The README's one-command demo on the embedded TNBC sample (no downloads).

1. Conditioning maps of the real sample masks and of synthetic masks (paper Fig. 3 layout).
2. Trains the enhanced model briefly (a narrower generator, time budget `train_seconds`)
   on 3 of the 4 crops, the 4th held out (a demo of the machinery, not of the paper's
   quality: that needs the full model and 150 epochs).
3. Synthesizes `num_masks` image/mask pairs from random masks (canonical layout).
4. Regenerates the 4 real crops from their skeleton maps, scores them against the real
   images (SSIM, FSIM, GMSD) and draws mask | skeleton map | real | synthetic (Fig. 4).
5. Exports the generator.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from tf_esgan.data import masks, skeleton
from tf_esgan.data.datasets import list_samples, load_pair, sample_root, split_samples_by_group
from tf_esgan.data.image_io import read_mask
from tf_esgan.io_utils import atomic_write_bytes
from tf_esgan.viz.conditioning_figure import save_conditioning_figure
from tf_esgan.viz.comparison_figure import save_comparison_figure


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Attributes:
      out_dir: where results go (created).
      num_masks: synthetic image/mask pairs to generate.
      preset: nuclei preset of `masks.PRESETS` (sizes and density of a real dataset).
      seed: makes masks, split and training reproducible.
      train_seconds: training time budget (the demo's main cost; ~3 min keeps the whole
        demo under 10 min on 2 CPU cores).
      generator_base_filters, discriminator_base_filters: network widths (paper: 64).
      image_size: crop side (paper: 256; the embedded crops are 256x256).
      norm, upsampling, dtype_policy: as `TrainConfig`'s; the demo's 3 minutes of training
        leave a transposed-convolution decoder painting a checkerboard, so it resizes.
    """

    out_dir: str = "demo_out"
    num_masks: int = 8
    preset: str = "tnbc"
    seed: int = 0
    train_seconds: float = 180.0
    generator_base_filters: int = 16
    discriminator_base_filters: int = 16
    image_size: int = 256
    norm: str = "instance"
    upsampling: str = "resize"
    dtype_policy: str = "auto"

    def __post_init__(self):
        if self.num_masks < 1:
            raise ValueError(f"num_masks: expected >= 1, got {self.num_masks}")
        if self.preset not in masks.PRESETS:
            raise ValueError(f"preset: expected one of {sorted(masks.PRESETS)}, got {self.preset!r}")
        if not self.train_seconds > 0:
            raise ValueError(f"train_seconds: expected > 0, got {self.train_seconds}")


def _train(config: DemoConfig, out: Path, progress):
    from tf_esgan.training.gan_config import TrainConfig
    from tf_esgan.training.gan_trainer import train_and_evaluate

    train_config = TrainConfig(
        dataset_dir=str(sample_root()), model_dir=str(out / "run"), variant="enhanced", epochs=100_000,
        steps_per_epoch=30, batch_size=1, image_size=config.image_size, seed=config.seed, test_fraction=0.25,
        generator_base_filters=config.generator_base_filters,
        discriminator_base_filters=config.discriminator_base_filters, norm=config.norm,
        upsampling=config.upsampling, dtype_policy=config.dtype_policy,
        max_train_seconds=config.train_seconds, verbose=0)
    progress(f"training the enhanced model for {config.train_seconds:.0f} s (TensorBoard: {out / 'run' / 'logs'})")
    return train_and_evaluate(train_config, log=progress)


def _export(generator, out: Path) -> str:
    from tf_esgan.serving import export_generator

    return str(export_generator(generator, out / "model", conditioning="skeleton"))


def _score(real_images: list, synthetic_images: list) -> dict:
    from tf_esgan.metrics.image_quality import fsim, gmsd, ssim

    real = np.stack(real_images).astype(np.float32) / 255.0
    synthetic = np.stack(synthetic_images).astype(np.float32) / 255.0
    return {name: [round(float(value), 4) for value in metric(real, synthetic).numpy()]
            for name, metric in (("ssim", ssim), ("fsim", fsim), ("gmsd", gmsd))}


def run_demo(config: DemoConfig, *, progress=print) -> dict:
    """Runs the demo; returns (and writes to `<out_dir>/summary.json`) what it made."""
    from tf_esgan import synthesis
    from tf_esgan.models.inference import generate

    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    samples = list_samples(sample_root())
    real_rows = []
    for sample in samples:
        image, labels = load_pair(sample)
        real_rows.append((f"TNBC {sample.id}", labels, image))

    result = _train(config, out, progress)
    generator = result.generator
    synthetic_dir = out / "synthetic"
    synthesis.synthesize(synthesis.SynthesisConfig(
        model=str(out / "run"), out_dir=str(synthetic_dir), num_images=config.num_masks, preset=config.preset,
        seed=config.seed, batch_size=4, conditioning="skeleton"), generator=generator, verbose=0, log=progress)
    synthetic_rows = [(f"synthetic {sample.id}", read_mask(sample.mask_path), None)
                      for sample in list_samples(synthetic_dir)]

    held_out = {sample.id for sample in split_samples_by_group(samples, test_fraction=0.25, seed=config.seed)[1]}
    maps = [skeleton.skeleton_map(labels) for _, labels, _ in real_rows]
    regenerated = synthesis.to_uint8(generate(generator, np.stack(maps)[..., None]))
    scores = _score([image for _, _, image in real_rows], list(regenerated))
    comparison = save_comparison_figure(
        [(title + (" (held out)" if sample.id in held_out else ""), labels, skeleton_map, image, fake)
         for (title, labels, image), skeleton_map, fake, sample in zip(real_rows, maps, regenerated, samples)],
        out / "fig4_real_vs_synthetic.png")
    metrics = {
        "note": ("real crops vs the generator's output for their own skeleton maps; "
                 f"trained {result.step} steps in {result.seconds:.0f} s (budget {config.train_seconds:.0f} s) "
                 f"with a {config.generator_base_filters}-filter generator: a smoke test, not the paper's numbers"),
        "images": [sample.id for sample in samples],
        "held_out": sorted(held_out),
        **scores,
        "mean": {name: round(float(np.mean(values)), 4) for name, values in scores.items()},
        "train_steps": result.step,
        "final_losses": {name: round(value, 4) for name, value in result.losses.items()},
    }
    atomic_write_bytes(out / "metrics.json", (json.dumps(metrics, indent=2) + "\n").encode())
    model_path = _export(generator, out)

    real_figure = save_conditioning_figure(real_rows, out / "real_sample_maps.png")
    synthetic_figure = save_conditioning_figure(synthetic_rows[:4], out / "synthetic_maps.png")
    summary = {
        "config": dataclasses.asdict(config),
        "real_sample": {title: int(len(np.unique(labels)) - 1) for title, labels, _ in real_rows},
        "synthetic_nuclei_per_mask": [int(labels.max()) for _, labels, _ in synthetic_rows],
        "figures": [str(real_figure), str(synthetic_figure), str(comparison)],
        "synthetic_dataset": str(synthetic_dir),
        "metrics": str(out / "metrics.json"),
        "model": model_path,
        "run_dir": str(out / "run"),
        "train_seconds_budget": config.train_seconds,
        "seconds": round(time.perf_counter() - started, 2),
    }
    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
