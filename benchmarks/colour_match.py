"""Would matching the generator's colours to the training slides raise its validation scores?

Issue 20, item 1 (a colour-statistics match as a named option). A generator's images may
carry another stain balance than the slides it is scored on; a post-hoc colour transfer
would then be a cheap gain. This script measures it before any option is built: the
generator synthesizes every --train_dir and --validation_dir image from its own mask (tile
by tile, as `esgan-evaluate` does), and the validation images are scored (SSIM, FSIM, GMSD
over all tiles) as they are and after each transfer towards the real --train_dir images:

- `reinhard_image`: each synthetic image's own CIELAB mean and sd mapped to the pooled
  mean and sd of the real training images (Reinhard et al. 2001, per image);
- `reinhard_dataset`: one affine map for all images, fitted on the generator's images of the
  training masks against the real training images (a calibration of the generator);
- `histogram`: per-channel histogram matching to the pooled real training pixels
  (`skimage.exposure.match_histograms`).

Only --train_dir and --validation_dir are read (TNBC 03-05 and 06-07; the test slides are
not). Prints one row per transfer with the CIELAB mean and sd of the result beside the real
validation images' and writes them to --out (JSON).

  PYTHONPATH=. python -P benchmarks/colour_match.py --model=pretrained:tnbc \\
      --train_dir=~/esgan-runs/data/tnbc_0305 --validation_dir=~/esgan-runs/data/tnbc_0607 \\
      --out=benchmarks/results/colour_match.json
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from absl import app, flags
from skimage import color, exposure

_MODEL = flags.DEFINE_string("model", "pretrained:tnbc", "Generator: pretrained:NAME, a run folder or a .keras file.")
_TRAIN = flags.DEFINE_string("train_dir", None, "Canonical folder of the generator's real training slides.",
                             required=True)
_VALIDATION = flags.DEFINE_string("validation_dir", None, "Canonical folder of validation slides.", required=True)
_OUT = flags.DEFINE_string("out", "", "JSON file of the results (optional).")


def lab_statistics(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled CIELAB mean and sd (3,) of uint8 RGB images."""
    pixels = np.concatenate([color.rgb2lab(image).reshape(-1, 3) for image in images])
    return pixels.mean(axis=0), pixels.std(axis=0)


def _to_uint8(lab: np.ndarray) -> np.ndarray:
    return np.clip(color.lab2rgb(lab) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def transfers(real_train: list[np.ndarray], synthetic_train: list[np.ndarray]) -> dict:
    """name -> function(uint8 RGB synthetic image) -> uint8 RGB image."""
    real_mean, real_sd = lab_statistics(real_train)
    synthetic_mean, synthetic_sd = lab_statistics(synthetic_train)
    reference = np.concatenate([image.reshape(-1, 3) for image in real_train])[None]

    def reinhard_image(image):
        lab = color.rgb2lab(image)
        mean, sd = lab.reshape(-1, 3).mean(axis=0), lab.reshape(-1, 3).std(axis=0)
        return _to_uint8((lab - mean) / sd * real_sd + real_mean)

    def reinhard_dataset(image):
        return _to_uint8((color.rgb2lab(image) - synthetic_mean) / synthetic_sd * real_sd + real_mean)

    def histogram(image):
        matched = exposure.match_histograms(image, reference, channel_axis=-1)
        return np.clip(np.rint(matched), 0, 255).astype(np.uint8)

    return {"none": lambda image: image, "reinhard_image": reinhard_image,
            "reinhard_dataset": reinhard_dataset, "histogram": histogram}


def main(argv: list[str]) -> None:
    del argv
    from tf_esgan.data.datasets import list_samples, load_pair
    from tf_esgan.evaluation.image_quality_table import score_tiles, synthesize_image
    from tf_esgan.models.inference import generate
    from tf_esgan.pretrained.generator_loading import load_generator

    generator, kind, _ = load_generator(_MODEL.value, log=lambda message: None)
    tile = int(generator.input_shape[1])

    def synthesize(labels):
        return synthesize_image(labels, lambda condition: generate(generator, condition), kind, tile)

    train = [load_pair(sample) for sample in list_samples(Path(_TRAIN.value).expanduser())]
    real_train = [image for image, _ in train]
    synthetic_train = [synthesize(labels)[0] for _, labels in train]
    methods = transfers(real_train, synthetic_train)

    scores = {name: [] for name in methods}
    outputs = {name: [] for name in methods}
    real_validation = []
    for sample in list_samples(Path(_VALIDATION.value).expanduser()):
        real, labels = load_pair(sample)
        real_validation.append(real)
        synthetic, origins = synthesize(labels)
        for name, transfer in methods.items():
            image = transfer(synthetic)
            outputs[name].append(image)
            scores[name] += score_tiles(real, image, origins, tile, sample.id)

    def lab(images):
        mean, sd = lab_statistics(images)
        return {"lab_mean": [round(float(v), 2) for v in mean], "lab_sd": [round(float(v), 2) for v in sd]}

    result = {"model": _MODEL.value, "train_dir": Path(_TRAIN.value).name,
              "validation_dir": Path(_VALIDATION.value).name, "tiles": len(scores["none"]),
              "real_train": lab(real_train), "synthetic_train": lab(synthetic_train),
              "real_validation": lab(real_validation), "transfers": {}}
    for name in methods:
        row = {metric: round(float(np.mean([getattr(t, metric) for t in scores[name]])), 4)
               for metric in ("ssim", "fsim", "gmsd")}
        result["transfers"][name] = {**row, **lab(outputs[name])}
    for key in ("real_train", "synthetic_train", "real_validation"):
        print(f"{key:18s} CIELAB mean {result[key]['lab_mean']} sd {result[key]['lab_sd']}")
    for name, row in result["transfers"].items():
        print(f"{name:18s} SSIM {row['ssim']:.3f} FSIM {row['fsim']:.3f} GMSD {row['gmsd']:.3f}  "
              f"CIELAB mean {row['lab_mean']} sd {row['lab_sd']}")
    if _OUT.value:
        Path(_OUT.value).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    app.run(main)
