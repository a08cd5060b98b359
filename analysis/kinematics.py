"""Kinematics of one track: velocity, speed, acceleration, heading, angular velocity, curvature.

Derivatives are movement's (``movement.kinematics``: second-order central differences in the interior,
first-order one-sided at the ends, on the ``time`` coordinate, so irregular sampling is handled). A
central difference never reaches across a tracking gap, a ``segment`` or an ``episode`` boundary: the
samples at the ends of each contiguous run take the one-sided difference inside their run, and a run of
a single sample gets NaN.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from movement.kinematics import compute_time_derivative

from ..envs.geometry import wrap_angle
from ._recording import Track, select_track, time_series

__all__ = [
    "compute_velocity",
    "compute_speed",
    "compute_acceleration",
    "compute_heading",
    "compute_angular_velocity",
    "compute_curvature",
]


def _turn(a: np.ndarray) -> np.ndarray:
    """Angles (float64) wrapped to ``(-pi, pi]``: the analysis reports a U-turn as ``+pi``."""
    return wrap_angle(np.asarray(a, dtype=float), closed="above")


def _one_sided_at_run_ends(deriv: np.ndarray, y: np.ndarray, t: np.ndarray, run: np.ndarray):
    """Replace the central differences that straddle a run boundary by the one-sided difference inside the
    run (NaN for a one-sample run or outside runs). ``deriv`` and ``y``: ``(n, k)``."""
    n = run.size
    out = np.array(deriv, dtype=float, copy=True)
    if n == 0:
        return out
    prev_same = np.zeros(n, bool)
    next_same = np.zeros(n, bool)
    prev_same[1:] = (run[1:] == run[:-1]) & (run[1:] >= 0)
    next_same[:-1] = (run[:-1] == run[1:]) & (run[:-1] >= 0)
    fwd = np.full_like(out, np.nan)
    bwd = np.full_like(out, np.nan)
    dy = np.diff(y, axis=0)
    dt = np.diff(t)[:, None]
    fwd[:-1] = dy / dt
    bwd[1:] = dy / dt
    only_next = next_same & ~prev_same
    only_prev = prev_same & ~next_same
    out[only_next] = fwd[only_next]
    out[only_prev] = bwd[only_prev]
    out[~(prev_same | next_same)] = np.nan
    return out


def _derivative(values: np.ndarray, t: np.ndarray, run: np.ndarray) -> np.ndarray:
    """``d values / dt`` of ``(n, k)`` values by movement's ``compute_time_derivative``, within runs."""
    y = np.where((run >= 0)[:, None], values, np.nan)
    da = xr.DataArray(y, dims=("time", "space"), coords={"time": t})
    central = compute_time_derivative(da, order=1).values
    return _one_sided_at_run_ends(central, y, t, run)


def _velocity(track: Track) -> np.ndarray:
    return _derivative(track.xy, track.time, track.run)


def compute_velocity(rec: xr.Dataset, *, individual=None, keypoint=None) -> xr.DataArray:
    """Velocity ``(time, space)``, m/s, by central differences within contiguous runs (movement)."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_velocity")
    return time_series(_velocity(track), track, "velocity", "m/s", "velocity", space=True)


def compute_speed(rec: xr.Dataset, *, individual=None, keypoint=None) -> xr.DataArray:
    """Speed ``(time,)``, m/s: the norm of :func:`compute_velocity` (NaN outside tracked runs)."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_speed")
    return time_series(np.linalg.norm(_velocity(track), axis=1), track, "speed", "m/s", "speed")


def compute_acceleration(rec: xr.Dataset, *, individual=None, keypoint=None) -> xr.DataArray:
    """Acceleration ``(time, space)``, m/s^2: the time derivative of the velocity, within runs (movement's
    central differences applied twice, as ``movement.kinematics.compute_acceleration`` does). Its norm is
    the acceleration magnitude."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_acceleration")
    acc = _derivative(_velocity(track), track.time, track.run)
    return time_series(acc, track, "acceleration", "m/s^2", "acceleration", space=True)


# Speeds below this count as stationary whatever min_speed is: the round-off of differencing a
# stationary track on an irregular float time axis (~1e-16 m/s) must not produce a direction.
_STATIONARY = 1e-9  # m/s


def _heading(track: Track, min_speed: float) -> tuple[np.ndarray, np.ndarray]:
    v = _velocity(track)
    speed = np.linalg.norm(v, axis=1)
    moving = np.isfinite(speed) & (speed > max(min_speed, _STATIONARY))
    heading = np.where(moving, np.arctan2(v[:, 1], v[:, 0]), np.nan)
    return heading, speed


def _check_min_speed(min_speed: float, caller: str) -> float:
    if not (np.isfinite(min_speed) and min_speed >= 0):
        raise ValueError(f"{caller}: min_speed must be a finite speed >= 0 m/s, got {min_speed}")
    return float(min_speed)


def compute_heading(
    rec: xr.Dataset, *, min_speed: float = 0.0, individual=None, keypoint=None
) -> xr.DataArray:
    """Direction of motion ``(time,)``, radians in ``(-pi, pi]`` counter-clockwise from +x, from the
    velocity; NaN where the speed is not above ``min_speed`` (m/s), where the direction is noise.

    (A simulation's own ``heading`` variable is not used: metrics read simulated and recorded animals
    through the same computation.)"""
    min_speed = _check_min_speed(min_speed, "compute_heading")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_heading")
    heading, _ = _heading(track, min_speed)
    return time_series(heading, track, "heading", "rad", "direction of motion")


def _angular_velocity(track: Track, min_speed: float) -> tuple[np.ndarray, np.ndarray]:
    """Turning rate at each sample: the change of direction between the step into it and the step out of
    it, over the time between the steps' midpoints. NaN at run ends, and where either step is not faster
    than ``min_speed``. Also returns the (central-difference) speed."""
    n = track.time.size
    omega = np.full(n, np.nan)
    if n >= 3:
        d = np.diff(track.xy, axis=0)
        dt = np.diff(track.time)
        same = (track.run[1:] == track.run[:-1]) & (track.run[1:] >= 0)
        step_speed = np.hypot(d[:, 0], d[:, 1]) / dt
        ok = same & (step_speed > max(min_speed, _STATIONARY))
        theta = np.arctan2(d[:, 1], d[:, 0])
        both = ok[:-1] & ok[1:]
        rate = _turn(theta[1:] - theta[:-1]) / ((track.time[2:] - track.time[:-2]) / 2)
        omega[1:-1] = np.where(both, rate, np.nan)
    return omega, np.linalg.norm(_velocity(track), axis=1)


def compute_angular_velocity(
    rec: xr.Dataset, *, min_speed: float = 0.0, individual=None, keypoint=None
) -> xr.DataArray:
    """Angular velocity of the direction of motion ``(time,)``, rad/s (positive: turning left /
    counter-clockwise): at each sample, the turning angle between the step into it and the step out of it
    divided by the time between the steps' midpoints (exact on a uniformly sampled circle). NaN at the
    ends of contiguous runs and where either step is not faster than ``min_speed`` (m/s): the direction
    of a stationary animal is tracking noise."""
    min_speed = _check_min_speed(min_speed, "compute_angular_velocity")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_angular_velocity")
    omega, _ = _angular_velocity(track, min_speed)
    return time_series(
        omega, track, "angular_velocity", "rad/s", "angular velocity of the direction of motion"
    )


def compute_curvature(
    rec: xr.Dataset, *, min_speed: float = 0.0, individual=None, keypoint=None
) -> xr.DataArray:
    """Signed path curvature ``(time,)``, 1/m: :func:`compute_angular_velocity` / speed (a circle of
    radius R gives 1/R; positive: turning left). NaN where the angular velocity is."""
    min_speed = _check_min_speed(min_speed, "compute_curvature")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_curvature")
    omega, speed = _angular_velocity(track, min_speed)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = omega / speed
    return time_series(kappa, track, "curvature", "1/m", "signed curvature of the path")
