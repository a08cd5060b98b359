"""Per-fix movement as movement ecologists use it: the step between two consecutive fixes and the turn
between two consecutive steps.

A *fix* is one usable sample of a track (finite position, inside a contiguous run, see
``analysis._recording``). A *step* joins two consecutive usable fixes of the same run; its length is the
straight-line distance between them, its ``dt`` the actual interval between their timestamps, and its
turning angle the change of direction from the previous step of the same run (Turchin 1998,
*Quantitative analysis of movement*, ch. 5; the inputs of moveHMM, Michelot, Langrock & Patterson 2016,
Methods Ecol Evol 7:1308). Nothing is resampled: a track fixed every 2 h and sometimes every 6 h keeps
both kinds of step, and ``dt`` says which is which. Steps never join fixes across a tracking gap, a
``segment`` or an ``episode`` boundary.

The result is an ``xarray.Dataset`` along ``step``; for five fixes at 0, 1, 2, 5 and 7 s at (0, 0),
(1, 0), (1, 1), (1, 4) and (3, 4) m (east, left turn, straight on, right turn)::

    <xarray.Dataset> Size: 272B
    Dimensions:        (step: 4)
    Coordinates:
        time           (step) float64 32B 0.0 1.0 2.0 5.0
        run            (step) int64 32B 0 0 0 0
        individual     <U4 16B 'id_0'
        keypoint       <U8 32B 'centroid'
    Dimensions without coordinates: step
    Data variables:
        step_length    (step) float64 32B 1.0 1.0 3.0 2.0
        dt             (step) float64 32B 1.0 1.0 3.0 2.0
        turning_angle  (step) float64 32B nan 1.571 0.0 -1.571
        x              (step) float64 32B 0.0 1.0 1.0 1.0
        y              (step) float64 32B 0.0 0.0 1.0 4.0
    Attributes:
        source_file:
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..envs.geometry import wrap_angle
from ._recording import Track, select_track

__all__ = ["compute_fix_steps"]


def _step_pairs(track: Track) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(a, b)`` of the fixes each step joins: consecutive usable samples of the same run."""
    usable = np.flatnonzero((track.run >= 0) & np.all(np.isfinite(track.xy), axis=1))
    a, b = usable[:-1], usable[1:]
    same = track.run[a] == track.run[b]
    return a[same], b[same]


def _turning_angles(d: np.ndarray, length: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Change of direction (rad, ``(-pi, pi]``) from the previous step to each step; NaN for the first
    step of a run and where either step has zero length (its direction is undefined)."""
    heading = np.arctan2(d[:, 1], d[:, 0])
    turn = np.full(length.shape, np.nan)
    if length.size > 1:
        ok = ~first[1:] & (length[1:] > 0) & (length[:-1] > 0)
        turn[1:] = np.where(
            ok, wrap_angle(heading[1:] - heading[:-1], closed="above") + 0.0, np.nan
        )  # no -0.0
    return turn


def compute_fix_steps(rec: xr.Dataset, *, individual=None, keypoint=None) -> xr.Dataset:
    """Step lengths, intervals and turning angles between consecutive fixes, at their own timestamps.

    Args:
        rec: a Recording (recorded or simulated).
        individual, keypoint: the track, as for every metric (default: the only individual and the
            ``centroid``).

    Returns:
        ``Dataset (step,)``, one row per pair of consecutive usable fixes within one contiguous run:
        ``step_length`` (m), ``dt`` (s, the actual interval: irregular sampling is kept, so ``dt`` varies
        where the fixes do), ``turning_angle`` (rad in ``(-pi, pi]``, counter-clockwise positive; NaN for
        the first step of a run and where this or the previous step has zero length), ``x``, ``y`` (m,
        the step's start); coords ``time`` (s, the step's start), ``run`` (the contiguous run) and the
        track's ``individual`` and ``keypoint``. A run of one fix has no step.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_fix_steps")
    a, b = _step_pairs(track)
    d = track.xy[b] - track.xy[a]
    length = np.hypot(d[:, 0], d[:, 1])
    run = track.run[a].astype(np.int64)
    first = np.ones(run.shape, bool)
    first[1:] = run[1:] != run[:-1]
    turn = _turning_angles(d, length, first)
    dims = ("step",)
    return xr.Dataset(
        {
            "step_length": (dims, length, {"units": "m", "long_name": "step length between fixes"}),
            "dt": (
                dims,
                track.time[b] - track.time[a],
                {"units": "s", "long_name": "interval between fixes"},
            ),
            "turning_angle": (
                dims,
                turn,
                {"units": "rad", "long_name": "turning angle (change of direction from the previous step)"},
            ),
            "x": (dims, track.xy[a, 0], {"units": "m", "long_name": "x at the step's start"}),
            "y": (dims, track.xy[a, 1], {"units": "m", "long_name": "y at the step's start"}),
        },
        coords={
            "time": (dims, track.time[a], {"units": "s", "long_name": "time at the step's start"}),
            "run": (dims, run),
            **track.coords(),
        },
        attrs={"source_file": str(track.recording.attrs.get("source_file") or "")},
    )
