"""Base class for functional networks built from a frozen dataclass config.

Keras functional models reshape inputs whose rank is off by one (a [H, W, 1]
condition map silently becomes a batch of H rows), so every call checks rank,
channels and spatial size first and raises a ValueError that says what was
expected. The config round-trips through `get_config` / `from_config`, so the
networks save to and load from `.keras` files.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import keras


class ConfigModel(keras.Model):
    """Functional model whose graph is built by `build_graph(config)`.

    Subclasses set `config_class` (a frozen keyword-only dataclass) and
    implement `build_graph`, returning `(inputs, outputs)` Keras tensors;
    inputs are NHWC `keras.Input`s with fixed spatial size.
    """

    config_class: ClassVar[type]

    def __init__(self, config: Any, **kwargs: Any) -> None:
        if isinstance(config, dict):
            config = self.config_class(**config)
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__}: `config` must be a {self.config_class.__name__} or its dict, "
                f"got {type(config).__name__}."
            )
        kwargs.pop("dtype", None)  # Per-layer policies come from the config.
        inputs, outputs = self.build_graph(config)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.network_config = config

    @classmethod
    def build_graph(cls, config: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        self._check_inputs(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def _check_inputs(self, inputs: Any) -> None:
        expected = list(self.inputs)
        given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        names = [tensor.name for tensor in expected]
        if len(given) != len(expected):
            raise ValueError(
                f"{self.name}: expected {len(expected)} input tensor(s) {names}, got {len(given)}."
            )
        for name, spec, tensor in zip(names, expected, given):
            shape = tuple(getattr(tensor, "shape", ()))
            want = tuple(spec.shape)
            ok = len(shape) == len(want) and all(
                w is None or s is None or int(s) == w for s, w in zip(shape[1:], want[1:])
            )
            if not ok:
                raise ValueError(
                    f"{self.name}: input `{name}` must be a batch of shape "
                    f"[B, {', '.join(str(w) for w in want[1:])}] (NHWC, rank {len(want)}), "
                    f"got shape {list(shape)}."
                )

    def get_config(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.network_config),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> "ConfigModel":
        return cls(**config)
