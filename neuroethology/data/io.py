"""``load`` and ``save``: any supported file in, a validated Recording out; Recordings to netCDF."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import formats
from ._raw import PIXEL_SOFTWARE, RawTracks
from .model import (
    RecordingError,
    _arena_attrs,
    _arena_problems,
    _build,
    _describe,
    _nominal_fps,
    _unique,
    add_processing_step,
    recording_problems,
    time_problems,
    validate,
)
from .processing import (
    calibrate,
    interpolate_gaps,
    label_segments,
    mask_incomplete_points,
    regularise_time,
    select_keypoints,
)
from .processing import (
    resample as resample_recording,
)

__all__ = ["load", "save"]


@dataclass(frozen=True)
class LoadOptions:
    """The options of :func:`load` (see there), checked once."""

    fps: float | None = None
    scale: float | None = None
    arena_corners: Any = None
    arena_size: Any = None
    units: str | None = None
    keypoint: str | None = None
    centroid: bool = False
    individuals: Sequence[str] | None = None
    max_gap: float | None = None
    resample: float | None = None
    dt: float | None = None
    arena: Mapping[str, Any] | None = None

    @property
    def calibrating(self) -> bool:
        return self.scale is not None or self.arena_corners is not None

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
        if self.scale is not None and self.arena_corners is not None:
            problems.append("give scale= or arena_corners= (with arena_size=), not both")
        if self.arena_corners is not None:
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
            problems.extend(_arena_problems(self.arena))
        return problems


# ------------------------------------------------------------------------------------------------- load


def load(
    path: str | os.PathLike,
    *,
    format: str | None = None,  # noqa: A002 - the natural name for the option
    fps: float | None = None,
    scale: float | None = None,
    arena_corners: Any = None,
    arena_size: Any = None,
    units: str | None = None,
    keypoint: str | None = None,
    centroid: bool = False,
    individuals: Sequence[str] | None = None,
    max_gap: float | None = None,
    resample: float | None = None,
    dt: float | None = None,
    arena: Mapping[str, Any] | None = None,
    columns: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Load a tracking file as a validated Recording (metres, seconds; see :mod:`neuroethology.data`).

    Formats, detected from the content (and extension) unless ``format=`` forces one:

    ========================  ============================================  ================================
    format                    files                                         read by
    ========================  ============================================  ================================
    ``sleap``                 SLEAP labels ``.slp`` (no frame rate stored)  movement (sleap-io)
    ``sleap-analysis``        SLEAP analysis ``.h5``                        movement
    ``deeplabcut``            DeepLabCut ``.h5`` / ``.csv`` predictions     movement
    ``nwb``                   NWB: ndx-pose PoseEstimation, or Position     movement (ndx-pose) / pynwb
                              SpatialSeries (what :func:`to_nwb` writes)
    ``idtracker``             idtracker.ai ``trajectories.h5``              this package (h5py)
    ``npz``                   arrays ``t`` (s), ``pos`` (m) (RatInABox)     this package (numpy)
    ``csv`` / ``parquet``     long tables: time (or frame), x, y            this package (pandas)
                              [, individual, keypoint, confidence]
    ``netcdf``                Recordings written by :func:`save`            xarray
    ========================  ============================================  ================================

    What happens, in order (each step is recorded in ``attrs["processing"]``): select ``individuals``;
    calibrate to metres; keep one ``keypoint`` or the ``centroid``; put a frame-grid time axis with missing
    frames onto the complete grid (missing frames become untracked samples); fill gaps up to ``max_gap``;
    number the tracked stretches (``segment``); resample. Netcdf files and :func:`to_nwb` exports are
    Recordings already: only the steps asked for are applied to them.

    Args:
        path: the file.
        format: force a format (names above).
        fps: frame rate, Hz, for files that store none (SLEAP, DeepLabCut, tables with a frame column).
        scale: metres per pixel (video trackers) or per file unit (tables, npz, which are otherwise metres).
        arena_corners: ``(4, 2)`` pixel positions of the arena corners (0, 0), (W, 0), (W, H), (0, H) in the
            arena frame; with ``arena_size=(W, H)`` metres they calibrate through a projective map (camera
            tilt included) and set a ``W x H`` box arena.
        arena_size: ``(W, H)`` metres, or one number for a square; only with ``arena_corners``.
        units: ``"pixels"`` keeps pixel coordinates of video trackers (no calibration); ``"m"`` states that a
            file which does not say its unit is in metres. Without calibration pixel data is an error.
        keypoint: keep this keypoint only.
        centroid: replace the keypoints by their mean over those tracked at each time.
        individuals: keep these individuals only (names as in the file).
        max_gap: fill gaps of up to this many seconds by linear interpolation; longer gaps split the track
            into segments. Default 0 (no filling) for tracking files.
        resample: resample to this rate, Hz, interpolating within segments only; or
        dt: resample to this step, seconds (an environment's ``dt``).
        arena: arena geometry, ``{"shape": "box", "width": W, "height": H}`` or
            ``{"shape": "circle", "radius": R}`` (m), overriding the file's.
        columns: column names for tables, ``{"time"|"frame"|"x"|"y"|"individual"|"keypoint"|"confidence":
            name}`` (defaults: time/t, frame, x, y, individual, keypoint, confidence/likelihood); for npz the
            array names ``{"time": "t", "position": "pos"}``.

    Returns:
        The Recording: ``position (time, space, keypoint, individual)`` m, ``confidence``, ``segment`` and
        attrs ``fps``, ``source_software``, ``source_file``, arena, ``processing``.

    Raises:
        FileNotFoundError: no such file.
        ValueError (:class:`~neuroethology.data.model.RecordingError`): every problem with the file or the
            options, in one message naming the file (unknown format, truncated or corrupt file, no time axis,
            non-monotonic or duplicated times, all-NaN tracks, pixels without calibration, missing
            columns...).
        ImportError: a Parquet file without pyarrow/fastparquet installed.
    """
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise RecordingError(str(path), ["is a directory, not a tracking file"], what="cannot be loaded")
    options = LoadOptions(
        fps=fps,
        scale=scale,
        arena_corners=arena_corners,
        arena_size=arena_size,
        units=units,
        keypoint=keypoint,
        centroid=centroid,
        individuals=list(individuals) if individuals is not None else None,
        max_gap=max_gap,
        resample=resample,
        dt=dt,
        arena=arena,
    )
    option_problems = options.problems()
    if option_problems:
        raise RecordingError(str(path), option_problems, what="cannot be loaded with these options")
    if format is not None:
        fmt = formats.normalise_format(format)
        if formats.is_hdf5(path):
            formats.check_hdf5(path)
    else:
        fmt = formats.detect_format(path)
    if fmt == "npz":
        data: RawTracks | xr.Dataset = formats.read_npz(path, columns)
    elif fmt in ("csv", "parquet"):
        data = formats.read_table(path, fmt, columns)
    elif fmt in ("sleap", "sleap-analysis"):
        data = formats.read_sleap(path, fmt)
    elif fmt == "deeplabcut":
        data = formats.read_deeplabcut(path)
    elif fmt == "idtracker":
        data = formats.read_idtracker(path)
    elif fmt == "netcdf":
        data = formats.read_netcdf(path)
    else:  # nwb
        from .nwb import read_nwb

        data = read_nwb(path)
    if isinstance(data, xr.Dataset):
        return _process_dataset(data, str(path), options, own_file=True)
    return process_raw(data, str(path), options)


def process_dataset(ds: xr.Dataset, *, source: str = "", **options: Any) -> xr.Dataset:
    """The pipeline of :func:`load` applied to an in-memory dataset (``from_movement``)."""
    opts = LoadOptions(**options)
    problems = opts.problems()
    if problems:
        raise RecordingError(_describe(source), problems, what="cannot be converted with these options")
    return _process_dataset(ds, source, opts, own_file=False)


def _process_dataset(ds: xr.Dataset, source: str, opts: LoadOptions, *, own_file: bool) -> xr.Dataset:
    """A Recording (ours: attrs ``processing`` and ``space_unit``) gets only the steps asked for; any other
    movement-style dataset goes through the full pipeline, its unit inferred from its software."""
    from .convert import singular_dims

    label = _describe(source)
    if isinstance(ds.attrs.get("processing"), str) and "space_unit" in ds.attrs:
        return _process_native(ds, source, opts, own_file=own_file)
    try:
        ds = singular_dims(ds)
    except ValueError as err:
        raise RecordingError(label, [str(err)], what="cannot be loaded") from None
    dims = ("time", "space", "keypoint", "individual")
    if any(v not in ds for v in ("position", "confidence")) or any(d not in ds.dims for d in dims):
        problems = [] if "time" in ds.dims else ["no time axis: the dataset has no 'time' dimension"]
        problems.append(
            f"not a movement poses dataset: needs position {dims} and confidence; "
            f"found dims {dict(ds.sizes)} and variables {list(ds.data_vars)}"
        )
        raise RecordingError(label, problems, what="cannot be loaded")
    from .formats import _from_movement_dataset

    software = str(ds.attrs.get("source_software") or "movement")
    raw = _from_movement_dataset(ds, software)
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
    return process_raw(raw, source, opts)


_CORE_ATTRS = ("ds_type", "fps", "time_unit", "space_unit", "source_software", "source_file", "processing")


def _attr_fps(value: Any) -> float | None:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return None
    return fps if math.isfinite(fps) and fps > 0 else None


def _unit_problems(unit: str, opts: LoadOptions, software: str) -> list[str]:
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
    if unit == "m" and (opts.calibrating or opts.units == "pixels"):
        return ["the positions are already in metres; scale=, arena_corners= and units='pixels' do not apply"]
    return []


def process_raw(raw: RawTracks, source: str, opts: LoadOptions) -> xr.Dataset:
    """Check, build and process what a reader returned (the pipeline described in :func:`load`)."""
    problems = list(raw.problems)
    pos = np.asarray(raw.position, dtype=np.float64)
    n_time = pos.shape[0] if pos.ndim == 4 else 0
    if pos.ndim != 4 or pos.shape[1] != 2:
        problems.append(f"positions must have shape (time, 2, keypoint, individual), found {pos.shape}")
        raise RecordingError(_describe(source), problems, what="cannot be loaded")
    if n_time == 0:
        problems.append("the file has no samples (0 frames)")
    fps = opts.fps if opts.fps is not None else raw.fps
    if (
        opts.fps is not None
        and raw.fps is not None
        and not math.isclose(float(opts.fps), raw.fps, rel_tol=1e-6)
    ):
        problems.append(f"fps={opts.fps} contradicts the frame rate the file states ({raw.fps} Hz)")
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
    if fps is None and time is not None and not problems:
        problems.append("cannot infer a frame rate from a single sample; pass fps= (frames per second)")
    individuals = list(raw.individual_names)
    if opts.individuals is not None:
        missing = [n for n in opts.individuals if n not in individuals]
        if missing:
            problems.append(f"individuals {missing} not found; the file has {individuals}")
        keep = [individuals.index(n) for n in opts.individuals if n in individuals]
    else:
        keep = list(range(len(individuals)))
    if opts.keypoint is not None and opts.keypoint not in raw.keypoint_names:
        problems.append(f"keypoint {opts.keypoint!r} not found; the file has keypoints {raw.keypoint_names}")
    if n_time:
        tracked = np.isfinite(pos).all(axis=1).any(axis=(0, 1))
        for i in keep:
            if not tracked[i]:
                problems.append(f"individual {individuals[i]!r} is never tracked: its positions are all NaN")
        if np.isinf(pos).any():
            problems.append(f"positions have {int(np.isinf(pos).sum())} infinite values")
    unit = raw.space_unit
    if unit == "file units":
        unit = "file units" if opts.calibrating else ("pixels" if opts.units == "pixels" else "m")
    problems.extend(_unit_problems(unit, opts, raw.source_software))
    if problems:
        raise RecordingError(_describe(source), _unique(problems), what="cannot be loaded")
    build_problems: list[str] = []
    conf = raw.confidence
    attrs = {**raw.attrs, "space_unit": "pixels" if unit in ("pixels", "file units") else "m"}
    attrs.pop("fps_note", None)
    ds = _build(
        pos[..., keep],
        time=time,
        fps=fps,
        confidence=None if conf is None else np.asarray(conf, dtype=np.float64)[..., keep],
        individual_names=[individuals[i] for i in keep],
        keypoint_names=raw.keypoint_names,
        source_software=raw.source_software,
        source_file=source,
        variables=raw.variables,
        attrs=attrs,
        problems=build_problems,
    )
    if build_problems or ds is None:
        raise RecordingError(
            _describe(source),
            build_problems or ["the arrays do not form a recording"],
            what="cannot be loaded",
        )
    with _steps(source):
        return _process_built(
            ds, opts, unit, dropped=[individuals[i] for i in range(len(individuals)) if i not in keep]
        )


def _process_built(ds: xr.Dataset, opts: LoadOptions, unit: str, dropped: list[str]) -> xr.Dataset:
    source = ds.attrs["source_file"]
    if dropped:
        ds = add_processing_step(
            ds,
            {
                "step": "select_individuals",
                "kept": [str(v) for v in ds["individual"].values],
                "dropped": dropped,
            },
        )
    ds = mask_incomplete_points(ds)
    if ds.attrs["space_unit"] == "pixels" and not opts.calibrating:
        ds = add_processing_step(
            ds, {"step": "keep_pixels", "note": "positions left in pixels (units='pixels')"}
        )
    ds = _apply_options(ds, opts, unit_from=unit)
    ds = regularise_time(ds)
    max_gap = float(opts.max_gap) if opts.max_gap is not None else 0.0
    if max_gap > 0:
        ds = interpolate_gaps(ds, max_gap=max_gap)
    ds = label_segments(ds, max_gap=max_gap)
    return _finish(ds, source, opts)


@contextlib.contextmanager
def _steps(source: str) -> Iterator[None]:
    """A processing step that refuses its input (e.g. nothing left to resample) names the file too."""
    try:
        yield
    except RecordingError:
        raise
    except ValueError as err:
        raise RecordingError(_describe(source), [str(err)], what="cannot be processed") from None


def _apply_options(ds: xr.Dataset, opts: LoadOptions, unit_from: str) -> xr.Dataset:
    """Calibrate and select keypoints as the options ask."""
    ds = ds.copy()
    ds.attrs = dict(ds.attrs)
    if opts.calibrating:
        ds.attrs["space_unit"] = "pixels" if unit_from == "pixels" else "file units"
        ds = calibrate(ds, scale=opts.scale, arena_corners=opts.arena_corners, arena_size=opts.arena_size)
    if opts.keypoint is not None or opts.centroid:
        ds = select_keypoints(ds, keypoint=opts.keypoint, centroid=opts.centroid)
    return ds


def _finish(ds: xr.Dataset, source: str, opts: LoadOptions) -> xr.Dataset:
    if opts.resample is not None or opts.dt is not None:
        ds = resample_recording(ds, dt=opts.dt, fps=opts.resample)
    conf = ds["confidence"].values
    outside = np.isfinite(conf) & ((conf < 0) | (conf > 1))
    if outside.any():
        ds["confidence"] = (ds["confidence"].dims, np.clip(conf, 0.0, 1.0), ds["confidence"].attrs)
        ds = add_processing_step(
            ds, {"step": "clip_confidence", "range": [0, 1], "n_clipped": int(outside.sum())}
        )
    if opts.arena is not None:
        arena = _arena_attrs(opts.arena)
        attrs: dict[str, Any] = {}
        for key, value in ds.attrs.items():
            if key == "arena_shape":
                attrs.update(arena)
            elif not key.startswith("arena_"):
                attrs[key] = value
        ds.attrs = {**attrs, **arena}
    ds = ds[["position", "confidence", *[v for v in ds.data_vars if v not in ("position", "confidence")]]]
    problems = recording_problems(ds)
    if problems:
        raise RecordingError(_describe(source), problems)
    return ds


def _process_native(ds: xr.Dataset, source: str, opts: LoadOptions, *, own_file: bool) -> xr.Dataset:
    """A Recording read back (netCDF, our NWB export, a converted movement dataset): only requested steps."""
    from .convert import singular_dims

    label = _describe(source)
    try:
        ds = singular_dims(ds)
    except ValueError as err:
        raise RecordingError(label, [str(err)]) from None
    if own_file and not ds.attrs.get("source_file"):
        ds.attrs["source_file"] = source
    problems = []
    fps = opts.fps if opts.fps is not None else _attr_fps(ds.attrs.get("fps"))
    if ds.attrs.get("time_unit") == "frames" and "time" in ds.coords:
        if fps is None:
            problems.append("no frame rate: the time axis counts frames and no fps is stored; pass fps=")
        else:
            ds = ds.assign_coords(
                time=("time", np.asarray(ds["time"].values, dtype=np.float64) / fps, {"units": "s"})
            )
            ds.attrs.update(time_unit="seconds", fps=float(fps))
    elif opts.fps is not None and _attr_fps(ds.attrs.get("fps")) not in (None, float(opts.fps)):
        problems.append(
            f"fps={opts.fps} contradicts the frame rate the file states ({ds.attrs.get('fps')} Hz)"
        )
    if opts.individuals is not None and "individual" in ds.coords:
        names = [str(v) for v in ds["individual"].values]
        missing = [n for n in opts.individuals if n not in names]
        if missing:
            problems.append(f"individuals {missing} not found; the recording has {names}")
        else:
            ds = add_processing_step(
                ds.sel(individual=list(opts.individuals)),
                {"step": "select_individuals", "kept": list(opts.individuals)},
            )
    if opts.keypoint is not None and "keypoint" in ds.coords:
        names = [str(v) for v in ds["keypoint"].values]
        if opts.keypoint not in names:
            problems.append(f"keypoint {opts.keypoint!r} not found; the recording has keypoints {names}")
    unit = ds.attrs.get("space_unit", "m")
    if unit == "m" and (opts.calibrating or opts.units == "pixels"):
        problems.append(
            "the positions are already in metres; scale=, arena_corners= and units='pixels' do not apply"
        )
    if unit == "pixels" and opts.units == "m":
        problems.append(
            "units='m' contradicts the recording, whose positions are in pixels (calibrate with scale=)"
        )
    problems.extend(p for p in recording_problems(ds) if not p.startswith("attrs['space_unit']"))
    if problems:
        raise RecordingError(label, _unique(problems))
    with _steps(source):
        changed_segments = False
        if opts.calibrating or opts.keypoint is not None or opts.centroid:
            ds = _apply_options(ds, opts, unit_from=unit)
            changed_segments = True
        if opts.max_gap is not None and float(opts.max_gap) > 0:
            ds = interpolate_gaps(ds, max_gap=float(opts.max_gap))
            changed_segments = True
        if changed_segments or (opts.max_gap is not None and "segment" not in ds):
            ds = label_segments(ds, max_gap=float(opts.max_gap or 0.0))
        return _finish(ds, source, opts)


# ------------------------------------------------------------------------------------------------- save


def _encode_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    encoded = []
    for key, value in attrs.items():
        if isinstance(value, Mapping | list | tuple | bool | np.bool_) or value is None:
            from .model import _jsonable

            out[key] = json.dumps(_jsonable(value))
            encoded.append(key)
        elif isinstance(value, Path):
            out[key] = str(value)
        else:
            out[key] = value
    if encoded:
        out[formats.JSON_ATTRS_KEY] = json.dumps(encoded)
    return out


def save(rec: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a Recording to a netCDF file (``.nc``) that :func:`load` reads back unchanged.

    Structured attrs (dicts, lists, booleans, ``None``) are stored as JSON strings and decoded on load.
    The file is written to a temporary file beside ``path`` and renamed into place, so an interrupted save
    never leaves a broken file.

    Returns:
        The absolute path written.

    Raises:
        ValueError: ``rec`` is not a valid Recording (every problem, in one message).
    """
    validate(rec)
    path = Path(path).expanduser().resolve()
    if path.suffix.lower() not in (".nc", ".netcdf"):
        raise ValueError(f"save writes netCDF: give a path ending in .nc, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = rec.copy()
    out.attrs = _encode_attrs(rec.attrs)
    for name in out.variables:
        out[name].attrs = _encode_attrs(rec[name].attrs)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".nc.tmp")
    os.close(fd)
    try:
        out.to_netcdf(tmp, engine="netcdf4")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
