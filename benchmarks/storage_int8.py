"""Size and validation scores of a trained generator stored as float32, float16 and int8.

Restores a checkpoint of an `esgan-train` run into a float32 generator, converts its weights
with `pretrained.weights.to_storage` for each storage dtype, writes each `.npz` with
`save_weights`, reads it back with `load_weights` (what `pretrained:NAME` loading does) and
scores the loaded generator on --validation_dir (SSIM, FSIM, GMSD, tile by tile as
`esgan-evaluate` does). Prints one JSON line per dtype: MiB on disk and the scores.

  PYTHONPATH=. python benchmarks/storage_int8.py --run=~/esgan-runs/enhanced_paper_s0 \
      --checkpoint=ckpt-10200 --validation_dir=~/esgan-runs/data/tnbc_0607
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

from absl import app, flags

_RUN = flags.DEFINE_string("run", None, "esgan-train run folder.", required=True)
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Checkpoint name in <run>/checkpoints.", required=True)
_VALIDATION = flags.DEFINE_string("validation_dir", None, "Canonical folder of validation slides.", required=True)


def main(argv: list[str]) -> None:
    del argv
    import tensorflow as tf

    from tf_esgan.data.datasets import list_samples
    from tf_esgan.evaluation.image_quality_table import evaluate_image_quality
    from tf_esgan.models.inference import generate
    from tf_esgan.models.networks import build_networks
    from tf_esgan.pretrained.weights import STORAGE_DTYPES, assign_weights, load_weights, save_weights, to_storage
    from tf_esgan.training.gan_config import TrainConfig

    run_dir = Path(_RUN.value).expanduser()
    run = TrainConfig.from_json_dict(json.loads((run_dir / "config.json").read_text()))
    generator, _ = build_networks(run.loss.variant, dataclasses.replace(run.model, dtype_policy="float32"))
    tf.train.Checkpoint(generator=generator).restore(str(run_dir / "checkpoints" / _CHECKPOINT.value)).expect_partial()
    trained = generator.get_weights()
    validation = list_samples(Path(_VALIDATION.value).expanduser())
    with tempfile.TemporaryDirectory() as folder:
        for dtype in STORAGE_DTYPES:
            path = Path(folder) / f"{dtype}.npz"
            save_weights(path, to_storage(trained, "generator", dtype))
            assign_weights(generator, load_weights(path), path)
            scores = evaluate_image_quality(validation, lambda condition: generate(generator, condition),
                                            kind=run.conditioning, tile=run.model.image_size).mean
            print(json.dumps({"dtype": dtype, "mib": round(path.stat().st_size / 2**20, 1),
                              "parameters": int(sum(w.size for w in trained)),
                              **{name: round(float(value), 4) for name, value in scores.items()},
                              "run": run_dir.name, "checkpoint": _CHECKPOINT.value}), flush=True)


if __name__ == "__main__":
    app.run(main)
