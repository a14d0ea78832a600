"""PQ of a SegNet trained on S alone, from one checkpoint of a GAN run (issue 20's curve).

For checkpoint `ckpt-<step>` of --checkpoints: synthesize --num_images pairs with that
generator (nuclei preset --preset), train SegNet on them alone (S; its watershed tuned on
the run's real training images), and score it on --validation_dir (slides the GAN and
SegNet never trained on). Appends one JSON line to --out. Everything is written under
--work_dir/<run>_step<step>/ and resumes (synthesis and SegNet training are resumable).

  PYTHONPATH=. python benchmarks/curve_segnet_s.py --run=~/esgan-runs/enhanced_paper_s0 \
      --checkpoints=~/esgan-runs/curve_ckpts --step=3000 --validation_dir=~/esgan-runs/data/tnbc_0607 \
      --work_dir=~/esgan-runs/curve_segnet --out=benchmarks/results/curve_segnet_s.jsonl
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from absl import app, flags

_RUN = flags.DEFINE_string("run", None, "esgan-train run folder (config.json).", required=True)
_CHECKPOINTS = flags.DEFINE_string("checkpoints", None, "Folder holding ckpt-<step> files.", required=True)
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step.", required=True)
_VALIDATION = flags.DEFINE_string("validation_dir", None, "Canonical folder of validation slides.", required=True)
_WORK = flags.DEFINE_string("work_dir", None, "Where the synthetic set and SegNet run go.", required=True)
_OUT = flags.DEFINE_string("out", None, "JSONL file (appended).", required=True)
_NUM_IMAGES = flags.DEFINE_integer("num_images", 300, "Synthetic pairs.")
_PRESET = flags.DEFINE_string("preset", "tnbc", "Nuclei preset of the synthetic masks.")
_CROP = flags.DEFINE_integer("crop_size", 128, "SegNet training crop.")
_FILTERS = flags.DEFINE_integer("base_filters", 32, "SegNet width.")
_STEPS = flags.DEFINE_integer("segnet_steps", 1000, "SegNet steps (epochs of 100 steps).")
_SEED = flags.DEFINE_integer("seed", 0, "Synthesis and SegNet seed.")


def _generator_view(run: Path, checkpoints: Path, step: int, folder: Path) -> Path:
    """A run folder whose only checkpoint is `ckpt-<step>` (links), so the loaders restore that one."""
    view = folder / "gan"
    (view / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "config.json", view / "config.json")
    for source in checkpoints.glob(f"ckpt-{step}.*"):
        target = view / "checkpoints" / source.name
        if not target.exists():
            os.symlink(source.resolve(), target)
    (view / "checkpoints" / "checkpoint").write_text(
        f'model_checkpoint_path: "ckpt-{step}"\nall_model_checkpoint_paths: "ckpt-{step}"\n')
    return view


def main(argv: list[str]) -> None:
    del argv
    from tf_esgan.models.segnet import SegNetConfig
    from tf_esgan.segmentation.scoring import evaluate_run
    from tf_esgan.segmentation.train import SegNetTrainConfig, train_segnet
    from tf_esgan.segmentation.train_config import SegNetDataConfig, SegNetTrainerConfig
    from tf_esgan.synthesis import SynthesisConfig, synthesize
    from tf_esgan.training.gan_config import TrainConfig

    run = Path(_RUN.value).expanduser()
    step = _STEP.value
    folder = Path(_WORK.value).expanduser() / f"{run.name}_step{step}"
    gan_config = TrainConfig.from_json_dict(json.loads((run / "config.json").read_text()))
    started = time.time()
    view = _generator_view(run, Path(_CHECKPOINTS.value).expanduser(), step, folder)
    synthetic = folder / "synthetic"
    synthesize(SynthesisConfig(model=str(view), out_dir=str(synthetic), num_images=_NUM_IMAGES.value,
                               preset=_PRESET.value, seed=_SEED.value), verbose=0)
    config = SegNetTrainConfig(
        data=SegNetDataConfig(train_set="S", dataset_dir=gan_config.data.dataset_dir, synthetic_dir=str(synthetic),
                              crop_size=_CROP.value, test_fraction=0.0),
        model=SegNetConfig(base_filters=_FILTERS.value),
        trainer=SegNetTrainerConfig(epochs=max(1, _STEPS.value // 100), steps_per_epoch=100, batch_size=8,
                                    seed=_SEED.value))
    segnet = folder / "segnet_s"
    train_segnet(config, segnet, verbose=0)
    report = evaluate_run(str(segnet), test_dir=_VALIDATION.value, report_path=folder / "eval_validation.json")
    mean = report["per_image_mean"] if "per_image_mean" in report else report
    record = {"run": run.name, "step": step, "num_images": _NUM_IMAGES.value, "preset": _PRESET.value,
              "segnet_steps": _STEPS.value, "crop_size": _CROP.value, "seed": _SEED.value,
              **{key: round(float(mean[f"mean_{key}"] if f"mean_{key}" in mean else mean[key]), 4)
                 for key in ("dq", "sq", "pq", "aji")},
              "validation": sorted({Path(i).name.split("_")[0] for i in report["images"]}),
              "seconds": round(time.time() - started)}
    with open(_OUT.value, "a") as stream:
        stream.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    app.run(main)
