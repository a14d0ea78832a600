"""Normalisation layer selectable by name for the generator and discriminator."""

from __future__ import annotations

import keras

# "batch" is what pix2pix (paper ref. [9]) uses; "instance" normalises every
# channel of every image on its own, which does not depend on the batch size
# (the paper trains with batch size 1, where batch norm in training mode is
# instance norm anyway, but batch norm then behaves differently at inference).
NORMALIZATIONS = ("batch", "instance")


def check_normalization(kind: str, owner: str) -> None:
    """Raises ValueError naming `owner` if `kind` is not a known normalisation."""
    if kind not in NORMALIZATIONS:
        raise ValueError(f"{owner}: `norm` must be one of {NORMALIZATIONS}, got {kind!r}.")


def normalization_layer(kind: str, *, name: str, dtype: str) -> keras.layers.Layer:
    """A fresh normalisation layer over the channel axis of NHWC tensors.

    Args:
      kind: "batch" (keras BatchNormalization) or "instance"
        (GroupNormalization with one group per channel).
      name: layer name.
      dtype: Keras dtype policy name, e.g. "float32" or "mixed_bfloat16".
    """
    check_normalization(kind, "normalization_layer")
    if kind == "batch":
        return keras.layers.BatchNormalization(name=name, dtype=dtype)
    return keras.layers.GroupNormalization(groups=-1, name=name, dtype=dtype)
