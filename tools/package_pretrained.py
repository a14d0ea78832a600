"""Packages trained runs as pretrained models of tf_esgan (`pretrained:NAME`).

    python tools/package_pretrained.py --name=tnbc --generator_run=runs/gen_tnbc \
        --segnet_run=runs/segnet_tnbc_s_star --card=runs/tnbc_card.json

Writes tf_esgan/pretrained/models/<name>_generator.{npz,json} and/or
<name>_segnet.{npz,json} (float16 weights, the network record, the card) and updates
registry.json with their sha256; --models_dir (or $ESGAN_PRETRAINED_DIR) writes
elsewhere. Packaging a name again replaces that model. Prints each record's storage
check: how far the loaded float32 model's output is from the trained model's (if SegNet's
isolated-pixel differences matter, --weights_dtype=float32 stores it exactly).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from absl import app, flags

_NAME = flags.DEFINE_string("name", None, "Registry name, e.g. tnbc (used as --model=pretrained:NAME).")
_GENERATOR_RUN = flags.DEFINE_string("generator_run", None, "esgan-train run folder (config.json + checkpoints/).")
_SEGNET_RUN = flags.DEFINE_string("segnet_run", None,
                                  "esgan-train-segnet run folder (config.json, segnet.keras, watershed.json).")
_CARD = flags.DEFINE_string("card", None, "JSON file of metadata to embed (data, recipe, scores, licences).")
_MODELS_DIR = flags.DEFINE_string("models_dir", None, "Models folder (default: the package's, or "
                                  "$ESGAN_PRETRAINED_DIR).")
_WEIGHTS_DTYPE = flags.DEFINE_enum("weights_dtype", "float16", ["float16", "float32", "int8"],
                                   "Storage of the weights (float32 doubles the size; see the storage check).")
flags.mark_flag_as_required("name")


def _card() -> dict:
    if not _CARD.value:
        return {}
    path = Path(_CARD.value)
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"--card={path}: not a readable JSON file ({error})") from None
    if not isinstance(card, dict):
        raise ValueError(f"--card={path}: expected a JSON object, got {type(card).__name__}")
    return card


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not (_GENERATOR_RUN.value or _SEGNET_RUN.value):
        raise app.UsageError("give --generator_run and/or --segnet_run")
    from tf_esgan.pretrained import registry
    from tf_esgan.serving import pretrained_packaging as packaging

    try:
        card = _card()
        records = []
        if _GENERATOR_RUN.value:
            records.append(packaging.package_generator_run(_GENERATOR_RUN.value, name=_NAME.value, card=card,
                                                           directory=_MODELS_DIR.value,
                                                           weights_dtype=_WEIGHTS_DTYPE.value))
        if _SEGNET_RUN.value:
            records.append(packaging.package_segnet_run(_SEGNET_RUN.value, name=_NAME.value, card=card,
                                                        directory=_MODELS_DIR.value,
                                                        weights_dtype=_WEIGHTS_DTYPE.value))
    except (ValueError, FileNotFoundError) as error:
        print(f"package_pretrained: error: {error}", file=sys.stderr)
        return 1
    folder = registry.models_dir(_MODELS_DIR.value)
    for record in records:
        weights = folder / record["weights_file"]
        print(f"{registry.PREFIX}{record['name']} ({record['kind']}): {weights} "
              f"({weights.stat().st_size / 2**20:.1f} MiB); storage check {record['storage_check']}")
    total = sum(path.stat().st_size for path in folder.glob("*.npz"))
    print(f"all pretrained weights in {folder}: {total / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    app.run(main)
