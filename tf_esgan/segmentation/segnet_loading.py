"""Loading a trained SegNet: "pretrained:NAME", an `esgan-train-segnet` run, or a `.keras` file.

One place for evaluation, segmentation, Table 1's AJI column and export, so a
`--model` / `--segnet_dir` flag takes the same three forms everywhere:

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

from tf_esgan.io_utils import atomic_path
from tf_esgan.segmentation.postprocess import WatershedConfig

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
        raise ValueError(f"{path}: not a watershed config ({error})") from None


def _load_keras_file(path: Path) -> keras.Model:
    import tf_esgan.models.segnet  # noqa: F401  (registers SegNet's layers)

    return keras.models.load_model(path, compile=False)


def load_segnet(model: str | os.PathLike) -> tuple[keras.Model, WatershedConfig | None]:
    """(SegNet, watershed thresholds or None) of one of the three forms of the docstring.

    Raises:
      PretrainedModelError: unknown or damaged `pretrained:NAME` (a ValueError).
      FileNotFoundError: a run folder without its model, or a missing `.keras` file.
    """
    from tf_esgan.pretrained import registry

    name = registry.pretrained_name(str(model))
    if name is not None:
        from tf_esgan.pretrained.loading import load_segnet as load_pretrained

        return load_pretrained(name)
    path = Path(model)
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise FileNotFoundError(f"{path / MODEL_FILE}: missing; is {path} a finished esgan-train-segnet run?")
        path = path / MODEL_FILE
    elif path.suffix != ".keras" or not path.is_file():
        raise FileNotFoundError(f"{path}: expected {registry.PREFIX}NAME, an esgan-train-segnet run folder "
                                "or an existing `.keras` SegNet file")
    watershed = path.parent / WATERSHED_FILE
    return _load_keras_file(path), load_watershed_config(watershed) if watershed.is_file() else None


def load_segnet_and_watershed(model: str | os.PathLike) -> tuple[keras.Model, WatershedConfig]:
    """`load_segnet`, for segmentation: the tuned thresholds are required."""
    segnet, watershed = load_segnet(model)
    if watershed is None:
        raise FileNotFoundError(f"{model}: no {WATERSHED_FILE} beside it, so its tuned watershed thresholds "
                                f"are unknown; pass the esgan-train-segnet run folder or pretrained:NAME")
    return segnet, watershed
