"""Morris water maze measures (Morris 1984 J Neurosci Methods 11:47): escape latency, escape path length,
Gallagher proximity and cumulative search error (Gallagher, Burwell & Burchinal 1993 Behav Neurosci
107:618), quadrant occupancy and platform crossings (probe trials).

The platform is read from the recording's attrs ``platform_x``, ``platform_y``, ``platform_radius`` (m)
unless given as ``platform=(x, y, radius)``; the pool from ``pool=(cx, cy, radius)``, else attr
``pool_radius`` or a circular arena (``arena_radius``), centred at ``(radius, radius)``. Every measure is
per trial: the ``episode`` variable numbers the trials of a simulation; a recording without it is one trial.
Time is measured from each trial's first sample.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import xarray as xr

from ._recording import Track, episodes, select_track, source_of

__all__ = [
    "compute_escape_latency",
    "compute_escape_path_length",
    "compute_gallagher_proximity",
    "compute_quadrant_occupancy",
    "compute_platform_crossings",
    "QUADRANTS",
]

QUADRANTS = ("target", "adjacent_ccw", "opposite", "adjacent_cw")


def _platform(track: Track, platform, caller: str) -> tuple[float, float, float]:
    if platform is None:
        a = track.recording.attrs
        missing = [k for k in ("platform_x", "platform_y", "platform_radius") if k not in a]
        if missing:
            raise ValueError(
                f"{caller}: {source_of(track)} has no platform attrs {missing}; "
                "pass platform=(x, y, radius) in metres"
            )
        platform = (a["platform_x"], a["platform_y"], a["platform_radius"])
    try:
        x, y, r = (float(v) for v in platform)
    except (TypeError, ValueError):
        raise ValueError(f"{caller}: platform must be (x, y, radius) in metres, got {platform!r}") from None
    if not (np.isfinite([x, y]).all() and r > 0):
        raise ValueError(f"{caller}: platform must have finite x, y and radius > 0 m, got {platform!r}")
    return x, y, r


def _pool(track: Track, pool, caller: str) -> tuple[float, float, float]:
    if pool is None:
        a = track.recording.attrs
        r = a.get("pool_radius", a.get("arena_radius") if a.get("arena_shape") == "circle" else None)
        if r is None:
            raise ValueError(
                f"{caller}: {source_of(track)} has no pool_radius or circular arena attrs; pass "
                "pool=(cx, cy, radius) in metres"
            )
        pool = (float(r), float(r), float(r))
    cx, cy, r = (float(v) for v in pool)
    if not r > 0:
        raise ValueError(f"{caller}: pool radius must be > 0 m, got {pool!r}")
    return cx, cy, r


def _trials(track: Track) -> Iterator[tuple[int, np.ndarray]]:
    ep = episodes(track)
    for e in np.unique(ep[ep >= 0]):
        yield int(e), np.flatnonzero(ep == e)


def _per_trial(values, eps, track: Track, name: str, units: str, long_name: str, **coords) -> xr.DataArray:
    """A result per trial ``(episode,)``, named, with its units, any extra ``coords`` and the track's."""
    return xr.DataArray(
        values,
        dims=("episode",),
        coords={"episode": eps, **coords, **track.coords()},
        name=name,
        attrs={"units": units, "long_name": long_name},
    )


def _distance(track: Track, px: float, py: float) -> np.ndarray:
    return np.hypot(track.xy[:, 0] - px, track.xy[:, 1] - py)


def _escape_index(d: np.ndarray, idx: np.ndarray, r: float) -> int | None:
    """Index (into idx) of the first tracked sample on the platform, or None."""
    on = np.flatnonzero(d[idx] <= r)
    return int(on[0]) if on.size else None


def compute_escape_latency(rec: xr.Dataset, *, platform=None, individual=None, keypoint=None) -> xr.DataArray:
    """Escape latency per trial ``(episode,)``, seconds from the trial's first sample to the first sample
    on the platform (within ``platform_radius`` of its centre). A trial without escape gets its full
    duration (the usual convention: the latency is censored at the trial length) and ``found = False``."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_escape_latency")
    px, py, r = _platform(track, platform, "compute_escape_latency")
    d = _distance(track, px, py)
    eps, lat, found = [], [], []
    for e, idx in _trials(track):
        k = _escape_index(d, idx, r)
        t = track.time[idx]
        eps.append(e)
        found.append(k is not None)
        lat.append(t[k] - t[0] if k is not None else t[-1] - t[0] + 1.0 / track.fps)
    found_coord = ("episode", np.asarray(found, bool))
    return _per_trial(
        np.asarray(lat, float), eps, track, "escape_latency", "s", "escape latency", found=found_coord
    )


def _path_length(track: Track, idx: np.ndarray) -> float:
    xy, run = track.xy[idx], track.run[idx]
    same = (run[1:] == run[:-1]) & (run[1:] >= 0)
    return float(np.linalg.norm(np.diff(xy, axis=0), axis=1)[same].sum())


def compute_escape_path_length(
    rec: xr.Dataset, *, platform=None, individual=None, keypoint=None
) -> xr.DataArray:
    """Distance swum per trial until the escape (or the trial's end), metres, within contiguous runs."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_escape_path_length")
    px, py, r = _platform(track, platform, "compute_escape_path_length")
    d = _distance(track, px, py)
    eps, lengths = [], []
    for e, idx in _trials(track):
        k = _escape_index(d, idx, r)
        eps.append(e)
        lengths.append(_path_length(track, idx if k is None else idx[: k + 1]))
    return _per_trial(
        np.asarray(lengths, float), eps, track, "escape_path_length", "m", "path length to escape"
    )


def compute_gallagher_proximity(
    rec: xr.Dataset, *, platform=None, until_escape: bool = True, individual=None, keypoint=None
) -> xr.Dataset:
    """Proximity measures of Gallagher et al. (1993) per trial ``(episode,)``:

    * ``mean_proximity`` (m): mean distance to the platform centre over the trial (until the escape when
      ``until_escape``; set it False for probe trials without platform);
    * ``cumulative_search_error`` (m s): the time integral of that distance minus the integral along the
      optimal path, a straight swim from the start at the animal's own mean speed that ends on the
      platform's edge (0 for a straight swim to the platform). Sampled at the recording's rate rather than
      the 10 Hz of the paper.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_gallagher_proximity")
    px, py, r = _platform(track, platform, "compute_gallagher_proximity")
    d = _distance(track, px, py)
    track.require_frames("compute_gallagher_proximity")
    dt = 1.0 / track.fps
    eps, mean_prox, cse = [], [], []
    for e, idx in _trials(track):
        k = _escape_index(d, idx, r) if until_escape else None
        use = idx if k is None else idx[: k + 1]
        ok = use[np.isfinite(d[use])]
        eps.append(e)
        if ok.size == 0:
            mean_prox.append(np.nan)
            cse.append(np.nan)
            continue
        mean_prox.append(float(d[ok].mean()))
        t = track.time[use] - track.time[use[0]]
        duration = t[-1] if t[-1] > 0 else dt
        speed = _path_length(track, use) / duration
        d0 = float(d[ok[0]])
        t_opt = max(d0 - r, 0.0) / speed if speed > 0 else np.inf
        t_ok = track.time[ok] - track.time[use[0]]
        optimal = np.where(t_ok <= t_opt + 1e-9, d0 - speed * t_ok, 0.0)
        cse.append(float((d[ok] - optimal).sum() * dt))
    coords = {"episode": eps, **track.coords()}
    return xr.Dataset(
        {
            "mean_proximity": ("episode", np.asarray(mean_prox, float), {"units": "m"}),
            "cumulative_search_error": ("episode", np.asarray(cse, float), {"units": "m s"}),
        },
        coords=coords,
        attrs={"reference": "Gallagher, Burwell & Burchinal 1993 Behav Neurosci 107:618"},
    )


def compute_quadrant_occupancy(
    rec: xr.Dataset, *, platform=None, pool=None, individual=None, keypoint=None
) -> xr.DataArray:
    """Fraction of each trial's tracked time in each pool quadrant ``(episode, quadrant)``. Quadrants are
    90-degree sectors around the pool centre; ``target`` is centred on the platform, ``adjacent_ccw`` /
    ``adjacent_cw`` next to it counter-clockwise / clockwise, ``opposite`` across."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_quadrant_occupancy")
    px, py, _ = _platform(track, platform, "compute_quadrant_occupancy")
    cx, cy, _ = _pool(track, pool, "compute_quadrant_occupancy")
    ref = np.arctan2(py - cy, px - cx)
    rel = np.angle(np.exp(1j * (np.arctan2(track.xy[:, 1] - cy, track.xy[:, 0] - cx) - ref)))
    # 0: |rel| <= 45 deg; 1: 45-135 deg counter-clockwise; 2: beyond 135 deg; 3: 45-135 deg clockwise.
    q = np.mod(np.floor((rel + np.pi / 4) / (np.pi / 2)), 4).astype(int)
    eps, fractions = [], []
    for e, idx in _trials(track):
        ok = idx[track.run[idx] >= 0]
        eps.append(e)
        counts = np.bincount(q[ok], minlength=4).astype(float)
        fractions.append(counts / counts.sum() if counts.sum() else np.full(4, np.nan))
    return xr.DataArray(
        np.asarray(fractions, float).reshape(len(eps), 4),
        dims=("episode", "quadrant"),
        coords={"episode": eps, "quadrant": list(QUADRANTS), **track.coords()},
        name="quadrant_occupancy",
        attrs={"units": "fraction of tracked time"},
    )


def compute_platform_crossings(
    rec: xr.Dataset, *, platform=None, individual=None, keypoint=None
) -> xr.DataArray:
    """Number of entries into the platform area per trial ``(episode,)`` (probe trials, platform removed):
    a step between consecutive samples of one contiguous run counts when it goes from outside to inside
    the platform circle, or passes through it between two outside samples. A trial starting on the
    platform does not count that start; nothing is counted across a tracking gap."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_platform_crossings")
    px, py, r = _platform(track, platform, "compute_platform_crossings")
    d = _distance(track, px, py)
    inside = d <= r
    a, b = track.xy[:-1], track.xy[1:]
    same = (track.run[1:] == track.run[:-1]) & (track.run[1:] >= 0)
    u = b - a
    c = np.array([px, py])
    uu = np.einsum("ij,ij->i", u, u)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.clip(np.einsum("ij,ij->i", c - a, u) / uu, 0.0, 1.0)
    closest = np.hypot(*(a + s[:, None] * u - c).T)
    entry = same & ~inside[:-1] & (inside[1:] | (closest <= r))
    ep = episodes(track)
    eps, counts = [], []
    for e, idx in _trials(track):
        eps.append(e)
        steps = idx[:-1]  # step i joins sample i and i + 1; both must be in the trial
        steps = steps[ep[steps + 1] == e]
        counts.append(int(entry[steps].sum()))
    return _per_trial(np.asarray(counts, int), eps, track, "platform_crossings", "1", "platform crossings")
