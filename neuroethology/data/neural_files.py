"""Neural data files in: spike trains and continuous traces as arrays for :mod:`neuroethology.data.neural`.

Each loader returns plain arrays, checked and in seconds, that :func:`~neuroethology.data.neural.add_spikes`
/ :func:`~neuroethology.data.neural.add_activity` put on the Recording's clock: :func:`load_spikes` (npz as
Kilosort/phy write them, CSV/TSV), :func:`read_nwb_units` (the NWB ``Units`` table) and
:func:`read_nwb_traces` (ophys dF/F or any ``TimeSeries`` of a processing module). They share the layout's
checks of spike times (one definition, in :mod:`neuroethology.data.neural`); nothing here reads a Recording.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._raw import file_error, reading
from .neural import _natural
from .nwb import _series_time, _series_values
from .schema import spike_problems

__all__ = ["Spikes", "Traces", "load_spikes", "read_nwb_traces", "read_nwb_units"]


def _file(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path


class Spikes(NamedTuple):
    """Spike trains read from a file, ready for :func:`add_spikes` (``spike_times``, ``unit_ids``,
    ``units=units``): ``spike_times (n,)`` s, ``unit_ids (n,)`` str, every unit label in order, the
    electrode group of each unit (``{}`` when the file has none) and the file."""

    spike_times: np.ndarray
    unit_ids: np.ndarray
    units: list[str]
    electrode_group: dict[str, str]
    source_file: str


class Traces(NamedTuple):
    """A continuous series read from a file, ready for :func:`add_activity`: ``values (T, U)``,
    ``timestamps (T,)`` s, unit labels, the series' path in the file, its ``unit`` and the file."""

    values: np.ndarray
    timestamps: np.ndarray
    units: list[str]
    name: str
    unit_of_measure: str
    source_file: str


_TIME_COLUMNS = ("spike_time", "spike_times", "time", "times", "t", "timestamp", "timestamps")
_UNIT_COLUMNS = (
    "unit",
    "unit_id",
    "units",
    "cluster",
    "cluster_id",
    "spike_clusters",
    "neuron",
    "cell",
    "id",
)
_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def _spikes(
    path: Path, times: np.ndarray, ids: np.ndarray, groups: Mapping[str, str] | None = None
) -> Spikes:
    """Checked :class:`Spikes` (one error naming the file for every problem)."""
    ids = np.asarray(ids).astype(str)
    problems = spike_problems(np.asarray(times), ids, "spike_times")
    if not problems and (np.asarray(times) < 0).any():
        problems.append(
            f"spike_times: expected increasing seconds per unit, found {int((times < 0).sum())} negative values"
        )
    if problems:
        raise file_error(path, [p.removeprefix("spike_times: spike_times: ") for p in problems])
    return Spikes(np.asarray(times, np.float64), ids, _natural(ids.tolist()), dict(groups or {}), str(path))


def _in_seconds(path: Path, times: np.ndarray, units: str | None, fs: float | None) -> np.ndarray:
    """Spike times in seconds: ``units`` s/ms/us, or ``"samples"`` divided by ``fs`` Hz; ``None``: samples
    when ``fs`` is known and the times are integers, else seconds (integers without ``fs`` refused)."""
    integer = np.issubdtype(times.dtype, np.integer)
    if units is None:
        if integer and fs is None:
            raise file_error(
                path,
                [
                    "spike_times: integer values look like sample indices (Kilosort/phy) but the file has no "
                    "fs (Hz); pass fs=HZ, or units='s' if they are seconds"
                ],
            )
        units = "samples" if integer else "s"
    if units == "samples":
        if fs is None or not (np.isfinite(fs) and fs > 0):
            raise file_error(
                path, [f"fs: expected a positive sampling rate in Hz for sample indices, got {fs!r}"]
            )
        return times.astype(np.float64) / float(fs)
    if units not in _SCALE:
        raise ValueError(f"load_spikes: units must be one of {[*_SCALE, 'samples']}, got {units!r}")
    return times.astype(np.float64) * _SCALE[units]


def _column(path: Path, present: Sequence[str], given: str | None, known: Sequence[str], role: str) -> str:
    if given is not None:
        if given not in present:
            raise file_error(path, [f"{role}: no column {given!r}; the columns are {list(present)}"])
        return given
    lower = {c.strip().lower(): c for c in present}
    for name in known:
        if name in lower:
            return lower[name]
    raise file_error(
        path, [f"{role}: expected a column named one of {list(known)}; the columns are {list(present)}"]
    )


def load_spikes(
    path: str | os.PathLike,
    *,
    time_column: str | None = None,
    unit_column: str | None = None,
    units: str | None = None,
    fs: float | None = None,
) -> Spikes:
    """Read spike times and unit ids from a ``.npz`` archive or a CSV/TSV table.

    npz: ``spike_times`` with ``unit_ids`` or ``spike_clusters`` (as Kilosort/phy write them), optional
    ``fs`` (Hz): integer ``spike_times`` with ``fs`` are sample indices. Tables: one row per spike, the
    columns ``time_column`` and ``unit_column`` (default: the first of ``spike_time, time, t, ...`` and of
    ``unit, unit_id, cluster, cluster_id, neuron, ...``, any case); ``.tsv`` / ``.txt`` are tab-separated.

    Args:
        units: ``"s"``, ``"ms"``, ``"us"`` or ``"samples"`` (divided by ``fs``); default seconds, or samples
            where ``fs=`` is given or an npz gives ``fs`` with integer times.
        fs: sampling rate, Hz, of sample-index times (overrides the file's ``fs``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: one error naming the file, the field and what was expected (a missing column lists
            those present; negative, non-finite or decreasing times per unit).
    """
    path = _file(path)
    if path.suffix.lower() == ".npz":
        with reading(path, "a NumPy .npz archive of spike_times and unit_ids"), np.load(path) as npz:
            keys = list(npz.keys())
            time_key = _column(path, keys, time_column, ("spike_times",), "spike_times")
            unit_key = _column(path, keys, unit_column, ("unit_ids", "spike_clusters"), "unit_ids")
            times, ids = np.asarray(npz[time_key]).reshape(-1), np.asarray(npz[unit_key]).reshape(-1)
            fs = fs if fs is not None else (float(npz["fs"]) if "fs" in keys else None)
    else:
        import pandas as pd

        sep = "\t" if path.suffix.lower() in (".tsv", ".txt", ".tab") else ","
        with reading(path, "a CSV/TSV table of spike times and units"):
            table = pd.read_csv(path, sep=sep)
        present = [str(c) for c in table.columns]
        times = table[_column(path, present, time_column, _TIME_COLUMNS, "spike_times")].to_numpy()
        ids = table[_column(path, present, unit_column, _UNIT_COLUMNS, "unit_ids")].to_numpy()
        units = units or ("samples" if fs is not None else "s")  # tables: no fs key to tell
        if not np.issubdtype(times.dtype, np.number):
            raise file_error(path, [f"spike_times: expected numbers, found values like {times[:3].tolist()}"])
    if times.shape != ids.shape:
        raise file_error(path, [f"unit_ids: expected one per spike ({times.shape}), got shape {ids.shape}"])
    return _spikes(path, _in_seconds(path, times, units, fs), ids)


def read_nwb_units(path: str | os.PathLike, *, individual: str | None = None) -> Spikes:
    """The NWB ``Units`` table: spike times (s) of every unit, labelled by its ``unit_name`` (or ``name``,
    ``label``) column, else its id; the electrode group's name per unit where the table has one.

    Args:
        individual: the rows of this individual only, in a table with an ``individual`` column (as
            :func:`~neuroethology.data.to_nwb` writes for several animals); required when it names several.

    Raises:
        ValueError: one error naming the file: no ``Units`` table (what the file has instead), bad times,
            an ``individual`` column of several animals and none chosen (or one it lacks).
    """
    import pynwb

    path = _file(path)
    with reading(path, "an NWB file"), pynwb.NWBHDF5IO(str(path), mode="r") as io:
        nwbfile = io.read()
        table = nwbfile.units
        if table is None or len(table) == 0:
            raise file_error(
                path,
                [
                    "units: expected an NWB Units table with spike_times; the file has acquisition "
                    f"{list(nwbfile.acquisition)} and processing modules {list(nwbfile.processing)}"
                ],
            )
        columns = list(table.colnames)
        if "spike_times" not in columns:
            raise file_error(path, [f"units: expected a spike_times column; the columns are {columns}"])
        named = next((c for c in ("unit_name", "name", "label") if c in columns), None)
        labels = [str(v) for v in (table[named][:] if named else table.id[:])]
        rows = _rows_of(path, table, individual)
        labels = [labels[k] for k in rows]
        trains = [np.asarray(table["spike_times"][k], np.float64) for k in rows]
        groups = {}
        if "electrode_group" in columns:
            groups = {lab: str(table["electrode_group"][k].name) for k, lab in zip(rows, labels, strict=True)}
    times = np.concatenate(trains) if trains else np.zeros(0)
    ids = np.repeat(np.asarray(labels, str), [t.size for t in trains])
    spikes = _spikes(path, times, ids, groups)
    return spikes._replace(units=labels)


def _rows_of(path: Path, table: Any, individual: str | None) -> list[int]:
    """The rows of the ``Units`` table that belong to ``individual`` (every row without such a column)."""
    if "individual" not in table.colnames:
        if individual is not None:
            raise file_error(path, [f"units: no individual column to find {individual!r} in"])
        return list(range(len(table)))
    who = [str(v) for v in table["individual"][:]]
    present = list(dict.fromkeys(who))
    if individual is None and len(present) > 1:
        raise file_error(
            path, [f"units: the table holds units of individuals {present}; pass individual=NAME"]
        )
    if individual is not None and individual not in present:
        raise file_error(path, [f"units: no units of individual {individual!r}; found {present}"])
    return [k for k, w in enumerate(who) if individual in (None, w)]


def _nwb_series(nwbfile: Any) -> dict[str, Any]:
    """Every TimeSeries of the file's processing modules (and those inside containers such as ``DfOverF``),
    by path ``module/container/series``."""
    import pynwb

    found: dict[str, Any] = {}
    for module_name, module in nwbfile.processing.items():
        for name, obj in module.data_interfaces.items():
            if isinstance(obj, pynwb.TimeSeries):
                found[f"{module_name}/{name}"] = obj
            for attr in ("roi_response_series", "time_series"):
                for inner_name, series in (getattr(obj, attr, None) or {}).items():
                    found[f"{module_name}/{name}/{inner_name}"] = series
    return found


def read_nwb_traces(path: str | os.PathLike, *, name: str | None = None) -> Traces:
    """A continuous series of an NWB processing module (an ophys ``RoiResponseSeries`` in ``DfOverF`` or
    ``Fluorescence``, or a ``TimeSeries``): values ``(T, U)``, timestamps (s) and unit labels (ROI ids for a
    ``RoiResponseSeries``, else ``"0", "1", ...``).

    Args:
        name: the series' name or path ``module/container/series``; ``None``: the only series.

    Raises:
        ValueError: one error naming the file: no such series or several to choose from (listing them).
    """
    path = _file(path)
    import pynwb

    with reading(path, "an NWB file"), pynwb.NWBHDF5IO(str(path), mode="r") as io:
        found = _nwb_series(io.read())
        chosen = [k for k in found if name in (None, k, k.rsplit("/", 1)[-1])]
        if len(chosen) != 1:
            what = "expected one series" if name is None else f"expected one series named {name!r}"
            raise file_error(path, [f"traces: {what}; the processing modules hold {list(found)}"])
        series = found[chosen[0]]
        values = _series_values(series)
        values = values[:, None] if values.ndim == 1 else values.reshape(values.shape[0], -1)
        rois = getattr(series, "rois", None)
        labels = (
            [str(v) for v in rois.data[:]] if rois is not None else [str(u) for u in range(values.shape[1])]
        )
        if rois is not None:
            ids = rois.table.id[:]
            labels = [str(ids[int(k)]) for k in rois.data[:]]
        traces = Traces(values, _series_time(series), labels, chosen[0], str(series.unit), str(path))
    if len(labels) != values.shape[1]:
        raise file_error(path, [f"traces: {len(labels)} ROIs for {values.shape[1]} columns of {chosen[0]}"])
    return traces
