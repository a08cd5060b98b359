"""The Recording data model: construction, validation and the attributes every Recording carries.

A Recording is an :class:`xarray.Dataset` in movement's "poses" layout with the singular dim names
(``keypoint``, ``individual``), time in seconds and space in metres; see the package docstring of
:mod:`neuroethology.data` for a printed example.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack

import numpy as np
import xarray as xr

from .arenas import lab_arena
from .schema import (
    ARENA_SHAPES,
    CONFIDENCE_DIMS,
    FRAMES,
    POSITION_DIMS,
    SEGMENT_DIMS,
    SINGULAR_DIMS,
    SPACE_UNITS,
    TIME_SAMPLINGS,
    RecordingError,
    arena_attrs,
    arena_of,
    describe_source,
    jsonable,
    neural_problems,
    normalise_dims,
    stored_arena_problems,
)

__all__ = [
    "ARENA_SHAPES",
    "CONFIDENCE_DIMS",
    "POSITION_DIMS",
    "RecordingError",
    "add_processing_step",
    "arena_of",
    "as_recording",
    "from_arrays",
    "processing_of",
    "recording_problems",
    "time_problems",
    "validate",
]

# ---------------------------------------------------------------------------------------------- processing


def processing_of(rec: xr.Dataset) -> list[dict[str, Any]]:
    """The processing steps recorded in ``rec.attrs["processing"]`` (a JSON list), oldest first."""
    raw = rec.attrs.get("processing", "[]")
    steps = json.loads(raw) if isinstance(raw, str) else list(raw)
    return steps


def add_processing_step(rec: xr.Dataset, step: Mapping[str, Any]) -> xr.Dataset:
    """A copy of ``rec`` whose ``attrs["processing"]`` ends with ``step`` (a JSON-serialisable dict with a
    ``"step"`` key naming what was done, e.g.
    ``{"step": "interpolate", "max_gap_s": 0.1, "n_filled": 12}``)."""
    if "step" not in step:
        raise ValueError(f"a processing step needs a 'step' key naming what was done, got {dict(step)!r}")
    out = rec.copy()
    out.attrs = dict(rec.attrs)
    out.attrs["processing"] = json.dumps([*processing_of(rec), jsonable(dict(step))])
    return out


# ---------------------------------------------------------------------------------------------- from_arrays


def _nominal_fps(time: np.ndarray) -> float | None:
    if time.size < 2:
        return None
    dt = np.diff(time)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if dt.size == 0:
        return None
    return float(f"{1.0 / float(np.median(dt)):.9g}")


def _names(names: Sequence[Any] | None, n: int, default: Sequence[str], label: str, problems: list[str]):
    if names is None:
        return list(default)
    names = [str(x) for x in (names.tolist() if isinstance(names, np.ndarray) else names)]
    if len(names) != n:
        problems.append(f"{label} has {len(names)} names {names} for {n} {label.split('_')[0]}s in position")
    elif len(set(names)) != len(names):
        problems.append(f"{label} must be unique, got {names}")
    return names


def _position_array(position: Any, problems: list[str]) -> np.ndarray | None:
    """``position`` as float64 ``(time, 2, keypoint, individual)`` (a ``(time, 2)`` track gets one keypoint
    and one individual), or ``None`` with the problem named."""
    pos = np.asarray(position, dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[:, :, None, None]
    if pos.ndim != 4 or pos.shape[1] != 2:
        problems.append(
            f"position must have shape (time, 2) or (time, 2, keypoint, individual), got {np.shape(position)}"
        )
        return None
    return pos


def _checked_fps(fps: Any, problems: list[str]) -> float | None:
    """``fps`` as a positive finite float, or ``None`` (with the problem named when one was given)."""
    if fps is None:
        return None
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        problems.append(f"fps must be a positive number of frames per second, got {fps!r}")
        return None
    if not (math.isfinite(fps) and fps > 0):
        problems.append(f"fps must be a positive number of frames per second, got {fps!r}")
        return None
    return fps


def _time_axis(
    time: Any, fps: Any, n_time: int, problems: list[str]
) -> tuple[np.ndarray | None, float | None]:
    """The time axis (``time``, or ``arange(n_time) / fps``) and the nominal frame rate (``fps``, or the
    median rate of ``time``); ``None`` for what cannot be had, with the problem named."""
    if time is None and fps is None:
        problems.append("no time axis: give time= (seconds, strictly increasing) or fps= (frames per second)")
    fps = _checked_fps(fps, problems)
    if time is not None:
        t = np.asarray(time, dtype=np.float64).reshape(-1)
        if t.shape[0] != n_time:
            problems.append(f"time has {t.shape[0]} values for {n_time} positions")
            t = None
    elif fps is not None:
        t = np.arange(n_time, dtype=np.float64) / fps
    else:
        t = None
    if fps is None and t is not None:
        fps = _nominal_fps(t)
    return t, fps


def _confidence_array(confidence: Any, shape: tuple[int, int, int], problems: list[str]) -> np.ndarray:
    """``confidence`` as float64 ``(time, keypoint, individual)`` (a ``(time,)`` score fits a single track);
    all NaN when absent or of the wrong shape (the problem named)."""
    if confidence is None:
        return np.full(shape, np.nan)
    conf = np.asarray(confidence, dtype=np.float64)
    if conf.ndim == 1 and shape[1:] == (1, 1):
        conf = conf[:, None, None]
    if conf.shape != shape:
        problems.append(
            f"confidence must have shape (time, keypoint, individual) = {shape}, got {np.shape(confidence)}"
        )
        return np.full(shape, np.nan)
    return conf


def _add_variables(ds: xr.Dataset, variables: Mapping[str, Any] | None, problems: list[str]) -> None:
    """Add ``{name: (dims, array[, attrs]) or DataArray}`` to ``ds``, naming those that do not fit."""
    for name, spec in (variables or {}).items():
        try:
            if isinstance(spec, xr.DataArray):
                ds[name] = spec
            else:
                ds[name] = xr.Variable(*spec)
        except (ValueError, TypeError) as err:
            problems.append(f"variable {name!r} does not fit the recording: {err}")


def _set_attrs(
    ds: xr.Dataset,
    *,
    fps: float | None,
    source_software: str,
    source_file: str,
    arena: Mapping[str, Any] | None,
    attrs: Mapping[str, Any] | None,
) -> None:
    """The attrs every Recording carries, then ``attrs`` over them (a ``processing`` list as its JSON); a
    ``space_unit`` of pixels marks the positions' units too."""
    ds.attrs = {
        "ds_type": "poses",
        "fps": fps if fps is not None else float("nan"),
        "time_unit": "seconds",
        "space_unit": "m",
        "source_software": str(source_software),
        "source_file": str(source_file),
        **arena_attrs(arena),
        "processing": "[]",
    }
    for key, value in (attrs or {}).items():
        ds.attrs[key] = (
            json.dumps(jsonable(value)) if key == "processing" and not isinstance(value, str) else value
        )
    if ds.attrs.get("space_unit") == "pixels":
        ds["position"].attrs["units"] = "pixels"


class _RecordingOptions(TypedDict, total=False):
    """The keyword options of :func:`from_arrays` (documented there) as :func:`_build` takes them: every one
    may be left out (meaning ``None``) but where the data came from."""

    time: Any
    fps: float | None
    confidence: Any
    individual_names: Sequence[str] | None
    keypoint_names: Sequence[str] | None
    arena: Any
    source_software: Required[str]
    source_file: Required[str]
    variables: Mapping[str, Any] | None
    attrs: Mapping[str, Any] | None


def _build(position: Any, problems: list[str], **options: Unpack[_RecordingOptions]) -> xr.Dataset | None:
    """Assemble a Recording without the final validation; append problems to ``problems`` instead of
    raising."""
    pos = _position_array(position, problems)
    if pos is None:
        return None
    n_time, _, n_kp, n_ind = pos.shape
    t, fps = _time_axis(options.get("time"), options.get("fps"), n_time, problems)
    conf = _confidence_array(options.get("confidence"), (n_time, n_kp, n_ind), problems)
    kp_default = ["centroid"] if n_kp == 1 else [f"keypoint_{i}" for i in range(n_kp)]
    keypoints = _names(options.get("keypoint_names"), n_kp, kp_default, "keypoint_names", problems)
    id_default = [f"id_{i}" for i in range(n_ind)]
    individuals = _names(options.get("individual_names"), n_ind, id_default, "individual_names", problems)
    arena = lab_arena(options.get("arena"), None, None, problems)  # pixels: true has no corners here
    if t is None or len(keypoints) != n_kp or len(individuals) != n_ind:
        return None
    ds = xr.Dataset(
        {
            "position": (POSITION_DIMS, pos, {"units": "m"}),
            "confidence": (CONFIDENCE_DIMS, conf),
        },
        coords={
            "time": ("time", t, {"units": "s"}),
            "space": ("space", np.array(["x", "y"])),
            "keypoint": ("keypoint", np.array(keypoints)),
            "individual": ("individual", np.array(individuals)),
        },
    )
    _add_variables(ds, options.get("variables"), problems)
    _set_attrs(
        ds,
        fps=fps,
        source_software=options["source_software"],
        source_file=options["source_file"],
        arena=arena,
        attrs=options.get("attrs"),
    )
    return ds


def from_arrays(
    position: Any,
    *,
    time: Any = None,
    fps: float | None = None,
    confidence: Any = None,
    individual_names: Sequence[str] | None = None,
    keypoint_names: Sequence[str] | None = None,
    arena: Any = None,
    source_software: str = "neuroethology",
    source_file: str = "",
    variables: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a validated Recording from arrays (what every loader and every simulation calls).

    Args:
        position: ``(time, 2)`` or ``(time, 2, keypoint, individual)`` positions, metres; NaN = not tracked.
        time: ``(time,)`` seconds, strictly increasing. Give ``time`` or ``fps`` (or both: then ``time`` is
            the axis and ``fps`` the nominal frame rate). With ``fps`` only, ``time = arange(n) / fps``.
        fps: nominal frame rate, Hz. Without it, ``1 / median(diff(time))``.
        confidence: ``(time,)`` (single track) or ``(time, keypoint, individual)`` in [0, 1]; NaN when absent.
        individual_names: default ``id_0, id_1, ...``.
        keypoint_names: default ``centroid`` for one keypoint, else ``keypoint_0, ...``.
        arena: the arena, in any form ``neuroethology.envs.arena.resolve_arena`` takes: a preset name
            (``"plus_maze"``), a YAML/JSON file, a mapping in metres (``{"shape": "box", "width": W,
            "height": H}`` spanning ``[0, W] x [0, H]``, ``{"shape": "circle", "radius": R}`` centred at
            ``(R, R)``, or ``{"boundary": [[x, y], ...], "holes": ..., "walls": ..., "regions": ...}``), a
            movement ``PolygonOfInterest`` or ``{"pixels": ..., "size_m": ...}``; ``None`` = unknown. Stored
            in the attrs as :func:`~neuroethology.data.schema.arena_attrs` describes, read back by
            :func:`arena_of`.
        source_software: what produced the data (``"neuroethology"`` for simulations).
        source_file: absolute path of the file read, ``""`` for in-memory data.
        variables: extra variables, ``{name: (dims, array)}``, ``{name: (dims, array, attrs)}`` or
            ``{name: DataArray}``, e.g. ``{"heading": (("time", "individual"), h)}``.
        attrs: extra attributes (a ``processing`` list is stored as its JSON string).

    Returns:
        The Recording (see :mod:`neuroethology.data`), validated by :func:`validate`.

    Raises:
        ValueError (:class:`RecordingError`): every problem found, in one message.
    """
    problems: list[str] = []
    ds = _build(
        position,
        problems,
        time=time,
        fps=fps,
        confidence=confidence,
        individual_names=individual_names,
        keypoint_names=keypoint_names,
        arena=arena,
        source_software=source_software,
        source_file=source_file,
        variables=variables,
        attrs=attrs,
    )
    if ds is not None:
        problems.extend(recording_problems(ds))
    if problems:
        raise RecordingError(describe_source(str(source_file)), _unique(problems))
    return ds


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ----------------------------------------------------------------------------------------------- validation


def time_problems(time: np.ndarray, label: str = "time") -> list[str]:
    """Problems of a time axis (seconds): non-finite, duplicated or decreasing values."""
    t = np.asarray(time)
    problems = []
    if t.ndim != 1:
        return [f"{label} must be one-dimensional, got shape {t.shape}"]
    if t.size == 0:
        return [f"{label} is empty: the recording has no samples"]
    if not np.issubdtype(t.dtype, np.number):
        return [f"{label} must be numeric seconds, got dtype {t.dtype}"]
    t = t.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        problems.append(
            f"{label} has {bad.size} non-finite values (first at index {int(bad[0])}); "
            "expected finite seconds, strictly increasing"
        )
    d = np.diff(t[np.isfinite(t)]) if bad.size else np.diff(t)
    dup = np.flatnonzero(d == 0)
    if dup.size:
        problems.append(
            f"{label} has {dup.size} duplicated values "
            f"(first {float(t[dup[0]]):g} at index {int(dup[0]) + 1}); "
            "times must be strictly increasing"
        )
    back = np.flatnonzero(d < 0)
    if back.size:
        problems.append(
            f"{label} is not monotonic: it decreases {back.size} times (first at index {int(back[0]) + 1}: "
            f"{float(t[back[0]]):g} -> {float(t[back[0] + 1]):g}); times must be strictly increasing"
        )
    return problems


def recording_problems(rec: Any, *, strict: bool = True) -> list[str]:
    """Every way ``rec`` departs from the Recording data model (empty list when it conforms).

    ``strict=False`` checks what functions reading a Recording need (:func:`as_recording`) and allows two
    things a stored Recording may not have: an individual never tracked (a recording of choices only) and
    a ``segment`` that disagrees with the missing positions (-1 marks samples untracked even where a
    position exists).
    """
    if not isinstance(rec, xr.Dataset):
        return [f"a Recording is an xarray.Dataset, got {type(rec).__name__}"]
    problems = _dim_name_problems(rec) + _time_coord_problems(rec)
    problems += _position_problems(rec, strict=strict) + _confidence_problems(rec) + _name_problems(rec)
    if "segment" in rec and "position" in rec and rec["position"].dims == POSITION_DIMS:
        problems.extend(_segment_problems(rec, strict=strict))
    if "sampled" in rec.data_vars and "position" in rec and rec["position"].dims == POSITION_DIMS:
        problems.extend(_sampled_problems(rec))
    problems.extend(_attr_problems(rec.attrs))
    return problems + neural_problems(rec)


def _name_problems(rec: xr.Dataset) -> list[str]:
    problems = []
    for coord in ("keypoint", "individual"):
        if coord in rec.coords:
            names = [str(v) for v in rec[coord].values]
            if len(set(names)) != len(names):
                problems.append(f"{coord} names must be unique, got {names}")
    return problems


def _dim_name_problems(rec: xr.Dataset) -> list[str]:
    plural = sorted(set(rec.dims) & set(SINGULAR_DIMS))
    if not plural:
        return []
    return [
        f"dims {plural} use movement 0.15's plural names; convert with neuroethology.data.from_movement "
        "(Recordings use the singular 'keypoint', 'individual')"
    ]


def _time_coord_problems(rec: xr.Dataset) -> list[str]:
    if "time" not in rec.coords:
        return ["no time axis: the dataset has no 'time' coordinate (seconds)"]
    problems = []
    if rec["time"].dims != ("time",):
        problems.append(f"the time coordinate must have dims ('time',), got {rec['time'].dims}")
    return problems + time_problems(rec["time"].values)


def _position_problems(rec: xr.Dataset, *, strict: bool) -> list[str]:
    """Problems of the ``position`` variable: dims, dtype, infinities, the space labels and (``strict``)
    individuals never tracked."""
    if "position" not in rec:
        return [f"no 'position' variable (dims {POSITION_DIMS}); found variables {list(rec.data_vars)}"]
    pos = rec["position"]
    if pos.dims != POSITION_DIMS:
        return [f"position must have dims {POSITION_DIMS}, got {pos.dims}"]
    if not np.issubdtype(pos.dtype, np.floating):
        return [f"position must be floating point, got dtype {pos.dtype}"]
    problems = []
    values = pos.values
    if np.isinf(values).any():
        problems.append(f"position has {int(np.isinf(values).sum())} infinite values (use NaN for missing)")
    if pos.sizes["space"] != 2 or [str(s) for s in rec["space"].values] != ["x", "y"]:
        problems.append(f"space must be ['x', 'y'], got {rec['space'].values.tolist()}")
    tracked = np.isfinite(values).any(axis=(0, 1, 2))
    for name in rec["individual"].values[~tracked] if strict else []:
        problems.append(f"individual {str(name)!r} is never tracked: its positions are all NaN")
    return problems


def _confidence_problems(rec: xr.Dataset) -> list[str]:
    if "confidence" not in rec:
        return [f"no 'confidence' variable (dims {CONFIDENCE_DIMS}); found variables {list(rec.data_vars)}"]
    if rec["confidence"].dims != CONFIDENCE_DIMS:
        return [f"confidence must have dims {CONFIDENCE_DIMS}, got {rec['confidence'].dims}"]
    c = rec["confidence"].values
    outside = np.isfinite(c) & ((c < 0) | (c > 1))
    if outside.any():
        return [f"confidence has {int(outside.sum())} values outside [0, 1] (NaN = no score)"]
    return []


def _segment_problems(rec: xr.Dataset, *, strict: bool) -> list[str]:
    seg = rec["segment"]
    if seg.dims != SEGMENT_DIMS:
        return [f"segment must have dims {SEGMENT_DIMS}, got {seg.dims}"]
    if not np.issubdtype(seg.dtype, np.integer):
        return [f"segment must be integer (-1 = not tracked), got dtype {seg.dtype}"]
    complete = np.isfinite(rec["position"].values).all(axis=(1, 2))  # (time, individual)
    s = seg.values
    problems = []
    if strict and ((s == -1) == complete).any():
        problems.append("segment must be -1 exactly where a position is missing (NaN) and >= 0 elsewhere")
    if (s < -1).any():
        problems.append("segment values must be >= -1")
    return problems


def _sampled_problems(rec: xr.Dataset) -> list[str]:
    """``sampled (time, individual)`` (individuals on their own clocks): 0/1, NaN positions off each clock."""
    sampled = rec["sampled"]
    if sampled.dims != SEGMENT_DIMS:
        return [f"sampled must have dims {SEGMENT_DIMS}, got {sampled.dims}"]
    s = np.asarray(sampled.values)
    if not np.isin(s, (0, 1)).all():
        return ["sampled must be 0 or 1 (1: the individual has a fix at this time)"]
    off = (s == 0)[:, None, None, :] & np.isfinite(rec["position"].values)
    if off.any():
        return ["position must be NaN where sampled is 0 (a time of another individual's clock)"]
    return []


def _attr_problems(attrs: Mapping[str, Any]) -> list[str]:
    problems = []
    fps = attrs.get("fps")
    if not isinstance(fps, int | float | np.number) or not (math.isfinite(float(fps)) and float(fps) > 0):
        problems.append(f"attrs['fps'] must be a positive frame rate in Hz, got {fps!r}")
    for key in ("source_software", "source_file"):
        if not isinstance(attrs.get(key), str):
            problems.append(f"attrs[{key!r}] must be a string, got {attrs.get(key)!r}")
    if attrs.get("time_sampling", FRAMES) not in TIME_SAMPLINGS:
        problems.append(
            f"attrs['time_sampling'] must be one of {TIME_SAMPLINGS}, got {attrs.get('time_sampling')!r}"
        )
    if attrs.get("space_unit", "m") not in SPACE_UNITS:
        problems.append(f"attrs['space_unit'] must be one of {SPACE_UNITS}, got {attrs.get('space_unit')!r}")
    problems.extend(stored_arena_problems(attrs))
    processing = attrs.get("processing", "[]")
    try:
        steps = json.loads(processing) if isinstance(processing, str) else None
    except json.JSONDecodeError:
        steps = None
    if not isinstance(steps, list) or not all(isinstance(s, dict) and "step" in s for s in steps):
        problems.append(
            f"attrs['processing'] must be a JSON list of {{'step': ...}} dicts, got {processing!r}"
        )
    return problems


def validate(rec: xr.Dataset) -> xr.Dataset:
    """Check that ``rec`` follows the Recording data model; return it unchanged.

    Checks the dims and their order, a strictly increasing finite time axis, float positions without
    infinities, ``space == ['x', 'y']``, no individual that is never tracked, confidence in [0, 1], unique
    names, a ``segment`` variable consistent with the missing positions, the attrs (``fps``,
    ``source_software``, ``source_file``, arena geometry, ``processing``), and the neural layout where
    there is one (``activity`` and spikes, :func:`~neuroethology.data.schema.neural_problems`).

    Raises:
        ValueError (:class:`RecordingError`): every problem found, in one message naming the source file.
    """
    problems = recording_problems(rec)
    if problems:
        source = rec.attrs.get("source_file", "") if isinstance(rec, xr.Dataset) else ""
        raise RecordingError(describe_source(str(source)), problems)
    return rec


def as_recording(rec: Any, *, caller: str) -> xr.Dataset:
    """``rec`` as the functions that take a Recording (analysis, plots) read it: dims normalised first
    (:func:`~neuroethology.data.schema.normalise_dims`: movement 0.15's plural names accepted, ``position``
    in any dim order), then checked as :func:`validate` checks.

    Raises:
        ValueError (:class:`RecordingError`): every problem found, in one message that starts with ``caller``
        and names the source file.
    """
    if not isinstance(rec, xr.Dataset):
        raise ValueError(
            f"{caller}: expected a Recording (an xarray.Dataset in movement's poses layout, as returned by "
            f"neuroethology.data.load), got {type(rec).__name__}"
        )
    label = f"{caller}: {describe_source(str(rec.attrs.get('source_file') or ''))}"
    try:
        rec = normalise_dims(rec)
    except ValueError as err:
        raise RecordingError(label, [str(err)]) from None
    problems = recording_problems(rec, strict=False)
    if problems:
        raise RecordingError(label, problems)
    return rec
