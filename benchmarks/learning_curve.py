"""Learning curve of an `esgan-train` run on validation slides: SSIM, FSIM, GMSD per checkpoint.

Each checkpoint `ckpt-<step>` found in --checkpoints (default: the run's own
`checkpoints/`; a long run keeps only its last few, so a watcher can copy every 1000-step
one aside) is restored into the run's generator and scored on every image of
--validation_dir (a canonical folder of slides the run never trained on), re-synthesized
tile by tile from its own mask exactly as `esgan-evaluate` does. Beside them the flat row:
every pixel the mean colour of the run's training images (a score a generator must beat
to carry any information). Appends one JSON line per checkpoint to --out (skipping steps
already there, so it can be rerun while training goes on) and draws
`<out stem>.png` (the three curves with the flat row) and `<out stem>_step<N>.png`
(mask | skeleton map | real | synthetic of the first validation tiles at each step).

  python benchmarks/learning_curve.py --run=~/esgan-runs/enhanced_paper_s0 \
      --checkpoints=~/esgan-runs/curve_ckpts --validation_dir=~/esgan-runs/data/tnbc_0607 \
      --out=benchmarks/results/learning_curve_enhanced_paper_s0.jsonl
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from absl import app, flags

_RUN = flags.DEFINE_string("run", None, "esgan-train run folder (config.json).", required=True)
_CHECKPOINTS = flags.DEFINE_string("checkpoints", "", "Folder of ckpt-<step> files; default <run>/checkpoints.")
_VALIDATION = flags.DEFINE_string("validation_dir", None, "Canonical folder of validation slides.", required=True)
_OUT = flags.DEFINE_string("out", None, "JSONL file of the curve (appended).", required=True)
_EVERY = flags.DEFINE_integer("every", 1000, "Score checkpoints whose step is a multiple of this.")
_FIGURE_TILES = flags.DEFINE_integer("figure_tiles", 3, "Validation tiles drawn per step.")

_CHECKPOINT = re.compile(r"^ckpt-(\d+)\.index$")


def _checkpoints(folder: Path, every: int) -> dict[int, Path]:
    found = {}
    for path in folder.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and int(match.group(1)) % every == 0:
            found[int(match.group(1))] = path.with_suffix("")
    return dict(sorted(found.items()))


def _done_steps(out: Path) -> set:
    if not out.is_file():
        return set()
    return {json.loads(line)["step"] for line in out.read_text().splitlines() if line.strip()}


def _figure(generator, run, samples, path: Path, tiles: int) -> None:
    import numpy as np

    from tf_esgan.data import skeleton
    from tf_esgan.data.datasets import load_pair
    from tf_esgan.data.image_range import to_uint8
    from tf_esgan.models.inference import generate
    from tf_esgan.viz.comparison_figure import save_comparison_figure

    size = run.model.image_size
    rows = []
    for sample in samples[:tiles]:
        image, labels = load_pair(sample)
        image, labels = image[:size, :size], labels[:size, :size]
        condition = skeleton.conditioning(labels, run.conditioning)
        batch = condition[None] if condition.ndim == 3 else condition[None, ..., None]
        fake = to_uint8(np.asarray(generate(generator, batch)))[0]
        rows.append((sample.id, labels, skeleton.skeleton_map(labels), image, fake))
    save_comparison_figure(rows, path)


def _plot(records: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = sorted(records, key=lambda record: record["step"])
    steps = [record["step"] for record in records]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for axis, name in zip(axes, ("ssim", "fsim", "gmsd")):
        axis.plot(steps, [record[name] for record in records], "o-", label="generator")
        axis.axhline(records[-1]["flat"][name], color="grey", linestyle="--", label="flat mean colour")
        axis.set_title(name.upper() + (" (lower is better)" if name == "gmsd" else ""))
        axis.set_xlabel("training step")
    axes[0].legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    from tf_esgan.data.datasets import list_samples, split_samples_by_group
    from tf_esgan.evaluation.image_quality_table import evaluate_image_quality
    from tf_esgan.models.inference import generate
    from tf_esgan.models.networks import build_networks
    from tf_esgan.reproduce.calibration import flat_generate, mean_colour
    from tf_esgan.training.gan_config import TrainConfig

    run_dir = Path(_RUN.value).expanduser()
    run = TrainConfig.from_json_dict(json.loads((run_dir / "config.json").read_text()))
    folder = Path(_CHECKPOINTS.value).expanduser() if _CHECKPOINTS.value else run_dir / "checkpoints"
    out = Path(_OUT.value)
    out.parent.mkdir(parents=True, exist_ok=True)
    validation = list_samples(Path(_VALIDATION.value).expanduser())
    train = split_samples_by_group(list_samples(run.data.dataset_dir), test_fraction=run.data.test_fraction,
                                   seed=run.data_split_seed)[0]
    overlap = {s.id for s in validation} & {s.id for s in train}
    if overlap:
        raise SystemExit(f"--validation_dir shares images with the run's training set: {sorted(overlap)[:5]}")
    size = run.model.image_size
    flat = evaluate_image_quality(validation, flat_generate(mean_colour(train)), kind="binary", tile=size).mean
    generator, _ = build_networks(run.loss.variant, run.model)
    done = _done_steps(out)
    for step, prefix in _checkpoints(folder, _EVERY.value).items():
        if step in done:
            continue
        tf.train.Checkpoint(generator=generator).restore(str(prefix)).expect_partial()
        result = evaluate_image_quality(validation, lambda condition: generate(generator, condition),
                                        kind=run.conditioning, tile=size)
        record = {"step": step, **{k: round(float(v), 4) for k, v in result.mean.items()},
                  "flat": {k: round(float(v), 4) for k, v in flat.items()}, "tiles": len(result.tiles),
                  "validation": sorted({s.id.split("_")[0] for s in validation}),
                  "run": run_dir.name}
        with out.open("a") as stream:
            stream.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)
        _figure(generator, run, validation, out.with_name(f"{out.stem}_step{step}.png"), _FIGURE_TILES.value)
    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.is_file() else []
    if records:
        _plot(records, out.with_suffix(".png"))


if __name__ == "__main__":
    app.run(main)
