"""Loading a trained SegNet: "pretrained:NAME", an `esgan-train-segnet` run, or a `.keras` file.

One place for evaluation, segmentation, Table 1's AJI column and export, so a
`--model` / `--segnet` flag takes the same three forms everywhere:

- `pretrained:NAME`: a model shipped in the package (`tf_esgan.pretrained`), with the
  watershed thresholds tuned for it;
- a run folder: `<run>/segnet.keras` and `<run>/watershed.json`;
- a `.keras` file: its thresholds are the `watershed.json` beside it if there is one
  (a run's own `segnet.keras`), else unknown (export needs none; segmentation refuses).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import keras

from tf_esgan.errors import ModelLoadError, ModelNotFoundError
from tf_esgan.io_utils import atomic_path
import tf_esgan.models.segnet  # noqa: F401  (registers SegNet's layers)
from tf_esgan.models.watershed_config import WatershedConfig
from tf_esgan.pretrained import registry
from tf_esgan.pretrained.loading import load_segnet as load_pretrained
from tf_esgan.runs.run_dir import GAN_RUN, run_kind

WATERSHED_FILE = "watershed.json"
MODEL_FILE = "segnet.keras"


def save_watershed_config(config: WatershedConfig, path: str | os.PathLike) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def load_watershed_config(path: str | os.PathLike) -> WatershedConfig:
    path = Path(path)
    try:
        return WatershedConfig(**json.loads(path.read_text()))
    except (TypeError, ValueError) as error:
        raise ModelLoadError(f"{path}: not a watershed config ({error})") from None


def _load_keras_file(path: Path) -> keras.Model:
    model = keras.models.load_model(path, compile=False)
    # SegNet: RGB in, (nucleus mask, distance map) out; a generator is condition in, RGB out.
    if model.input_shape[-1] != 3 or model.output_shape[-1] != 2:
        raise ModelLoadError(f"{path}: not a SegNet (input {model.input_shape}, output {model.output_shape}; "
                             "a SegNet maps RGB to 2 channels); is it a generator?")
    return model


def segnet_file(model: str | os.PathLike) -> Path | None:
    """The `.keras` file a `model` argument names, checked without loading it (None for
    `pretrained:NAME`), so jobs can refuse a wrong model before their expensive work.

    Raises:
      ModelLoadError: an esgan-train (generator) run folder, or a file that is not `.keras`.
      ModelNotFoundError: a missing path, or a run folder without its model.
    """
    if registry.pretrained_name(str(model)) is not None:
        return None
    path = Path(model)
    expected = f"expected {registry.PREFIX}NAME, an esgan-train-segnet run folder or an existing `.keras` SegNet file"
    if path.is_dir():
        if run_kind(path) == GAN_RUN:
            raise ModelLoadError(f"{path}: this is an esgan-train run (a generator); a SegNet is needed here: "
                                 f"{expected.removeprefix('expected ')}")
        if not (path / MODEL_FILE).is_file():
            raise ModelNotFoundError(f"{path / MODEL_FILE}: missing; is {path} a finished esgan-train-segnet run?")
        return path / MODEL_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such file or folder; {expected}")
    if path.suffix != ".keras":
        raise ModelLoadError(f"{path}: {expected}")
    return path


def load_segnet(model: str | os.PathLike) -> tuple[keras.Model, WatershedConfig | None]:
    """(SegNet, watershed thresholds or None) of one of the three forms of the docstring.

    Raises:
      PretrainedModelError: unknown or damaged `pretrained:NAME` (a ValueError).
      ModelNotFoundError: a run folder without its model, or a missing `.keras` file (a
        FileNotFoundError).
      ModelLoadError: a generator (run folder or `.keras` file), or another file (a ValueError).
    """
    path = segnet_file(model)
    if path is None:
        return load_pretrained(registry.pretrained_name(str(model)))
    watershed = path.parent / WATERSHED_FILE
    return _load_keras_file(path), load_watershed_config(watershed) if watershed.is_file() else None


def load_segnet_and_watershed(model: str | os.PathLike) -> tuple[keras.Model, WatershedConfig]:
    """`load_segnet`, for segmentation: the tuned thresholds are required."""
    segnet, watershed = load_segnet(model)
    if watershed is None:
        raise ModelNotFoundError(f"{model}: no {WATERSHED_FILE} beside it, so its tuned watershed thresholds "
                                 f"are unknown; pass the esgan-train-segnet run folder or pretrained:NAME")
    return segnet, watershed
