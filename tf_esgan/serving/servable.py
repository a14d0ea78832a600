"""Writes a tf.Module with serving signatures as one atomic TF Serving model version.

Keras 3 `model.export` tracks the model's variables under two attributes of its archive
(`variables`, holding the Keras variables, and `_all_variables`, holding the backend
tf.Variables), which the checkpoint writer does not recognise as the same objects, so
each weight is written twice (checked with tf.train.list_variables: twice the disk). Here the module tracks the
underlying `tf.Variable`s once, as a flat list, and the signatures call the Keras model
through a closure, which tf.saved_model.save does not follow; the saved functions
capture the tracked variables by handle, so each is written once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import tensorflow as tf

from tf_esgan.io_utils import disk_full_error_from_text, process_start_time
from tf_esgan.run_lock import run_lock
from tf_esgan.serving.graph_check import python_ops
from tf_esgan.serving.versioned_dir import atomic_version_dir, remove_abandoned_partials, resolve_version

#: Written inside each version; TF Serving ignores assets.extra/ except its warmup file.
EXPORT_INFO = Path("assets.extra") / "esgan_export.json"


class ServingModule(tf.Module):
    """Holds a Keras model's variables once and its signatures as tf.functions.

    Args:
      model: the Keras model; signatures call it through `call_model` (inference mode).
      model_call: how to call it (default: `model(inputs, training=False)`).
      name: tf.Module name.
    """

    def __init__(self, model: Any, *, name: str | None = None, model_call: Callable | None = None):
        super().__init__(name=name)
        # `.value` is the backend tf.Variable of a Keras 3 variable.
        self.model_variables = [variable.value for variable in model.variables]
        # Generators go through models.inference.generate (the same image as in training);
        # other models (SegNet) are plain inference-mode calls.
        call = model_call or (lambda inputs: model(inputs, training=False))  # noqa: E731 (untracked closure)
        self._model_call = call
        self.signature_names: tuple[str, ...] = ()

    def call_model(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._model_call(inputs)

    def add_signature(self, name: str, function: Callable, input_signature: list[tf.TensorSpec]):
        """Traces `function` (tensors -> dict of named outputs) as signature `name`."""
        traced = tf.function(function, input_signature=input_signature, autograph=False)
        traced.get_concrete_function()  # trace now: errors surface before any file is written
        setattr(self, f"signature_{name}", traced)
        self.signature_names = (*self.signature_names, name)

    def signature_functions(self) -> dict[str, Any]:
        """Signature name -> concrete function, for tf.saved_model.save."""
        return {name: getattr(self, f"signature_{name}").get_concrete_function()
                for name in self.signature_names}


def write_servable(module: ServingModule, export_base: str | os.PathLike, *, model_name: str,
                   version: int | None, overwrite: bool, info: Mapping[str, Any]) -> Path:
    """Saves `module` to `<export_base>/<model_name>/<version>/` atomically.

    Holding the model folder's lock, it first deletes the hidden folders that killed
    exports left there (`versioned_dir.remove_abandoned_partials`).

    Args:
      module: a ServingModule with at least a "serving_default" signature.
      export_base: TF Serving's base path (one folder per model name).
      model_name: the name clients use in `/v1/models/<model_name>`.
      version: integer version; None = one more than the largest existing one.
      overwrite: replace an existing version instead of raising VersionExistsError.
      info: JSON-serialisable facts (kind, size...) written to assets.extra/.
    Returns:
      The version directory.
    Raises:
      VersionExistsError, ValueError (bad name/version), RuntimeError if the graph
      would need Python (then nothing is left on disk), FolderLockedError if another
      process is exporting into `<export_base>/<model_name>`, DiskFullError (naming the
      version directory, of which nothing is left).
    """
    if not model_name or os.sep in model_name or model_name.startswith("."):
        raise ValueError(f"model_name: expected a plain folder name, got {model_name!r}")
    signatures = module.signature_functions()
    if "serving_default" not in signatures:
        raise ValueError("module: a 'serving_default' signature is required by TF Serving")
    model_dir = Path(export_base) / model_name
    # One exporter per model folder: two would pick the same next version.
    with run_lock(model_dir, what="model export"):
        started = process_start_time()
        if started is not None:
            remove_abandoned_partials(model_dir, modified_before=started)
        return _write_version(module, signatures, model_dir, model_name=model_name, version=version,
                              overwrite=overwrite, info=info)


def _write_version(module, signatures, model_dir: Path, *, model_name: str, version: int | None,
                   overwrite: bool, info: Mapping[str, Any]) -> Path:
    version = resolve_version(model_dir, version)
    final = model_dir / str(version)
    try:
        with atomic_version_dir(model_dir, version, overwrite=overwrite) as building:
            _save(module, signatures, building, model_name=model_name, version=version, info=info)
    except (tf.errors.OpError, OSError) as error:
        # TensorFlow's file errors carry no errno, only the C library's text (ENOSPC is a
        # ResourceExhaustedError, EFBIG an OutOfRangeError), which OSErrors quote too.
        full = disk_full_error_from_text(str(error), final)
        if full is None:
            raise
        raise full from error
    return final


def _save(module, signatures, building: Path, *, model_name: str, version: int, info: Mapping[str, Any]) -> None:
    """Writes the SavedModel and its export record into the hidden folder `building`."""
    tf.saved_model.save(module, str(building), signatures=signatures)
    found = python_ops(building)
    if found:
        raise RuntimeError(f"{model_name}: the exported graph calls Python ({sorted(found)}), "
                           "which TF Serving cannot run; nothing was written")
    info_path = building / EXPORT_INFO
    info_path.parent.mkdir(parents=True, exist_ok=True)
    info_path.write_text(json.dumps({"model_name": model_name, "version": version,
                                     "signatures": sorted(signatures), **info},
                                    indent=2, sort_keys=True) + "\n")
