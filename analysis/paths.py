"""Path geometry of one track: path length, straightness, turning angles, sinuosity, mean squared
displacement and its exponent.

Everything is computed within contiguous runs (no step ever joins two sides of a tracking gap, a segment
or an episode boundary); quantities of several runs are pooled.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import xarray as xr

from ._recording import Track, select_track
from .kinematics import _turn

__all__ = [
    "rediscretize_path",
    "compute_path_length",
    "compute_straightness",
    "compute_turning_angles",
    "compute_sinuosity",
    "compute_msd",
    "fit_msd_exponent",
    "compute_msd_exponent",
    "MSDExponent",
]


def _run_slices(run: np.ndarray) -> list[slice]:
    """Slices of the contiguous runs (``run >= 0``), in order."""
    if run.size == 0:
        return []
    change = np.flatnonzero(np.diff(run) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [run.size]])
    return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if run[a] >= 0]


def rediscretize_path(
    xy: np.ndarray, step_length: float, time: np.ndarray | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Resample a path at a constant step length (Bovet & Benhamou 1988 J Theor Biol 131:419; Benhamou
    2004 J Theor Biol 229:209): each new point is where the path first leaves the circle of radius
    ``step_length`` around the previous new point (the exact crossing on the segment between samples).

    Args:
        xy: ``(n, 2)`` contiguous path, metres (no NaN).
        step_length: metres, > 0.
        time: ``(n,)`` seconds of the samples; with it the times of the new points (linear between
            samples) are returned too.

    Returns:
        ``(m, 2)`` points, consecutive ones exactly ``step_length`` apart; the first is ``xy[0]``; and
        ``(m,)`` their times when ``time`` is given.
    """
    xy = np.asarray(xy, dtype=float)
    if not step_length > 0:
        raise ValueError(f"rediscretize_path: step_length must be > 0 m, got {step_length}")
    if xy.shape[0] == 0:
        return (xy.reshape(0, 2), np.zeros(0)) if time is not None else xy.reshape(0, 2)
    r2 = step_length * step_length
    px, py = xy[:, 0].tolist(), xy[:, 1].tolist()
    tt = None if time is None else np.asarray(time, float).tolist()
    cx, cy = px[0], py[0]
    out_x, out_y = [cx], [cy]
    out_t = [tt[0]] if tt is not None else None
    n = len(px)
    j = 1
    while j < n:
        dx, dy = px[j] - cx, py[j] - cy
        if dx * dx + dy * dy < r2:
            j += 1
            continue
        # The path leaves the circle on segment (j-1, j): solve |a + s (b - a) - c| = step, s in [0, 1].
        ax, ay = px[j - 1] - cx, py[j - 1] - cy
        ux, uy = px[j] - px[j - 1], py[j] - py[j - 1]
        qa = ux * ux + uy * uy
        qb = 2 * (ax * ux + ay * uy)
        qc = ax * ax + ay * ay - r2
        s = (-qb + math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
        cx, cy = px[j - 1] + s * ux, py[j - 1] + s * uy
        out_x.append(cx)
        out_y.append(cy)
        if out_t is not None:
            out_t.append(tt[j - 1] + s * (tt[j] - tt[j - 1]))
        # Stay on the same segment: the next crossing may lie on it too.
    points = np.column_stack([out_x, out_y])
    return (points, np.asarray(out_t)) if out_t is not None else points


def _run_paths(track: Track, step_length: float | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per run: ``(points (m, 2), times (m,))``, the sampled points (``step_length=None``, repeated
    positions dropped) or the rediscretised ones."""
    paths = []
    for sl in _run_slices(track.run):
        xy, t = track.xy[sl], track.time[sl]
        if step_length is None:
            keep = np.ones(len(xy), bool)
            keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)
            xy, t = xy[keep], t[keep]
        else:
            xy, t = rediscretize_path(xy, step_length, time=t)
        paths.append((xy, t))
    return paths


def _check_step(step_length: float | None, caller: str) -> float | None:
    if step_length is not None and not (np.isfinite(step_length) and step_length > 0):
        raise ValueError(
            f"{caller}: step_length must be > 0 m or None (the sampled steps), got {step_length}"
        )
    return None if step_length is None else float(step_length)


def compute_path_length(rec: xr.Dataset, *, individual=None, keypoint=None) -> xr.DataArray:
    """Distance travelled, metres (scalar): the sum of the sampled steps within contiguous runs (the
    unknown path across a tracking gap is not counted). ``attrs['duration']``: tracked seconds."""
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_path_length")
    same = (track.run[1:] == track.run[:-1]) & (track.run[1:] >= 0)
    steps = np.linalg.norm(np.diff(track.xy, axis=0), axis=1)
    total = float(steps[same].sum())
    tracked = float(np.diff(track.time)[same].sum())
    return xr.DataArray(
        total,
        coords=track.coords(),
        name="path_length",
        attrs={"units": "m", "long_name": "path length", "duration": tracked},
    )


def compute_straightness(
    rec: xr.Dataset, *, window: float | None = None, individual=None, keypoint=None
) -> xr.DataArray:
    """Straightness index, net displacement / path length, in [0, 1] (Batschelet 1981; Benhamou 2004
    J Theor Biol 229:209, who shows it is the reliable measure for oriented paths).

    Args:
        window: seconds. ``None``: one value per contiguous run; otherwise one per consecutive window of
            that length inside each run (the last, shorter remainder of a run is dropped).

    Returns:
        ``DataArray (bout,)`` with coords ``start`` and ``end`` (s); NaN where nothing moved.
    """
    if window is not None and not (np.isfinite(window) and window > 0):
        raise ValueError(f"compute_straightness: window must be > 0 s or None, got {window}")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_straightness")
    values, starts, ends = [], [], []
    steps = np.linalg.norm(np.diff(track.xy, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(np.where(np.isfinite(steps), steps, 0.0))])
    for sl in _run_slices(track.run):
        t = track.time[sl]
        if window is None:
            edges = np.array([0, sl.stop - sl.start - 1])
        else:
            n_full = int(np.floor((t[-1] - t[0]) / window + 1e-9))
            # Window b runs from the first sample at or after t0 + b w to the first at or after t0 + (b+1) w.
            edges = np.searchsorted(t, t[0] + window * np.arange(n_full + 1) - 1e-9 * window)
        for a, b in zip(sl.start + edges[:-1], sl.start + edges[1:], strict=True):
            if b <= a:
                continue
            length = float(cum[b] - cum[a])
            net = float(np.linalg.norm(track.xy[b] - track.xy[a]))
            values.append(net / length if length > 0 else np.nan)
            starts.append(track.time[a])
            ends.append(track.time[b])
    return xr.DataArray(
        np.asarray(values, float),
        dims=("bout",),
        coords={
            "start": ("bout", np.asarray(starts, float)),
            "end": ("bout", np.asarray(ends, float)),
            **track.coords(),
        },
        name="straightness",
        attrs={"units": "1", "long_name": "straightness index", "window": window or 0.0},
    )


def _turns(paths: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Turning angles, their run index and time (of the vertex), and the step lengths of every run."""
    angles, runs, times, lengths = [], [], [], []
    for i, (xy, t) in enumerate(paths):
        if len(xy) < 2:
            continue
        d = np.diff(xy, axis=0)
        lengths.append(np.hypot(d[:, 0], d[:, 1]))
        if len(xy) < 3:
            continue
        direction = np.arctan2(d[:, 1], d[:, 0])
        angles.append(_turn(np.diff(direction)))
        runs.append(np.full(len(direction) - 1, i))
        times.append(t[1:-1])
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
    return cat(angles, float), cat(runs, int), cat(times, float), cat(lengths, float)


def compute_turning_angles(
    rec: xr.Dataset, *, step_length: float | None = None, individual=None, keypoint=None
) -> xr.DataArray:
    """Turning angles between successive steps, radians in ``(-pi, pi]`` (positive: left).

    Args:
        step_length: metres. ``None``: the sampled steps (repeated positions dropped); a value: the path
            rediscretised at that constant step (Bovet & Benhamou 1988), which removes the dependence on
            speed and frame rate. Compare groups at the same ``step_length``.

    Returns:
        ``DataArray (turn,)`` with coords ``run`` (the contiguous run each turn lies in) and ``time`` (s, of
        the vertex; interpolated between samples on a rediscretised path).
    """
    step_length = _check_step(step_length, "compute_turning_angles")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_turning_angles")
    angles, runs, times, _ = _turns(_run_paths(track, step_length))
    return xr.DataArray(
        angles,
        dims=("turn",),
        coords={"run": ("turn", runs), "time": ("turn", times), **track.coords()},
        name="turning_angle",
        attrs={"units": "rad", "long_name": "turning angle", "step_length": step_length or 0.0},
    )


def compute_sinuosity(
    rec: xr.Dataset, *, step_length: float | None = None, individual=None, keypoint=None
) -> xr.DataArray:
    """Sinuosity index of Benhamou (2004, J Theor Biol 229:209, eq. 8), 1/sqrt(m):

        S = 2 [p ((1 - c^2 - s^2) / ((1 - c)^2 + s^2) + b^2)]^(-1/2)

    with p the mean step length, c and s the mean cosine and sine of the turning angles and b the
    coefficient of variation of step length. 0 for a straight path; for a correlated random walk it
    measures the tortuosity per unit of path length.

    Args:
        step_length: metres: rediscretise at this constant step first (then b = 0, Benhamou's
            recommendation); ``None``: the sampled steps, with their b.
    """
    step_length = _check_step(step_length, "compute_sinuosity")
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_sinuosity")
    angles, _, _, lengths = _turns(_run_paths(track, step_length))
    if angles.size == 0:
        value = np.nan
    else:
        p = float(lengths.mean())
        b = float(lengths.std() / p) if step_length is None else 0.0
        c, s = float(np.cos(angles).mean()), float(np.sin(angles).mean())
        denom = (1 - c) ** 2 + s**2
        # A straight path (every angle 0) has sinuosity 0; a path turning by the same nonzero angle at equal
        # steps (a circle: mean resultant length 1, b = 0) has an infinite one in Benhamou's formula.
        spread = 1 - c * c - s * s  # 1 - (mean resultant length)^2: zero, to rounding, for a circle
        if denom <= 1e-15:
            value = 0.0
        else:
            inner = (spread if spread > 1e-12 * denom else 0.0) / denom + b * b
            value = 2.0 / math.sqrt(p * inner) if inner > 1e-12 else np.inf
    return xr.DataArray(
        value,
        coords=track.coords(),
        name="sinuosity",
        attrs={
            "units": "m^-1/2",
            "long_name": "sinuosity (Benhamou 2004)",
            "step_length": step_length or 0.0,
        },
    )


def _uniform_dt(track: Track, caller: str) -> float | None:
    """The sampling interval, s, or ``None`` where the intervals vary by more than 1 %."""
    dt = np.diff(track.time)
    if dt.size == 0:
        raise ValueError(f"{caller}: the recording has a single sample")
    med = float(np.median(dt))
    return None if np.max(np.abs(dt - med)) > 0.01 * med else med


def _lag_edges(lags: np.ndarray | None, lo: float, hi: float, n_lags: int) -> np.ndarray:
    """Log-spaced lag bin edges, s: ``n_lags`` bins from ``lo`` to ``hi``, or bins centred (in log) on the
    given ``lags``."""
    if lags is None:
        return np.geomspace(lo, max(hi, lo * 1.0001), max(int(n_lags), 1) + 1)
    logs = np.log(np.sort(lags))
    half = np.diff(logs) / 2 if logs.size > 1 else np.array([np.log(2) / 2])
    inner = logs[:-1] + half[: logs.size - 1]
    return np.exp(np.concatenate([[logs[0] - half[0]], inner, [logs[-1] + half[-1]]]))


def _msd_binned(track: Track, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MSD of irregularly sampled fixes: every pair of fixes of one run whose time difference falls in a lag
    bin ``[edges[i], edges[i+1])``. Returns the MSD, the mean lag of the pairs and their number per bin."""
    total = np.zeros(edges.size - 1)
    lag_sum = np.zeros(edges.size - 1)
    count = np.zeros(edges.size - 1, np.int64)
    for sl in _run_slices(track.run):
        t, xy = track.time[sl], track.xy[sl]
        for j in range(1, t.size):
            dt = t[j:] - t[:-j]
            if dt.min() >= edges[-1]:
                break
            b = np.searchsorted(edges, dt, side="right") - 1
            keep = (b >= 0) & (b < count.size)
            d = xy[j:][keep] - xy[:-j][keep]
            np.add.at(total, b[keep], np.einsum("ij,ij->i", d, d))
            np.add.at(lag_sum, b[keep], dt[keep])
            np.add.at(count, b[keep], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan), lag_sum / count, count


def compute_msd(
    rec: xr.Dataset,
    *,
    lags: np.ndarray | None = None,
    max_lag: float | None = None,
    n_lags: int = 30,
    individual=None,
    keypoint=None,
) -> xr.DataArray:
    """Time-averaged mean squared displacement, m^2, over pairs of samples in the same contiguous run.

    Irregularly sampled tracks (intervals varying by more than 1 %: time as recorded) are not resampled:
    pairs of fixes are binned by their time difference (log-spaced bins), and each bin's ``lag`` is the mean
    time difference of its pairs.

    Args:
        lags: seconds (rounded to whole samples; irregular sampling: bin centres). Default: ``n_lags``
            log-spaced lags from one sample (the shortest interval) to ``max_lag`` (default: a tenth of the
            longest run).

    Returns:
        ``DataArray (lag,)`` (lag in s) with coord ``n_pairs``; NaN where no pair exists.
    """
    track = select_track(rec, individual=individual, keypoint=keypoint, caller="compute_msd")
    dt = _uniform_dt(track, "compute_msd")
    runs = _run_slices(track.run)
    if lags is not None:
        lags = np.atleast_1d(np.asarray(lags, float))
        if np.any(~np.isfinite(lags)) or np.any(lags <= 0):
            raise ValueError(f"compute_msd: lags must be > 0 s, got {lags}")
    if dt is None:
        span = max((track.time[sl.stop - 1] - track.time[sl.start] for sl in runs), default=0.0)
        lo = float(np.diff(track.time).min())
        hi = float(max_lag) if max_lag is not None else max(span / 10, lo)
        msd, mean_lag, n_pairs = _msd_binned(track, _lag_edges(lags, lo, hi, n_lags))
        return xr.DataArray(
            msd,
            dims=("lag",),
            coords={"lag": mean_lag, "n_pairs": ("lag", n_pairs), **track.coords()},
            name="msd",
            attrs={"units": "m^2", "long_name": "mean squared displacement", "lag_binning": "log"},
        )
    longest = max((sl.stop - sl.start for sl in runs), default=0)
    if lags is None:
        hi = max(1, int(round(max_lag / dt)) if max_lag is not None else longest // 10)
        k = np.unique(np.round(np.geomspace(1, hi, max(int(n_lags), 1))).astype(int))
    else:
        k = np.unique(np.maximum(1, np.round(lags / dt).astype(int)))
    msd = np.full(k.size, np.nan)
    n_pairs = np.zeros(k.size, np.int64)
    for i, lag in enumerate(k):
        total, count = 0.0, 0
        same = track.run[lag:] == track.run[:-lag]
        same &= track.run[lag:] >= 0
        if same.any():
            d = track.xy[lag:][same] - track.xy[:-lag][same]
            total, count = float(np.einsum("ij,ij->", d, d)), int(same.sum())
        if count:
            msd[i] = total / count
        n_pairs[i] = count
    return xr.DataArray(
        msd,
        dims=("lag",),
        coords={"lag": k * dt, "n_pairs": ("lag", n_pairs), **track.coords()},
        name="msd",
        attrs={"units": "m^2", "long_name": "mean squared displacement"},
    )


class MSDExponent(NamedTuple):
    """Fit of ``MSD(tau) = coefficient * tau ** exponent`` (1: diffusive, 2: ballistic)."""

    exponent: float
    coefficient: float  # m^2 / s^exponent
    r_squared: float
    lag_range: tuple[float, float]  # s, the lags used
    n_lags: int


def fit_msd_exponent(msd: xr.DataArray, *, lag_range: tuple[float, float] | None = None) -> MSDExponent:
    """Least-squares line through ``log MSD`` against ``log lag`` over ``lag_range`` (seconds, inclusive;
    default all lags). Needs at least two lags with a positive MSD."""
    if not isinstance(msd, xr.DataArray) or msd.dims != ("lag",):
        raise ValueError("fit_msd_exponent: expected the DataArray (lag,) returned by compute_msd")
    lag = np.asarray(msd["lag"].values, float)
    y = np.asarray(msd.values, float)
    if lag_range is None:
        lo, hi = float(np.nanmin(lag)), float(np.nanmax(lag))
    else:
        lo, hi = float(lag_range[0]), float(lag_range[1])
        if not 0 < lo < hi:
            raise ValueError(
                f"fit_msd_exponent: lag_range must satisfy 0 < low < high seconds, got {lag_range}"
            )
    ok = np.isfinite(lag) & (lag >= lo * (1 - 1e-9)) & (lag <= hi * (1 + 1e-9)) & np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(
            f"fit_msd_exponent: fewer than two lags with a positive MSD in {lo:g}-{hi:g} s "
            f"(lags available: {np.nanmin(lag):g}-{np.nanmax(lag):g} s)"
        )
    lx, ly = np.log(lag[ok]), np.log(y[ok])
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    ss = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float((resid**2).sum()) / ss if ss > 0 else 1.0
    return MSDExponent(
        float(slope),
        float(np.exp(intercept)),
        r2,
        (float(lag[ok].min()), float(lag[ok].max())),
        int(ok.sum()),
    )


def compute_msd_exponent(
    rec: xr.Dataset,
    *,
    lag_range: tuple[float, float] | None = None,
    n_lags: int = 30,
    individual=None,
    keypoint=None,
) -> MSDExponent:
    """MSD exponent of a track: :func:`compute_msd` on log-spaced lags spanning ``lag_range`` (seconds;
    default one sample to a tenth of the longest run), then :func:`fit_msd_exponent`. In a bounded arena
    the MSD saturates at long lags, so choose ``lag_range`` below the arena-crossing time."""
    if lag_range is None:
        msd = compute_msd(rec, n_lags=n_lags, individual=individual, keypoint=keypoint)
    else:
        lo, hi = float(lag_range[0]), float(lag_range[1])
        if not 0 < lo < hi:
            raise ValueError(
                f"compute_msd_exponent: lag_range must satisfy 0 < low < high s, got {lag_range}"
            )
        msd = compute_msd(rec, lags=np.geomspace(lo, hi, n_lags), individual=individual, keypoint=keypoint)
    return fit_msd_exponent(msd, lag_range=lag_range)
