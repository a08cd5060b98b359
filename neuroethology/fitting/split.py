"""Stage 1 of a fit: the recording placed in OpenField and split in time (training, validation, held-out
test, cross-validation blocks)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..config import ConfigError
from ..envs.open_field import OpenFieldParams
from .config import FitConfig
from .reconstruct import open_field_params_for

__all__ = ["prepare_recording", "split_recording", "time_blocks"]


def prepare_recording(
    rec: xr.Dataset, config: FitConfig, arena: dict | None = None
) -> tuple[xr.Dataset, OpenFieldParams]:
    """Smooth (if asked) and place a recording in OpenField; raises a clear ``ValueError`` if it does not fit."""
    from ..data import smooth

    problems = config.validate()
    if problems:
        raise ConfigError("fit config", problems)
    if rec.sizes.get("individual", 1) != 1:
        raise ValueError(
            f"{rec.attrs.get('source_file') or 'recording'}: fit_recording models one animal; this recording has "
            f"{rec.sizes['individual']} individuals (select one with rec.isel(individual=[i]), or fit them all "
            "together with fitting.fit_animals)"
        )
    if config.smoothing > 0:
        rec = smooth(rec, sigma=config.smoothing)
    overrides = dict(config.env_params)
    overrides["ray_range"] = config.ray_range  # 0: unlimited, as OpenField reads it
    if "dt" in overrides:  # the environment's step sets the sampling: resample within segments
        from ..data import resample

        dt = float(overrides.pop("dt"))
        if abs(dt * float(rec.attrs["fps"]) - 1.0) > 1e-6:
            rec = resample(rec, dt=dt)
    params = open_field_params_for(rec, arena, **overrides)
    if config.image:
        params = params.replace(observe_image=True)
    return rec, params


def split_recording(rec: xr.Dataset, holdout: float, start: float | None = None, stop: float | None = None):
    """(train, test): test is ``[start, stop)`` of the time axis, train the rest."""
    t = rec["time"].values
    t0, t1 = float(t[0]), float(t[-1]) + 1e-9
    if start is None:
        start, stop = t1 - holdout * (t1 - t0), t1
    test = rec.isel(time=np.flatnonzero((t >= start) & (t < stop)))
    train = _split_segments_at_gaps(rec.isel(time=np.flatnonzero((t < start) | (t >= stop))))
    return train, test


def _split_segments_at_gaps(rec: xr.Dataset) -> xr.Dataset:
    """Number tracked segments so that none spans a jump in time (where a held-out block was cut out)."""
    t = rec["time"].values.astype(float)
    if len(t) < 2:
        return rec
    jumps = np.concatenate([[0], np.cumsum(np.diff(t) > 1.5 * np.median(np.diff(t)))])
    if not jumps[-1]:
        return rec
    if "segment" in rec:
        seg = rec["segment"].values
        width = int(seg.max()) + 1
        new = np.where(seg >= 0, seg + width * jumps.reshape((-1,) + (1,) * (seg.ndim - 1)), seg)
        return rec.assign(segment=(rec["segment"].dims, new))
    ones = np.ones((len(t), rec.sizes.get("individual", 1)), int)
    return rec.assign(segment=(("time", "individual"), jumps[:, None] * ones))


def time_blocks(rec: xr.Dataset, folds: int) -> list[tuple[float, float]]:
    """``folds`` contiguous ``[start, stop)`` blocks of the time axis (cross-validation)."""
    t = rec["time"].values
    edges = np.linspace(float(t[0]), float(t[-1]) + 1e-9, folds + 1)
    return [(float(edges[i]), float(edges[i + 1])) for i in range(folds)]
