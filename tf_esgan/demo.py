"""The README's one-command demo on the embedded TNBC sample.

Today: synthetic nuclei masks (Hou et al.'s star polygons) and the real sample masks
-> per-nucleus conditioning maps -> a PNG figure in the layout of the paper's Fig. 3.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from tf_esgan.data import masks, skeleton
from tf_esgan.data.datasets import list_samples, load_pair, sample_root
from tf_esgan.data.image_io import write_mask
from tf_esgan.viz.conditioning_figure import save_conditioning_figure


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Attributes:
      out_dir: where results go (created).
      num_masks: synthetic masks to generate.
      preset: nuclei preset of `masks.PRESETS` (sizes and density of a real dataset).
      seed: makes the masks reproducible.
    """

    out_dir: str = "demo_out"
    num_masks: int = 8
    preset: str = "tnbc"
    seed: int = 0

    def __post_init__(self):
        if self.num_masks < 1:
            raise ValueError(f"num_masks: expected >= 1, got {self.num_masks}")
        if self.preset not in masks.PRESETS:
            raise ValueError(f"preset: expected one of {sorted(masks.PRESETS)}, got {self.preset!r}")


def run_demo(config: DemoConfig, *, progress=print) -> dict:
    """Runs the demo; returns (and writes to `<out_dir>/summary.json`) what it made."""
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    (out / "synthetic" / "masks").mkdir(parents=True, exist_ok=True)

    real_rows = []
    for sample in list_samples(sample_root()):
        image, labels = load_pair(sample)
        real_rows.append((f"TNBC {sample.id}", labels, image))

    synthetic_rows = []
    for index in range(config.num_masks):
        labels = masks.random_nuclei_labels((256, 256), rng=rng, preset=config.preset)
        write_mask(out / "synthetic" / "masks" / f"synthetic_{index:04d}.png", labels)
        np.save(out / "synthetic" / f"skeleton_map_{index:04d}.npy", skeleton.skeleton_map(labels))
        synthetic_rows.append((f"synthetic {index}", labels, None))
        progress(f"synthetic masks {index + 1}/{config.num_masks}")

    real_figure = save_conditioning_figure(real_rows, out / "real_sample_maps.png")
    synthetic_figure = save_conditioning_figure(synthetic_rows[:4], out / "synthetic_maps.png")
    summary = {
        "config": dataclasses.asdict(config),
        "real_sample": {title: int(len(np.unique(labels)) - 1) for title, labels, _ in real_rows},
        "synthetic_nuclei_per_mask": [int(labels.max()) for _, labels, _ in synthetic_rows],
        "figures": [str(real_figure), str(synthetic_figure)],
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
