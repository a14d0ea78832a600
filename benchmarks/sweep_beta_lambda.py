"""Small measured sweep of beta (weight of L_s2) and lambda (Eq. 7) on real TNBC data.

The paper gives neither. For each (beta, lambda) the enhanced model (reduced width, 128x128
crops, to fit a 2-core CPU) is trained from the same seed for --steps steps on the TNBC
train slides, then scored on the central crops of the held-out slides: SSIM, FSIM, GMSD of
synthetic vs real (Table 1's metrics), plus the mean gray contrast across the contour
(contour pixels vs their non-contour 8-neighbours), which L_s2 is meant to raise.
A pix2pix run (no contour loss) from the same seed is the reference row.

Usage:
  python benchmarks/sweep_beta_lambda.py --steps 600 --out sweep.json
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

from tf_esgan.data.datasets import list_samples, split_samples
from tf_esgan.data.pipeline import PipelineConfig, make_dataset
from tf_esgan.losses.contour import to_gray
from tf_esgan.metrics.image_quality import fsim, gmsd, ssim
from tf_esgan.models.gan import EnhancedSharpGAN
from tf_esgan.models.gan_config import GanLossConfig
from tf_esgan.models.networks import NetworkConfig, build_networks
from tf_esgan.models.variants import get_variant

SIZE = 128
NETWORKS = NetworkConfig(image_size=SIZE, generator_base_filters=32, generator_depth=7,
                         discriminator_base_filters=32)


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
    generator, discriminator = build_networks(variant, NETWORKS)
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
    fake = gan(condition)
    real01, fake01 = (real + 1) / 2, (tf.clip_by_value(fake, -1, 1) + 1) / 2
    return {
        "variant": variant, "beta": beta, "lam": lam, "steps": steps, "seconds": round(seconds, 1),
        "train_last": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
        "ssim": float(tf.reduce_mean(ssim(real01, fake01))),
        "fsim": float(tf.reduce_mean(fsim(real01, fake01))),
        "gmsd": float(tf.reduce_mean(gmsd(real01, fake01))),
        "contour_contrast_fake": contour_contrast(fake, contour),
        "contour_contrast_real": contour_contrast(real, contour),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets_dir", default=os.environ.get("ESGAN_SHARED", "../shared") + "/datasets")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--betas", default="0.1,1,10")
    parser.add_argument("--lams", default="0.05,0.1,0.2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="sweep_beta_lambda.json")
    args = parser.parse_args()

    samples = list_samples(Path(args.datasets_dir) / "tnbc")
    # Hold out whole slides (ids are <slide>_<patch>): slides 06 and 07.
    test = [s for s in samples if s.id.split("_")[0] in {"06", "07"}]
    train = [s for s in samples if s not in test]
    settings = [("pix2pix", 0.0, 0.1)] + [("enhanced", float(b), float(l))
                                          for b in args.betas.split(",") for l in args.lams.split(",")]
    out = Path(args.out)
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    finished = {(r["variant"], r["beta"], r["lam"], r["steps"]) for r in done}
    for variant, beta, lam in settings:
        if (variant, beta, lam, args.steps) in finished:
            continue
        result = run_one(variant, beta, lam, args.steps, train, test, args.seed)
        print(json.dumps(result), flush=True)
        with out.open("a") as stream:
            stream.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
