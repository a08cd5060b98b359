"""The one processing pipeline behind :func:`neuroethology.data.load` and
:func:`~neuroethology.data.from_movement`: what a reader returned (raw tracks, a movement dataset or a
Recording read back) in, a validated Recording out. :func:`process` checks its input against the options,
builds the Recording and applies the steps described in :func:`~neuroethology.data.load`."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ._raw import PIXEL_SOFTWARE, RawTracks, raw_from_movement
from .arenas import lab_arena
from .model import (
    _build,
    _nominal_fps,
    _unique,
    add_processing_step,
    recording_problems,
    time_problems,
)
from .plausibility import ACCEPT_HINT, interval_problems, position_problems, speed_problems
from .processing import (
    calibrate,
    interpolate_gaps,
    label_segments,
    mask_incomplete_points,
    own_fixes,
    regularise_time,
    select_keypoints,
)
from .processing import (
    resample as resample_recording,
)
from .schema import (
    AS_RECORDED,
    FRAMES,
    POSITION_DIMS,
    SAMPLED,
    RecordingError,
    arena_attrs,
    describe_source,
    own_clock_fps,
    own_rows,
    singular_dims,
    time_sampling,
)

__all__ = ["LoadOptions", "process", "process_dataset"]


@dataclass(frozen=True)
class LoadOptions:
    """The options of :func:`~neuroethology.data.load` (see there), checked once."""

    fps: float | None = None
    scale: float | None = None
    arena_corners: Any = None
    arena_size: Any = None
    units: str | None = None
    keypoint: str | None = None
    centroid: bool = False
    individuals: Sequence[str] | None = None
    max_gap: float | None = None
    max_interval: float | None = None
    resample: float | None = None
    dt: float | None = None
    arena: Any = None
    allow_implausible: bool = False

    @property
    def calibrating(self) -> bool:
        return self.scale is not None or self.arena_corners is not None

    @property
    def reshaping(self) -> bool:
        """Whether the options change the positions or the keypoints (calibration, keypoint selection)."""
        return self.calibrating or self.keypoint is not None or self.centroid

    def problems(self) -> list[str]:
        """Every problem with the options (out-of-range numbers, conflicting or incomplete options)."""
        problems = []

        def number(name: str, value: Any, unit: str, allow_zero: bool = False) -> None:
            if value is None:
                return
            try:
                ok = math.isfinite(float(value)) and (float(value) >= 0 if allow_zero else float(value) > 0)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                kind = "non-negative" if allow_zero else "positive"
                problems.append(f"{name}= must be a {kind} number ({unit}), got {value!r}")

        number("fps", self.fps, "frames per second")
        number("scale", self.scale, "metres per pixel")
        number("resample", self.resample, "Hz")
        number("dt", self.dt, "seconds")
        number("max_gap", self.max_gap, "seconds", allow_zero=True)
        number("max_interval", self.max_interval, "seconds")
        if self.scale is not None and self.arena_corners is not None:
            problems.append("give scale= or arena_corners= (with arena_size=), not both")
        if self.arena_corners is not None:
            problems.extend(self._corner_problems())
        if self.arena_size is not None and self.arena_corners is None:
            problems.append("arena_size= is only used with arena_corners=; for the arena geometry use arena=")
        if self.units not in (None, "m", "pixels"):
            problems.append(f"units= must be 'm' or 'pixels', got {self.units!r}")
        if self.units == "pixels" and self.calibrating:
            problems.append(
                "units='pixels' keeps pixel coordinates; it cannot be combined with scale=/arena_corners="
            )
        if self.keypoint is not None and self.centroid:
            problems.append("give keypoint= or centroid=True, not both")
        if self.resample is not None and self.dt is not None:
            problems.append("give resample= (Hz) or dt= (s), not both")
        if self.arena is not None:
            self.resolved_arena(problems)
        return problems

    def resolved_arena(self, problems: list[str]) -> dict[str, Any] | None:
        """The canonical mapping of ``arena=`` (``None``: unknown), problems appended to ``problems``; an arena
        drawn in the video's pixels (``pixels: true``) is mapped to metres by ``arena_corners=`` and
        ``arena_size=``, the transform that calibrates the tracks."""
        return lab_arena(self.arena, self.arena_corners, self.arena_size, problems)

    def _corner_problems(self) -> list[str]:
        problems = []
        try:
            corners = np.asarray(self.arena_corners, dtype=np.float64)
        except (TypeError, ValueError):
            corners = np.full((0,), np.nan)
        if corners.shape != (4, 2) or not np.isfinite(corners).all():
            problems.append(
                "arena_corners= must be the 4 (x, y) pixel positions of the arena corners "
                f"(0, 0), (W, 0), (W, H), (0, H) in that order, shape (4, 2); got {self.arena_corners!r}"
            )
        try:
            size = np.broadcast_to(np.asarray(self.arena_size, dtype=np.float64), (2,))
            size_ok = bool(np.isfinite(size).all() and (size > 0).all())
        except (TypeError, ValueError):
            size_ok = False
        if not size_ok:
            problems.append(
                f"arena_corners= needs arena_size=(width, height) in metres, got {self.arena_size!r}"
            )
        return problems


def process_dataset(ds: xr.Dataset, *, source: str = "", **options: Any) -> xr.Dataset:
    """The pipeline of :func:`~neuroethology.data.load` for an in-memory dataset (``from_movement``)."""
    opts = LoadOptions(**options)
    problems = opts.problems()
    if problems:
        raise RecordingError(describe_source(source), problems, what="cannot be converted with these options")
    return process(ds, source, opts, own_file=False)


def process(
    data: RawTracks | xr.Dataset, source: str, opts: LoadOptions, *, own_file: bool = False
) -> xr.Dataset:
    """Check, build and process what a reader returned: the pipeline described in
    :func:`~neuroethology.data.load`, for every reader.

    Raw tracks get every step. So does a movement-style dataset that is not a Recording (its unit inferred
    from its software). A Recording read back (ours: attrs ``processing`` and ``space_unit``; a netCDF file,
    a :func:`~neuroethology.data.to_nwb` export, a :func:`~neuroethology.data.to_movement` dataset) was
    processed when it was made: it gets only the steps the options ask for.

    Args:
        data: a reader's output.
        source: the file (``""`` in memory), named in every message.
        opts: the checked options.
        own_file: ``data`` was read from ``source`` (a Recording without ``source_file`` takes it).

    Raises:
        ValueError (:class:`RecordingError`): every problem with the data or the options, in one message.
    """
    read_back = isinstance(data, xr.Dataset) and _is_recording(data)
    if read_back:
        ds, unit = _check_recording(data, source, opts, own_file=own_file)
        dropped: list[str] = []
    else:
        raw = data if isinstance(data, RawTracks) else _raw_of_dataset(data, source)
        ds, unit, dropped = _check_raw(raw, source, opts)
    with _naming(source):
        ds = _apply_steps(ds, opts, unit, full=not read_back, dropped=dropped)
        return _finish(ds, source, opts)


def _is_recording(ds: xr.Dataset) -> bool:
    return isinstance(ds.attrs.get("processing"), str) and "space_unit" in ds.attrs


def _singular(ds: xr.Dataset, source: str, what: str) -> xr.Dataset:
    try:
        return singular_dims(ds)
    except ValueError as err:
        raise RecordingError(describe_source(source), [str(err)], what=what) from None


# ------------------------------------------------------------------------------------------------ checks


def _fps_problems(given: float | None, stated: float | None, shown: Any) -> list[str]:
    """The fps= option against the frame rate the data states (``shown`` as the data gives it)."""
    if given is None or stated is None or math.isclose(float(given), stated, rel_tol=1e-6):
        return []
    return [f"fps={given} contradicts the frame rate the file states ({shown} Hz)"]


def _selection_problems(
    individuals: list[str] | None, keypoints: list[str] | None, opts: LoadOptions, holder: str
) -> list[str]:
    """The individuals= and keypoint= options against the names in the data (``None``: no such names)."""
    problems = []
    if opts.individuals is not None and individuals is not None:
        missing = [n for n in opts.individuals if n not in individuals]
        if missing:
            problems.append(f"individuals {missing} not found; {holder} has {individuals}")
    if opts.keypoint is not None and keypoints is not None and opts.keypoint not in keypoints:
        problems.append(f"keypoint {opts.keypoint!r} not found; {holder} has keypoints {keypoints}")
    return problems


def _unit_problems(unit: str, opts: LoadOptions, software: str, *, read_back: bool = False) -> list[str]:
    """The unit options against the unit of the data. A Recording read back may stay in pixels."""
    if unit == "m" and (opts.calibrating or opts.units == "pixels"):
        return ["the positions are already in metres; scale=, arena_corners= and units='pixels' do not apply"]
    if read_back:
        if unit == "pixels" and opts.units == "m":
            return [
                "units='m' contradicts the recording, whose positions are in pixels (calibrate with scale=)"
            ]
        return []
    calibrate_hint = (
        "pass scale= (metres per pixel) or arena_corners= with arena_size= (metres), "
        "or units='pixels' to keep pixels"
    )
    if unit == "pixels" and not opts.calibrating and opts.units != "pixels":
        return [
            f"missing calibration: {software} positions are in pixels and Recordings are in metres; "
            f"{calibrate_hint}"
        ]
    if unit == "unknown" and not opts.calibrating and opts.units is None:
        return [
            "the file does not say the unit of its positions; pass units='m' if they are metres, "
            f"or {calibrate_hint}"
        ]
    return []


def _attr_fps(value: Any) -> float | None:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return None
    return fps if math.isfinite(fps) and fps > 0 else None


# ----------------------------------------------------------------------------------------- raw tracks

_CORE_ATTRS = ("ds_type", "fps", "time_unit", "space_unit", "source_software", "source_file", "processing")


def _raw_of_dataset(ds: xr.Dataset, source: str) -> RawTracks:
    """The tracks of a movement-style dataset that is not a Recording, its unit inferred from its software."""
    ds = _singular(ds, source, "cannot be loaded")
    if any(v not in ds for v in ("position", "confidence")) or any(d not in ds.dims for d in POSITION_DIMS):
        problems = [] if "time" in ds.dims else ["no time axis: the dataset has no 'time' dimension"]
        problems.append(
            f"not a movement poses dataset: needs position {POSITION_DIMS} and confidence; "
            f"found dims {dict(ds.sizes)} and variables {list(ds.data_vars)}"
        )
        raise RecordingError(describe_source(source), problems, what="cannot be loaded")
    software = str(ds.attrs.get("source_software") or "movement")
    raw = raw_from_movement(ds, software)
    raw.fps = _attr_fps(ds.attrs.get("fps"))
    unit = ds.attrs.get("space_unit")
    inferred = "pixels" if software in PIXEL_SOFTWARE else "unknown"
    raw.space_unit = unit if unit in ("m", "pixels") else inferred
    raw.attrs.update({k: v for k, v in ds.attrs.items() if k not in _CORE_ATTRS})
    raw.variables = {
        name: (var.dims, var.values, dict(var.attrs))
        for name, var in ds.data_vars.items()
        if name not in ("position", "confidence", "segment")
    }
    return raw


def _raw_time(
    raw: RawTracks, opts: LoadOptions, problems: list[str]
) -> tuple[np.ndarray | None, float | None]:
    """The time axis (seconds) and frame rate of raw tracks; appends what is wrong to ``problems``."""
    fps = opts.fps if opts.fps is not None else raw.fps
    problems.extend(_fps_problems(opts.fps, raw.fps, raw.fps))
    time = raw.time
    if time is None:
        if raw.frames is None:
            problems.append("no time axis: the file has neither time stamps nor frame numbers")
        else:
            problems.extend(time_problems(raw.frames, "frame numbers"))
            if fps is None:
                note = raw.attrs.get("fps_note", f"{raw.source_software} files store no frame rate")
                problems.append(f"no frame rate: {note}; pass fps= (frames per second) to load it")
            else:
                time = np.asarray(raw.frames, dtype=np.float64) / float(fps)
    else:
        problems.extend(time_problems(time))
        if fps is not None and time.size > 1 and not problems:
            step = float(np.median(np.diff(time)))
            if not math.isclose(step * float(fps), 1.0, rel_tol=0.01):
                problems.append(
                    f"fps={fps} contradicts the file's time stamps "
                    f"(median step {step:.6g} s = {1 / step:.6g} Hz)"
                )
    if time is not None and fps is None and time.size > 1 and not problems:
        fps = _nominal_fps(time)
        raw.attrs["time_sampling"] = AS_RECORDED  # no frame rate stated: the time stamps are the clock
    if fps is None and time is not None and not problems:
        problems.append("cannot infer a frame rate from a single sample; pass fps= (frames per second)")
    return time, fps


def _infinite_problem(pos: np.ndarray, time: np.ndarray | None, raw: RawTracks) -> str:
    """The first infinite position of raw tracks ``(time, 2, keypoint, individual)``, in words."""
    ti, _, k, i = (int(v) for v in np.argwhere(np.isinf(pos))[0])
    when = f" (t = {time[ti]:.6g} s)" if time is not None and ti < len(time) else ""
    return (
        f"position has {int(np.isinf(pos).sum())} infinite value(s), first at sample {ti}{when}, keypoint "
        f"{raw.keypoint_names[k]!r}, individual {raw.individual_names[i]!r}: expected finite positions, or "
        f"NaN where not tracked; {ACCEPT_HINT} (infinite points become untracked)"
    )


def _own_clocks(
    sampled: np.ndarray | None,
    keep: list[int],
    time: np.ndarray | None,
    fps: float | None,
    sampling: str,
    variables: dict[str, Any],
) -> tuple[Any, np.ndarray | None, float | None]:
    """Individuals of a table fixed at their own times: the rows of the individuals kept, their time axis,
    the nominal frame rate of their own intervals and (time as recorded) the ``sampled`` variable added to
    ``variables``. On frames, an animal's missing row stays a tracking gap (no ``sampled``)."""
    if sampled is None or time is None:
        return slice(None), time, fps
    sampled = np.asarray(sampled, bool)[:, keep]
    rows = sampled.any(axis=1)
    sampled, time = sampled[rows], time[rows]
    if sampling == AS_RECORDED:
        fps = own_clock_fps(time, sampled) or fps
        if not sampled.all():
            variables["sampled"] = (("time", "individual"), sampled.astype(np.int8), {"description": SAMPLED})
    return rows, time, fps


def _check_raw(raw: RawTracks, source: str, opts: LoadOptions) -> tuple[xr.Dataset, str, list[str]]:
    """Raw tracks checked against the options and built into a Recording (not yet processed).

    Returns:
        The Recording, the unit its positions are in, and the individuals the options left out.
    """
    label = describe_source(source)
    problems = list(raw.problems) + ([] if opts.allow_implausible else list(raw.implausible))
    pos = np.asarray(raw.position, dtype=np.float64)
    if pos.ndim != 4 or pos.shape[1] != 2:
        problems.append(f"positions must have shape (time, 2, keypoint, individual), found {pos.shape}")
        raise RecordingError(label, problems, what="cannot be loaded")
    if pos.shape[0] == 0:
        problems.append("the file has no samples (0 frames)")
    time, fps = _raw_time(raw, opts, problems)
    individuals = list(raw.individual_names)
    sampled = raw.sampled
    problems.extend(_selection_problems(individuals, list(raw.keypoint_names), opts, "the file"))
    if opts.individuals is not None:
        keep = [individuals.index(n) for n in opts.individuals if n in individuals]
    else:
        keep = list(range(len(individuals)))
    if pos.shape[0]:
        tracked = np.isfinite(pos).all(axis=1).any(axis=(0, 1))
        for i in keep:
            if not tracked[i]:
                problems.append(f"individual {individuals[i]!r} is never tracked: its positions are all NaN")
        if np.isinf(pos).any() and not opts.allow_implausible:
            problems.append(_infinite_problem(pos, time, raw))
    unit = raw.space_unit
    if unit == "file units":
        unit = "file units" if opts.calibrating else ("pixels" if opts.units == "pixels" else "m")
    problems.extend(_unit_problems(unit, opts, raw.source_software))
    if problems:
        raise RecordingError(label, _unique(problems), what="cannot be loaded")
    build_problems: list[str] = []
    n_inf = int(np.isinf(pos).sum())
    if n_inf:  # accepted (allow_implausible=True): untracked
        pos = np.where(np.isinf(pos).any(axis=1, keepdims=True), np.nan, pos)
    conf = raw.confidence
    attrs = {**raw.attrs, "space_unit": "pixels" if unit in ("pixels", "file units") else "m"}
    attrs.setdefault("time_sampling", FRAMES)
    attrs.pop("fps_note", None)
    variables = dict(raw.variables)
    rows, time, fps = _own_clocks(sampled, keep, time, fps, attrs["time_sampling"], variables)
    ds = _build(
        pos[rows][..., keep],
        time=time,
        fps=fps,
        confidence=None if conf is None else np.asarray(conf, dtype=np.float64)[rows][..., keep],
        individual_names=[individuals[i] for i in keep],
        keypoint_names=raw.keypoint_names,
        source_software=raw.source_software,
        source_file=source,
        variables=variables,
        attrs=attrs,
        problems=build_problems,
    )
    if build_problems or ds is None:
        raise RecordingError(
            label, build_problems or ["the arrays do not form a recording"], what="cannot be loaded"
        )
    if n_inf:
        ds = add_processing_step(ds, {"step": "mask_infinite", "n_infinite_values": n_inf})
    return ds, unit, [individuals[i] for i in range(len(individuals)) if i not in keep]


# ------------------------------------------------------------------------------------ recordings read back


def _check_recording(
    ds: xr.Dataset, source: str, opts: LoadOptions, *, own_file: bool
) -> tuple[xr.Dataset, str]:
    """A Recording read back, checked against the options (with the individuals they ask for selected and a
    time axis in frames put into seconds). Returns it and the unit of its positions."""
    ds = _singular(ds, source, "is not a valid Recording")
    if own_file and not ds.attrs.get("source_file"):
        ds.attrs["source_file"] = source
    problems = []
    stated = _attr_fps(ds.attrs.get("fps"))
    fps = opts.fps if opts.fps is not None else stated
    if ds.attrs.get("time_unit") == "frames" and "time" in ds.coords:
        if fps is None:
            problems.append("no frame rate: the time axis counts frames and no fps is stored; pass fps=")
        else:
            ds = ds.assign_coords(
                time=("time", np.asarray(ds["time"].values, dtype=np.float64) / fps, {"units": "s"})
            )
            ds.attrs.update(time_unit="seconds", fps=float(fps))
    else:
        problems.extend(_fps_problems(opts.fps, stated, ds.attrs.get("fps")))
    names = {
        c: [str(v) for v in ds[c].values] if c in ds.coords else None for c in ("individual", "keypoint")
    }
    problems.extend(_selection_problems(names["individual"], names["keypoint"], opts, "the recording"))
    if opts.individuals is not None and names["individual"] is not None:
        if set(opts.individuals) <= set(names["individual"]):
            ds = add_processing_step(
                own_fixes(ds.sel(individual=list(opts.individuals))),
                {"step": "select_individuals", "kept": list(opts.individuals)},
            )
    unit = ds.attrs.get("space_unit", "m")
    problems.extend(_unit_problems(unit, opts, str(ds.attrs.get("source_software")), read_back=True))
    problems.extend(p for p in recording_problems(ds) if not p.startswith("attrs['space_unit']"))
    if problems:
        raise RecordingError(describe_source(source), _unique(problems))
    return ds, unit


# ------------------------------------------------------------------------------------------------- steps


@contextlib.contextmanager
def _naming(source: str) -> Iterator[None]:
    """A processing step that refuses its input (e.g. nothing left to resample) names the file too."""
    try:
        yield
    except RecordingError:
        raise
    except ValueError as err:
        raise RecordingError(describe_source(source), [str(err)], what="cannot be processed") from None


def _apply_steps(
    ds: xr.Dataset, opts: LoadOptions, unit: str, *, full: bool, dropped: list[str]
) -> xr.Dataset:
    """The processing steps before resampling, in :func:`~neuroethology.data.load`'s order. ``full=False``:
    a Recording read back, which gets only the steps the options ask for."""
    if full:
        if dropped:
            kept = [str(v) for v in ds["individual"].values]
            ds = add_processing_step(ds, {"step": "select_individuals", "kept": kept, "dropped": dropped})
        ds = mask_incomplete_points(ds)
        if ds.attrs["space_unit"] == "pixels" and not opts.calibrating:
            ds = add_processing_step(
                ds, {"step": "keep_pixels", "note": "positions left in pixels (units='pixels')"}
            )
    if full or opts.reshaping:
        ds = ds.copy()
        ds.attrs = dict(ds.attrs)
        if opts.calibrating:
            ds.attrs["space_unit"] = "pixels" if unit == "pixels" else "file units"
            ds = calibrate(ds, scale=opts.scale, arena_corners=opts.arena_corners, arena_size=opts.arena_size)
        if opts.keypoint is not None or opts.centroid:
            ds = select_keypoints(ds, keypoint=opts.keypoint, centroid=opts.centroid)
    if full and time_sampling(ds) == FRAMES:
        ds = regularise_time(ds, check=not opts.allow_implausible)
    elif full:
        ds = add_processing_step(ds, intervals_as_recorded(ds))
    max_gap = float(opts.max_gap) if opts.max_gap is not None else 0.0
    if max_gap > 0:
        ds = interpolate_gaps(ds, max_gap=max_gap)
    asked = max_gap > 0 or opts.max_interval is not None
    if full or opts.reshaping or asked or (opts.max_gap is not None and "segment" not in ds):
        ds = label_segments(ds, max_gap=max_gap, max_interval=opts.max_interval)
    return ds


def intervals_as_recorded(ds: xr.Dataset) -> dict[str, Any]:
    """The processing step of a time axis kept as recorded: its intervals (per individual's own clock) and
    how many are longer than 1.5 nominal frames, each kept as one step of the animal."""
    t = ds["time"].values
    steps = np.concatenate(
        [np.diff(t[own_rows(ds, i)]) for i in range(ds.sizes["individual"])] or [np.zeros(0)]
    )
    median = float(np.median(steps)) if steps.size else float("nan")
    return {
        "step": "time_as_recorded",
        "note": "no frame rate stated: the file's time stamps are kept (nothing regridded); fps is nominal "
        "(1 / median interval) and every interval, however long, is one step (max_interval= splits)",
        "interval_s": {
            "min": float(steps.min()) if steps.size else None,
            "median": median,
            "max": float(steps.max()) if steps.size else None,
        },
        "n_intervals_over_1.5_median": int((steps > 1.5 * median).sum()) if steps.size else 0,
        "own_clocks": "sampled" in ds.data_vars,
    }


def _finish(ds: xr.Dataset, source: str, opts: LoadOptions) -> xr.Dataset:
    """Set the arena, check plausibility, resample, clip confidence to [0, 1], order the variables and
    validate."""
    ds = _set_arena(ds, opts)
    if not opts.allow_implausible:
        problems = interval_problems(ds) + (position_problems(ds) or speed_problems(ds))  # far off: fast too
        if problems:
            raise RecordingError(describe_source(source), problems, what="has implausible values")
    if opts.resample is not None or opts.dt is not None:
        ds = resample_recording(ds, dt=opts.dt, fps=opts.resample, check=not opts.allow_implausible)
    conf = ds["confidence"].values
    outside = np.isfinite(conf) & ((conf < 0) | (conf > 1))
    if outside.any():
        ds["confidence"] = (ds["confidence"].dims, np.clip(conf, 0.0, 1.0), ds["confidence"].attrs)
        ds = add_processing_step(
            ds, {"step": "clip_confidence", "range": [0, 1], "n_clipped": int(outside.sum())}
        )
    ds = ds[["position", "confidence", *[v for v in ds.data_vars if v not in ("position", "confidence")]]]
    problems = recording_problems(ds)
    if problems:
        raise RecordingError(describe_source(source), problems)
    return ds


def _set_arena(ds: xr.Dataset, opts: LoadOptions) -> xr.Dataset:
    """The arena= option in place of the file's arena attrs (in the same place among the attrs)."""
    if opts.arena is None:
        return ds
    ds = ds.copy()
    problems: list[str] = []
    arena = arena_attrs(opts.resolved_arena(problems))
    if problems:  # checked with the options already; a file changed since is still named
        raise RecordingError(describe_source(str(ds.attrs.get("source_file", ""))), problems)
    attrs: dict[str, Any] = {}
    for key, value in ds.attrs.items():
        if key == "arena_shape":
            attrs.update(arena)
        elif not (key == "arena" or key.startswith("arena_")):
            attrs[key] = value
    ds.attrs = {**attrs, **arena}
    return ds
