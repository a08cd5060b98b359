"""Odour-plume navigation measures: success and time to the source, course direction relative to the
wind, and the classification of motion into surging (upwind) and casting (crosswind) (Kennedy & Marsh
1974 Science 184:999; van Breugel & Dickinson 2014 Curr Biol 24:274; Alvarez-Salvado et al. 2018 eLife
7:e37815).

Conventions: the source is read from attrs ``source_x``, ``source_y`` and ``success_radius`` (m) unless
given; ``wind_direction (time, individual)`` is the direction the air moves towards (radians,
counter-clockwise from +x), so upwind is ``wind_direction + pi``; a constant ``wind_direction=`` argument
replaces the variable. Trials are the ``episode`` variable's values (one trial without it).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._recording import Track, episodes, select_track, source_of, time_series, track_variable
from .kinematics import _check_min_speed, _heading, _turn

__all__ = [
    "compute_source_arrival",
    "compute_course_direction",
    "classify_casting_surging",
    "CASTING_SURGING",
]

# CF-style flag values of classify_casting_surging.
CASTING_SURGING = {"stopped": 0, "surging": 1, "casting": 2, "other": 3}


def _source(track: Track, source, success_radius, caller: str) -> tuple[float, float, float]:
    a = track.recording.attrs
    if source is None:
        if "source_x" not in a or "source_y" not in a:
            raise ValueError(
                f"{caller}: {source_of(track)} has no source_x/source_y attrs; pass source=(x, y) in m"
            )
        source = (a["source_x"], a["source_y"])
    if success_radius is None:
        if "success_radius" not in a:
            raise ValueError(
                f"{caller}: {source_of(track)} has no success_radius attr; pass success_radius= (m)"
            )
        success_radius = a["success_radius"]
    sx, sy = (float(v) for v in source)
    r = float(success_radius)
    if not (np.isfinite([sx, sy]).all() and r > 0):
        raise ValueError(
            f"{caller}: source must be finite and success_radius > 0 m, got {source}, {success_radius}"
        )
    return sx, sy, r


def compute_source_arrival(
    rec: xr.Dataset, *, source=None, success_radius: float | None = None, individual=None, keypoint=None
) -> xr.Dataset:
    """Per trial ``(episode,)``: ``success`` (bool: a tracked sample came within ``success_radius`` of the
    source) and ``time_to_source`` (s from the trial's first sample; NaN without success)."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_source_arrival")
    sx, sy, r = _source(track, source, success_radius, "compute_source_arrival")
    d = np.hypot(track.xy[:, 0] - sx, track.xy[:, 1] - sy)
    ep = episodes(track)
    eps, success, ttime = [], [], []
    for e in np.unique(ep[ep >= 0]):
        idx = np.flatnonzero(ep == e)
        hit = np.flatnonzero(d[idx] <= r)
        eps.append(int(e))
        success.append(hit.size > 0)
        ttime.append(track.time[idx[hit[0]]] - track.time[idx[0]] if hit.size else np.nan)
    return xr.Dataset(
        {
            "success": ("episode", np.asarray(success, bool)),
            "time_to_source": ("episode", np.asarray(ttime, float), {"units": "s"}),
        },
        coords={"episode": eps, **track.coords()},
    )


def _upwind(track: Track, wind_direction, caller: str) -> np.ndarray:
    if wind_direction is None:
        w = track_variable(track, "wind_direction", caller=caller).astype(float)
        if w.ndim != 1:
            raise ValueError(f"{caller}: wind_direction must be (time, individual), found {w.ndim + 1}-D")
    else:
        w = np.full(track.time.shape, float(wind_direction))
    return w + np.pi


def _course(track: Track, wind_direction, min_speed: float, caller: str) -> tuple[np.ndarray, np.ndarray]:
    heading, speed = _heading(track, min_speed)
    return _turn(heading - _upwind(track, wind_direction, caller)), speed


def compute_course_direction(
    rec: xr.Dataset,
    *,
    wind_direction: float | None = None,
    min_speed: float = 0.0,
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Direction of motion relative to upwind ``(time,)``, radians in ``(-pi, pi]``: 0 straight upwind,
    +-pi/2 crosswind (positive: to the left of upwind), pi downwind. NaN where the speed is not above
    ``min_speed`` (m/s)."""
    min_speed = _check_min_speed(min_speed, "compute_course_direction")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_course_direction")
    course, _ = _course(track, wind_direction, min_speed, "compute_course_direction")
    return time_series(course, track, "course_direction", "rad", "course relative to upwind")


def classify_casting_surging(
    rec: xr.Dataset,
    *,
    wind_direction: float | None = None,
    min_speed: float = 0.0,
    surge_angle: float = np.pi / 6,
    cast_angles: tuple[float, float] = (np.pi / 3, 2 * np.pi / 3),
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Label each sample ``(time,)``: ``surging`` (course within ``surge_angle`` of upwind), ``casting``
    (course between ``cast_angles`` from upwind on either side: crosswind), ``stopped`` (speed not above
    ``min_speed``), ``other`` (any other course, and untracked samples).

    The angle bands (30 degrees for surges, 60-120 degrees for casts) are a package convention in the
    spirit of Kennedy & Marsh (1974); use the same ones for every group compared.

    Returns:
        int8 codes with CF attrs ``flag_values`` / ``flag_meanings`` (see ``CASTING_SURGING``).
    """
    min_speed = _check_min_speed(min_speed, "classify_casting_surging")
    lo, hi = (float(a) for a in cast_angles)
    if not (0 < surge_angle <= lo < hi <= np.pi):
        raise ValueError(
            "classify_casting_surging: need 0 < surge_angle <= cast_angles[0] < cast_angles[1] <= pi rad, "
            f"got "
            f"surge_angle={surge_angle}, cast_angles={cast_angles}"
        )
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="classify_casting_surging")
    course, speed = _course(track, wind_direction, min_speed, "classify_casting_surging")
    a = np.abs(course)
    code = np.full(track.time.shape, CASTING_SURGING["other"], np.int8)
    code[np.isfinite(speed) & ~np.isfinite(course)] = CASTING_SURGING["stopped"]  # tracked, no direction
    code[a <= surge_angle] = CASTING_SURGING["surging"]
    code[(a >= lo) & (a <= hi)] = CASTING_SURGING["casting"]
    return xr.DataArray(
        code,
        dims=("time",),
        coords={"time": track.time, **track.coords()},
        name="plume_behaviour",
        attrs={"flag_values": list(CASTING_SURGING.values()), "flag_meanings": " ".join(CASTING_SURGING)},
    )
