"""One error type for every validator, and one typed converter for the values users write.

Every check of user input in the package (experiment configs, environment parameters, recordings and load
options) gathers *all* the problems it finds, one sentence each saying what was expected and what was found,
and raises them together as a :class:`ProblemsError` naming the source (a file, a command line, an
environment id)::

    configs/open_field.yaml is not a valid config (2 problems):
      - unknown key 'ppo.learnin_rate' (did you mean 'ppo.learning_rate'?); valid keys in 'ppo': ...
      - 'ppo.num_envs' must be an integer, got 'many'

:func:`convert` turns one value (from YAML, JSON, a ``key=value`` override or a Python call) into the type a
dataclass field declares, appending a problem instead of raising; configs and environment parameters both
use it, so ``1e3`` is a number and ``1.5`` is not an integer everywhere.

This module is a leaf: it imports nothing of the package, so that every layer, ``envs`` included, may use it
(DESIGN.md, "Layers").
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

import numpy as np

__all__ = [
    "ProblemsError",
    "convert",
    "did_you_mean",
    "join_key",
    "summarise_error",
    "type_name",
    "unknown_name",
]


class ProblemsError(ValueError):
    """Every problem found in one input, raised together.

    Attributes:
        source: what the problems are about (a file, ``"command line"``, an environment id).
        problems: one sentence per problem, each saying what was expected and what was found.
    """

    def __init__(self, source: str, problems: Sequence[str], *, what: str = "is not valid") -> None:
        self.source = str(source)
        self.problems = [str(p) for p in problems]
        self.what = what
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{self.source} {what} ({n} problem{'s' if n != 1 else ''}):\n{lines}")


def summarise_error(err: BaseException) -> str:
    """One line about an exception a library raised (its type and at most 300 characters of its message),
    for a problem that says why a file or a checkpoint could not be read."""
    text = " ".join(str(err).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def did_you_mean(name: str, valid: Sequence[str], prefix: str = "") -> str:
    """``" (did you mean 'prefix.nearest'?)"`` for the valid name nearest ``name``, or ``""``."""
    near = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{join_key(prefix, near[0])}'?)" if near else ""


def unknown_name(kind: str, name: str, valid: Sequence[str], prefix: str = "") -> str:
    """The problem of an unknown key or parameter: the nearest valid name, then all of them."""
    where = f" in {prefix!r}" if prefix else ""
    return (
        f"unknown {kind} '{join_key(prefix, name)}'{did_you_mean(name, valid, prefix)}; "
        f"valid {kind}s{where}: {', '.join(valid)}"
    )


def join_key(prefix: str, name: str) -> str:
    """The dotted key of ``name`` in the section ``prefix`` (``"ppo.learning_rate"``)."""
    return f"{prefix}.{name}" if prefix else name


def type_name(tp: Any) -> str:
    """How a message names a field type (``"an integer"``, ``"one of 'a', 'b'"``, ``"a list of a number"``)."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"a list of {type_name(typing.get_args(tp)[0])}"
    if tp is tuple:
        return "a list"
    if origin in (dict, Mapping):
        return "a mapping"
    if tp is type(None):
        return "null"
    if dataclasses.is_dataclass(tp):
        return "a section (mapping)"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


#: Builds a nested dataclass section: ``(cls, mapping, where, problems) -> instance or None``.
SectionBuilder = Callable[[type, Mapping[str, Any], str, list[str]], Any]


def convert(
    value: Any, tp: Any, where: str, problems: list[str], *, section: SectionBuilder | None = None
) -> Any:
    """``value`` converted to the field type ``tp`` or, with a problem about ``where`` appended, ``None``.

    Types: ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``tuple`` and ``tuple[T, ...]`` (from any
    list), ``X | None``, ``dict[str, Any]``, ``Any``, and nested dataclasses when ``section`` builds them.
    Numbers are read as people write them: ``1e3`` (a string to YAML 1.1) is a number, ``2.0`` an integer,
    ``1.5`` not; booleans are never numbers; non-finite numbers are refused.
    """
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(value, tp, where, problems, section)
    if origin is Literal:
        return _convert_choice(value, tp, where, problems)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            problems.append(f"'{where}' must be a section (a mapping of keys), got {value!r}")
            return None
        if section is None:
            raise TypeError(f"no builder for the section {tp.__name__} at '{where}'")
        return section(tp, value, where, problems)
    if origin is tuple or tp is tuple:
        return _convert_sequence(value, tp, where, problems, section)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return _convert_mapping(value, where, problems)
    if tp in _SCALARS:
        return _SCALARS[tp](value, where, problems)
    raise TypeError(f"unsupported field type {tp!r} at '{where}'")


def _convert_union(value: Any, tp: Any, where: str, problems: list[str], section: Any) -> Any:
    args = typing.get_args(tp)
    if value is None and type(None) in args:
        return None
    for arg in args:
        if arg is type(None):
            continue
        trial: list[str] = []
        out = convert(value, arg, where, trial, section=section)
        if not trial:
            return out
    problems.append(f"'{where}' must be {type_name(tp)}, got {value!r}")
    return None


def _convert_choice(value: Any, tp: Any, where: str, problems: list[str]) -> Any:
    choices = typing.get_args(tp)
    if value in choices and type(value) is type(choices[0]):
        return value
    hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
    problems.append(f"'{where}' must be {type_name(tp)}, got {value!r}{hint}")
    return None


def _convert_sequence(value: Any, tp: Any, where: str, problems: list[str], section: Any) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        problems.append(f"'{where}' must be {type_name(tp)}, got {value!r}")
        return None
    args = typing.get_args(tp)
    if not args:  # a bare ``tuple``: any items (static environment parameters)
        return tuple(value)
    item_types = [args[0]] * len(value) if (len(args) == 2 and args[1] is Ellipsis) else list(args)
    if len(item_types) != len(value):
        problems.append(f"'{where}' must have {len(item_types)} items, got {len(value)}")
        return None
    return tuple(
        convert(v, t, f"{where}[{i}]", problems, section=section)
        for i, (v, t) in enumerate(zip(value, item_types, strict=True))
    )


def _convert_mapping(value: Any, where: str, problems: list[str]) -> Any:
    if not isinstance(value, Mapping):
        problems.append(f"'{where}' must be a mapping, got {value!r}")
        return None
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        problems.append(f"'{where}' keys must be strings, got {bad}")
    return dict(value)


def _to_bool(value: Any, where: str, problems: list[str]) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    problems.append(f"'{where}' must be true or false, got {value!r}")
    return None


def _to_int(value: Any, where: str, problems: list[str]) -> int | None:
    number = _as_number(value)
    if number is not None and math.isfinite(number) and float(number).is_integer():
        return int(number)
    problems.append(f"'{where}' must be an integer, got {value!r}")
    return None


def _to_float(value: Any, where: str, problems: list[str]) -> float | None:
    number = _as_number(value)
    if number is None:
        problems.append(f"'{where}' must be a number, got {value!r}")
    elif not math.isfinite(number):
        problems.append(f"'{where}' must be a finite number, got {value!r}")
    else:
        return float(number)
    return None


def _to_str(value: Any, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str):
        return value
    problems.append(f"'{where}' must be a string, got {value!r}")
    return None


_SCALARS: dict[type, Callable[[Any, str, list[str]], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
}


def _as_number(value: Any) -> float | int | None:
    """Numbers (NumPy's too), and strings YAML 1.1 leaves unparsed such as ``3e-4`` or ``1e6``; never
    booleans."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            return None
    return None
