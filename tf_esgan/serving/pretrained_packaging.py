"""Turning trained models into pretrained ones: float16 weights, a record, a registry entry.

`package_generator_run` / `package_segnet_run` take the run folders of `esgan-train` and
`esgan-train-segnet` (what `tools/package_pretrained.py` calls); `package_generator` /
`package_segnet` take models in memory. Each one, before writing anything, rebuilds the
network from the record and the stored (float16) weights exactly as `load_generator` /
`load_segnet` will, and records how far its output is from the trained model's
(`record["storage_check"]`; see `pretrained/weights.py` for SegNet's isolated pixels). Files are
written atomically, the registry last. It sits here, above `segmentation/`, and not in
`pretrained/` (which segmentation loads its models through) because it reads SegNet runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from tf_esgan.data import masks, skeleton
from tf_esgan.data.datasets import list_samples, sample_root
from tf_esgan.data.image_io import read_image
from tf_esgan.data.image_range import to_uint8
from tf_esgan.io_utils import atomic_path
from tf_esgan.models.inference import generate
from tf_esgan.models.variants import get_variant
from tf_esgan.models.watershed_config import WatershedConfig
from tf_esgan.pretrained import registry
from tf_esgan.pretrained.generator_loading import load_generator
from tf_esgan.pretrained.loading import generator_from_record, segnet_from_record
from tf_esgan.pretrained.segnet_loading import load_segnet_and_watershed
from tf_esgan.pretrained.weights import STORAGE_DTYPE, save_weights, to_storage
from tf_esgan.segmentation.scoring import predict_maps
from tf_esgan.segmentation.train_config import SegNetTrainConfig
from tf_esgan.training.gan_config import TrainConfig

RUN_CONFIG_FILE = "config.json"
#: Seed of the random nuclei mask the float16 check feeds to a generator.
_CHECK_SEED = 0


def _write(kind: str, name: str, record: dict, weights: list[np.ndarray], directory) -> dict:
    folder = registry.models_dir(directory)
    names = registry.file_names(kind, name)
    save_weights(folder / names["weights"], weights)
    with atomic_path(folder / names["record"]) as temporary:
        temporary.write_text(json.dumps(record, indent=2) + "\n")
    registry.register(kind, name, folder)
    return record


def _record(kind: str, name: str, weights: list[np.ndarray], weights_dtype: str, **fields) -> dict:
    return {"format_version": registry.FORMAT_VERSION, "kind": kind, "name": registry.check_name(name),
            "weights_file": registry.file_names(kind, name)["weights"],
            "weights_dtype": weights_dtype, "weight_shapes": [list(w.shape) for w in weights], **fields}


def package_generator(generator: keras.Model, *, name: str, variant: str, network, card: dict | None = None,
                      source: dict | None = None, directory: str | os.PathLike | None = None,
                      weights_dtype: str = STORAGE_DTYPE) -> dict:
    """Stores a generator under `name`; returns its record.

    Args:
      generator: the trained U-Net (any dtype policy).
      name: registry name (lowercase letters, digits, '_', '-').
      variant: the Table 1 variant it was trained as (sets the conditioning).
      network: its `models.networks.NetworkConfig`.
      card: free-form metadata (data, recipe, scores) kept in the record as "card".
      source: provenance kept as "source" (run folder, training config).
      directory: models folder (default: `registry.models_dir()`).
      weights_dtype: "float16" (default), "float32" or "int8" (int8 kernels with per-channel scales, float16 vectors;
        `weights.STORAGE_DTYPES`).
    """
    conditioning = get_variant(variant).conditioning
    weights = to_storage(generator.get_weights(), f"generator {name!r}", weights_dtype)
    record = _record("generator", name, weights, weights_dtype, variant=variant, conditioning=conditioning,
                     network=dataclasses.asdict(network))
    rebuilt, _ = generator_from_record(record, weights, source=f"generator {name!r}")
    size = network.image_size
    labels = masks.random_nuclei_labels((size, size), rng=np.random.default_rng(_CHECK_SEED), preset="tnbc")
    condition = skeleton.conditioning(labels, conditioning)[None]
    difference = np.abs(to_uint8(generate(generator, condition)).astype(int)
                        - to_uint8(generate(rebuilt, condition)).astype(int))
    record["storage_check"] = {
        "max_grey_level_difference": int(difference.max()),
        "fraction_over_2_grey_levels": round(float(np.mean(difference > 2)), 6),
        "mean_grey_level_difference": round(float(difference.mean()), 4),
        "input": f"a random {size}x{size} 'tnbc' nuclei mask (seed {_CHECK_SEED}); trained network in "
                 f"{network.dtype_policy}, loaded one in float32"}
    record.update(source=source or {}, card=card or {})
    return _write("generator", name, record, weights, directory)


def package_segnet(segnet: keras.Model, *, name: str, segnet_config, watershed: WatershedConfig,
                   card: dict | None = None, source: dict | None = None,
                   directory: str | os.PathLike | None = None, weights_dtype: str = STORAGE_DTYPE) -> dict:
    """Stores a SegNet and its tuned watershed thresholds under `name`; returns its record.

    Args:
      segnet: the trained SegNet.
      segnet_config: its `models.segnet.SegNetConfig`.
      watershed: the thresholds tuned for it.
      name, card, source, directory, weights_dtype: as in `package_generator`.
    """
    weights = to_storage(segnet.get_weights(), f"segnet {name!r}", weights_dtype)
    record = _record("segnet", name, weights, weights_dtype, network=dataclasses.asdict(segnet_config),
                     watershed=dataclasses.asdict(watershed))
    rebuilt, _ = segnet_from_record(record, weights, source=f"segnet {name!r}")
    sample = list_samples(sample_root())[0]
    image = read_image(sample.image_path)
    difference = np.abs(predict_maps(segnet, image) - predict_maps(rebuilt, image))
    record["storage_check"] = {
        "max_output_difference": round(float(difference.max()), 6),
        "mean_output_difference": round(float(difference.mean()), 6),
        "fraction_over_0.01": round(float(np.mean(difference > 0.01)), 6),
        "input": f"the embedded sample image {sample.id} (both output channels); trained network in "
                 f"{segnet_config.dtype_policy}, loaded one in float32"}
    record.update(source=source or {}, card=card or {})
    return _write("segnet", name, record, weights, directory)


def _run_config(run_dir: Path, program: str) -> dict:
    path = run_dir / RUN_CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; expected an {program} run folder")
    return json.loads(path.read_text())


def package_generator_run(run_dir: str | os.PathLike, *, name: str, card: dict | None = None,
                          directory: str | os.PathLike | None = None, weights_dtype: str = STORAGE_DTYPE,
                          log: Callable[[str], None] = print) -> dict:
    """Stores the newest checkpoint's generator of an `esgan-train` run under `name`."""
    run_dir = Path(run_dir)
    values = _run_config(run_dir, "esgan-train")
    run = TrainConfig.from_json_dict(values)
    generator, _, _ = load_generator(str(run_dir), log=log)
    source = {"run_dir": str(run_dir.resolve()), "training_config": values}
    return package_generator(generator, name=name, variant=run.variant, network=run.model,
                             card=card, source=source, directory=directory, weights_dtype=weights_dtype)


def package_segnet_run(run_dir: str | os.PathLike, *, name: str, card: dict | None = None,
                       directory: str | os.PathLike | None = None, weights_dtype: str = STORAGE_DTYPE) -> dict:
    """Stores the final SegNet and watershed thresholds of an `esgan-train-segnet` run."""
    run_dir = Path(run_dir)
    values = _run_config(run_dir, "esgan-train-segnet")
    segnet, watershed = load_segnet_and_watershed(run_dir)
    config = SegNetTrainConfig.from_json_dict(values).model
    source = {"run_dir": str(run_dir.resolve()), "training_config": values}
    return package_segnet(segnet, name=name, segnet_config=config, watershed=watershed, card=card,
                          source=source, directory=directory, weights_dtype=weights_dtype)
