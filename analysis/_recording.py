"""Reading a Recording for analysis: validation, choice of one track, contiguous runs, arena geometry.

A Recording is the movement-style ``xarray.Dataset`` described in ``neuroethology.data`` (variables
``position (time, space, keypoint, individual)`` in metres and ``confidence``; ``time`` in seconds; attrs
``fps`` and the arena geometry: a box, a circle or any polygon, see :func:`check_arena`). Every metric
reads it through :func:`select_track`, so recorded animals and simulated agents go through exactly the same
code.

Contiguous runs: a metric never differences across a tracking gap. A sample belongs to no run (``-1``)
when its position is NaN or its ``segment`` is ``-1``; a new run starts after such a sample and wherever
the ``segment`` or the ``episode`` index changes (a simulation's autoreset teleports the agent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from neuroethology.data import arena_of  # the one reader of the arena attrs
from neuroethology.data.model import as_recording  # data's validator, dims normalised first
from neuroethology.data.schema import (
    AS_RECORDED,
    on_own_clock,
    resolve_recording_arena,
    sample_durations,
    time_sampling,
)
from neuroethology.problems import ProblemsError

from ._arena_geometry import bounds as arena_bounds
from ._arena_geometry import kind as arena_kind

__all__ = [
    "Track",
    "as_recording",
    "select_track",
    "arena_of",
    "split_individuals",
    "contiguous_runs",
    "time_series",
]


def _source(rec: xr.Dataset) -> str:
    return str(rec.attrs.get("source_file") or "") or "<in-memory recording>"


def _pick(names: list[str], which: str | int | None, what: str, caller: str, source: str) -> int:
    if isinstance(which, (int, np.integer)) and not isinstance(which, bool):
        if not -len(names) <= which < len(names):
            raise ValueError(
                f"{caller}: {source} has {len(names)} {what}s {names}; index {which} is out of range"
            )
        return int(which) % len(names)
    if which not in names:
        raise ValueError(f"{caller}: {source} has no {what} {which!r}; found {names}")
    return names.index(which)


class Track(NamedTuple):
    """One animal's path, as metrics read it.

    ``time (n,)`` s; ``xy (n, 2)`` m with NaN rows where the sample is not usable; ``run (n,)`` int, the
    contiguous stretch each sample belongs to (``-1``: none); ``recording``: the single-individual
    Dataset (``individual`` dropped) for task variables and attrs; ``individual`` and ``keypoint``: names.
    """

    time: np.ndarray
    xy: np.ndarray
    run: np.ndarray
    recording: xr.Dataset
    individual: str
    keypoint: str

    @property
    def fps(self) -> float:
        """Frame rate, Hz: the ``fps`` attribute, else 1 / median sampling interval."""
        fps = self.recording.attrs.get("fps")
        if fps is not None and np.isfinite(float(fps)) and float(fps) > 0:
            return float(fps)
        return 1.0 / float(np.median(np.diff(self.time))) if self.time.size > 1 else 1.0

    @property
    def as_recorded(self) -> bool:
        """Whether the time stamps are the recording's own, irregular ones (``time_sampling``)."""
        return time_sampling(self.recording) == AS_RECORDED

    @property
    def sample_durations(self) -> np.ndarray:
        """``(n,)`` seconds each sample stands for: the weights of time-based averages. A frame (1 / fps);
        for time as recorded, the interval to the next fix of the same run (the last fix of a run: the
        nominal 1 / fps). The one definition: :func:`neuroethology.data.schema.sample_durations`."""
        return sample_durations(
            self.time, self.fps, as_recorded=self.as_recorded, tracked=self.run >= 0, labels=(self.run,)
        )

    def require_frames(self, caller: str) -> None:
        """Refuse, naming ``caller``, a track whose time is as recorded (for measures that count frames)."""
        if self.as_recorded:
            raise ValueError(
                f"{caller} counts samples of a regular frame rate, but {source_of(self)} keeps its own "
                "irregular time stamps (time_sampling = 'as recorded'); resample it first: "
                "neuroethology.data.resample(rec, dt=SECONDS) (or load(..., resample=HZ))"
            )

    def coords(self) -> dict[str, Any]:
        """Scalar coordinates naming the track, attached to every result."""
        return {"individual": self.individual, "keypoint": self.keypoint}


def time_series(
    values, track: Track, name: str, units: str, long_name: str, space: bool = False
) -> xr.DataArray:
    """A result along the track's ``time`` (and ``space`` = x, y when ``space``), named, with its units and
    the track's coordinates."""
    dims = ("time", "space") if space else ("time",)
    coords = {"time": track.time, **track.coords()}
    if space:
        coords["space"] = ["x", "y"]
    return xr.DataArray(
        values, dims=dims, coords=coords, name=name, attrs={"units": units, "long_name": long_name}
    )


def contiguous_runs(valid: np.ndarray, *labels: np.ndarray | None) -> np.ndarray:
    """``(n,)`` run index (0, 1, ...) of each valid sample, ``-1`` elsewhere. A run ends at an invalid
    sample or where any of ``labels`` (e.g. segment, episode) changes value."""
    valid = np.asarray(valid, bool)
    start = valid.copy()
    if valid.size:
        brk = ~valid[:-1]
        for lab in labels:
            if lab is not None:
                lab = np.asarray(lab)
                brk = brk | (lab[1:] != lab[:-1])
        start[1:] &= brk
    run = np.cumsum(start) - 1
    return np.where(valid, run, -1).astype(np.int64)


def select_track(
    rec: Any,
    *,
    individual: str | int | None = None,
    keypoint: str | int | None = None,
    caller: str,
) -> Track:
    """Validate ``rec`` and read one track from it.

    ``individual``: name or index; ``None`` takes the only individual (a recording of several needs a
    choice, see :func:`split_individuals`). ``keypoint``: name or index; ``None`` takes the keypoint named
    ``centroid``, else the only keypoint, else the mean of all keypoints (NaN where any is missing, so a
    lost keypoint never makes the centroid jump).
    """
    rec = as_recording(rec, caller=caller)
    source = _source(rec)
    inds = [str(v) for v in rec["individual"].values] if "individual" in rec.coords else []
    if not inds:
        inds = [str(i) for i in range(rec.sizes["individual"])]
    if individual is None:
        if len(inds) != 1:
            raise ValueError(
                f"{caller}: {source} has {len(inds)} individuals {inds}; pass individual=NAME (or split the "
                "recording with neuroethology.analysis.split_individuals)"
            )
        i = 0
    else:
        i = _pick(inds, individual, "individual", caller, source)
    one = on_own_clock(rec, i).isel(individual=0)
    kps = [str(v) for v in rec["keypoint"].values] if "keypoint" in rec.coords else []
    if not kps:
        kps = [str(k) for k in range(rec.sizes["keypoint"])]
    pos = one["position"]  # (time, space, keypoint)
    sx, sy = (
        [str(s) for s in rec["space"].values].index("x"),
        [str(s) for s in rec["space"].values].index("y"),
    )
    if keypoint is None and "centroid" not in kps and len(kps) > 1:
        xy = pos.values[:, [sx, sy], :].mean(axis=2)
        kp_name = f"centroid (mean of {len(kps)} keypoints)"
    else:
        k = (
            kps.index("centroid")
            if keypoint is None and "centroid" in kps
            else (0 if keypoint is None else _pick(kps, keypoint, "keypoint", caller, source))
        )
        xy = pos.values[:, [sx, sy], k]
        kp_name = kps[k]
    xy = np.array(xy, dtype=float)
    valid = np.all(np.isfinite(xy), axis=1)
    segment = one["segment"].values if "segment" in one.data_vars else None
    if segment is not None:
        valid &= np.asarray(segment) >= 0
    episode = one["episode"].values if "episode" in one.data_vars else None
    xy[~valid] = np.nan
    run = contiguous_runs(valid, segment, episode)
    return Track(
        time=np.asarray(one["time"].values, dtype=float),
        xy=xy,
        run=run,
        recording=one,
        individual=inds[i],
        keypoint=kp_name,
    )


def split_individuals(rec: Any) -> list[xr.Dataset]:
    """One single-individual Recording per individual of ``rec`` (attrs kept), each on its own time axis
    where the individuals were fixed at their own times (``sampled``)."""
    rec = as_recording(rec, caller="split_individuals")
    return [on_own_clock(rec, i) for i in range(rec.sizes["individual"])]


def check_arena(arena: Any, *, caller: str, source: str) -> dict[str, Any]:
    """Validate an arena (or say the recording has none) and return it in the analysis's form.

    ``arena``: any form ``neuroethology.envs.arena.resolve_arena`` takes (what :func:`arena_of` returns, a
    preset name, a mapping, a YAML file). Returns a bare box or circle as ``{"shape": "box", "width": W,
    "height": H}`` or ``{"shape": "circle", "radius": R}`` (m); a box or circle with regions only as its
    canonical mapping (``shape``, size, ``boundary``, ``holes``, ``walls``, ``regions``); any other arena
    as its canonical mapping with ``"shape": "polygon"`` (no size keys), so that ``shape`` always says
    which formulas measure it (:func:`._arena_geometry.kind`).
    """
    if arena is None:
        raise ValueError(
            f"{caller}: {source} has no arena geometry (attrs arena_shape = box with "
            "arena_width/arena_height, circle with arena_radius, or polygon with arena); pass "
            "arena={'shape': 'box', 'width': W, 'height': H}, {'shape': 'circle', 'radius': R}, a preset "
            "such as 'plus_maze' or {'boundary': [[x, y], ...]} in metres"
        )
    if isinstance(arena, Mapping) and set(arena) <= {"shape", "width", "height", "radius"}:
        shape = arena.get("shape")
        if shape == "box":
            w, h = float(arena.get("width", np.nan)), float(arena.get("height", np.nan))
            if not (w > 0 and h > 0):
                raise ValueError(f"{caller}: box arena needs width > 0 and height > 0 m, got {dict(arena)}")
            return {"shape": "box", "width": w, "height": h}
        if shape == "circle":
            r = float(arena.get("radius", np.nan))
            if not r > 0:
                raise ValueError(f"{caller}: circle arena needs radius > 0 m, got {dict(arena)}")
            return {"shape": "circle", "radius": r}
    spec = arena
    if isinstance(arena, Mapping) and arena.get("shape") == "polygon":  # this function's own form
        spec = {k: v for k, v in arena.items() if k != "shape"}
    problems: list[str] = []
    mapping = resolve_recording_arena(spec, problems)
    if mapping is None:
        raise ProblemsError(
            f"{caller}: {source}", problems or ["the arena is 'unknown'"], what="has no valid arena"
        )
    which = arena_kind(mapping)
    if which != "polygon":
        return (
            mapping
            if mapping["regions"]
            else check_arena(
                {k: mapping[k] for k in ("shape", "width", "height", "radius") if k in mapping},
                caller=caller,
                source=source,
            )
        )
    return {"shape": "polygon", **{k: mapping[k] for k in ("boundary", "holes", "walls", "regions")}}


def arena_extent(arena: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` of an arena (its floor's bounding box), metres."""
    return arena_bounds(arena)


def arena_size(arena: Mapping[str, Any]) -> float:
    """The arena's smaller side (box), diameter (circle) or smaller side of its bounding box (polygon),
    metres: the length scale of defaults."""
    x0, x1, y0, y1 = arena_bounds(arena)
    return min(x1 - x0, y1 - y0)


def episodes(track: Track) -> np.ndarray:
    """``(n,)`` episode index of each sample: the ``episode`` variable, or 0 throughout."""
    rec = track.recording
    if "episode" in rec.data_vars:
        return np.asarray(rec["episode"].values).astype(np.int64)
    return np.zeros(track.time.shape, np.int64)


def track_variable(track: Track, name: str, *, caller: str) -> np.ndarray:
    """``(time, ...)`` values of a per-individual variable of the track's recording."""
    rec = track.recording
    if name not in rec.data_vars:
        raise ValueError(
            f"{caller}: {_source(rec)} has no variable {name!r} (found: {sorted(map(str, rec.data_vars))})"
        )
    da = rec[name]
    if "time" not in da.dims:
        raise ValueError(f"{caller}: variable {name!r} of {_source(rec)} has no time dim (dims {da.dims})")
    return np.asarray(da.transpose("time", ...).values)


def source_of(track_or_rec: Track | xr.Dataset) -> str:
    rec = track_or_rec.recording if isinstance(track_or_rec, Track) else track_or_rec
    return _source(rec)
