"""Neural data in the Recording: continuous activity and spikes on the behaviour's own clock.

Neurons (and agents' units) live in the same Recording as the behaviour, so every neural measure reads one
layout whether the units are a rat's or a network's. A rat with two sorted units and two dF/F traces prints
as::

    <xarray.Dataset> Size: 436B
    Dimensions:           (time: 5, space: 2, keypoint: 1, individual: 1, unit: 2, spike: 4)
    Coordinates:
      * time              (time) float64 40B 0.0 0.02 0.04 0.06 0.08
      * space             (space) <U1 8B 'x' 'y'
      * keypoint          (keypoint) <U8 32B 'centroid'
      * individual        (individual) <U3 12B 'rat'
      * unit              (unit) <U4 32B 'roi0' 'roi1'
    Dimensions without coordinates: spike
    Data variables:
        position          (time, space, keypoint, individual) float64 80B 0.1 0.2 0.104 ... 0.116 0.28
        confidence        (time, keypoint, individual) float64 40B nan nan nan nan nan
        activity          (time, unit, individual) float64 80B 0.1 0.0 0.2 0.1 0.3 ... 0.2 0.4 0.4 0.0
        spike_time        (spike) float64 32B 0.005 0.021 0.03 0.079
        spike_unit        (spike) <U2 32B '12' '12' '3' '12'
        spike_individual  (spike) <U3 48B 'rat' 'rat' 'rat' 'rat'
    Attributes: (as every Recording's)
        processing:       [{"step": "add_activity", "kind": "dff", "source": "recorded", "n_units": 2, ...

* ``activity (time, unit, individual)`` float: one continuous signal per unit at the Recording's samples
  (NaN where an individual has no sample: ``sampled`` = 0, or no trace). Attrs ``kind`` (``"rate"`` Hz,
  ``"dff"`` dF/F, ``"counts"`` per sample, ``"model"`` model units; :data:`KINDS`), ``units`` (derived from
  the kind) and ``source`` (``"recorded"`` or ``"model"``). ``unit`` coord: string labels. Agents' ``hidden
  (time, unit, individual)`` is read as activity with kind and source ``"model"`` (:func:`activity_of`).
* Spikes, exactly as recorded (never binned on load: :func:`bin_spikes` bins on demand), one entry per spike
  on the ``spike`` dim: ``spike_time`` (s, the Recording's clock), ``spike_unit`` (str label) and
  ``spike_individual`` (str, whose neuron). ``spike_unit.attrs["unit_order"]``: ``{individual: [labels]}``,
  every unit in order, those without spikes included. Spikes outside the recording's span are kept (raw
  data are not cut) and counted in the ``add_spikes`` step of ``processing``; :func:`bin_spikes` reports
  those that fall in no sample.
* Both travel through :func:`neuroethology.data.save` / :func:`~neuroethology.data.load` (netCDF) unchanged;
  the dict attr is JSON-encoded like the others.

A sample stands for ``[t_i, t_i + d_i)``, ``d_i`` from :func:`sample_durations` (a frame, 1 / fps; time as
recorded: the interval to the next fix of the same tracked run, else the nominal 1 / fps).

Files: :mod:`neuroethology.data.neural_files` reads spike trains and traces (phy npz, CSV/TSV, NWB) as
arrays for :func:`add_spikes` / :func:`add_activity`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from .model import add_processing_step
from .schema import (
    ACTIVITY_DIMS,
    AS_RECORDED,
    KINDS,
    SOURCES,
    SPIKE_VARIABLES,
    describe_source,
    neural_problems,
    on_own_clock,
    own_rows,
    spike_layout,
    spike_problems,
    time_sampling,
)
from .schema import sample_durations as schema_sample_durations

__all__ = [
    "KINDS",
    "SAME_CLOCK_TOLERANCE_S",
    "SOURCES",
    "NeuralActivity",
    "activity_of",
    "add_activity",
    "add_spikes",
    "bin_spikes",
    "neural_problems",
    "sample_durations",
]

#: Time stamps within this many seconds of the Recording's are the Recording's own (float rounding).
SAME_CLOCK_TOLERANCE_S = 1e-6
_ALIGN = ("nearest", "linear")


class NeuralActivity(NamedTuple):
    """What :func:`activity_of` returns: ``activity (time, unit)`` (coord ``duration (time)`` s), its kind
    (:data:`KINDS`) and source (``"recorded"`` or ``"model"``)."""

    activity: xr.DataArray
    kind: str
    source: str


# ------------------------------------------------------------------------------------------ the clock


def _where(rec: xr.Dataset) -> str:
    return describe_source(str(rec.attrs.get("source_file") or ""))


def _individual(rec: xr.Dataset, individual: str | int | None, caller: str) -> int:
    """The index of ``individual`` (name or index; ``None``: the only one), or a ValueError naming them."""
    names = [str(v) for v in rec["individual"].values]
    where = f"{caller}: {_where(rec)}"
    if individual is None:
        if len(names) != 1:
            raise ValueError(f"{where} has {len(names)} individuals {names}; pass individual=NAME")
        return 0
    if isinstance(individual, int | np.integer) and not isinstance(individual, bool):
        if not -len(names) <= individual < len(names):
            raise ValueError(f"{where} has individuals {names}; index {individual} is out of range")
        return int(individual) % len(names)
    if str(individual) not in names:
        raise ValueError(f"{where} has no individual {individual!r}; found {names}")
    return names.index(str(individual))


def sample_durations(rec: xr.Dataset, individual: str | int | None = None) -> np.ndarray:
    """``(n,)`` seconds each of the individual's own samples stands for (:func:`schema.sample_durations
    <neuroethology.data.schema.sample_durations>`, as ``neuroethology.analysis`` ``Track.sample_durations``):
    a run ends at an untracked sample (the ``centroid`` keypoint, the only one, else every keypoint), a
    ``segment`` of -1 or a ``segment`` or ``episode`` change."""
    one = on_own_clock(rec, _individual(rec, individual, "sample_durations")).isel(individual=0)
    t = np.asarray(one["time"].values, float)
    kps = [str(k) for k in one["keypoint"].values]
    pos = one["position"].values  # (time, space, keypoint)
    k = kps.index("centroid") if "centroid" in kps else (0 if len(kps) == 1 else slice(None))
    tracked = np.isfinite(pos[:, :, k]).reshape(t.size, -1).all(axis=1)
    labels = [np.asarray(one[v].values) for v in ("segment", "episode") if v in one.data_vars]
    if "segment" in one.data_vars:
        tracked &= labels[0] >= 0
    return schema_sample_durations(
        t,
        float(rec.attrs["fps"]),
        as_recorded=time_sampling(rec) == AS_RECORDED,
        tracked=tracked,
        labels=labels,
    )


# ------------------------------------------------------------------------------------------------ spikes


def _natural(labels: Sequence[str]) -> list[str]:
    """Unit labels in order: numerically when all are integers (cluster ids), else as text."""
    labels = list(dict.fromkeys(labels))
    if all(re.fullmatch(r"-?\d+", s) for s in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def add_spikes(
    rec: xr.Dataset,
    spike_times: Any,
    unit_ids: Any,
    *,
    individual: str | int | None = None,
    units: Sequence[Any] | None = None,
) -> xr.Dataset:
    """A copy of ``rec`` with spikes of one individual's units added, exactly as given (see the module
    docstring for the layout; a second call adds other units or another individual).

    Args:
        rec: a Recording.
        spike_times: ``(n,)`` seconds on the Recording's clock, non-decreasing within each unit.
        unit_ids: ``(n,)`` the unit of each spike (stored as strings).
        individual: whose neurons (name or index); ``None``: the only individual.
        units: every unit label in order, those without spikes included; default: the labels of
            ``unit_ids`` (numeric order when all are integers).

    Spikes before the individual's first sample or after its last sample's end are kept and counted in
    the ``add_spikes`` processing step (``n_before_start``, ``n_after_end``).

    Raises:
        ValueError: shapes, non-finite or decreasing times, a unit already added for this individual,
            ``unit_ids`` not among ``units``.
    """
    i = _individual(rec, individual, "add_spikes")
    name = str(rec["individual"].values[i])
    times = np.asarray(spike_times)
    ids = np.asarray(unit_ids).astype(str)
    problems = spike_problems(times, ids, "add_spikes")
    order = _natural(ids.tolist()) if units is None else [str(u) for u in units]
    unknown = sorted(set(ids.tolist()) - set(order))
    if unknown:
        problems.append(f"add_spikes: unit_ids {unknown[:10]} are not among units {order[:10]}")
    previous = dict(rec["spike_unit"].attrs.get("unit_order", {})) if "spike_unit" in rec else {}
    again = sorted(set(order) & set(previous.get(name, [])))
    if again:
        problems.append(f"add_spikes: individual {name!r} already has spikes of units {again[:10]}")
    if problems:
        raise ValueError("; ".join(problems))
    times = times.astype(np.float64)
    own = np.asarray(rec["time"].values, float)[own_rows(rec, i)]
    end = own[-1] + sample_durations(rec, i)[-1]
    old = {v: rec[v].values for v in SPIKE_VARIABLES} if "spike_time" in rec else None
    new = {"spike_time": times, "spike_unit": ids, "spike_individual": np.full(times.size, name)}
    merged = {v: np.concatenate([old[v], new[v]]) if old else new[v] for v in SPIKE_VARIABLES}
    layout = spike_layout(*(merged[v] for v in SPIKE_VARIABLES), {**previous, name: order})
    out = rec.drop_vars([v for v in SPIKE_VARIABLES if v in rec]).assign(layout)
    return add_processing_step(
        out,
        {
            "step": "add_spikes",
            "individual": name,
            "n_spikes": int(times.size),
            "n_units": len(order),
            "n_before_start": int((times < own[0]).sum()),
            "n_after_end": int((times >= end).sum()),
            "note": "spikes kept exactly as given; those outside the samples are left out of bin_spikes",
        },
    )


def bin_spikes(rec: xr.Dataset, *, individual: str | int | None = None) -> xr.DataArray:
    """Spike counts ``(time, unit)`` of one individual's units on its own samples: a spike at ``t`` counts
    in the sample ``i`` whose interval ``[t_i, t_i + d_i)`` holds it (``d_i``: :func:`sample_durations`; a
    spike on a boundary belongs to the later sample).

    Returns:
        int64 counts with coords ``time`` (the individual's own samples, s), ``unit`` (labels in
        ``unit_order``) and ``duration (time)`` s; attrs ``kind = "counts"``, ``units``, ``source``,
        ``n_spikes`` and ``n_outside_samples`` (before the first sample, after the last one's end, or in a
        pause between samples: counted, never silently dropped).

    Raises:
        ValueError: the Recording has no spikes for this individual.
    """
    i = _individual(rec, individual, "bin_spikes")
    name = str(rec["individual"].values[i])
    order = rec["spike_unit"].attrs.get("unit_order", {}).get(name) if "spike_unit" in rec else None
    if order is None:
        raise ValueError(
            f"bin_spikes: {_where(rec)} has no spikes of "
            f"individual {name!r}; add them with add_spikes (variables found: {list(rec.data_vars)})"
        )
    t = np.asarray(rec["time"].values, float)[own_rows(rec, i)]
    d = sample_durations(rec, i)
    end = t + d
    end[:-1] = np.where(np.abs(end[:-1] - t[1:]) <= 1e-9 * d[:-1], t[1:], end[:-1])  # float rounding
    mine = rec["spike_individual"].values == name
    s = np.asarray(rec["spike_time"].values, float)[mine]
    labels, inverse = np.unique(rec["spike_unit"].values[mine].astype(str), return_inverse=True)
    col = np.asarray([order.index(u) for u in labels], np.int64)[inverse]
    row = np.searchsorted(t, s, side="right") - 1
    inside = (row >= 0) & (s < end[np.maximum(row, 0)])
    counts = np.bincount(row[inside] * len(order) + col[inside], minlength=t.size * len(order))
    return xr.DataArray(
        counts.reshape(t.size, len(order)).astype(np.int64),
        dims=("time", "unit"),
        coords={"time": t, "unit": np.asarray(order, str), "duration": ("time", d, {"units": "s"})},
        name="spike_counts",
        attrs={
            "kind": "counts",
            "units": KINDS["counts"],
            "source": "recorded",
            "n_spikes": int(s.size),
            "n_outside_samples": int((~inside).sum()),
        },
    )


# ---------------------------------------------------------------------------------------------- activity


def _aligned(
    values: np.ndarray, time: np.ndarray, target: np.ndarray, method: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """``values (T, U)`` at ``time`` moved onto ``target`` times by ``method``; NaN outside the trace's span
    (no extrapolation). Returns them and what the processing log says."""
    inside = (target >= time[0]) & (target <= time[-1])
    j = np.clip(np.searchsorted(time, target), 1, time.size - 1)
    nearest = np.where(np.abs(time[j - 1] - target) <= np.abs(time[j] - target), j - 1, j)
    if method == "nearest":
        out = values[nearest]
    else:
        out = np.stack([np.interp(target, time, values[:, u]) for u in range(values.shape[1])], axis=1)
    out = np.where(inside[:, None], out, np.nan)
    mismatch = np.abs(time[nearest] - target)[inside]
    return out, {
        "align": method,
        "max_time_mismatch_s": float(mismatch.max()) if mismatch.size else None,
        "n_samples_outside_trace": int((~inside).sum()),
        "trace_span_s": [float(time[0]), float(time[-1])],
    }


def _block(
    values: np.ndarray, time: np.ndarray, target: np.ndarray, align: str | None, who: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """One individual's ``(T, U)`` trace on its own samples ``target``: as given when ``time`` is the
    Recording's own, aligned when asked, refused otherwise."""
    if time.shape == target.shape and np.all(np.abs(time - target) <= SAME_CLOCK_TOLERANCE_S):
        return values, {}
    if align is None:
        if time.shape == target.shape:
            diff = np.abs(time - target)
            found = f"times up to {float(diff.max()):.6g} s from its samples (first at index "
            found += f"{int(np.argmax(diff > SAME_CLOCK_TOLERANCE_S))})"
        else:
            found = f"{time.size} time stamps for its {target.size} samples"
        raise ValueError(
            f"add_activity: time: expected the Recording's own sample times for {who}, found {found}; traces "
            "on another clock are never regridded silently: pass align='nearest' or 'linear' to move them "
            "onto the samples (logged in processing)"
        )
    return _aligned(values, time, target, align)


def _activity_problems(
    values: np.ndarray, time: Any, kind: str, source: str, align: str | None, n_ind: int
) -> list[str]:
    problems = []
    if kind not in KINDS:
        problems.append(f"add_activity: kind must be one of {list(KINDS)}, got {kind!r}")
    if source not in SOURCES:
        problems.append(f"add_activity: source must be one of {list(SOURCES)}, got {source!r}")
    if align not in (None, *_ALIGN):
        problems.append(f"add_activity: align must be None, 'nearest' or 'linear', got {align!r}")
    if align is not None and kind == "counts":
        problems.append("add_activity: align: counts per sample cannot move to other samples; use add_spikes")
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[2] != n_ind):
        problems.append(
            f"add_activity: values: expected shape (time, unit) or (time, unit, individual={n_ind}), "
            f"got {values.shape}"
        )
    if time is not None:
        t = np.asarray(time, float)
        if t.ndim != 1 or (values.ndim >= 2 and t.size != values.shape[0]):
            problems.append(f"add_activity: time: expected ({values.shape[0]},) seconds, got shape {t.shape}")
        elif not (np.isfinite(t).all() and (np.diff(t) > 0).all()):
            problems.append("add_activity: time: expected finite seconds, strictly increasing")
    return problems


def add_activity(
    rec: xr.Dataset,
    values: Any,
    *,
    kind: str,
    time: Any = None,
    units: Sequence[Any] | None = None,
    source: str = "recorded",
    align: str | None = None,
    individual: str | int | None = None,
) -> xr.Dataset:
    """A copy of ``rec`` with continuous activity ``activity (time, unit, individual)`` (see the module
    docstring); a second call fills another individual's traces (same units, kind and source).

    Args:
        values: ``(T, U)`` one individual's traces, or ``(T, U, individual)`` every individual's.
        kind: ``"rate"`` (Hz), ``"dff"`` (dF/F), ``"counts"`` (per sample) or ``"model"`` (model units).
        time: ``(T,)`` seconds of the traces; ``None``: one row per sample (the individual's own samples
            for ``(T, U)``, the Recording's time axis for ``(T, U, individual)``).
        units: ``U`` unit labels (stored as strings); default ``"0", "1", ...``.
        source: ``"recorded"`` or ``"model"``.
        align: traces whose ``time`` differs from the samples' (beyond :data:`SAME_CLOCK_TOLERANCE_S`) are
            refused unless ``"nearest"`` (the nearest trace stamp) or ``"linear"`` (interpolated) moves them
            onto the samples; NaN outside the trace's span; logged with the largest time mismatch.
        individual: whose traces, for ``(T, U)`` values (``None``: the only individual).

    Raises:
        ValueError: each problem naming the field (unknown kind, shapes, another clock without align,
            traces already present, finite values at another individual's samples).
    """
    values = np.asarray(values, dtype=np.float64)
    problems = _activity_problems(values, time, kind, source, align, rec.sizes["individual"])
    if problems:
        raise ValueError("; ".join(problems))
    n_units = values.shape[1]
    labels = [str(u) for u in units] if units is not None else [str(u) for u in range(n_units)]
    if len(labels) != n_units or len(set(labels)) != n_units:
        raise ValueError(f"add_activity: units: expected {n_units} distinct labels, got {labels}")
    full = np.asarray(rec["time"].values, float)
    names = [str(v) for v in rec["individual"].values]
    who = range(len(names)) if values.ndim == 3 else [_individual(rec, individual, "add_activity")]
    array, step = _activity_array(rec, labels, kind, source)
    log: dict[str, Any] = {}
    for i in who:
        own = own_rows(rec, i)
        block = values[:, :, i] if values.ndim == 3 else values
        if time is None and values.ndim == 3:
            if np.isfinite(block[~own]).any():
                raise ValueError(
                    f"add_activity: values: finite values at times off individual {names[i]!r}'s own clock "
                    "(sampled = 0); give its traces on its own samples"
                )
            block, t = block[own], full[own]
        else:
            t = full[own] if time is None else np.asarray(time, float)
        if block.shape[0] != t.size:
            raise ValueError(
                f"add_activity: values: expected {t.size} rows, one per sample of individual {names[i]!r} "
                f"(or give time=), got {block.shape[0]}"
            )
        block, info = _block(block, t, full[own], align, f"individual {names[i]!r}")
        if np.isfinite(array[own, :, i]).any():
            raise ValueError(f"add_activity: individual {names[i]!r} already has activity")
        array[np.flatnonzero(own), :, i] = block
        if "max_time_mismatch_s" in log and info:  # several individuals aligned: the largest, and all counts
            worst = [v for v in (log["max_time_mismatch_s"], info["max_time_mismatch_s"]) if v is not None]
            info = {
                **info,
                "max_time_mismatch_s": max(worst) if worst else None,
                "n_samples_outside_trace": log["n_samples_outside_trace"] + info["n_samples_outside_trace"],
            }
        log = {**log, **info}
    out = rec.copy()
    out["activity"] = xr.DataArray(
        array,
        dims=ACTIVITY_DIMS,
        coords={"unit": np.asarray(labels, str)},
        attrs={"kind": kind, "units": KINDS[kind], "source": source},
    )
    entry = {"step": "align_activity" if log else "add_activity", **step, **log}
    return add_processing_step(out, {**entry, "individuals": [names[i] for i in who]})


def _activity_array(
    rec: xr.Dataset, labels: list[str], kind: str, source: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """The ``activity`` array to fill (the existing one, checked to match, or NaN) and the log's fields."""
    step = {"kind": kind, "source": source, "n_units": len(labels)}
    if "activity" not in rec:
        if "unit" in rec.dims:
            users = [v for v in rec.data_vars if "unit" in rec[v].dims]
            raise ValueError(
                f"add_activity: the Recording's 'unit' dim is taken by {users} ({rec.sizes['unit']} units); "
                "a Recording holds one set of units"
            )
        return np.full((rec.sizes["time"], len(labels), rec.sizes["individual"]), np.nan), step
    old = rec["activity"]
    have = ([str(u) for u in rec["unit"].values], old.attrs.get("kind"), old.attrs.get("source"))
    if have != (labels, kind, source):
        raise ValueError(
            f"add_activity: the Recording's activity has units {have[0][:10]}, kind {have[1]!r}, source "
            f"{have[2]!r}; new traces must match, got units {labels[:10]}, kind {kind!r}, source {source!r}"
        )
    return np.array(old.values, dtype=np.float64), step


def activity_of(
    rec: xr.Dataset, *, individual: str | int | None = None, units: Sequence[Any] | None = None
) -> NeuralActivity:
    """The activity the neural measures read for one individual, on its own samples: the Recording's
    ``activity`` (where it has any for this individual), else its binned spikes (:func:`bin_spikes`), else
    an agent's ``hidden`` units (kind and source ``"model"``).

    Args:
        units: labels to keep, in this order (default: every unit).

    Returns:
        :class:`NeuralActivity`: ``activity (time, unit)`` float with coord ``duration (time)`` s, its
        ``kind`` and ``source``.

    Raises:
        ValueError: no neural data for this individual (naming what the Recording has), unknown units.
    """
    i = _individual(rec, individual, "activity_of")
    name = str(rec["individual"].values[i])
    own = own_rows(rec, i)
    t = np.asarray(rec["time"].values, float)[own]
    has_spikes = "spike_unit" in rec and name in rec["spike_unit"].attrs.get("unit_order", {})
    if "activity" in rec and np.isfinite(rec["activity"].values[own, :, i]).any():
        var = rec["activity"]
        kind, source = str(var.attrs.get("kind")), str(var.attrs.get("source"))
        values = var.values[own, :, i]
    elif has_spikes:
        counts = bin_spikes(rec, individual=i)
        kind, source, values = "counts", "recorded", counts.values.astype(np.float64)
        var = counts
    elif "hidden" in rec:
        var = rec["hidden"].transpose("time", "unit", "individual")
        kind, source, values = "model", "model", np.asarray(var.values[own, :, i], np.float64)
    else:
        raise ValueError(
            f"activity_of: {_where(rec)} has no neural data for "
            f"individual {name!r}: expected 'activity', spikes ({', '.join(SPIKE_VARIABLES)}) or 'hidden'; "
            f"found variables {list(rec.data_vars)}"
        )
    labels = [str(u) for u in var["unit"].values]
    out = xr.DataArray(
        values,
        dims=("time", "unit"),
        coords={"time": t, "unit": np.asarray(labels, str), "duration": ("time", sample_durations(rec, i))},
        name="activity",
        attrs={"kind": kind, "units": KINDS.get(kind, "a.u."), "source": source, "individual": name},
    )
    if units is not None:
        wanted = [str(u) for u in units]
        missing = [u for u in wanted if u not in labels]
        if missing:
            raise ValueError(f"activity_of: units {missing[:10]} not found; the units are {labels[:20]}")
        out = out.sel(unit=wanted)
    return NeuralActivity(out, kind, source)
