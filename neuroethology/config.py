"""Typed experiment configs: YAML files and ``key=value`` overrides loaded into frozen dataclasses.

A config schema is a frozen ``dataclasses.dataclass`` whose fields are typed (``int``, ``float``, ``bool``,
``str``, ``Literal[...]``, ``tuple[T, ...]``, ``X | None``, ``dict[str, Any]`` or a nested dataclass for a
section). Loading checks the whole file against the schema and raises one :class:`ConfigError` (the package's
one error type for bad input, :class:`neuroethology.problems.ProblemsError`) that lists every problem, naming
the file and the dotted key, what was expected and what was found, and for a misspelt key or choice the
nearest valid one::

    configs/open_field.yaml is not a valid config (2 problems):
      - unknown key 'ppo.learnin_rate' (did you mean 'ppo.learning_rate'?); valid keys in 'ppo': ...
      - 'ppo.num_envs' must be an integer, got 'many'

Values are converted by the one typed converter, :func:`neuroethology.problems.convert`, which environment
parameters use too.

Overrides use dotted keys for nested sections and YAML for values (``ppo.learning_rate=1e-3``,
``agent.encoder.mlp_features=[128,128]``, ``env.params.reward_type=coverage``). A schema may define
``validate(self) -> list[str]`` for checks across fields; its problems join the same error.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

from .problems import ProblemsError, convert, join_key, type_name, unknown_name

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


class ConfigError(ProblemsError):
    """A config that does not fit its schema; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        super().__init__(source, problems, what="is not a valid config")


def _convert(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    """``value`` converted to the schema type ``tp`` (:func:`neuroethology.problems.convert`, sections built
    by :func:`_build`) or, with a problem appended, ``None``."""
    return convert(value, tp, where, problems, section=_build)


def _build(cls: type[T], data: Mapping[str, Any], prefix: str, problems: list[str]) -> T | None:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            problems.append(unknown_name("key", str(key), list(fields), prefix))
            continue
        kwargs[key] = _convert(value, hints[key], join_key(prefix, key), problems)
    for name, f in fields.items():
        if (
            name not in kwargs
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            problems.append(f"missing key '{join_key(prefix, name)}' ({type_name(hints[name])})")
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
