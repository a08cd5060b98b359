"""Processing steps applied to Recordings: calibration, keypoint selection, gaps, segments, resampling.

Each step takes a Recording and returns a new one whose ``attrs["processing"]`` records what was done (how
many samples were filled, which gaps split the track, from which rate to which it was resampled), so that
nothing is changed silently.

Conventions: a sample of an individual is *tracked* when all its keypoints have finite x and y. A *gap* is a
run of untracked samples (or a jump of the time axis) between two tracked ones; its duration is the time
missing, ``t_next - t_prev - 1/fps`` (``n / fps`` for ``n`` missing frames). Segments number the contiguous
tracked stretches of each individual ``0, 1, 2, ...`` (``-1`` where untracked); analyses never difference
across segments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from .model import add_processing_step
from .plausibility import grid_problem
from .schema import FRAMES, POSITION_DIMS, keep_own_spikes, own_clock_fps, own_rows, time_sampling

__all__ = [
    "calibrate",
    "interpolate_gaps",
    "label_segments",
    "resample",
    "select_keypoints",
    "smooth",
]

_EPS_S = 1e-9  # s: slack when comparing gap durations and times (float rounding of time stamps)


def own_fixes(rec: xr.Dataset) -> xr.Dataset:
    """``rec`` without the times none of its individuals has a fix at (after individuals were selected), and
    without ``sampled`` once every individual has every time; the nominal ``fps`` from their own intervals;
    the spikes (and ``unit_order``) of its own individuals only (:func:`~.schema.keep_own_spikes`)."""
    rec = keep_own_spikes(rec)
    if "sampled" not in rec.data_vars:
        return rec
    sampled = np.asarray(rec["sampled"].transpose("time", "individual").values, bool)
    rec = rec.isel(time=np.flatnonzero(sampled.any(axis=1)))
    sampled = np.asarray(rec["sampled"].transpose("time", "individual").values, bool)
    fps = own_clock_fps(np.asarray(rec["time"].values, dtype=np.float64), sampled)
    if sampled.all():
        rec = rec.drop_vars("sampled")
    if fps is not None:
        rec.attrs = {**rec.attrs, "fps": fps}
    return rec


def _one_clock(rec: xr.Dataset, step: str) -> None:
    """Refuse a step that works on one shared clock for individuals fixed at their own times."""
    if "sampled" in rec.data_vars:
        raise ValueError(
            f"{step}: the individuals of this recording were fixed at their own times (variable 'sampled'); "
            f"{step} needs one clock: keep one individual (individuals=[NAME]) or split the recording first "
            "(neuroethology.analysis.split_individuals)"
        )


def _fps(rec: xr.Dataset) -> float:
    fps = float(rec.attrs["fps"])
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"the recording's attrs['fps'] must be a positive frame rate, got {fps!r}")
    return fps


# ------------------------------------------------------------------------------------------------ calibrate


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3 x 3 projective transform mapping the 4 points ``src`` (4, 2) onto ``dst`` (4, 2) (direct linear
    transform, Hartley & Zisserman 2004, Multiple View Geometry, alg. 4.1), normalised so ``H[2, 2] = 1``."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y, -u])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y, -v])
    _, s, vt = np.linalg.svd(np.asarray(rows))
    if s[-2] < 1e-10 * s[0]:
        raise ValueError("arena_corners are degenerate (three of them on a line or repeated)")
    h = vt[-1].reshape(3, 3)
    return h / h[2, 2]


def apply_homography(h: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Map points ``xy`` (..., 2) through the projective transform ``h`` (3, 3)."""
    xy = np.asarray(xy, dtype=np.float64)
    w = xy[..., 0] * h[2, 0] + xy[..., 1] * h[2, 1] + h[2, 2]
    u = (xy[..., 0] * h[0, 0] + xy[..., 1] * h[0, 1] + h[0, 2]) / w
    v = (xy[..., 0] * h[1, 0] + xy[..., 1] * h[1, 1] + h[1, 2]) / w
    return np.stack([u, v], axis=-1)


def calibrate(
    rec: xr.Dataset,
    *,
    scale: float | None = None,
    arena_corners: Any = None,
    arena_size: Any = None,
) -> xr.Dataset:
    """Convert positions from file units (pixels for video trackers) to metres.

    Args:
        rec: Recording whose positions are in file units (``attrs["space_unit"]`` "pixels" or "m").
        scale: metres per file unit (per pixel): ``position_m = scale * position``. The image axes are kept
            (x right, y down for video).
        arena_corners: ``(4, 2)`` file coordinates of the arena's corners, in the order of the arena points
            ``(0, 0), (W, 0), (W, H), (0, H)``; with ``arena_size = (W, H)`` (m) they define the projective
            map (camera tilt included) onto the arena frame, whose box spans ``[0, W] x [0, H]``.
        arena_size: ``(W, H)`` metres, or one number for a square.

    Returns:
        The Recording in metres, with the step recorded in ``attrs["processing"]``; with ``arena_corners``
        the arena is set to the ``W x H`` box unless the recording already has an arena.
    """
    if (scale is None) == (arena_corners is None):
        raise ValueError(
            "calibrate needs exactly one of scale= (metres per pixel) or arena_corners= with arena_size="
        )
    pos = rec["position"].values
    out = rec.copy()
    out.attrs = dict(rec.attrs)
    if scale is not None:
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number of metres per pixel, got {scale!r}")
        out["position"] = (POSITION_DIMS, pos * scale, {"units": "m"})
        step: dict[str, Any] = {"step": "calibrate", "method": "scale", "metres_per_unit": scale}
    else:
        corners = np.asarray(arena_corners, dtype=np.float64)
        if corners.shape != (4, 2) or not np.isfinite(corners).all():
            raise ValueError(
                f"arena_corners must be 4 finite (x, y) points, shape (4, 2), got {np.shape(arena_corners)}"
            )
        size = np.broadcast_to(
            np.asarray(arena_size if arena_size is not None else np.nan, dtype=np.float64), (2,)
        )
        if not (np.isfinite(size).all() and (size > 0).all()):
            raise ValueError(f"arena_corners needs arena_size=(width, height) in metres, got {arena_size!r}")
        w, hgt = (float(v) for v in size)
        h = homography(corners, np.array([[0.0, 0.0], [w, 0.0], [w, hgt], [0.0, hgt]]))
        xy = apply_homography(h, np.moveaxis(pos, 1, -1))
        out["position"] = (POSITION_DIMS, np.moveaxis(xy, -1, 1), {"units": "m"})
        step = {
            "step": "calibrate",
            "method": "arena_corners",
            "arena_corners": corners.tolist(),
            "arena_size_m": [w, hgt],
            "homography": h.tolist(),
        }
        if out.attrs.get("arena_shape", "unknown") == "unknown":
            out.attrs.update(arena_shape="box", arena_width=w, arena_height=hgt)
    out.attrs["space_unit"] = "m"
    step["from_unit"] = rec.attrs.get("space_unit", "m")
    spatial = [str(v) for v, var in rec.data_vars.items() if "space" in var.dims and v != "position"]
    if spatial:
        step["variables_left_in_file_units"] = spatial
    return add_processing_step(out, step)


# ------------------------------------------------------------------------------------------------ keypoints


def select_keypoints(rec: xr.Dataset, *, keypoint: str | None = None, centroid: bool = False) -> xr.Dataset:
    """Keep one keypoint, or replace all keypoints by their centroid (mean of the tracked keypoints).

    Args:
        keypoint: name of the keypoint to keep.
        centroid: average the keypoints of each individual at each time over those tracked (the number of
            samples where only some keypoints were tracked is recorded); confidence is averaged likewise.
    """
    names = [str(k) for k in rec["keypoint"].values]
    if (keypoint is None) == (not centroid):
        raise ValueError("select_keypoints needs exactly one of keypoint='name' or centroid=True")
    if keypoint is not None:
        if keypoint not in names:
            raise ValueError(f"keypoint {keypoint!r} is not in the recording; its keypoints are {names}")
        out = rec.sel(keypoint=[keypoint])
        return add_processing_step(
            out, {"step": "select_keypoint", "keypoint": keypoint, "dropped": len(names) - 1}
        )
    pos = rec["position"].values  # (time, space, keypoint, individual)
    ok = np.isfinite(pos).all(axis=1)  # (time, keypoint, individual)
    n_ok = ok.sum(axis=1)  # (time, individual)
    total = np.where(ok[:, None], pos, 0.0).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_ok[:, None] > 0, total / n_ok[:, None], np.nan)
        conf = rec["confidence"].values
        c_ok = ok & np.isfinite(conf)
        c_n = c_ok.sum(axis=1)
        c_mean = np.where(c_n > 0, np.where(c_ok, conf, 0.0).sum(axis=1) / np.maximum(c_n, 1), np.nan)
    partial = int(((n_ok > 0) & (n_ok < len(names))).sum())
    out = rec.drop_vars(["position", "confidence", "keypoint"])
    out["position"] = (POSITION_DIMS, mean[:, :, None, :], rec["position"].attrs)
    out["confidence"] = (("time", "keypoint", "individual"), c_mean[:, None, :])
    out = out.assign_coords(keypoint=("keypoint", np.array(["centroid"])))
    out = out[["position", "confidence", *[v for v in rec.data_vars if v not in ("position", "confidence")]]]
    out.attrs = dict(rec.attrs)
    return add_processing_step(
        out, {"step": "centroid", "keypoints": names, "n_samples_from_some_keypoints": partial}
    )


# ------------------------------------------------------------------------------------------------ regularise


def regularise_time(rec: xr.Dataset, *, check: bool = True) -> xr.Dataset:
    """Put a time axis of whole frames with missing frames (e.g. ``t = 0.10, 0.12, 0.16``) onto the complete
    grid ``t0 + k / fps``, inserting untracked (NaN) samples for the missing frames.

    Axes that are not whole frames of ``attrs["fps"]`` (more than 5 % of a frame off) are returned unchanged,
    as are axes without missing frames.

    Raises:
        ValueError: with ``check``, a grid implausibly larger than the recording (a corrupt time stamp; see
            :func:`~neuroethology.data.plausibility.grid_problem`), before anything is allocated.
    """
    fps = _fps(rec)
    t = rec["time"].values
    if t.size < 2:
        return rec
    k = (t - t[0]) * fps
    r = np.rint(k)
    if np.abs(k - r).max() > 0.05 or (np.diff(r) < 1).any():
        return rec
    n = int(r[-1]) + 1
    if n == t.size:
        return rec
    problem = grid_problem(t, fps, n, "inserting the missing frames") if check else None
    if problem:
        raise ValueError(problem)
    grid = t[0] + np.arange(n) / fps
    idx = r.astype(np.int64)
    out = xr.Dataset(coords={c: rec.coords[c] for c in rec.coords if "time" not in rec.coords[c].dims})
    for name, var in rec.data_vars.items():
        if "time" not in var.dims:
            out[name] = var
            continue
        fill: Any = np.nan
        if name == "sampled":  # an inserted frame is nobody's fix
            fill = 0
        elif not np.issubdtype(var.dtype, np.floating):
            raise ValueError(f"cannot insert missing frames into the non-float variable {name!r}")
        axis = var.dims.index("time")
        data = np.full(var.shape[:axis] + (n,) + var.shape[axis + 1 :], fill, dtype=var.dtype)
        np.moveaxis(data, axis, 0)[idx] = np.moveaxis(var.values, axis, 0)
        out[name] = (var.dims, data, var.attrs)
    out = out.assign_coords(time=("time", grid, rec["time"].attrs))
    out.attrs = dict(rec.attrs)
    return add_processing_step(
        out,
        {
            "step": "regularise",
            "n_missing_frames_inserted": n - t.size,
            "max_time_shift_s": float(np.abs(grid[idx] - t).max()),
        },
    )


# ------------------------------------------------------------------------------------------------- gaps


def _gap_durations(t: np.ndarray, prev: np.ndarray, nxt: np.ndarray, dt: float) -> np.ndarray:
    return t[nxt] - t[prev] - dt


def interpolate_gaps(rec: xr.Dataset, *, max_gap: float) -> xr.Dataset:
    """Fill gaps of at most ``max_gap`` seconds by linear interpolation in time, per keypoint and individual.

    Gaps at the start or end of a track are never filled (no extrapolation); longer gaps stay NaN and later
    split the track into segments (:func:`label_segments`). Filled samples get NaN confidence (no score).
    The number of samples filled and gaps bridged per individual is recorded.

    Args:
        max_gap: longest gap to fill, seconds (``n`` missing frames last ``n / fps``).
    """
    max_gap = float(max_gap)
    if not (max_gap >= 0 and math.isfinite(max_gap)):
        raise ValueError(f"max_gap must be a non-negative number of seconds, got {max_gap!r}")
    _one_clock(rec, "interpolate_gaps")
    dt = 1.0 / _fps(rec)
    t = rec["time"].values
    pos = rec["position"].values.copy()
    conf = rec["confidence"].values.copy()
    n_time, _, n_kp, n_ind = pos.shape
    filled_per_ind = np.zeros(n_ind, dtype=np.int64)
    gaps_per_ind = np.zeros(n_ind, dtype=np.int64)
    for i in range(n_ind):
        for k in range(n_kp):
            xy = pos[:, :, k, i]
            valid = np.isfinite(xy).all(axis=1)
            vi = np.flatnonzero(valid)
            if vi.size < 2:
                continue
            missing = np.flatnonzero(~valid)
            missing = missing[(missing > vi[0]) & (missing < vi[-1])]
            if missing.size == 0:
                continue
            after = np.searchsorted(vi, missing)
            prev, nxt = vi[after - 1], vi[after]
            fill = _gap_durations(t, prev, nxt, dt) <= max_gap + _EPS_S
            rows = missing[fill]
            if rows.size == 0:
                continue
            for c in range(2):
                xy[rows, c] = np.interp(t[rows], t[vi], xy[vi, c])
            conf[rows, k, i] = np.nan
            filled_per_ind[i] += rows.size
            gaps_per_ind[i] += np.unique(prev[fill]).size
    out = rec.copy()
    out["position"] = (POSITION_DIMS, pos, rec["position"].attrs)
    out["confidence"] = (rec["confidence"].dims, conf, rec["confidence"].attrs)
    names = [str(v) for v in rec["individual"].values]
    return add_processing_step(
        out,
        {
            "step": "interpolate",
            "method": "linear",
            "max_gap_s": max_gap,
            "n_filled": int(filled_per_ind.sum()),
            "n_filled_per_individual": dict(zip(names, filled_per_ind.tolist(), strict=True)),
            "n_gaps_filled_per_individual": dict(zip(names, gaps_per_ind.tolist(), strict=True)),
        },
    )


def _segments(t: np.ndarray, tracked: np.ndarray, longest: float) -> np.ndarray:
    """Segment ids (time,) for one individual's own samples: a new segment starts at a tracked sample after
    an untracked one, or after an interval longer than ``longest`` seconds."""
    jump = np.zeros(t.size, dtype=bool)
    jump[1:] = np.diff(t) > longest + _EPS_S
    start = tracked & (np.concatenate([[True], ~tracked[:-1]]) | jump)
    seg = np.cumsum(start) - 1
    return np.where(tracked, seg, -1)


def label_segments(rec: xr.Dataset, *, max_gap: float = 0.0, max_interval: float | None = None) -> xr.Dataset:
    """Add ``segment (time, individual)``: contiguous tracked stretches numbered 0, 1, ... (-1 untracked).

    A sample is tracked when all the individual's keypoints are finite; each individual is segmented at its
    own fixes (``sampled``, where individuals have their own clocks). An interval between two fixes longer
    than ``max_interval`` seconds also starts a new segment; without it, on a time axis of frames an
    interval longer than a frame by more than ``max_gap`` does (a jump the grid could not fill), and on a
    time axis as recorded none does (every interval is a step of the animal). The number of segments per
    individual is recorded.
    """
    if max_interval is not None and not (math.isfinite(float(max_interval)) and float(max_interval) > 0):
        raise ValueError(f"max_interval must be a positive number of seconds, got {max_interval!r}")
    if max_interval is not None:
        longest = float(max_interval)
    elif time_sampling(rec) == FRAMES:
        dt = 1.0 / _fps(rec)
        longest = max(0.5 * dt, float(max_gap)) + dt  # 1.5 frames, or a frame and max_gap
    else:
        longest = math.inf
    t = rec["time"].values
    tracked = np.isfinite(rec["position"].values).all(axis=(1, 2))  # (time, individual)
    seg = np.full(tracked.shape, -1, np.int64)
    for i in range(tracked.shape[1]):
        own = own_rows(rec, i)
        seg[own, i] = _segments(t[own], tracked[own, i], longest)
    out = rec.copy()
    out["segment"] = (("time", "individual"), seg, {"description": "-1 = not tracked"})
    names = [str(v) for v in rec["individual"].values]
    counts = (seg.max(axis=0) + 1).tolist()
    untracked = [int((~tracked[own_rows(rec, i), i]).sum()) for i in range(tracked.shape[1])]
    return add_processing_step(
        out,
        {
            "step": "segment",
            "n_segments_per_individual": dict(zip(names, counts, strict=True)),
            "n_untracked_samples_per_individual": dict(zip(names, untracked, strict=True)),
            "max_interval_s": None if max_interval is None else float(max_interval),
        },
    )


# ------------------------------------------------------------------------------------------------ smooth


def smooth(rec: xr.Dataset, *, sigma: float) -> xr.Dataset:
    """Gaussian smoothing of positions in time (s.d. ``sigma`` seconds), inside each segment only.

    Tracking jitter dominates the speed and turning of a path sampled at tens of Hz; a smoothing window of a
    few frames removes it while keeping the animal's own movements (e.g. 40 ms at 50 Hz). Each segment is
    filtered on its own, its ends extended by their nearest value (``scipy.ndimage.gaussian_filter1d``, mode
    ``"nearest"``), so nothing is blurred across a gap. Segments are numbered first if the recording has none
    (see :func:`label_segments`).
    """
    from scipy.ndimage import gaussian_filter1d

    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"smooth: sigma must be a non-negative number of seconds, got {sigma!r}")
    _one_clock(rec, "smooth")
    if "segment" not in rec:
        rec = label_segments(rec)
    width = sigma * _fps(rec)  # in samples
    out = rec.copy(deep=True)
    pos = out["position"].transpose("time", "space", "keypoint", "individual").values
    seg = out["segment"].transpose("time", "individual").values
    t = np.asarray(rec["time"].values, dtype=np.float64)
    in_time = time_sampling(rec) != FRAMES  # irregular intervals: a kernel in seconds, not in samples
    if width > 0:
        for i in range(seg.shape[1]):
            for a, b in _runs(seg[:, i]):
                if in_time:
                    pos[a:b, ..., i] = _gaussian_in_time(t[a:b], pos[a:b, ..., i], float(sigma))
                else:
                    pos[a:b, ..., i] = gaussian_filter1d(pos[a:b, ..., i], width, axis=0, mode="nearest")
    out["position"] = (("time", "space", "keypoint", "individual"), pos, rec["position"].attrs)
    out["position"] = out["position"].transpose(*rec["position"].dims)
    return add_processing_step(out, {"step": "smooth", "method": "gaussian", "sigma_s": float(sigma)})


def _gaussian_in_time(t: np.ndarray, x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian kernel smoothing in time of samples ``x (n, ...)`` at irregular times ``t (n,)``: each sample
    becomes the kernel-weighted mean of the samples within 4 ``sigma`` seconds of it (the weights
    renormalised, so a sample far from all others keeps its value)."""
    acc = np.array(x, dtype=np.float64, copy=True)
    total = np.ones(t.size)
    for k in range(1, t.size):
        d = t[k:] - t[:-k]
        if d.min() > 4 * sigma:
            break
        w = np.where(d <= 4 * sigma, np.exp(-0.5 * (d / sigma) ** 2), 0.0)
        shape = (-1,) + (1,) * (x.ndim - 1)
        acc[k:] += w.reshape(shape) * x[:-k]
        acc[:-k] += w.reshape(shape) * x[k:]
        total[k:] += w
        total[:-k] += w
    return acc / total.reshape((-1,) + (1,) * (x.ndim - 1))


# ---------------------------------------------------------------------------------------------- resample


def _runs(seg: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of the runs of equal non-negative values of ``seg`` (time,)."""
    change = np.flatnonzero(np.diff(seg) != 0) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [seg.size]])
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if seg[a] >= 0]


def _only_positions(rec: xr.Dataset) -> None:
    """Refuse time-dependent variables other than position, confidence and segment (``activity`` with a
    how-to): resampling cannot know how to move them."""
    extra = [
        v
        for v, var in rec.data_vars.items()
        if "time" in var.dims and v not in ("position", "confidence", "segment")
    ]
    if "activity" in extra:
        raise ValueError(
            "cannot resample 'activity': neural traces are never regridded silently; drop it "
            "(rec.drop_vars('activity')), resample, then add the traces again on the new samples with "
            "neuroethology.data.neural.add_activity(..., time=TRACE_TIMES, align='linear')"
        )
    if extra:
        raise ValueError(
            f"cannot resample the time-dependent variables {extra}: only position and confidence are "
            "interpolated; drop the others first (rec.drop_vars(...))"
        )


def resample(
    rec: xr.Dataset, *, dt: float | None = None, fps: float | None = None, check: bool = True
) -> xr.Dataset:
    """Resample onto a regular grid of step ``dt`` seconds (or ``fps`` Hz), e.g. an environment's ``dt``.

    Linear interpolation in time inside each segment only, never across a gap: grid times that fall in a
    gap, or outside an individual's tracked span, are NaN with ``segment = -1``. The grid starts at the
    first time stamp. Downsampling is by interpolation at the new times (no low-pass filter). Segments are
    labelled first if the recording has none. Spikes stay as recorded (times unchanged; :func:`bin_spikes
    <neuroethology.data.neural.bin_spikes>` counts them on the new samples); ``activity`` is refused.

    Args:
        dt: new sampling interval, seconds; or
        fps: new sampling rate, Hz.
        check: refuse a grid implausibly larger than the recording (a corrupt time stamp; see
            :func:`~neuroethology.data.plausibility.grid_problem`), before anything is allocated.

    Raises:
        ValueError: for an implausible grid (with ``check``); for extra time-dependent variables (heading,
            reward, ``activity``, ...), whose resampling this function cannot know; drop them first.
    """
    if (dt is None) == (fps is None):
        raise ValueError("resample needs exactly one of dt= (seconds) or fps= (Hz)")
    new_dt = float(dt) if dt is not None else 1.0 / float(fps)
    if not (math.isfinite(new_dt) and new_dt > 0):
        raise ValueError(f"resampling needs a positive dt (s) or fps (Hz), got dt={dt!r}, fps={fps!r}")
    _one_clock(rec, "resample")
    _only_positions(rec)
    if "segment" not in rec:
        rec = label_segments(rec)
    t = rec["time"].values
    n_new = int(math.floor((t[-1] - t[0]) / new_dt + 1e-9)) + 1
    problem = grid_problem(t, _fps(rec), n_new, f"resampling to {1 / new_dt:.6g} Hz") if check else None
    if problem:
        raise ValueError(problem)
    grid = t[0] + np.arange(n_new) * new_dt
    pos = rec["position"].values
    conf = rec["confidence"].values
    seg = rec["segment"].values
    n_kp, n_ind = pos.shape[2], pos.shape[3]
    new_pos = np.full((n_new, 2, n_kp, n_ind), np.nan)
    new_conf = np.full((n_new, n_kp, n_ind), np.nan)
    new_seg = np.full((n_new, n_ind), -1, dtype=np.int64)
    as_recorded = time_sampling(rec) != FRAMES
    not_bridged = 0
    for i in range(n_ind):
        counter = 0
        for start, stop in _bridged_runs(t, seg[:, i], new_dt if as_recorded else None):
            not_bridged += int(start > 0 and seg[start - 1, i] == seg[start, i])
            ts = t[start:stop]
            lo = int(np.searchsorted(grid, ts[0] - _EPS_S, side="left"))
            hi = int(np.searchsorted(grid, ts[-1] + _EPS_S, side="right"))
            if hi <= lo:
                continue
            tq = np.clip(grid[lo:hi], ts[0], ts[-1])
            for k in range(n_kp):
                for c in range(2):
                    new_pos[lo:hi, c, k, i] = np.interp(tq, ts, pos[start:stop, c, k, i])
                new_conf[lo:hi, k, i] = np.interp(tq, ts, conf[start:stop, k, i])
            new_seg[lo:hi, i] = counter
            counter += 1
    out = xr.Dataset(
        {
            "position": (POSITION_DIMS, new_pos, rec["position"].attrs),
            "confidence": (rec["confidence"].dims, new_conf, rec["confidence"].attrs),
            "segment": (("time", "individual"), new_seg, rec["segment"].attrs),
        },
        coords={
            "time": ("time", grid, rec["time"].attrs),
            **{c: rec.coords[c] for c in rec.coords if "time" not in rec.coords[c].dims},
        },
    )
    spikes = [v for v, var in rec.data_vars.items() if var.dims == ("spike",)]
    out = out.assign({v: rec[v] for v in spikes})  # as recorded: times unchanged, binned on the new samples
    out.attrs = dict(rec.attrs)
    from_fps = float(rec.attrs["fps"])
    out.attrs["fps"] = float(f"{1.0 / new_dt:.12g}")
    if "time_sampling" in out.attrs:
        out.attrs["time_sampling"] = FRAMES  # a regular grid now (asked for: the step is recorded)
    return add_processing_step(
        out,
        {
            "step": "resample",
            "method": "linear within segments",
            "from_fps": from_fps,
            "to_fps": out.attrs["fps"],
            "dt_s": new_dt,
            "n_samples_before": int(t.size),
            "n_samples_after": int(n_new),
            **({"n_intervals_not_bridged": not_bridged} if as_recorded else {}),
            **({"spikes": "kept as recorded"} if spikes else {}),
        },
    )


def _bridged_runs(t: np.ndarray, seg: np.ndarray, new_dt: float | None) -> list[tuple[int, int]]:
    """The runs of ``seg`` that resampling interpolates over; for time as recorded (``new_dt`` given) each run
    is also cut at intervals longer than both two new steps and 1.5 median intervals, which no grid point
    may invent positions across (a pause of hours between GPS fixes)."""
    runs = _runs(seg)
    if new_dt is None or t.size < 2:
        return runs
    longest = max(2 * new_dt, 1.5 * float(np.median(np.diff(t))))
    out = []
    for a, b in runs:
        cuts = np.flatnonzero(np.diff(t[a:b]) > longest + _EPS_S) + a + 1
        bounds = [a, *cuts.tolist(), b]
        out += list(zip(bounds[:-1], bounds[1:], strict=True))
    return out


def mask_incomplete_points(rec: xr.Dataset) -> xr.Dataset:
    """Set a point to NaN in both x and y when only one of them is finite (recorded when it happens)."""
    pos = rec["position"].values
    finite = np.isfinite(pos)
    partial = finite.any(axis=1) & ~finite.all(axis=1)  # (time, keypoint, individual)
    if not partial.any():
        return rec
    pos = np.where(partial[:, None], np.nan, pos)
    out = rec.copy()
    out["position"] = (POSITION_DIMS, pos, rec["position"].attrs)
    return add_processing_step(out, {"step": "mask_half_missing_points", "n_points": int(partial.sum())})
