"""Typed experiment configs: YAML files and ``key=value`` overrides loaded into frozen dataclasses.

A config schema is a frozen ``dataclasses.dataclass`` whose fields are typed (``int``, ``float``, ``bool``,
``str``, ``Literal[...]``, ``tuple[T, ...]``, ``X | None``, ``dict[str, Any]`` or a nested dataclass for a
section). Loading checks the whole file against the schema and raises one ``ValueError`` that lists every
problem, naming the file and the dotted key, what was expected and what was found, and for a misspelt key or
choice the nearest valid one::

    configs/open_field.yaml: invalid config:
      - unknown key 'ppo.learnin_rate' (did you mean 'ppo.learning_rate'?)
      - 'ppo.num_envs' must be an integer, got 'many'

Overrides use dotted keys for nested sections and YAML for values (``ppo.learning_rate=1e-3``,
``agent.encoder.mlp_features=[128,128]``, ``env.params.reward_type=coverage``). A schema may define
``validate(self) -> list[str]`` for checks across fields; its problems join the same error.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

__all__ = [
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "parse_overrides",
    "dump_config",
    "ConfigError",
]

T = TypeVar("T")


class ConfigError(ValueError):
    """A config that does not fit its schema; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: invalid config:\n{lines}")


def _nearest(name: str, valid: Sequence[str], prefix: str = "") -> str:
    near = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{_join(prefix, near[0])}'?)" if near else ""


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin in (dict, Mapping):
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a section (mapping)"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _convert(value: Any, tp: Any, where: str, problems: list[str]) -> Any:  # noqa: C901 (one branch per field or format; to be split, issue 16)
    """``value`` converted to ``tp`` or, with a problem appended, ``None``."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            trial: list[str] = []
            out = _convert(value, arg, where, trial)
            if not trial:
                return out
        problems.append(f"'{where}' must be {_type_name(tp)}, got {value!r}")
        return None
    if origin is Literal:
        choices = typing.get_args(tp)
        if value in choices and type(value) is type(choices[0]):
            return value
        problems.append(
            f"'{where}' must be {_type_name(tp)}, got {value!r}"
            + (_nearest(value, [str(c) for c in choices]) if isinstance(value, str) else "")
        )
        return None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            problems.append(f"'{where}' must be a section (a mapping of keys), got {value!r}")
            return None
        return _build(tp, value, where, problems)
    if origin is tuple:
        args = typing.get_args(tp)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            problems.append(f"'{where}' must be {_type_name(tp)}, got {value!r}")
            return None
        item_types = [args[0]] * len(value) if (len(args) == 2 and args[1] is Ellipsis) else list(args)
        if len(item_types) != len(value):
            problems.append(f"'{where}' must have {len(item_types)} items, got {len(value)}")
            return None
        return tuple(
            _convert(v, t, f"{where}[{i}]", problems)
            for i, (v, t) in enumerate(zip(value, item_types, strict=True))
        )
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            problems.append(f"'{where}' must be a mapping, got {value!r}")
            return None
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            problems.append(f"'{where}' keys must be strings, got {bad}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"'{where}' must be true or false, got {value!r}")
        return None
    if tp is int:
        number = _as_number(value)
        if number is not None and float(number).is_integer() and math.isfinite(number):
            return int(number)
        problems.append(f"'{where}' must be an integer, got {value!r}")
        return None
    if tp is float:
        number = _as_number(value)
        if number is not None and math.isfinite(number):
            return float(number)
        problems.append(f"'{where}' must be a finite number, got {value!r}")
        return None
    if tp is str:
        if isinstance(value, str):
            return value
        problems.append(f"'{where}' must be a string, got {value!r}")
        return None
    raise TypeError(f"config schema: unsupported field type {tp!r} at '{where}'")


def _as_number(value: Any) -> float | int | None:
    """Numbers, and strings YAML 1.1 leaves unparsed such as ``3e-4`` or ``1e6``; never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return (
                int(value.replace("_", ""))
                if value.strip().lstrip("+-").replace("_", "").isdigit()
                else float(value)
            )
        except ValueError:
            return None
    return None


def _build(cls: type[T], data: Mapping[str, Any], prefix: str, problems: list[str]) -> T | None:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            near = _nearest(str(key), list(fields), prefix)
            problems.append(
                f"unknown key '{_join(prefix, str(key))}'{near}; valid keys"
                f"{' in ' + repr(prefix) if prefix else ''}: {', '.join(fields)}"
            )
            continue
        kwargs[key] = _convert(value, hints[key], _join(prefix, key), problems)
    for name, f in fields.items():
        if (
            name not in kwargs
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            problems.append(f"missing key '{_join(prefix, name)}' ({_type_name(hints[name])})")
    if any(v is None and _required_not_none(hints[k]) for k, v in kwargs.items()):
        return None
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        problems.append(f"section '{prefix or '<top level>'}': {e}")
        return None


def _required_not_none(tp: Any) -> bool:
    return not (typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp))


def config_from_dict(cls: type[T], data: Mapping[str, Any], *, source: str = "config") -> T:
    """Build ``cls`` from nested mappings, checking every key and type; ``ConfigError`` lists all problems."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, [f"expected a mapping of keys at the top level, got {type(data).__name__}"])
    problems: list[str] = []
    obj = _build(cls, data, "", problems)
    if not problems and obj is not None and hasattr(obj, "validate"):
        problems.extend(obj.validate())
    if problems or obj is None:
        raise ConfigError(source, problems or ["could not build the config"])
    return obj


def config_to_dict(obj: Any) -> Any:
    """Plain nested dicts/lists of a config (tuples become lists), ready for YAML or JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): config_to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [config_to_dict(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # NumPy / JAX scalars
        return obj.item()
    return obj


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading numbers as people write them: YAML 1.1 (PyYAML) takes ``1e3`` and
    ``1.0e38`` for strings (its floats need a dot and a signed exponent); YAML 1.2 and every user read them as
    numbers."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """``text`` parsed as YAML with numbers as written (``1e3``, ``1.0e38``; see :class:`_Loader`)."""
    return yaml.load(text, Loader=_Loader)  # a SafeLoader: builds plain values only


def parse_overrides(overrides: Sequence[str]) -> list[tuple[str, Any]]:
    """``["a.b=1", "c=[1, 2]"]`` -> ``[("a.b", 1), ("c", [1, 2])]`` (values parsed as YAML)."""
    parsed = []
    problems = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            problems.append(f"override {item!r} is not of the form key=value (dotted keys for sections)")
            continue
        try:
            value = parse_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            problems.append(f"override {item!r}: the value is not valid YAML ({e.__class__.__name__})")
            continue
        parsed.append((key, value))
    if problems:
        raise ConfigError("command line", problems)
    return parsed


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``data`` with ``key=value`` overrides applied (sections are created as needed; whether a key
    is valid is checked when the result is loaded into its schema)."""
    out = _deepcopy(data)
    problems = []
    for key, value in parse_overrides(overrides):
        parts = key.split(".")
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append(f"override '{key}': '{'.'.join(parts[: i + 1])}' is a value, not a section")
                break
            node = child
        else:
            node[parts[-1]] = value
    if problems:
        raise ConfigError("command line", problems)
    return out


def _deepcopy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deepcopy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deepcopy(v) for v in data]
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``, or a ``ValueError`` naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a YAML text file (byte {e.start} is not UTF-8 text)") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        raise ValueError(f"{path} is empty: expected a YAML mapping of settings (see the files in configs/)")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def load_config(path: str | Path, overrides: Sequence[str] = (), *, schema: type[T]) -> T:
    """Read ``path`` (YAML), apply ``key=value`` overrides and build ``schema``; all problems in one error."""
    data = apply_overrides(read_yaml(path), overrides)
    source = str(path) + (" with overrides " + " ".join(overrides) if overrides else "")
    return config_from_dict(schema, data, source=source)


def dump_config(obj: Any, path: str | Path) -> None:
    """Write a config (dataclass) as YAML, sections in schema order."""
    Path(path).write_text(yaml.safe_dump(config_to_dict(obj), sort_keys=False, default_flow_style=None))
