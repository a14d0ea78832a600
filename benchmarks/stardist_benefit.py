"""StarDist 2D trained on real images (R) against real plus synthetic (R+S), issue 20 item 4.

Trains StarDist 2D from scratch on the real training slides (R) and on the same slides
plus a set written by `esgan-synthesize --format=stardist` (R+S), with identical settings
(Config2D, normalisation, augmentation, seeds), each until its validation loss has not
fallen for --patience epochs (best weights kept), tunes StarDist's probability/NMS
thresholds on the validation slides, and scores the test slides once with StarDist's own
`matching_dataset` (IoU 0.5). One JSON line per (set, seed) is appended to --out; pairs
already there are skipped, so a killed run resumes. --summary prints the markdown tables;
--figure draws the true and predicted outlines on test images. --real_fraction sets the
share of real images in R+S (each real image listed several times), as S*'s does for the
SegNet.

It runs in its own virtual environment (StarDist needs Keras 2 through tf-keras; setup in
benchmarks/README.md) and does not import tf_esgan:

  ~/esgan-runs/stardist-venv/bin/python benchmarks/stardist_benefit.py \
      --train_dir=data/tnbc_0305 --validation_dir=data/tnbc_0607 --test_dir=data/tnbc_0102 \
      --synthetic_dir=runs/synth_sd --seeds=0,1 --work_dir=runs/stardist_benefit \
      --out=benchmarks/results/stardist_benefit.jsonl
  ~/esgan-runs/stardist-venv/bin/python benchmarks/stardist_benefit.py --summary \
      --out=benchmarks/results/stardist_benefit.jsonl
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

_TRAIN_DIR = flags.DEFINE_string("train_dir", None, "Canonical folder of real training pairs: images/NAME.png (RGB uint8) + masks/NAME.png (uint16 labels).")
_VALIDATION_DIR = flags.DEFINE_string("validation_dir", None, "Canonical folder for early stopping and threshold tuning only.")
_TEST_DIR = flags.DEFINE_string("test_dir", None, "Canonical folder scored once at the end of each run.")
_SYNTHETIC_DIR = flags.DEFINE_string("synthetic_dir", None, "Folder written by `esgan-synthesize --format=stardist` (images/NAME.tif, masks/NAME.tif); needed for R+S.")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1"], "Seeds; each set is trained once per seed.")
_SETS = flags.DEFINE_list("sets", ["R", "R+S"], "Training sets: R (real) and/or R+S (real + synthetic).")
_WORK_DIR = flags.DEFINE_string("work_dir", "stardist_benefit_runs", "Model folders (weights, config, thresholds), one per (set, seed).")
_OUT = flags.DEFINE_string("out", None, "JSONL file the results are appended to.")
_EPOCHS_MAX = flags.DEFINE_integer("epochs_max", 400, "Upper bound on epochs; early stopping usually ends a run sooner.")
_STEPS_PER_EPOCH = flags.DEFINE_integer("steps_per_epoch", 100, "Batches per epoch.")
_PATIENCE = flags.DEFINE_integer("patience", 20, "Epochs without a lower validation loss before stopping (best weights restored).")
_REDUCE_LR_PATIENCE = flags.DEFINE_integer("reduce_lr_patience", 10, "Epochs without improvement before the learning rate is halved (StarDist's ReduceLROnPlateau).")
_PATCH_SIZE = flags.DEFINE_integer("patch_size", 256, "Training patch side (divisible by 16); validation slides are cut into tiles of this size for the validation loss.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 4, "Training batch size.")
_THRESHOLD_MAXITER = flags.DEFINE_integer("threshold_maxiter", 20, "Iterations of StarDist's probability-threshold search per NMS threshold (its default 20; lower only for smoke runs: an untrained network makes each try slow).")
_SYNTHETIC_LIMIT = flags.DEFINE_integer("synthetic_limit", 0, "At most this many synthetic pairs (the first by name); 0 = all.")
_REAL_FRACTION = flags.DEFINE_float(
    "real_fraction", 0.0,
    "R+S only: the share of real images in the list StarDist cycles through (each real image repeated "
    "round(f * N_S / ((1 - f) * N_R)) times, at least once); 0 = each image once, so the real share is "
    "N_R / (N_R + N_S). The counterpart of esgan-reproduce's --real_fraction for S*.")
flags.register_validator("real_fraction", lambda value: 0.0 <= value < 1.0, "--real_fraction must be in [0, 1)")
_THREADS = flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0 = TensorFlow's default); 1 lets two runs share 2 cores.")
_FIGURE = flags.DEFINE_string(
    "figure", None,
    "Only draw a PNG here: the first --figure_images test images with the true outlines and those of each set's "
    "model (the first seed in --seeds, thresholds of its run) from --work_dir, PQ per image in the titles.")
_FIGURE_IMAGES = flags.DEFINE_integer("figure_images", 2, "Test images in --figure.")
_PAIRED = flags.DEFINE_string(
    "paired", None,
    "Only write this JSON: per test image, PQ and F1 (IoU 0.5) of every finished model of --seeds in --work_dir, "
    "each averaged over the seeds present in both sets, and R+S minus R with a paired percentile bootstrap 95 % "
    "interval over images (tf_esgan.reproduce.spread.paired_bootstrap_interval, 10,000 resamples).")
_SUMMARY = flags.DEFINE_bool("summary", False, "Only print mean ± sd per set and the per-seed R+S minus R differences from --out.")

SET_NAMES = ("R", "R+S")
N_RAYS = 32
GRID = (2, 2)
NORMALIZE_PERCENTILES = (1.0, 99.8)
# Channels are normalised jointly, so the ratio between haematoxylin and eosin survives.
NORMALIZE_AXES = (0, 1, 2)
INTENSITY_SCALE = (0.9, 1.1)
INTENSITY_SHIFT = (-0.05, 0.05)
MATCH_IOU = 0.5
SUMMARY_METRICS = ("f1", "precision", "recall", "panoptic_quality", "mean_matched_score", "accuracy")


def _read_pairs(folder: str, image_ext: str, read, limit: int = 0):
    """(names, images uint8 [H,W,3], masks int [H,W]) of `folder`/images|masks/NAME.`image_ext`."""
    root = Path(folder)
    image_paths = sorted((root / "images").glob(f"*.{image_ext}"))
    if not image_paths:
        raise FileNotFoundError(f"{root}: no images/*.{image_ext}")
    if limit > 0:
        image_paths = image_paths[:limit]
    names, images, masks = [], [], []
    for image_path in image_paths:
        mask_path = root / "masks" / image_path.name
        if not mask_path.exists():
            raise FileNotFoundError(f"{image_path}: its mask {mask_path} is missing")
        image, mask = read(image_path), read(mask_path)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise ValueError(f"{image_path}: expected an RGB uint8 image, got {image.dtype} {image.shape}")
        if mask.ndim != 2 or mask.shape != image.shape[:2] or not np.issubdtype(mask.dtype, np.integer):
            raise ValueError(f"{mask_path}: expected integer labels of shape {image.shape[:2]}, got {mask.dtype} {mask.shape}")
        names.append(image_path.stem)
        images.append(image)
        masks.append(mask.astype(np.int32))
    return names, images, masks


def read_canonical(folder: str):
    from skimage.io import imread

    return _read_pairs(folder, "png", imread)


def read_stardist(folder: str, limit: int):
    import tifffile

    return _read_pairs(folder, "tif", tifffile.imread, limit)


def normalize_image(image: np.ndarray) -> np.ndarray:
    from csbdeep.utils import normalize

    low, high = NORMALIZE_PERCENTILES
    return normalize(image, low, high, axis=NORMALIZE_AXES).astype(np.float32)


def read_test(folder: str):
    """(names, normalised images, labels as read) of the test folder: scored as they are."""
    names, images, masks = read_canonical(folder)
    return names, [normalize_image(image) for image in images], masks


def tile_pairs(images, masks, size: int):
    """Non-overlapping size x size tiles, so StarDist's one-patch-per-image validation covers the slides."""
    tiled_images, tiled_masks = [], []
    for image, mask in zip(images, masks):
        if min(mask.shape) < size:
            raise ValueError(f"validation image of shape {mask.shape} is smaller than --patch_size={size}")
        for top in range(0, mask.shape[0] - size + 1, size):
            for left in range(0, mask.shape[1] - size + 1, size):
                tiled_images.append(image[top:top + size, left:left + size])
                tiled_masks.append(mask[top:top + size, left:left + size])
    return tiled_images, tiled_masks


def augment(image: np.ndarray, labels: np.ndarray):
    """Random rot90/flip of a patch pair and a small intensity jitter of the image (np.random, seeded by train)."""
    turns = np.random.randint(4)
    image, labels = np.rot90(image, turns, axes=(0, 1)), np.rot90(labels, turns, axes=(0, 1))
    if np.random.rand() < 0.5:
        image, labels = image[:, ::-1], labels[:, ::-1]
    image = image * np.random.uniform(*INTENSITY_SCALE) + np.random.uniform(*INTENSITY_SHIFT)
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(labels)


def settings() -> dict:
    """Everything that must match between lines of one --out (checked on resume)."""
    def resolved(path):
        return str(Path(path).resolve()) if path else None

    return {
        "train_dir": resolved(_TRAIN_DIR.value), "validation_dir": resolved(_VALIDATION_DIR.value),
        "test_dir": resolved(_TEST_DIR.value), "synthetic_dir": resolved(_SYNTHETIC_DIR.value),
        "synthetic_limit": _SYNTHETIC_LIMIT.value, "real_fraction": _REAL_FRACTION.value, "epochs_max": _EPOCHS_MAX.value,
        "steps_per_epoch": _STEPS_PER_EPOCH.value, "patience": _PATIENCE.value,
        "reduce_lr_patience": _REDUCE_LR_PATIENCE.value, "patch_size": _PATCH_SIZE.value,
        "batch_size": _BATCH_SIZE.value, "threshold_maxiter": _THRESHOLD_MAXITER.value, "n_rays": N_RAYS, "grid": list(GRID),
        "normalize_percentiles": list(NORMALIZE_PERCENTILES), "normalize_axes": list(NORMALIZE_AXES),
        "intensity_scale": list(INTENSITY_SCALE), "intensity_shift": list(INTENSITY_SHIFT),
        "match_iou": MATCH_IOU,
    }


def versions() -> dict:
    import csbdeep
    import stardist
    import tensorflow as tf
    import tf_keras

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
            "stardist": stardist.__version__, "csbdeep": csbdeep.__version__, "numpy": np.__version__,
            "gpus": len(tf.config.list_physical_devices("GPU"))}


def real_repeats(n_real: int, n_synthetic: int, fraction: float) -> int:
    """How often each real image is listed so that real images make up ~`fraction` of the list."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"--real_fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0 or n_synthetic == 0:
        return 1
    return max(1, round(fraction * n_synthetic / ((1.0 - fraction) * n_real)))


def train_and_score(set_name: str, seed: int, train_x, train_y, n_real: int, n_synthetic: int,
                    validation, test, work_dir: Path, repeats: int = 1) -> dict:
    """Trains one StarDist2D from scratch, tunes its thresholds, scores the test slides."""
    import tensorflow as tf
    from csbdeep.utils.tf import keras_import
    from stardist.matching import matching_dataset
    from stardist.models import Config2D, StarDist2D

    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    config = Config2D(
        n_rays=N_RAYS, grid=GRID, n_channel_in=3,
        train_patch_size=(_PATCH_SIZE.value, _PATCH_SIZE.value), train_batch_size=_BATCH_SIZE.value,
        train_epochs=_EPOCHS_MAX.value, train_steps_per_epoch=_STEPS_PER_EPOCH.value,
        train_reduce_lr={"factor": 0.5, "patience": _REDUCE_LR_PATIENCE.value, "min_delta": 0},
        train_tensorboard=False)
    name = model_name(set_name, seed)
    # A folder left by a killed run holds weights of an unfinished training: start over.
    shutil.rmtree(work_dir / name, ignore_errors=True)
    model = StarDist2D(config, name=name, basedir=str(work_dir))
    # train() keeps the callbacks prepare_for_training made (best-val-loss checkpoint,
    # reloaded at the end; ReduceLROnPlateau), so early stopping is appended to them.
    model.prepare_for_training()
    early_stopping = keras_import("callbacks", "EarlyStopping")
    model.callbacks.append(early_stopping(monitor="val_loss", patience=_PATIENCE.value, restore_best_weights=True))

    (val_tiles_x, val_tiles_y), (val_x, val_y), (test_names, test_x, test_y) = validation["tiles"], validation["full"], test
    started = time.time()
    history = model.train(train_x, train_y, validation_data=(val_tiles_x, val_tiles_y), augmenter=augment,
                          seed=seed, epochs=_EPOCHS_MAX.value, steps_per_epoch=_STEPS_PER_EPOCH.value)
    train_seconds = time.time() - started
    val_losses = history.history["val_loss"]
    thresholds = model.optimize_thresholds(val_x, val_y, optimize_kwargs={"maxiter": _THRESHOLD_MAXITER.value})
    predictions = [model.predict_instances(image, show_tile_progress=False)[0] for image in test_x]
    scores = matching_dataset(test_y, predictions, thresh=MATCH_IOU, show_progress=False)._asdict()
    scores.pop("by_image", None)
    return {
        "set": set_name, "seed": seed, "epochs_trained": len(history.history["loss"]),
        "best_epoch": int(np.argmin(val_losses)) + 1, "best_val_loss": float(np.min(val_losses)),
        "val_loss_history": [round(float(value), 5) for value in val_losses],
        "loss_history": [round(float(value), 5) for value in history.history["loss"]],
        "thresholds": {key: float(value) for key, value in thresholds.items()},
        **{key: value.item() if isinstance(value, np.generic) else value for key, value in scores.items()},
        "n_real_train": n_real, "n_synthetic_train": n_synthetic, "real_repeats": repeats,
        "real_share": round(n_real * repeats / (n_real * repeats + n_synthetic), 4), "n_validation_tiles": len(val_tiles_x),
        "test_images": test_names, "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(train_seconds / len(history.history["loss"]), 2),
        "seconds": round(time.time() - started, 1), "model_dir": str(work_dir / name),
        "settings": settings(), "versions": versions(),
    }


def finished_runs(out: Path) -> set:
    """(set, seed) pairs already in `out`; refuses a file written with other settings."""
    done = set()
    if not out.exists():
        return done
    current = settings()
    for number, line in enumerate(out.read_text().splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("settings") != current:
            raise ValueError(f"{out}:{number}: written with other settings ({record.get('settings')}); "
                             f"use another --out for these ({current})")
        done.add((record["set"], int(record["seed"])))
    return done


def _mean_sd(values, spec: str = ".3f") -> str:
    if len(values) < 2:
        return format(values[0], spec)
    return f"{format(float(np.mean(values)), spec)} ± {np.std(values, ddof=1):{spec.lstrip('+')}}"


def summary_markdown(records) -> str:
    """Mean ± sd over seeds per set, then R+S minus R per seed present in both sets."""
    header = "| set | seeds | epochs | " + " | ".join(SUMMARY_METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(SUMMARY_METRICS))]
    by_set = {name: {int(r["seed"]): r for r in records if r["set"] == name} for name in SET_NAMES}
    for name, runs in by_set.items():
        if runs:
            cells = [_mean_sd([r[metric] for r in runs.values()]) for metric in SUMMARY_METRICS]
            epochs = _mean_sd([float(r["epochs_trained"]) for r in runs.values()], ".1f")
            lines.append(f"| {name} | {len(runs)} | {epochs} | " + " | ".join(cells) + " |")
    paired = sorted(set(by_set["R"]) & set(by_set["R+S"]))
    if paired:
        lines += ["", "| R+S minus R, seed | " + " | ".join(SUMMARY_METRICS) + " |", "|" + "---|" * (1 + len(SUMMARY_METRICS))]
        differences = {m: [by_set["R+S"][s][m] - by_set["R"][s][m] for s in paired] for m in SUMMARY_METRICS}
        for index, seed in enumerate(paired):
            lines.append(f"| {seed} | " + " | ".join(f"{differences[m][index]:+.3f}" for m in SUMMARY_METRICS) + " |")
        lines.append("| mean ± sd | " + " | ".join(_mean_sd(differences[m], "+.3f") for m in SUMMARY_METRICS) + " |")
    return "\n".join(lines)


def model_name(set_name: str, seed: int) -> str:
    return f"{set_name.replace('+', '_plus_')}_seed{seed}"


def finished(work_dir: Path, set_name: str, seed: int) -> bool:
    """A run is finished once its thresholds are tuned (the last file StarDist writes before scoring)."""
    return (work_dir / model_name(set_name, seed) / "thresholds.json").exists()


def load_model(work_dir: Path, set_name: str, seed: int):
    from stardist.models import StarDist2D

    return StarDist2D(None, name=model_name(set_name, seed), basedir=str(work_dir))


def draw_figure(path: Path, test, work_dir: Path, seed: int) -> None:
    """Rows: test images; columns: the true outlines, then each set's predicted outlines."""
    from matplotlib.figure import Figure
    from skimage.segmentation import find_boundaries
    from stardist.matching import matching

    names, images, masks = test
    count = min(_FIGURE_IMAGES.value, len(names))
    models = {name: load_model(work_dir, name, seed) for name in SET_NAMES if finished(work_dir, name, seed)}
    if not models:
        raise FileNotFoundError(f"{work_dir}: no finished model of seed {seed} (thresholds.json)")
    figure = Figure(figsize=(4 * (1 + len(models)), 4 * count), dpi=100)
    axes = figure.subplots(count, 1 + len(models), squeeze=False)
    for row in range(count):
        # The percentile-normalised image the models see, clipped to [0, 1] for display.
        display = np.clip(images[row], 0, 1)
        columns = [("truth", masks[row], None)]
        for set_name, model in models.items():
            labels = model.predict_instances(images[row], show_tile_progress=False)[0]
            columns.append((set_name, labels, matching(masks[row], labels, thresh=MATCH_IOU).panoptic_quality))
        for axis, (title, labels, quality) in zip(axes[row], columns):
            overlay = display.copy()
            overlay[find_boundaries(labels, mode="thick")] = (0.1, 0.9, 0.1)
            axis.imshow(overlay)
            axis.set_title(f"{names[row]}: {title}" + ("" if quality is None else f" (PQ {quality:.2f})"))
            axis.axis("off")
    figure.tight_layout()
    figure.savefig(path)


def _bootstrap_interval():
    """tf_esgan's paired bootstrap, loaded from its file: importing the package would import Keras 3."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tf_esgan" / "reproduce" / "spread.py"
    spec = importlib.util.spec_from_file_location("_esgan_spread", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.paired_bootstrap_interval


def paired_per_image(path: Path, test, work_dir: Path, seeds) -> dict:
    """Per-image PQ/F1 of R and R+S on the test images and the bootstrap interval of their difference."""
    from stardist.matching import matching

    names, images, masks = test
    paired = [seed for seed in seeds if all(finished(work_dir, name, seed) for name in SET_NAMES)]
    if not paired:
        raise FileNotFoundError(f"{work_dir}: no seed of {list(seeds)} with both sets finished")
    scores = {name: {} for name in SET_NAMES}
    for name in SET_NAMES:
        for seed in paired:
            model = load_model(work_dir, name, seed)
            per_image = []
            for image, mask in zip(images, masks):
                labels = model.predict_instances(image, show_tile_progress=False)[0]
                stats = matching(mask, labels, thresh=MATCH_IOU)
                per_image.append({"pq": float(stats.panoptic_quality), "f1": float(stats.f1)})
            scores[name][seed] = per_image
    interval = _bootstrap_interval()
    result = {"test_images": names, "seeds": paired, "per_image": scores, "difference": {}}
    for metric in ("pq", "f1"):
        means = {name: np.mean([[run[i][metric] for i in range(len(names))] for run in scores[name].values()], axis=0)
                 for name in SET_NAMES}
        mean, low, high = interval(list(means["R+S"] - means["R"]))
        result["difference"][metric] = {"mean": mean, "low": low, "high": high,
                                        "per_image_R": means["R"].tolist(), "per_image_R+S": means["R+S"].tolist()}
    path.write_text(json.dumps(result, indent=1))
    return result


def main(argv):
    del argv
    if _FIGURE.value:
        if not _TEST_DIR.value:
            raise app.UsageError("--figure needs --test_dir")
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        draw_figure(Path(_FIGURE.value), read_test(_TEST_DIR.value), Path(_WORK_DIR.value), int(_SEEDS.value[0]))
        print(f"wrote {_FIGURE.value}")
        return
    if _PAIRED.value:
        if not _TEST_DIR.value:
            raise app.UsageError("--paired needs --test_dir")
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        test = read_test(_TEST_DIR.value)
        result = paired_per_image(Path(_PAIRED.value), test, Path(_WORK_DIR.value), [int(seed) for seed in _SEEDS.value])
        for metric, values in result["difference"].items():
            print(f"R+S - R, {metric} per image (mean over seeds {result['seeds']}): {values['mean']:+.3f} "
                  f"[{values['low']:+.3f}, {values['high']:+.3f}] over {len(test[0])} images")
        return
    if not _OUT.value:
        raise app.UsageError("--out is required")
    out = Path(_OUT.value)
    if _SUMMARY.value:
        print(summary_markdown([json.loads(line) for line in out.read_text().splitlines() if line.strip()]))
        return
    unknown = sorted(set(_SETS.value) - set(SET_NAMES))
    if unknown:
        raise app.UsageError(f"--sets: unknown {unknown}; expected some of {SET_NAMES}")
    for holder in (_TRAIN_DIR, _VALIDATION_DIR, _TEST_DIR):
        if not holder.value:
            raise app.UsageError(f"--{holder.name} is required")
    if "R+S" in _SETS.value and not _SYNTHETIC_DIR.value:
        raise app.UsageError("--sets contains R+S: --synthetic_dir is required")
    # StarDist 0.9 builds its networks with Keras 2: must be set before tensorflow is imported.
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    if _THREADS.value:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(_THREADS.value)
    from stardist import fill_label_holes

    done = finished_runs(out)
    real_names, real_images, real_masks = read_canonical(_TRAIN_DIR.value)
    real_x = [normalize_image(image) for image in real_images]
    real_y = [fill_label_holes(mask) for mask in real_masks]
    synthetic_x, synthetic_y = [], []
    if "R+S" in _SETS.value:
        _, synthetic_images, synthetic_masks = read_stardist(_SYNTHETIC_DIR.value, _SYNTHETIC_LIMIT.value)
        synthetic_x = [normalize_image(image) for image in synthetic_images]
        synthetic_y = [fill_label_holes(mask) for mask in synthetic_masks]
    too_small = [x.shape[:2] for x in real_x + synthetic_x if min(x.shape[:2]) < _PATCH_SIZE.value]
    if too_small:
        raise ValueError(f"{len(too_small)} training images are smaller than --patch_size={_PATCH_SIZE.value}, e.g. {too_small[0]}")
    _, val_images, val_masks = read_canonical(_VALIDATION_DIR.value)
    val_x = [normalize_image(image) for image in val_images]
    validation = {"tiles": tile_pairs(val_x, [fill_label_holes(mask) for mask in val_masks], _PATCH_SIZE.value),
                  "full": (val_x, val_masks)}
    test = read_test(_TEST_DIR.value)

    work_dir = Path(_WORK_DIR.value)
    work_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in (int(seed) for seed in _SEEDS.value):
        for set_name in _SETS.value:
            if (set_name, seed) in done:
                print(f"{set_name} seed {seed}: already in {out}, skipped")
                continue
            with_synthetic = set_name == "R+S"
            # Repeated entries are references to the same arrays: no copies.
            repeats = real_repeats(len(real_x), len(synthetic_x), _REAL_FRACTION.value) if with_synthetic else 1
            record = train_and_score(
                set_name, seed, real_x * repeats + (synthetic_x if with_synthetic else []),
                real_y * repeats + (synthetic_y if with_synthetic else []), len(real_x),
                len(synthetic_x) if with_synthetic else 0, validation, test, work_dir, repeats)
            with out.open("a") as stream:
                stream.write(json.dumps(record) + "\n")
            print(json.dumps({k: v for k, v in record.items() if k not in ("settings", "versions", "test_images")}))
            sys.stdout.flush()


if __name__ == "__main__":
    app.run(main)
