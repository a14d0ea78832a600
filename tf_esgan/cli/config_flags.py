"""Command-line flags generated from a job's config dataclass, so a field is defined once.

    FLAGS = define_config_flags(TrainConfig, renames={"lam": "lambda"})
    config = config_from_flags(TrainConfig, FLAGS)          # in main()

Every field of the (possibly nested) frozen dataclass becomes one flag named after the
field (a nested config's fields keep their own names, which must be unique), with the
field's default (for a nested config's field: its value in the parent's default instance,
e.g. a `default_factory`'s) and its help text taken from the class docstring's
`Attributes:` section.
A field without a default is a required flag. `--config=FILE` reads a JSON config (for
example a run's `config.json`) whose values replace the defaults; flags given on the
command line override it. A field whose values are a fixed set (declared on the field with
`config_fields.choice_field`) becomes an enum flag of exactly those values.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from absl import flags

from tf_esgan.config_fields import field_choices
from tf_esgan.errors import ConfigError

CONFIG_FLAG = "config"
_ATTRIBUTE_LINE = re.compile(r"^\s{4,8}([A-Za-z_][\w, /]*):\s(.*)$")


@dataclasses.dataclass(frozen=True)
class ConfigFlags:
    """The flags `define_config_flags` made: field path -> flag name, plus the --config flag."""

    config_class: type
    names: Mapping[tuple[str, ...], str]
    config_file: Any
    flag_values: flags.FlagValues


def attribute_help(config_class: type) -> dict[str, str]:
    """Field name -> its text in the class docstring's `Attributes:` section.

    Lines like "a, b: text" or "a / b: text" document several fields at once; indented
    continuation lines are joined.
    """
    helps, current = {}, []
    for line in (config_class.__doc__ or "").splitlines():
        match = _ATTRIBUTE_LINE.match(line)
        if match and not line.startswith(" " * 9):
            current = [name.strip() for name in re.split(r"[,/]", match.group(1)) if name.strip()]
            for name in current:
                helps[name] = match.group(2).strip()
        elif current and line.strip():
            for name in current:
                helps[name] += " " + line.strip()
        else:
            current = []
    return helps


def _leaf_type(annotation) -> tuple[type, bool]:
    """(int | float | str | bool | a dataclass, optional?) of a field annotation."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        annotation = members[0]
    return annotation, optional


def _fields(config_class: type, prefix: tuple[str, ...] = (), defaults: Any = None):
    """(path, field, type, optional, default) of every leaf field, depth first.

    `default` is the leaf's default: taken from the enclosing section's default instance
    (its field's default or default_factory) where there is one, so a section made with
    other values than its class's defaults (`NetworkConfig(dtype_policy="auto")`) gives
    those; MISSING for a required field.
    """
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        kind, optional = _leaf_type(hints[field.name])
        default = getattr(defaults, field.name) if defaults is not None else _default(field)
        if dataclasses.is_dataclass(kind):
            yield from _fields(kind, (*prefix, field.name), None if default is dataclasses.MISSING else default)
        else:
            yield (*prefix, field.name), field, kind, optional, default


def _default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def define_config_flags(config_class: type, *, exclude: tuple[str, ...] = (),
                        renames: Mapping[str, str] | None = None,
                        choices: Mapping[str, typing.Sequence[str]] | None = None,
                        helps: Mapping[str, str] | None = None,
                        flag_values: flags.FlagValues = flags.FLAGS) -> ConfigFlags:
    """Defines one absl flag per leaf field of `config_class` (see the module docstring).

    Args:
      config_class: a (nested) dataclass whose fields are int, float, str, bool (or
        optional ones) or dataclasses.
      exclude: field names that get no flag (the entry point sets them itself).
      renames: field name -> flag name, where the command line has its own word
        (`lam` -> `lambda`).
      choices: field name -> allowed values (an enum flag), for a field that declares none
        itself (`config_fields.choice_field`; a field's own choices are used otherwise).
      helps: field name -> help text, replacing the docstring's.
      flag_values: where the flags are defined (absl's global FLAGS by default).
    """
    renames, choices, helps = dict(renames or {}), dict(choices or {}), dict(helps or {})
    documented = {}
    for kind in {config_class, *(_nested_classes(config_class))}:
        # A section's shared fields are documented by the base class that defines them.
        for owner in reversed(kind.__mro__):
            documented.update(attribute_help(owner) if dataclasses.is_dataclass(owner) else {})
    names = {}
    for path, field, kind, _, default in _fields(config_class):
        if field.name in exclude:
            continue
        name = renames.get(field.name, field.name)
        if name in names.values():
            raise ValueError(f"{config_class.__name__}: two fields would both be the flag --{name}")
        required = default is dataclasses.MISSING
        default = None if required else default
        text = helps.get(field.name) or documented.get(field.name) or field.name.replace("_", " ")
        if required:
            text += " (required)"
        allowed = field_choices(field) or choices.get(field.name)
        if allowed:
            flags.DEFINE_enum(name, default, list(allowed), text, flag_values=flag_values)
        elif kind is bool:
            flags.DEFINE_bool(name, default, text, flag_values=flag_values)
        elif kind is int:
            flags.DEFINE_integer(name, default, text, flag_values=flag_values)
        elif kind is float:
            flags.DEFINE_float(name, default, text, flag_values=flag_values)
        elif kind is str:
            flags.DEFINE_string(name, default, text, flag_values=flag_values)
        else:
            raise TypeError(f"{config_class.__name__}.{field.name}: no flag type for {kind!r}")
        names[path] = name
    config_file = flags.DEFINE_string(CONFIG_FLAG, None, "JSON config (e.g. a run's config.json) "
                                      "whose values replace the defaults; flags given override it.",
                                      flag_values=flag_values)
    return ConfigFlags(config_class=config_class, names=names, config_file=config_file, flag_values=flag_values)


def _nested_classes(config_class: type):
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        kind, _ = _leaf_type(hints[field.name])
        if dataclasses.is_dataclass(kind):
            yield kind
            yield from _nested_classes(kind)


def _read_config_file(path: str) -> dict:
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"--{CONFIG_FLAG}={path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"--{CONFIG_FLAG}={path}: not a JSON config ({error})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"--{CONFIG_FLAG}={path}: expected a JSON object of config fields")
    return values


def _lookup(values: Mapping, path: tuple[str, ...]):
    """values[path...] for a nested dict, or values[leaf] for a flat one; KeyError if absent."""
    node = values
    for key in path:
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        else:
            break
    else:
        return node
    if path[-1] in values:
        return values[path[-1]]
    raise KeyError(path[-1])


def _build(config_class: type, values: Mapping[tuple[str, ...], Any], prefix: tuple[str, ...] = (),
           defaults: Any = None):
    """`config_class` from `values`; a field without a value keeps its (section's) default."""
    hints = typing.get_type_hints(config_class)
    arguments = {}
    for field in dataclasses.fields(config_class):
        kind, _ = _leaf_type(hints[field.name])
        path = (*prefix, field.name)
        if dataclasses.is_dataclass(kind):
            default = getattr(defaults, field.name) if defaults is not None else _default(field)
            arguments[field.name] = _build(kind, values, path, None if default is dataclasses.MISSING else default)
        elif path in values:
            arguments[field.name] = values[path]
        elif defaults is not None:
            arguments[field.name] = getattr(defaults, field.name)
    return config_class(**arguments)


def config_values(defined: ConfigFlags, **fixed) -> dict[tuple[str, ...], Any]:
    """Field path -> value: flag defaults, then --config's values, then flags given, then `fixed`."""
    from_file = _read_config_file(defined.config_file.value) if defined.config_file.value else {}
    values = {}
    for path, name in defined.names.items():
        flag = defined.flag_values[name]
        value = flag.value
        if not flag.present:
            try:
                value = _lookup(from_file, path)
            except KeyError:
                pass
        values[path] = value
    for name, value in fixed.items():
        paths = [path for path, *_ in _fields(defined.config_class) if path[-1] == name]
        if not paths:
            raise ValueError(f"{defined.config_class.__name__} has no field {name!r}")
        values[paths[0]] = value
    return values


def config_from_flags(defined: ConfigFlags, **fixed):
    """The config the command line describes (see `config_values`); field errors -> ConfigError."""
    values = config_values(defined, **fixed)
    missing = [defined.names[path] for path, value in values.items()
               if value is None and path in defined.names and _is_required(defined.config_class, path)]
    if missing:
        raise ConfigError(", ".join(f"--{name}" for name in missing) + (" is" if len(missing) == 1 else " are")
                          + f" required (or a --{CONFIG_FLAG} file that sets {'it' if len(missing) == 1 else 'them'})")
    try:
        return _build(defined.config_class, values)
    except (ValueError, TypeError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(str(error)) from None


def _is_required(config_class: type, path: tuple[str, ...]) -> bool:
    for candidate, _, _, _, default in _fields(config_class):
        if candidate == path:
            return default is dataclasses.MISSING
    return False
