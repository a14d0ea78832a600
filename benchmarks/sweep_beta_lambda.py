"""Small measured sweep of beta (weight of L_s2) and lambda (Eq. 7) on real TNBC data.

The paper gives neither. For each (beta, lambda) and seed the enhanced model (reduced
width, 128x128 crops, the `cpu` budget's norm / upsampling / dtype policy, to fit a 2-core
CPU) is trained for --steps steps, then its generator (inference = training, see
models/inference.py) is scored on the central crops of validation slides: SSIM, FSIM,
GMSD of synthetic vs real (Table 1's metrics), plus the mean gray contrast across the
contour (contour pixels vs their non-contour 8-neighbours), which L_s2 is meant to raise.
A pix2pix run (no contour loss) from the same seed is the reference row.

Never tuned on the reproduction's test slides: both the training and the validation
slides come from the training split of `esgan-reproduce` (split seed 0, test fraction
0.3; TNBC test slides 01 and 02), validation = slides --val_slides of it.

Usage:
  python benchmarks/sweep_beta_lambda.py --steps 500 --seeds 0,1 --out sweep.jsonl
Results are appended to --out as they finish, and finished settings are skipped on rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras

from tf_esgan.data.datasets import list_samples, split_samples_by_group
from tf_esgan.data.pipeline import PipelineConfig, make_dataset
from tf_esgan.losses.contour import to_gray
from tf_esgan.evaluation.image_quality_table import evaluate_image_quality
from tf_esgan.models.gan import EnhancedSharpGAN
from tf_esgan.models.loss_config import GanLossConfig
from tf_esgan.models.inference import generate
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.precision import recommended_dtype_policy
from tf_esgan.models.variants import get_variant
from tf_esgan.reproduce.budgets import get_budget

SIZE = 128


def networks() -> NetworkConfig:
    cpu = get_budget("cpu")
    return NetworkConfig(image_size=SIZE, generator_base_filters=32, generator_depth=7,
                         discriminator_base_filters=32, norm=cpu.network.norm, upsampling=cpu.network.upsampling,
                         dtype_policy=recommended_dtype_policy())


def contour_contrast(images: tf.Tensor, contour: tf.Tensor) -> float:
    """Mean |g(contour pixel) - g(non-contour 8-neighbour)| over all such pairs."""
    gray = to_gray(images)[..., 0].numpy()
    mask = contour[..., 0].numpy() > 0.5
    total, count = 0.0, 0
    height, width = gray.shape[1:]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if not (dy or dx):
                continue
            ys = slice(max(0, -dy), height - max(0, dy))
            xs = slice(max(0, -dx), width - max(0, dx))
            yq = slice(ys.start + dy, ys.stop + dy)
            xq = slice(xs.start + dx, xs.stop + dx)
            pair = mask[:, ys, xs] & ~mask[:, yq, xq]
            total += np.abs(gray[:, ys, xs] - gray[:, yq, xq])[pair].sum()
            count += pair.sum()
    return float(total / max(count, 1))


def run_one(variant: str, beta: float, lam: float, steps: int, train, test, seed: int) -> dict:
    keras.utils.set_random_seed(seed)
    kind = get_variant(variant).conditioning
    generator, discriminator = build_networks(variant, networks())
    gan = EnhancedSharpGAN(generator, discriminator, GanLossConfig(variant=variant, beta=beta, lam=lam))
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
    data = make_dataset(train, PipelineConfig(conditioning=kind, crop_size=SIZE, batch_size=1,
                                              repeat=True, seed=seed))
    started = time.perf_counter()
    history = gan.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    evaluation = make_dataset(test, PipelineConfig(conditioning=kind, crop_size=SIZE, batch_size=len(test),
                                                   augment=False, shuffle=False))
    condition, real, contour = next(iter(evaluation))
    fake = generate(gan.generator, condition)
    # Table 1's metrics over every 128 tile of the whole validation images (16 per image).
    scores = evaluate_image_quality(test, lambda c: generate(gan.generator, c), kind=kind, tile=SIZE).mean
    return {
        "variant": variant, "beta": beta, "lam": lam, "steps": steps, "seed": seed,
        "seconds": round(seconds, 1), "validation": [sample.id for sample in test],
        "train_last": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "ssim": float(scores["ssim"]), "fsim": float(scores["fsim"]), "gmsd": float(scores["gmsd"]),
        "contour_contrast_fake": contour_contrast(fake, contour),
        "contour_contrast_real": contour_contrast(real, contour),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets_dir", default=os.environ.get("ESGAN_SHARED", "../shared") + "/datasets")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--betas", default="0.1,1,10")
    parser.add_argument("--lams", default="0.05,0.1,0.2")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--val_slides", default="06,07")
    parser.add_argument("--out", default="sweep_beta_lambda.json")
    args = parser.parse_args()

    samples = list_samples(Path(args.datasets_dir) / "tnbc")
    # esgan-reproduce's training split only; its test slides are never seen here.
    reproduction_train, _ = split_samples_by_group(samples, test_fraction=0.3, seed=0)
    val_slides = set(args.val_slides.split(","))
    test = [s for s in reproduction_train if s.id.split("_")[0] in val_slides]
    train = [s for s in reproduction_train if s not in test]
    if not test or not train:
        raise SystemExit(f"--val_slides {args.val_slides}: not slides of the training split")
    settings = [("pix2pix", 0.0, 0.1)] + [("enhanced", float(b), float(l))
                                          for b in args.betas.split(",") for l in args.lams.split(",")]
    out = Path(args.out)
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    finished = {(r["variant"], r["beta"], r["lam"], r["steps"], r.get("seed", 0)) for r in done}
    for seed in map(int, args.seeds.split(",")):
        for variant, beta, lam in settings:
            if (variant, beta, lam, args.steps, seed) in finished:
                continue
            result = run_one(variant, beta, lam, args.steps, train, test, seed)
            print(json.dumps(result), flush=True)
            with out.open("a") as stream:
                stream.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
