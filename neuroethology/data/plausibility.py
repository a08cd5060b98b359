"""Plausibility checks of :func:`~neuroethology.data.load`: values a tracker can write but no animal can
have. Each check returns problem lines (empty: plausible) naming the field, the first offending sample
(index and time) and what was expected; ``load(..., allow_implausible=True)`` skips them all.

The bounds, and why:

- :data:`ARENA_TOLERANCE`: a position more than half the arena's extent outside the arena (box: beyond
  ``[-W/2, 3W/2] x [-H/2, 3H/2]``; circle: farther than ``2R`` from the centre; a polygon: the box rule on
  its bounding box, so a position off the floor between a maze's arms is no error). Tracking is often done
  in a camera frame wider than the arena (calibration offsets, an animal on the wall, a wider corridor), so
  the margin is generous; beyond it the position is not in the room the arena stands in. Positions within
  the margin but off the floor are kept as recorded (never dropped); the analysis measures them, e.g. a
  negative distance to the wall.
- :data:`MAX_COORDINATE_M`: ``|x|`` or ``|y|`` above 1e8 m (2.5 times the Earth's circumference; projected
  GPS coordinates such as UTM stay below 1e7 m), whatever the arena.
- :data:`MAX_SPEED_M_S`: a step faster than 50 m/s. The cheetah, the fastest land animal, peaks at
  ~26-29 m/s (Wilson et al. 2013, Nature 498:185; Sharp 1997, J. Zool. 241:493); 50 m/s leaves room for
  tracking jitter at high frame rates. Stooping falcons and GPS-tagged flying animals can exceed it: that is
  what ``allow_implausible=True`` is for. Steps are taken within tracked segments only and only for
  positions in metres (pixel data is not checked).
- :data:`MAX_GRID_RATIO`: a time grid (missing frames inserted, or resampling) spanning more than 20 times
  the recorded samples' frames and over :data:`MIN_GRID_SAMPLES` samples: the time stamps then imply a
  recording more than 95 % empty, which is a bad time stamp, not a recording (``t[-1] = 1e8`` in a 50 Hz file
  would be a 37 GiB grid).
- :data:`MAX_INTERVAL_RATIO`: for time as recorded (no grid is built), an interval between two fixes of one
  individual over a million times its median interval (``t[-1] = 1e8`` in a 50 Hz file is 5e9 times). GPS
  collars that stop for months between fixes every few hours stay below 1e4.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .schema import AS_RECORDED, arena_of, on_own_clock, own_rows, time_sampling

__all__ = [
    "ARENA_TOLERANCE",
    "MAX_COORDINATE_M",
    "MAX_GRID_RATIO",
    "MAX_INTERVAL_RATIO",
    "MAX_SPEED_M_S",
    "MIN_GRID_SAMPLES",
    "grid_problem",
    "interval_problems",
    "position_problems",
    "speed_problems",
]

ARENA_TOLERANCE = 0.5  # fraction of the arena's extent a position may lie outside it
MAX_COORDINATE_M = 1e8  # m: 2.5 x the Earth's circumference
MAX_SPEED_M_S = 50.0  # m/s: above the cheetah's ~29 m/s (Sharp 1997; Wilson et al. 2013)
MAX_GRID_RATIO = 20.0  # a grid may hold at most 20 x the recorded samples ...
MIN_GRID_SAMPLES = 1_000_000  # ... unless it is this small anyway (~5.5 h at 50 Hz)
MAX_INTERVAL_RATIO = 1e6  # time as recorded: the longest interval, in median intervals of the individual

ACCEPT_HINT = "pass allow_implausible=True to load it anyway"


def _where(rec: xr.Dataset, idx: tuple[int, int, int]) -> str:
    """``sample 12 (t = 0.24 s), keypoint 'snout', individual 'rat'`` for a (time, keypoint, individual)."""
    ti, k, i = idx
    t = float(rec["time"].values[ti])
    kp = str(rec["keypoint"].values[k])
    ind = str(rec["individual"].values[i])
    return f"sample {ti} (t = {t:.6g} s), keypoint {kp!r}, individual {ind!r}"


def _first(mask: np.ndarray) -> tuple[int, int, int] | None:
    """The first (time, keypoint, individual) where ``mask`` (same shape) is true, in time order."""
    hits = np.argwhere(mask)
    if hits.size == 0:
        return None
    return tuple(int(v) for v in hits[0])  # argwhere is in C order: time first


def _outside_arena(x: np.ndarray, y: np.ndarray, arena: dict) -> tuple[np.ndarray, str]:
    """Where positions lie farther outside the arena than the tolerance, and the allowed region in words."""
    tol = ARENA_TOLERANCE
    shape = arena.get("shape", "polygon")
    if shape != "circle":  # a polygon: the box rule on its bounding box
        if shape == "box":
            x0, y0, x1, y1 = 0.0, 0.0, arena["width"], arena["height"]
        else:
            (x0, y0), (x1, y1) = np.min(arena["boundary"], axis=0), np.max(arena["boundary"], axis=0)
        w, h = x1 - x0, y1 - y0
        lo_x, hi_x, lo_y, hi_y = x0 - tol * w, x1 + tol * w, y0 - tol * h, y1 + tol * h
        bad = (x < lo_x) | (x > hi_x) | (y < lo_y) | (y > hi_y)
        what = "box arena" if shape == "box" else "bounding box of the polygon arena"
        return bad, (
            f"within {tol:.0%} of the {w:g} x {h:g} m {what}, "
            f"x in [{lo_x:g}, {hi_x:g}] m and y in [{lo_y:g}, {hi_y:g}] m"
        )
    r = arena["radius"]
    limit = r + tol * 2 * r
    bad = np.hypot(x - r, y - r) > limit
    return bad, f"within {tol:.0%} of the arena's diameter of the circle arena (radius {r:g} m), " + (
        f"at most {limit:g} m from its centre ({r:g}, {r:g})"
    )


def position_problems(rec: xr.Dataset) -> list[str]:
    """Infinite positions, and positions in metres far outside the arena (when it is known) or beyond
    :data:`MAX_COORDINATE_M`. ``rec``: a Recording with dims (time, space, keypoint, individual)."""
    pos = rec["position"].transpose("time", "space", "keypoint", "individual").values
    problems: list[str] = []
    inf = _first(np.isinf(pos).any(axis=1))
    if inf is not None:
        n = int(np.isinf(pos).sum())
        problems.append(
            f"position has {n} infinite value(s), first at {_where(rec, inf)}: "
            "expected finite metres, or NaN where not tracked"
        )
    if rec.attrs.get("space_unit", "m") != "m":
        return problems
    x, y = pos[:, 0], pos[:, 1]
    with np.errstate(invalid="ignore"):
        huge = np.isfinite(pos).all(axis=1) & (np.abs(pos) > MAX_COORDINATE_M).any(axis=1)
    first = _first(huge)
    if first is not None:
        ti, k, i = first
        problems.append(
            f"position ({x[first]:.3g}, {y[first]:.3g}) m at {_where(rec, first)} is beyond "
            f"{MAX_COORDINATE_M:g} m: expected |x|, |y| <= {MAX_COORDINATE_M:g} m (2.5 x the Earth's "
            f"circumference); wrong units or a corrupt value? {ACCEPT_HINT}"
        )
        return problems
    arena = arena_of(rec)
    if arena is not None:
        with np.errstate(invalid="ignore"):
            bad, allowed = _outside_arena(x, y, arena)
        first = _first(bad & np.isfinite(x) & np.isfinite(y))
        if first is not None:
            problems.append(
                f"position ({x[first]:.3g}, {y[first]:.3g}) m at {_where(rec, first)} is far outside the "
                f"arena ({int(bad.sum())} sample(s) are): expected positions {allowed}; "
                f"wrong scale, wrong arena, or a corrupt value? {ACCEPT_HINT}"
            )
    return problems


def speed_problems(rec: xr.Dataset) -> list[str]:
    """Steps faster than :data:`MAX_SPEED_M_S` between consecutive samples of one tracked segment (metres
    only; a Recording without ``segment`` is taken as tracked wherever its positions are finite)."""
    if rec.attrs.get("space_unit", "m") != "m" or rec.sizes["time"] < 2:
        return []
    if "sampled" in rec.data_vars:  # individuals on their own clocks: each checked at its own fixes
        for i in range(rec.sizes["individual"]):
            problems = speed_problems(on_own_clock(rec, i))
            if problems:
                return problems
        return []
    pos = rec["position"].transpose("time", "space", "keypoint", "individual").values
    t = np.asarray(rec["time"].values, dtype=np.float64)
    if "segment" in rec:
        seg = rec["segment"].transpose("time", "individual").values
        same = (seg[1:] == seg[:-1]) & (seg[1:] >= 0)  # (time - 1, individual)
    else:
        same = np.ones((t.size - 1, pos.shape[3]), dtype=bool)
    dt = np.diff(t)[:, None, None]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        speed = np.hypot(pos[1:, 0] - pos[:-1, 0], pos[1:, 1] - pos[:-1, 1]) / dt  # (time - 1, kp, ind)
        fast = np.isfinite(pos[1:]).all(axis=1) & np.isfinite(pos[:-1]).all(axis=1) & same[:, None, :]
        fast &= ~(speed <= MAX_SPEED_M_S)
    first = _first(fast)
    if first is None:
        return []
    ti, k, i = first
    end = (ti + 1, k, i)
    return [
        f"speed {speed[first]:.3g} m/s from sample {ti} (t = {t[ti]:.6g} s) to {_where(rec, end)} "
        f"({int(fast.sum())} step(s) are this fast): expected at most {MAX_SPEED_M_S:g} m/s (the cheetah, the "
        f"fastest land animal, reaches ~29 m/s); wrong scale, an identity swap, or a fast flyer? {ACCEPT_HINT}"
    ]


def grid_problem(t: np.ndarray, fps: float, n_grid: int, what: str) -> str | None:
    """Whether a time grid of ``n_grid`` samples built from the time stamps ``t`` (s, recorded at ``fps``
    Hz) is implausibly large: over :data:`MIN_GRID_SAMPLES` samples and over :data:`MAX_GRID_RATIO` times
    the frames the recorded samples cover. ``what``: the step that builds the grid. Names the largest gap."""
    n_frames = (float(t[-1]) - float(t[0])) * fps + 1
    if n_grid <= MIN_GRID_SAMPLES or (math.isfinite(n_frames) and n_frames <= MAX_GRID_RATIO * t.size):
        return None
    gaps = np.diff(t)
    j = int(np.argmax(gaps))
    gib = n_grid * 8 / 2**30
    return (
        f"time: {what} would build a grid of {n_grid:.4g} samples (~{gib:.3g} GiB per coordinate array) for "
        f"{t.size} recorded samples at {fps:g} Hz: the time stamps span {t[-1] - t[0]:.6g} s, over "
        f"{MAX_GRID_RATIO:g} x the {t.size} recorded frames; the largest gap is {gaps[j]:.6g} s, from sample "
        f"{j} (t = {t[j]:.6g} s) to sample {j + 1} (t = {t[j + 1]:.6g} s): expected steps of about "
        f"{1 / fps:.3g} s; a corrupt time stamp? {ACCEPT_HINT}"
    )


def interval_problems(rec: xr.Dataset) -> list[str]:
    """For time as recorded: an interval between consecutive fixes of one individual longer than
    :data:`MAX_INTERVAL_RATIO` times its median interval (a corrupt time stamp, not a pause)."""
    if time_sampling(rec) != AS_RECORDED:
        return []
    t = np.asarray(rec["time"].values, dtype=np.float64)
    problems = []
    for i, name in enumerate(str(v) for v in rec["individual"].values):
        own = np.flatnonzero(own_rows(rec, i))
        gaps = np.diff(t[own])
        if gaps.size < 2:
            continue
        median = float(np.median(gaps))
        j = int(np.argmax(gaps))
        if median > 0 and gaps[j] > MAX_INTERVAL_RATIO * median:
            problems.append(
                f"time of individual {name!r}: an interval of {gaps[j]:.6g} s from sample {own[j]} "
                f"(t = {t[own[j]]:.6g} s) to sample {own[j + 1]} (t = {t[own[j + 1]]:.6g} s), "
                f"{gaps[j] / median:.3g} x the median interval ({median:.6g} s): expected at most "
                f"{MAX_INTERVAL_RATIO:g} x; a corrupt time stamp? {ACCEPT_HINT}"
            )
    return problems
