"""A config field whose values are a fixed set declares that set once, on the field.

    norm: str = choice_field(DEFAULT_NORMALIZATION, NORMALIZATIONS)

The set travels in the field's metadata (`field_choices`), so the command-line flags made
from a config (`cli.config_flags.define_config_flags`) become enum flags of exactly these
values and no entry point repeats the list; `check_choices` is the matching check.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

CHOICES_KEY = "choices"


def choice_field(default: Any = dataclasses.MISSING, choices: Iterable[str] = ()) -> Any:
    """A dataclass field with `default` whose allowed values are `choices` (a tuple in its metadata)."""
    return dataclasses.field(default=default, metadata={CHOICES_KEY: tuple(choices)})


def field_choices(field: dataclasses.Field) -> tuple[str, ...] | None:
    """The allowed values `choice_field` declared for `field`, or None for a free field."""
    return field.metadata.get(CHOICES_KEY)


def check_choices(config: Any, name: str, owner: str) -> None:
    """Raises ValueError naming `owner` if `config.<name>` is not one of its field's choices."""
    choices = field_choices(next(field for field in dataclasses.fields(config) if field.name == name))
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{owner}: `{name}` must be one of {choices}, got {value!r}")


def same_field(config_class: type, name: str) -> Any:
    """A field with the default and choices of `config_class`'s field `name` (defined there, once).

    For a config that gathers other configs' fields under its own names
    (`NetworkConfig.generator_depth` is `GeneratorConfig.depth`).
    """
    field = next(field for field in dataclasses.fields(config_class) if field.name == name)
    return dataclasses.field(default=field.default, default_factory=field.default_factory, metadata=field.metadata)


def check_minimum(config: Any, names: Iterable[str], minimum: int, owner: str) -> None:
    """ValueError naming the first field of `names` whose value is below `minimum`."""
    for name in names:
        if getattr(config, name) < minimum:
            raise ValueError(f"{owner}: `{name}` must be >= {minimum}, got {getattr(config, name)}")
