"""Patch foraging: visits, residence times, and residence against the marginal value theorem (Charnov
1976 Theor Popul Biol 9:129): an optimal forager leaves a patch when its intake rate falls to the
environment's average rate. The optimum residence time is an argument (e.g. from
``neuroethology.envs.patch_foraging.mvt_optimum``), so any recording can be held against any model.

Patch membership comes from the variable ``patch (time, individual)`` (patch index, ``-1`` travelling)
written by simulations, or from ``patches=`` circles ``(k, 3)`` of ``(x, y, radius)`` metres for
recordings (the first circle containing the position).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from ._recording import Track, episodes, select_track, track_variable

__all__ = ["compute_patch_visits", "compare_residence_to_mvt"]

_UNKNOWN = -2


def _labels(track: Track, patches, caller: str) -> np.ndarray:
    if patches is None:
        lab = track_variable(track, "patch", caller=caller)
        if lab.ndim != 1:
            raise ValueError(f"{caller}: variable 'patch' must be (time, individual), found {lab.ndim + 1}-D")
        lab = np.where(np.isfinite(lab.astype(float)), lab, -1).astype(np.int64)
        lab = np.where(lab < 0, -1, lab)
    else:
        c = np.asarray(patches, float)
        if c.ndim != 2 or c.shape[1] != 3 or np.any(c[:, 2] <= 0) or not np.isfinite(c).all():
            raise ValueError(
                f"{caller}: patches must be a (k, 3) array of (x, y, radius > 0) in m, got shape {c.shape}"
            )
        d2 = (track.xy[:, None, 0] - c[None, :, 0]) ** 2 + (track.xy[:, None, 1] - c[None, :, 1]) ** 2
        inside = d2 <= c[None, :, 2] ** 2
        lab = np.where(inside.any(axis=1), inside.argmax(axis=1), -1)
    return np.where(track.run >= 0, lab, _UNKNOWN)


def compute_patch_visits(rec: xr.Dataset, *, patches=None, individual=None, keypoint=None) -> xr.Dataset:
    """Every visit to a patch, ``(visit,)``: ``patch`` index, ``start`` and ``end`` (s, first and last
    sample), ``residence`` (s: samples x 1/fps), ``travel_before`` (s since leaving the previous patch,
    NaN for the first visit of a trial or after an untracked stretch) and ``censored`` (the visit touches
    a trial's start or end or an untracked sample, so its true length is unknown)."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_patch_visits")
    lab = _labels(track, patches, "compute_patch_visits")
    ep = episodes(track)
    n = lab.size
    track.require_frames("compute_patch_visits")
    dt = 1.0 / track.fps
    change = np.flatnonzero((np.diff(lab) != 0) | (np.diff(ep) != 0)) + 1
    starts = np.concatenate([[0], change]) if n else np.zeros(0, int)
    ends = np.concatenate([change, [n]]) if n else np.zeros(0, int)
    rows = []
    last_exit = {}  # episode -> time the previous patch was left (None after an unknown stretch)
    for a, b in zip(starts, ends, strict=True):
        k = lab[a]
        e = ep[a]
        if k == _UNKNOWN:
            last_exit[e] = None
            continue
        if k < 0:
            continue
        trial_start = a == 0 or ep[a - 1] != e
        trial_end = b == n or ep[b] != e
        censored = trial_start or trial_end or lab[a - 1] == _UNKNOWN or lab[b] == _UNKNOWN
        prev = last_exit.get(e)
        travel = track.time[a] - prev if prev is not None else np.nan
        rows.append((int(k), track.time[a], track.time[b - 1], (b - a) * dt, travel, bool(censored)))
        last_exit[e] = track.time[b - 1]
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(6)]
    return xr.Dataset(
        {
            "patch": ("visit", np.asarray(cols[0], int)),
            "start": ("visit", np.asarray(cols[1], float), {"units": "s"}),
            "end": ("visit", np.asarray(cols[2], float), {"units": "s"}),
            "residence": ("visit", np.asarray(cols[3], float), {"units": "s"}),
            "travel_before": ("visit", np.asarray(cols[4], float), {"units": "s"}),
            "censored": ("visit", np.asarray(cols[5], bool)),
        },
        coords=track.coords(),
    )


def compare_residence_to_mvt(
    rec: xr.Dataset,
    *,
    optimum,
    patches=None,
    include_censored: bool = False,
    individual=None,
    keypoint=None,
) -> xr.Dataset:
    """Residence times against the marginal-value-theorem optimum.

    Args:
        optimum: seconds: one value, or one per patch index (array indexed by ``patch``).
        include_censored: also use visits whose length is unknown (see :func:`compute_patch_visits`).

    Returns:
        Scalars: ``n_visits``, ``mean_residence``, ``median_residence``, ``mean_optimum`` (s),
        ``mean_difference`` (observed - optimal, s; positive: over-staying, as animals usually do),
        ``ratio`` (mean observed / mean optimal), ``fraction_longer`` (visits longer than optimal),
        ``t_statistic`` and ``p_value`` (two-sided one-sample t-test of the differences).
    """
    visits = compute_patch_visits(rec, patches=patches, individual=individual, keypoint=keypoint)
    opt = np.atleast_1d(np.asarray(optimum, float))
    if opt.size == 0 or not np.all(np.isfinite(opt)) or np.any(opt <= 0):
        raise ValueError(
            f"compare_residence_to_mvt: optimum must be > 0 s (one value or one per patch), got {optimum}"
        )
    use = visits if include_censored else visits.isel(visit=~visits["censored"].values)
    k = use["patch"].values
    if opt.size > 1 and k.size and k.max() >= opt.size:
        raise ValueError(
            f"compare_residence_to_mvt: {opt.size} optimum values but patch index {k.max()} visited"
        )
    best = np.full(k.shape, opt[0]) if opt.size == 1 else opt[k]
    res = use["residence"].values
    diff = res - best
    if res.size >= 2 and np.std(diff) > 0:
        t_stat, p = stats.ttest_1samp(diff, 0.0)
    else:
        t_stat, p = np.nan, np.nan
    nan = np.nan
    out = {
        "n_visits": res.size,
        "mean_residence": res.mean() if res.size else nan,
        "median_residence": np.median(res) if res.size else nan,
        "mean_optimum": best.mean() if res.size else float(opt.mean()),
        "mean_difference": diff.mean() if res.size else nan,
        "ratio": res.mean() / best.mean() if res.size else nan,
        "fraction_longer": (diff > 0).mean() if res.size else nan,
        "t_statistic": float(t_stat),
        "p_value": float(p),
    }
    return xr.Dataset(
        {k: ((), v) for k, v in out.items()},
        coords=visits.coords,
        attrs={"reference": "Charnov 1976 Theor Popul Biol 9:129"},
    )
