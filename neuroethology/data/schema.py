"""The names the Recording data model is written in, for every module of :mod:`neuroethology.data` (this
module imports none of them): dims and their movement 0.15 plural forms, each individual's own clock and
the seconds a sample stands for, the neural layout (described in :mod:`neuroethology.data.neural`) and its
checks, the arena checks and attrs (an arena is valid when ``neuroethology.envs.arena.resolve_arena`` says
so: one definition for environments and Recordings), the JSON encoding of structured attrs, and the error that reports every problem at once."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..envs.arena import ArenaError, resolve_arena
from ..problems import ProblemsError

__all__ = [
    "ACTIVITY_DIMS",
    "ARENA_SHAPES",
    "AS_RECORDED",
    "CONFIDENCE_DIMS",
    "FRAMES",
    "JSON_ATTRS_KEY",
    "KINDS",
    "PLURAL_DIMS",
    "POSITION_DIMS",
    "SEGMENT_DIMS",
    "SINGULAR_DIMS",
    "SOURCES",
    "SPACE_UNITS",
    "SPIKE_VARIABLES",
    "SAMPLED",
    "TIME_SAMPLINGS",
    "RecordingError",
    "arena_attrs",
    "arena_of",
    "arena_problems",
    "decode_attrs",
    "describe_source",
    "encode_attrs",
    "jsonable",
    "keep_own_spikes",
    "neural_problems",
    "normalise_dims",
    "on_own_clock",
    "own_clock_fps",
    "own_rows",
    "sample_durations",
    "singular_dims",
    "spike_layout",
    "spike_problems",
    "stored_arena_problems",
    "resolve_recording_arena",
    "time_sampling",
]

POSITION_DIMS = ("time", "space", "keypoint", "individual")
CONFIDENCE_DIMS = ("time", "keypoint", "individual")
SEGMENT_DIMS = ("time", "individual")
ARENA_SHAPES = ("box", "circle", "polygon", "unknown")
SPACE_UNITS = ("m", "pixels")
#: movement 0.15 names the pose dims in the plural; movement >= 0.16 and Recordings use the singular.
SINGULAR_DIMS = {"keypoints": "keypoint", "individuals": "individual"}
PLURAL_DIMS = {v: k for k, v in SINGULAR_DIMS.items()}

# attrs["time_sampling"]: what the time axis is.
#: whole frames of attrs["fps"] (stated by the file or the user): a missing frame is an untracked sample.
FRAMES = "frames"
#: the file's own time stamps, no frame rate stated: intervals vary, attrs["fps"] is nominal (1 / the median
#: interval), and a long interval is one step of the animal, never a tracking gap.
AS_RECORDED = "as recorded"
TIME_SAMPLINGS = (FRAMES, AS_RECORDED)
#: ``activity.attrs["kind"]`` -> the ``units`` attr it implies (:mod:`neuroethology.data.neural`).
KINDS: dict[str, str] = {"rate": "Hz", "dff": "1", "counts": "count", "model": "a.u."}
SOURCES = ("recorded", "model")
ACTIVITY_DIMS = ("time", "unit", "individual")
#: One entry per spike on the ``spike`` dim; ``spike_unit.attrs["unit_order"]``: ``{individual: [labels]}``.
SPIKE_VARIABLES = ("spike_time", "spike_unit", "spike_individual")
#: the variable ``sampled (time, individual)`` of a Recording whose individuals were fixed at their own times.
SAMPLED = "1 where this individual has a fix at this time, 0 where the time is another individual's fix"


def time_sampling(rec: xr.Dataset) -> str:
    """``"frames"`` or ``"as recorded"`` (see :data:`AS_RECORDED`); Recordings without the attr are frames."""
    return str(rec.attrs.get("time_sampling", FRAMES))


def own_rows(rec: xr.Dataset, individual: int) -> np.ndarray:
    """``(time,)`` bool: the samples of the ``individual``-th individual's own clock (all of them unless the
    Recording has ``sampled``)."""
    if "sampled" not in rec.data_vars:
        return np.ones(rec.sizes["time"], bool)
    return np.asarray(rec["sampled"].values[:, individual], bool)


def on_own_clock(rec: xr.Dataset, individual: int) -> xr.Dataset:
    """The ``individual``-th individual alone (``individual`` dim of size 1), at its own fixes only and without
    ``sampled`` where individuals have their own clocks; else just that individual."""
    one = keep_own_spikes(rec.isel(individual=[individual]))
    if "sampled" not in rec.data_vars:
        return one
    return one.isel(time=np.flatnonzero(own_rows(rec, individual))).drop_vars("sampled")


def own_clock_fps(time: np.ndarray, sampled: np.ndarray) -> float | None:
    """The nominal frame rate of individuals fixed at their own times: 1 / the median interval between
    consecutive fixes of the same individual (the shared axis's intervals mix the clocks)."""
    steps = np.concatenate([np.diff(time[sampled[:, i]]) for i in range(sampled.shape[1])])
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return float(f"{1.0 / float(np.median(steps)):.9g}") if steps.size else None


def sample_durations(
    time: np.ndarray,
    fps: float,
    *,
    as_recorded: bool,
    tracked: np.ndarray | None = None,
    labels: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """``(n,)`` seconds each sample of one individual's own clock stands for (sample ``i`` covers
    ``[t_i, t_i + d_i)``): the weights of time-based averages and the bins of spike counts.

    Frames: one frame, ``1 / fps``. Time as recorded (:data:`AS_RECORDED`): the interval to the next sample
    when both lie in one run, else (the last sample of a run, one before a gap) the nominal ``1 / fps``. Two
    consecutive samples share a run when both are ``tracked`` and no array of ``labels`` changes between
    them (a ``segment`` or ``episode`` change, or a run index that is -1 off the runs).

    Args:
        time: ``(n,)`` seconds, increasing.
        fps: the nominal frame rate, Hz (``attrs["fps"]``).
        as_recorded: whether ``time`` keeps the file's own irregular stamps (``time_sampling``).
        tracked: ``(n,)`` bool, samples that belong to a run (default: all).
        labels: ``(n,)`` arrays whose change between two samples ends a run.
    """
    time = np.asarray(time, float)
    out = np.full(time.shape, 1.0 / float(fps))
    if not as_recorded or time.size < 2:
        return out
    same = np.ones(time.size - 1, bool) if tracked is None else np.asarray(tracked, bool)
    if tracked is not None:
        same = same[1:] & same[:-1]
    for lab in labels:
        lab = np.asarray(lab)
        same = same & (lab[1:] == lab[:-1])
    out[:-1] = np.where(same, np.diff(time), out[:-1])
    return out


# ---------------------------------------------------------------------------------------------- neural


def spike_layout(
    times: np.ndarray, units: np.ndarray, individuals: np.ndarray, unit_order: Mapping[str, Sequence[str]]
) -> dict[str, xr.Variable]:
    """The spike variables (:data:`SPIKE_VARIABLES`) of spikes given in any order, in the layout's one order:
    by time, ties by individual, then unit label (what :func:`~neuroethology.data.neural.add_spikes`,
    selection and the NWB reader all write, so a round trip returns the very same arrays)."""
    times = np.asarray(times, np.float64)
    units, individuals = np.asarray(units).astype(str), np.asarray(individuals).astype(str)
    keep = np.lexsort((units, individuals, times))
    order = {str(k): [str(u) for u in v] for k, v in unit_order.items()}
    return {
        "spike_time": xr.Variable(
            "spike", times[keep], {"units": "s", "long_name": "spike time on the Recording's clock"}
        ),
        "spike_unit": xr.Variable(
            "spike", units[keep], {"long_name": "unit of the spike", "unit_order": order}
        ),
        "spike_individual": xr.Variable(
            "spike", individuals[keep], {"long_name": "individual whose unit fired"}
        ),
    }


def keep_own_spikes(rec: xr.Dataset) -> xr.Dataset:
    """``rec`` with the spikes and ``unit_order`` entries of its own individuals only (after individuals
    were selected); without spike variables when none of them has units."""
    if "spike_unit" not in rec.data_vars or "individual" not in rec.coords:
        return rec
    names = [str(v) for v in rec["individual"].values]
    order = dict(rec["spike_unit"].attrs.get("unit_order", {}))
    who = rec["spike_individual"].values.astype(str)
    if set(order) <= set(names) and set(who.tolist()) <= set(names):
        return rec
    mine = np.isin(who, names)
    kept = {k: v for k, v in order.items() if k in names}
    out = rec.drop_vars(list(SPIKE_VARIABLES))
    if not kept:
        return out
    values = {v: rec[v].values[mine] for v in SPIKE_VARIABLES}
    layout = spike_layout(values["spike_time"], values["spike_unit"], values["spike_individual"], kept)
    return out.assign(layout)


def spike_problems(times: np.ndarray, units: np.ndarray, label: str) -> list[str]:
    """Problems of spike arrays: shapes, finite seconds, non-decreasing within each unit."""
    if times.ndim != 1 or units.shape != times.shape:
        return [
            f"{label}: spike_times and unit ids must be 1-D arrays of one length, got shapes "
            f"{times.shape} and {units.shape}"
        ]
    if not np.issubdtype(times.dtype, np.number):
        return [f"{label}: spike_times must be numeric seconds, got dtype {times.dtype}"]
    problems = []
    bad = ~np.isfinite(times.astype(float))
    if bad.any():
        problems.append(
            f"{label}: spike_times has {int(bad.sum())} non-finite values; expected finite seconds"
        )
    for unit in np.unique(units):
        t = times[units == unit]
        back = np.flatnonzero(np.diff(t) < 0)
        if back.size:
            problems.append(
                f"{label}: spike_times: expected non-decreasing seconds per unit, found unit {str(unit)!r} "
                f"going back {back.size} times (first at its spike {int(back[0]) + 1}: "
                f"{float(t[back[0]]):g} -> {float(t[back[0] + 1]):g} s)"
            )
    return problems


def neural_problems(rec: xr.Dataset) -> list[str]:
    """Every way the neural variables of ``rec`` (``activity``, the spikes) depart from the layout of
    :mod:`neuroethology.data.neural`, each naming the field (empty when there are none or all fit)."""
    problems = []
    if "activity" in rec:
        var = rec["activity"]
        if var.dims != ACTIVITY_DIMS or not np.issubdtype(var.dtype, np.floating):
            problems.append(f"activity must be float with dims {ACTIVITY_DIMS}, got {var.dtype} {var.dims}")
        if var.attrs.get("kind") not in KINDS or var.attrs.get("source") not in SOURCES:
            problems.append(
                f"activity.attrs: kind must be one of {list(KINDS)} and source one of {list(SOURCES)}, got "
                f"{var.attrs.get('kind')!r} and {var.attrs.get('source')!r}"
            )
    present = [v for v in SPIKE_VARIABLES if v in rec]
    if present and len(present) < len(SPIKE_VARIABLES):
        problems.append(f"spikes need all of {list(SPIKE_VARIABLES)}, found only {present}")
    elif present:
        problems += _spike_layout_problems(rec)
    return problems


def _spike_layout_problems(rec: xr.Dataset) -> list[str]:
    if any(rec[v].dims != ("spike",) for v in SPIKE_VARIABLES):
        return [
            f"{list(SPIKE_VARIABLES)} must each have dims ('spike',), got "
            f"{[rec[v].dims for v in SPIKE_VARIABLES]}"
        ]
    who, unit = rec["spike_individual"].values.astype(str), rec["spike_unit"].values.astype(str)
    problems = [
        p.replace("\\x1f", "/")
        for p in spike_problems(
            np.asarray(rec["spike_time"].values), np.char.add(np.char.add(who, "\x1f"), unit), "spike_time"
        )
    ]
    names = {str(v) for v in rec["individual"].values} if "individual" in rec.coords else set()
    stray = set(who.tolist()) - names
    if stray:
        problems.append(f"spike_individual names {sorted(stray)}, which are not individuals")
    order = rec["spike_unit"].attrs.get("unit_order")
    if not isinstance(order, Mapping) or not all(isinstance(v, list | tuple) for v in order.values()):
        problems.append(
            f"spike_unit.attrs['unit_order'] must be {{individual: [unit labels]}}, got {order!r}"
        )
        return problems
    unlisted = sorted(
        {f"{i}/{u}" for i, u in zip(who, unit, strict=True)}
        - {f"{i}/{u}" for i, labels in order.items() for u in labels}
    )
    if unlisted:
        problems.append(f"spike_unit: units {unlisted[:10]} are not in unit_order (individual/unit)")
    return problems


class RecordingError(ProblemsError):
    """Every problem found in one input, raised together (the package's one error type for bad input,
    :class:`neuroethology.problems.ProblemsError`, about a recording or a file).

    Attributes:
        source: the file (or ``"<in-memory recording>"``) the problems are about.
        problems: one line per problem, each saying what was expected and what was found.
    """

    def __init__(self, source: str, problems: Sequence[str], *, what: str = "is not a valid Recording"):
        super().__init__(str(source), problems, what=what)


def describe_source(source_file: str) -> str:
    """How messages name a source: the file, or ``<in-memory recording>``."""
    return source_file if source_file else "<in-memory recording>"


# ---------------------------------------------------------------------------------------------------- dims


def singular_dims(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with movement 0.15's plural dims (``keypoints``, ``individuals``) renamed to the singular."""
    both = [d for d in SINGULAR_DIMS if d in ds.dims and SINGULAR_DIMS[d] in ds.dims]
    if both:
        raise ValueError(f"the dataset has both plural and singular dims ({both} and their singular forms)")
    return ds.rename({k: v for k, v in SINGULAR_DIMS.items() if k in ds.dims or k in ds.coords})


def normalise_dims(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with singular dim names (:func:`singular_dims`) and ``position``, ``confidence`` and ``segment``
    in the data model's dim order, where they hold the right dims in another order."""
    ds = singular_dims(ds)
    for name, dims in (
        ("position", POSITION_DIMS),
        ("confidence", CONFIDENCE_DIMS),
        ("segment", SEGMENT_DIMS),
    ):
        if name in ds.data_vars and ds[name].dims != dims and set(ds[name].dims) == set(dims):
            ds = ds.assign({name: ds[name].transpose(*dims)})
    return ds


# --------------------------------------------------------------------------------------------------- arena
#
# One definition of a valid arena: neuroethology.envs.arena.resolve_arena (DESIGN.md, "Arenas"), which takes
# a preset name, a YAML/JSON file, a mapping in metres, a movement PolygonOfInterest or a camera view in
# pixels and returns the canonical mapping (boundary, holes, walls, regions; a box's or circle's shape and
# size). A Recording stores a bare box or circle as before (arena_shape "box" with arena_width/arena_height,
# the box spanning [0, W] x [0, H], or "circle" with arena_radius, centred at (R, R)); a box or circle with
# regions the same way plus ``arena``, the canonical mapping as JSON, so that readers which know only boxes
# and circles still see one; any other arena (a boundary polygon, or a box or circle with holes or walls,
# whose walls are then not only the box's) as arena_shape "polygon" with ``arena`` and its bounding box's
# size as arena_width/arena_height; no arena as arena_shape "unknown". The JSON is checked once per text
# (every analysis call validates its Recording).

_SHORTHAND_SIZES = {"box": ("width", "height"), "circle": ("radius",), "unknown": ()}
_FIELD = re.compile(
    r"^(shape|width|height|radius|boundary|holes|walls|regions|pixels|size_m)((?:\[[^\]]*\])*):"
)


def _is_unknown(arena: Any) -> bool:
    return isinstance(arena, Mapping) and arena.get("shape") == "unknown"


def _named(err: ArenaError) -> list[str]:
    """The problems of ``err`` as data's messages write them: a mapping's field as ``arena['holes'][1]``,
    another source (a preset, a file, JSON text) named in front."""
    problems = err.problems
    if err.source == "arena= (a mapping)":
        return [_FIELD.sub(lambda m: f"arena[{m.group(1)!r}]{m.group(2)}:", p, count=1) for p in problems]
    return [f"{err.source}: {p}" for p in problems]


def resolve_recording_arena(spec: Any, problems: list[str]) -> dict[str, Any] | None:
    """The canonical arena mapping of ``spec`` (any form ``neuroethology.envs.arena.resolve_arena`` takes: a
    preset name, a YAML/JSON file, a mapping, a movement ``PolygonOfInterest``, a camera view in pixels),
    or ``None`` for ``None`` and ``{"shape": "unknown"}``; invalid: ``None`` with every problem appended to
    ``problems``, each naming the field (``arena['holes'][1]``) or the file, and what was expected."""
    if spec is None:
        return None
    if _is_unknown(spec):
        extra = sorted(set(spec) - {"shape"})
        if extra:
            problems.append(
                f"arena has keys {extra} that an unknown arena does not use (expected only 'shape')"
            )
        return None
    try:
        return resolve_arena(spec)
    except ArenaError as err:
        problems.extend(_named(err))
        return None


def arena_problems(arena: Any) -> list[str]:
    """Every problem of an arena (``None`` and ``{"shape": "unknown"}`` mean unknown; anything else is checked
    by ``neuroethology.envs.arena.resolve_arena``: box and circle shorthands, polygons, presets, files)."""
    problems: list[str] = []
    resolve_recording_arena(arena, problems)
    return problems


def arena_attrs(arena: Any) -> dict[str, Any]:
    """The ``arena*`` attrs of a valid arena (any form :func:`resolve_recording_arena` takes; ``None``:
    unknown), read back by :func:`arena_of`.

    Raises:
        ArenaError (a ValueError): an invalid arena (check with :func:`arena_problems` first).
    """
    if arena is None or _is_unknown(arena):
        return {"arena_shape": "unknown"}
    mapping = resolve_arena(arena)
    shape = mapping.get("shape")
    if shape in ("box", "circle") and not (mapping["holes"] or mapping["walls"]):
        attrs: dict[str, Any] = {"arena_shape": shape}
        attrs.update({f"arena_{key}": float(mapping[key]) for key in _SHORTHAND_SIZES[shape]})
        if mapping["regions"]:
            attrs["arena"] = json.dumps(mapping, separators=(",", ":"))
        return attrs
    lower, upper = _bounds(mapping)
    return {
        "arena_shape": "polygon",
        "arena_width": upper[0] - lower[0],
        "arena_height": upper[1] - lower[1],
        "arena": json.dumps(mapping, separators=(",", ":")),
    }


def _bounds(mapping: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """Lower-left and upper-right corners (m) of the bounding box of a canonical mapping's boundary."""
    pts = np.asarray(mapping["boundary"], dtype=np.float64)
    return pts.min(axis=0).tolist(), pts.max(axis=0).tolist()


def _stored_mapping(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The canonical mapping in ``attrs["arena"]`` (JSON text, or the mapping itself after decoding)."""
    raw = attrs.get("arena")
    if raw is None:
        return None
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def arena_of(rec: xr.Dataset) -> dict[str, Any] | None:
    """The arena geometry stored in a Recording's attrs.

    Returns:
        A bare box or circle as ``{"shape": "box", "width": W, "height": H}`` (m; the box spans
        ``[0, W] x [0, H]``) or ``{"shape": "circle", "radius": R}`` (m; centred at ``(R, R)``); any other
        arena (a polygon, or a box or circle with regions, holes or walls) as its canonical mapping
        (``neuroethology.envs.arena.resolve_arena``: ``boundary``, ``holes``, ``walls``, ``regions``, and a
        box's or circle's ``shape`` and size); ``None`` when the arena is unknown.
    """
    shape = rec.attrs.get("arena_shape", "unknown")
    if shape in ("box", "circle", "polygon") and rec.attrs.get("arena") is not None:
        return _stored_mapping(rec.attrs)
    if shape == "box":
        return {
            "shape": "box",
            "width": float(rec.attrs["arena_width"]),
            "height": float(rec.attrs["arena_height"]),
        }
    if shape == "circle":
        return {"shape": "circle", "radius": float(rec.attrs["arena_radius"])}
    return None


def stored_arena_problems(attrs: Mapping[str, Any]) -> list[str]:
    """Every problem of a Recording's arena attrs (``arena_shape`` one of :data:`ARENA_SHAPES`; the sizes of
    a box or circle; for ``"polygon"``, and wherever ``arena`` is stored, a valid canonical mapping that
    agrees with ``arena_shape`` and the sizes)."""
    shape = attrs.get("arena_shape", "unknown")
    if shape not in ARENA_SHAPES:
        return [f"attrs['arena_shape'] must be one of {ARENA_SHAPES}, got {shape!r}"]
    problems: list[str] = []
    sizes = ("width", "height") if shape == "polygon" else _SHORTHAND_SIZES[shape]
    for key in sizes:
        value = attrs.get(f"arena_{key}")
        if not isinstance(value, int | float | np.number) or not (math.isfinite(value) and value > 0):
            problems.append(
                f"attrs: arena['{key}'] must be a positive number of metres for a {shape}, got {value!r}"
            )
    if attrs.get("arena") is None:
        if shape == "polygon":
            problems.append("attrs['arena'] must hold the polygon arena's mapping as JSON; it is missing")
        return problems
    if shape == "unknown":
        return [*problems, "attrs['arena'] holds an arena but attrs['arena_shape'] is 'unknown'"]
    return problems + _json_problems(attrs, shape)


def _json_problems(attrs: Mapping[str, Any], shape: str) -> list[str]:
    raw = attrs["arena"]
    text = raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"), default=_plain)
    found, mapping = _checked_json(text)
    if found:
        return [f"attrs['arena']: {p}" for p in found]
    assert mapping is not None
    lower, upper = _bounds(mapping)
    expected = {"width": upper[0] - lower[0], "height": upper[1] - lower[1]}
    if shape != "polygon":
        if mapping.get("shape") != shape or mapping["holes"] or mapping["walls"]:
            return [
                f"attrs['arena'] is not a {shape} with regions (holes or walls, or another shape), but "
                f"attrs['arena_shape'] is {shape!r}; expected 'polygon'"
            ]
        expected = {key: mapping[key] for key in _SHORTHAND_SIZES[shape]}
    return [
        f"attrs['arena_{key}'] is {attrs.get(f'arena_{key}')!r} but the stored arena's is {value:g} m"
        for key, value in expected.items()
        if not isinstance(attrs.get(f"arena_{key}"), int | float | np.number)
        or not math.isclose(float(attrs[f"arena_{key}"]), value, rel_tol=1e-9, abs_tol=1e-12)
    ]


@functools.lru_cache(maxsize=64)
def _checked_json(text: str) -> tuple[tuple[str, ...], dict[str, Any] | None]:
    """(problems, canonical mapping) of an arena's JSON text: checked once per text (every analysis call
    validates its Recording)."""
    try:
        return (), resolve_arena(json.loads(text))
    except json.JSONDecodeError as err:
        return (f"not valid JSON: {err}",), None
    except ArenaError as err:
        return tuple(err.problems), None


def _plain(value: Any) -> Any:
    """NumPy values in a decoded mapping as JSON writes them."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


# ---------------------------------------------------------------------------------------------- JSON attrs


def jsonable(value: Any) -> Any:
    """Plain Python (JSON-serialisable) copy of nested dicts/lists of numpy scalars and arrays."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


JSON_ATTRS_KEY = "_json_attrs"  # names of the attrs that encode_attrs stored as JSON strings


def encode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attrs a netCDF file can hold: structured values (dicts, lists, booleans, ``None``) as JSON strings,
    named in ``attrs[JSON_ATTRS_KEY]``; paths as strings. :func:`decode_attrs` undoes it."""
    out: dict[str, Any] = {}
    encoded = []
    for key, value in attrs.items():
        if isinstance(value, Mapping | list | tuple | bool | np.bool_) or value is None:
            out[key] = json.dumps(jsonable(value))
            encoded.append(key)
        elif isinstance(value, Path):
            out[key] = str(value)
        else:
            out[key] = value
    if encoded:
        out[JSON_ATTRS_KEY] = json.dumps(encoded)
    return out


def decode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The attrs :func:`encode_attrs` stored, with numpy scalars as Python numbers."""
    out = dict(attrs)
    encoded = out.pop(JSON_ATTRS_KEY, None)
    for key in json.loads(encoded) if isinstance(encoded, str) else []:
        if key in out:
            out[key] = json.loads(out[key])
    for key, value in list(out.items()):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            out[key] = value.item()
        elif isinstance(value, np.generic):
            out[key] = value.item()
    return out
