"""NWB (Neurodata Without Borders) in and out.

Export (:func:`to_nwb`): positions as :class:`pynwb.behavior.SpatialSeries` (one per individual and keypoint)
in a :class:`pynwb.behavior.Position` container of the processing module ``"behavior"``, the layout lab
tools and DANDI datasets use for tracked position; confidence and the other time series (heading, reward,
segment, ...) as :class:`pynwb.TimeSeries` in ``BehavioralTimeSeries`` containers; neural data (see
:mod:`neuroethology.data.neural`) as NWB keeps it: spikes as the file's ``Units`` table (one row per unit,
columns ``unit_name`` and ``individual``, its ``spike_times`` as recorded) and ``activity`` as one
``TimeSeries`` ``(time, unit)`` per individual in the processing module ``"neural"``; the Recording's attrs
and any remaining variables in the file's scratch space, so :func:`neuroethology.data.load` reads it back
unchanged.

Import: ndx-pose ``PoseEstimation`` containers through movement's NWB loader; Position/SpatialSeries
(which movement does not read) here.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from ._raw import FORMATS, RawTracks, file_error, reading, write_atomically
from .model import validate
from .schema import (
    CONFIDENCE_DIMS,
    KINDS,
    POSITION_DIMS,
    SPIKE_VARIABLES,
    jsonable,
    singular_dims,
    spike_layout,
)

__all__ = ["read_nwb", "to_nwb"]

MARKER = "neuroethology_recording"  # scratch entry holding the Recording's attrs, names and layout
_UNITS = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01, "centimetres": 0.01,
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001, "millimetres": 0.001,
}  # fmt: skip
_PIXELS = {"px", "pixel", "pixels"}


def _nwb_name(text: str) -> str:
    return re.sub(r"[/:]", "_", str(text)) or "_"


def _series_names(individuals: list[str], keypoints: list[str]) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for ind in individuals:
        for kp in keypoints:
            base = _nwb_name(ind if len(keypoints) == 1 else f"{ind}_{kp}")
            name, n = base, 1
            while name in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name)
            names[(ind, kp)] = name
    return names


def _labels(rec: xr.Dataset, coord: str) -> list[str]:
    return [str(v) for v in rec[coord].values]


class _Track(NamedTuple):
    """One keypoint of one individual: its indices in the Recording, its labels and its series name."""

    keypoint_index: int
    individual_index: int
    keypoint: str
    individual: str
    name: str

    @property
    def comments(self) -> str:
        """The JSON ``comments`` naming the track a series belongs to (read back by :func:`_read_own`)."""
        return json.dumps({"neuroethology": {"individual": self.individual, "keypoint": self.keypoint}})


def _tracks(rec: xr.Dataset) -> list[_Track]:
    """Every track of ``rec``, keypoint-major (the order its series are written in)."""
    individuals, keypoints = _labels(rec, "individual"), _labels(rec, "keypoint")
    names = _series_names(individuals, keypoints)
    return [
        _Track(k, i, kp, ind, names[(ind, kp)])
        for k, kp in enumerate(keypoints)
        for i, ind in enumerate(individuals)
    ]


def to_nwb(rec: xr.Dataset, path: str | os.PathLike, *, session_description: str | None = None) -> Path:
    """Export a Recording to an NWB file that pynwb, NWB tools and :func:`neuroethology.data.load` read.

    Layout: processing module ``behavior`` with ``Position`` (one ``SpatialSeries`` of shape ``(time, 2)``
    per individual and keypoint, named after the individual, or ``individual_keypoint``; unit ``meters`` or
    ``pixels``; shared ``timestamps`` in seconds), ``BehavioralTimeSeries`` ``confidence`` (when any score
    exists) and ``variables`` (each time-dependent numeric variable, one ``TimeSeries`` per individual);
    spikes in the ``Units`` table and ``activity`` in the module ``neural`` (see the module docstring).
    The Recording's attrs, names, and variables without a time axis are kept as JSON / arrays in the
    file's scratch space. Written to a temporary file and renamed into place.

    Args:
        rec: a Recording (validated first).
        path: the ``.nwb`` file to write.
        session_description: NWB's required description; default names the source software.

    Returns:
        The absolute path written.
    """
    import pynwb

    validate(rec)
    path = Path(path).expanduser().resolve()
    tracks = _tracks(rec)
    nwbfile = pynwb.NWBFile(
        session_description=session_description
        or f"Recording exported by neuroethology (source: {rec.attrs.get('source_software', 'unknown')})",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(UTC),
        source_script="neuroethology.data.to_nwb",
        source_script_file_name="neuroethology/data/nwb.py",
    )
    module = nwbfile.create_processing_module("behavior", "Tracked or simulated positions (neuroethology)")
    position, timestamps = _position_container(rec, tracks)
    module.add(position)
    if np.isfinite(rec["confidence"].values).any():
        module.add(_confidence_container(rec, tracks, timestamps))
    exported, scratch = _split_variables(rec)
    if exported:
        module.add(_variables_container(rec, exported, timestamps))
    if "spike_time" in rec:
        _add_units(nwbfile, rec)
    if "activity" in rec:
        _add_activity(nwbfile, rec, timestamps)
    _add_scratch(nwbfile, rec, scratch)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: str) -> None:
        with pynwb.NWBHDF5IO(tmp, mode="w") as io:
            io.write(nwbfile)

    write_atomically(path, ".tmp.nwb", write)
    return path


def _position_container(rec: xr.Dataset, tracks: list[_Track]) -> tuple[Any, Any]:
    """``Position``: one ``SpatialSeries`` ``(time, 2)`` per keypoint and individual, and the first of them,
    whose timestamps every other series links to."""
    from pynwb.behavior import Position, SpatialSeries

    unit = "pixels" if rec.attrs.get("space_unit") == "pixels" else "meters"
    arena = rec.attrs.get("arena_shape", "unknown")
    frame = (
        "arena frame: origin at the arena's (0, 0) corner (box) or at (0, 0) with the circle centred at "
        f"(radius, radius); x, y in {unit}; arena {arena}"
    )
    if rec.attrs.get("arena") is not None:  # the mapping (JSON) travels with the attrs in the scratch entry
        frame = (
            f"arena frame: the coordinates of the arena's own mapping; x, y in {unit}; arena {arena}, its "
            f"boundary, holes, walls and regions in attrs['arena'] of the scratch entry {MARKER!r}"
        )
    position = Position(name="Position")
    timestamps: Any = np.asarray(rec["time"].values, dtype=np.float64)
    pos = rec["position"].values
    for track in tracks:
        series = SpatialSeries(
            name=track.name,
            data=pos[:, :, track.keypoint_index, track.individual_index],
            timestamps=timestamps,
            reference_frame=frame,
            unit=unit,
            description=f"position of keypoint {track.keypoint!r} of individual {track.individual!r}; "
            "NaN = not tracked",
            comments=track.comments,
        )
        position.add_spatial_series(series)
        if not isinstance(timestamps, SpatialSeries):
            timestamps = series
    return position, timestamps


def _confidence_container(rec: xr.Dataset, tracks: list[_Track], timestamps: Any) -> Any:
    """``BehavioralTimeSeries`` ``confidence``: one ``TimeSeries`` of scores per keypoint and individual."""
    import pynwb
    from pynwb.behavior import BehavioralTimeSeries

    conf = rec["confidence"].values
    container = BehavioralTimeSeries(name="confidence")
    for track in tracks:
        container.add_timeseries(
            pynwb.TimeSeries(
                name=track.name,
                data=conf[:, track.keypoint_index, track.individual_index],
                timestamps=timestamps,
                unit="n.a.",
                description=f"tracking confidence in [0, 1] of {track.keypoint!r} of {track.individual!r}; "
                "NaN = no score",
                comments=track.comments,
            )
        )
    return container


def _variables_container(rec: xr.Dataset, exported: list[str], timestamps: Any) -> Any:
    """``BehavioralTimeSeries`` ``variables``: one ``TimeSeries`` per exported variable and individual."""
    import pynwb
    from pynwb.behavior import BehavioralTimeSeries

    individuals = _labels(rec, "individual")
    container = BehavioralTimeSeries(name="variables")
    for name in exported:
        var = rec[name]
        per_ind = "individual" in var.dims
        for i, ind in enumerate(individuals if per_ind else [None]):
            data = var.isel(individual=i).values if per_ind else var.values
            label = f"{name}_{ind}" if per_ind else name
            meta = {"variable": name, "individual": ind, "dims": list(var.dims), "dtype": str(var.dtype)}
            container.add_timeseries(
                pynwb.TimeSeries(
                    name=_nwb_name(label),
                    data=data,
                    timestamps=timestamps,
                    unit=str(var.attrs.get("units", "n.a.")),
                    description=f"{name} of {ind!r}" if per_ind else name,
                    comments=json.dumps({"neuroethology": meta}),
                )
            )
    return container


def _add_units(nwbfile: Any, rec: xr.Dataset) -> None:
    """The ``Units`` table: one row per unit of each individual, in ``unit_order``, its spike times (s)."""
    nwbfile.add_unit_column(name="unit_name", description="the unit's label in the Recording")
    nwbfile.add_unit_column(name="individual", description="the individual whose unit it is")
    times = np.asarray(rec["spike_time"].values, np.float64)
    who, unit = rec["spike_individual"].values.astype(str), rec["spike_unit"].values.astype(str)
    for ind, labels in rec["spike_unit"].attrs["unit_order"].items():
        for label in labels:
            train = times[(who == ind) & (unit == label)]
            nwbfile.add_unit(spike_times=train, unit_name=str(label), individual=str(ind))


def _add_activity(nwbfile: Any, rec: xr.Dataset, timestamps: Any) -> None:
    """Module ``neural``: ``activity`` as one ``TimeSeries (time, unit)`` per individual (NaN off its
    samples), the unit labels, kind and source in its description and ``comments``."""
    import pynwb

    var = rec["activity"]
    kind, source = str(var.attrs["kind"]), str(var.attrs["source"])
    labels = [str(u) for u in var["unit"].values]
    module = nwbfile.create_processing_module(
        "neural", "Neural activity on the behaviour's clock (neuroethology)"
    )
    for i, ind in enumerate(_labels(rec, "individual")):
        meta = {"variable": "activity", "individual": ind, "kind": kind, "source": source, "unit": labels}
        module.add(
            pynwb.TimeSeries(
                name=_nwb_name(f"activity_{ind}"),
                data=var.values[:, :, i],
                timestamps=timestamps,
                unit=KINDS[kind],
                description=f"{kind} ({source}) of units {labels} of {ind!r}; NaN = no sample",
                comments=json.dumps({"neuroethology": meta}),
            )
        )


def _add_scratch(nwbfile: Any, rec: xr.Dataset, scratch: list[str]) -> None:
    """The Recording's attrs, names, layout and the variables NWB has no series for, in the file's scratch
    space (the layout as JSON under :data:`MARKER`)."""
    layout = {
        "attrs": jsonable({k: (str(v) if isinstance(v, Path) else v) for k, v in rec.attrs.items()}),
        "individual": _labels(rec, "individual"),
        "keypoint": _labels(rec, "keypoint"),
        "variable_order": [v for v in rec.data_vars if v not in ("position", "confidence")],
        "variable_attrs": {v: jsonable(dict(rec[v].attrs)) for v in rec.data_vars},
        "coords": {
            c: {"dims": list(rec[c].dims), "values": jsonable(rec[c].values)}
            for c in rec.coords
            if c not in ("time", "space", "keypoint", "individual")
        },
        "scratch_variables": {},
    }
    for name in scratch:
        var = rec[name]
        layout["scratch_variables"][name] = {"dims": list(var.dims), "dtype": str(var.dtype)}
        nwbfile.add_scratch(
            np.asarray(var.values), name=f"variable_{name}", description=f"variable {name} {var.dims}"
        )
    nwbfile.add_scratch(
        json.dumps(layout), name=MARKER, description="neuroethology Recording attrs and layout"
    )


def _split_variables(rec: xr.Dataset) -> tuple[list[str], list[str]]:
    """Extra variables written as TimeSeries (numeric, time first, individual last, at most one more dim)
    and those kept in scratch (the rest)."""
    exported, scratch = [], []
    for name, var in rec.data_vars.items():
        if name in ("position", "confidence", "activity", *SPIKE_VARIABLES):
            continue
        if not (np.issubdtype(var.dtype, np.number) or np.issubdtype(var.dtype, np.bool_)):
            raise ValueError(f"to_nwb exports numeric variables only; {name!r} has dtype {var.dtype}")
        dims = var.dims
        inner = [d for d in dims if d not in ("time", "individual")]
        if (
            dims
            and dims[0] == "time"
            and len(inner) <= 1
            and (("individual" not in dims) or dims[-1] == "individual")
        ):
            exported.append(name)
        else:
            scratch.append(name)
    return exported, scratch


# ------------------------------------------------------------------------------------------------ reading


def _unit_factor(unit: str) -> tuple[str, float]:
    key = str(unit).strip().lower()
    if key in _UNITS:
        return "m", _UNITS[key]
    if key in _PIXELS:
        return "pixels", 1.0
    return "unknown", 1.0


def _series_time(series: Any) -> np.ndarray:
    if series.timestamps is not None:
        return np.asarray(
            series.timestamps[()] if hasattr(series.timestamps, "shape") else series.timestamps,
            dtype=np.float64,
        )
    n = len(series.data)
    return float(series.starting_time or 0.0) + np.arange(n, dtype=np.float64) / float(series.rate)


def _series_values(series: Any) -> np.ndarray:
    data = np.asarray(series.data[()], dtype=np.float64)
    return data * float(series.conversion or 1.0) + float(getattr(series, "offset", 0.0) or 0.0)


def read_nwb(path: Path) -> xr.Dataset | RawTracks:
    """Read positions from an NWB file: our own export (a Recording), ndx-pose ``PoseEstimation`` (through
    movement) or ``Position``/``SpatialSeries``."""
    import ndx_pose  # noqa: F401 - registers the ndx-pose classes with pynwb
    import pynwb

    with reading(path, FORMATS["nwb"]), pynwb.NWBHDF5IO(str(path), mode="r") as io:
        nwbfile = io.read()
        if MARKER in nwbfile.scratch:
            return _read_own(nwbfile, path)
        pose = [
            (module_name, name)
            for module_name, module in nwbfile.processing.items()
            for name, obj in module.data_interfaces.items()
            if isinstance(obj, ndx_pose.PoseEstimation)
        ]
        if pose:
            return _read_pose_estimation(nwbfile, pose, path)
        return _read_spatial_series(nwbfile, path)


def _read_own(nwbfile: Any, path: Path) -> xr.Dataset:
    layout = json.loads(
        str(
            nwbfile.scratch[MARKER].data[()]
            if hasattr(nwbfile.scratch[MARKER].data, "shape")
            else nwbfile.scratch[MARKER].data
        )
    )
    individuals, keypoints = layout["individual"], layout["keypoint"]
    module = nwbfile.processing["behavior"]
    position = module["Position"]
    by_key: dict[tuple[str, str], Any] = {}
    for series in position.spatial_series.values():
        meta = json.loads(series.comments)["neuroethology"]
        by_key[(meta["individual"], meta["keypoint"])] = series
    first = by_key[(individuals[0], keypoints[0])]
    t = _series_time(first)
    pos = np.full((t.size, 2, len(keypoints), len(individuals)), np.nan)
    for (ind, kp), series in by_key.items():
        pos[:, :, keypoints.index(kp), individuals.index(ind)] = _series_values(series)
    conf = np.full((t.size, len(keypoints), len(individuals)), np.nan)
    if "confidence" in module.data_interfaces:
        for series in module["confidence"].time_series.values():
            meta = json.loads(series.comments)["neuroethology"]
            conf[:, keypoints.index(meta["keypoint"]), individuals.index(meta["individual"])] = np.asarray(
                series.data[()]
            )
    variables: dict[str, Any] = {}
    if "variables" in module.data_interfaces:
        parts: dict[str, dict[Any, np.ndarray]] = {}
        meta_of: dict[str, dict[str, Any]] = {}
        for series in module["variables"].time_series.values():
            meta = json.loads(series.comments)["neuroethology"]
            parts.setdefault(meta["variable"], {})[meta["individual"]] = np.asarray(series.data[()])
            meta_of[meta["variable"]] = meta
        for name, chunks in parts.items():
            meta = meta_of[name]
            if "individual" in meta["dims"]:
                data = np.stack([chunks[ind] for ind in individuals], axis=-1)
            else:
                data = chunks[None]
            variables[name] = (tuple(meta["dims"]), data.astype(meta["dtype"]))
    variables.update(_read_neural(nwbfile, individuals, t.size))
    for name, meta in layout["scratch_variables"].items():
        data = np.asarray(nwbfile.scratch[f"variable_{name}"].data[()])
        variables[name] = (tuple(meta["dims"]), data.astype(meta["dtype"]))
    ds = xr.Dataset(
        {
            "position": (POSITION_DIMS, pos),
            "confidence": (CONFIDENCE_DIMS, conf),
        },
        coords={
            "time": ("time", t),
            "space": ("space", np.array(["x", "y"])),
            "keypoint": ("keypoint", np.array(keypoints)),
            "individual": ("individual", np.array(individuals)),
        },
    )
    for name in layout["variable_order"]:
        ds[name] = variables[name]
    for name, spec in layout["coords"].items():
        values = np.asarray(spec["values"])
        ds = ds.assign_coords(
            {name: (tuple(spec["dims"]), values.astype(str) if values.dtype.kind == "U" else values)}
        )
    for name, attrs in layout["variable_attrs"].items():
        ds[name].attrs = attrs
    ds["time"].attrs = {"units": "s"}
    ds.attrs = dict(layout["attrs"])
    ds.attrs["source_file"] = str(path)
    return ds


def _read_neural(nwbfile: Any, individuals: list[str], n_time: int) -> dict[str, Any]:
    """The spike variables from the ``Units`` table and ``activity`` from the module ``neural`` of a file
    :func:`to_nwb` wrote (none where it holds none)."""
    out: dict[str, Any] = {}
    table = nwbfile.units
    if table is not None and "individual" in table.colnames:
        trains = [np.asarray(table["spike_times"][k], np.float64) for k in range(len(table))]
        names, who = [str(u) for u in table["unit_name"][:]], [str(i) for i in table["individual"][:]]
        order: dict[str, list[str]] = {}
        for ind, name in zip(who, names, strict=True):
            order.setdefault(ind, []).append(name)
        sizes = [x.size for x in trains]
        times = np.concatenate(trains) if trains else np.zeros(0)
        layout = spike_layout(times, np.repeat(names, sizes), np.repeat(who, sizes), order)
        out.update({v: (("spike",), var.values) for v, var in layout.items()})
    if "neural" in nwbfile.processing:
        series = {
            json.loads(x.comments)["neuroethology"]["individual"]: x
            for x in nwbfile.processing["neural"].data_interfaces.values()
        }
        first = next(iter(series.values()))
        activity = np.full(
            (n_time, len(json.loads(first.comments)["neuroethology"]["unit"]), len(individuals)), np.nan
        )
        for ind, x in series.items():
            activity[:, :, individuals.index(ind)] = np.asarray(x.data[()], np.float64)
        out["activity"] = (("time", "unit", "individual"), activity)
    return out


def _read_pose_estimation(nwbfile: Any, pose: list[tuple[str, str]], path: Path) -> RawTracks:
    """ndx-pose PoseEstimation containers through movement's loader, one individual per container."""
    from movement.io import load_poses

    subject = getattr(getattr(nwbfile, "subject", None), "subject_id", None)
    datasets, units, times = [], set(), []
    for module_name, name in pose:
        mds = singular_dims(
            load_poses.from_nwb_file(nwbfile, processing_module_key=module_name, pose_estimation_key=name)
        )
        individual = (subject or nwbfile.identifier) if len(pose) == 1 else name
        container = nwbfile.processing[module_name][name]
        skeleton = getattr(container, "skeleton", None)
        nodes = [str(n) for n in skeleton.nodes[:]] if skeleton is not None else []
        if sorted(nodes) == sorted(str(k) for k in mds["keypoint"].values):
            mds = mds.sel(
                keypoint=nodes
            )  # movement's merge sorts the keypoints; the skeleton keeps their order
        datasets.append(mds.assign_coords(individual=[str(individual)]))
        series = list(container.pose_estimation_series.values())
        times.append(_series_time(series[0]))
        for s in series:
            units.add((str(s.unit), float(s.conversion or 1.0)))
    if any(t.shape != times[0].shape or not np.allclose(t, times[0]) for t in times):
        raise file_error(
            str(path),
            ["the PoseEstimation containers have different timestamps; they cannot share one time axis"],
        )
    if len(units) != 1:
        raise file_error(str(path), [f"the pose series use different units {sorted(units)}"])
    ((unit, conversion),) = units
    space_unit, factor = _unit_factor(unit)
    mds = xr.concat(datasets, dim="individual", join="outer") if len(datasets) > 1 else datasets[0]
    pos = np.asarray(mds["position"].transpose(*POSITION_DIMS).values, dtype=np.float64)
    conf = np.asarray(mds["confidence"].transpose(*CONFIDENCE_DIMS).values, dtype=np.float64)
    raw = RawTracks(
        position=pos * factor * conversion,
        confidence=conf,
        time=times[0],
        frames=None,
        fps=None,
        individual_names=[str(v) for v in mds["individual"].values],
        keypoint_names=[str(v) for v in mds["keypoint"].values],
        space_unit=space_unit,
        source_software=str(mds.attrs.get("source_software") or "NWB (ndx-pose)"),
    )
    if pos.shape[1] != 2:
        raw.problems.append(f"only 2-D tracks are supported; the file has {pos.shape[1]} space dimensions")
    return raw


def _read_spatial_series(nwbfile: Any, path: Path) -> RawTracks:
    from pynwb.behavior import Position, SpatialSeries

    found: list[Any] = []
    places = [("acquisition", nwbfile.acquisition)] + [
        (m, mod.data_interfaces) for m, mod in nwbfile.processing.items()
    ]
    for _, interfaces in places:
        for obj in interfaces.values():
            if isinstance(obj, Position):
                found.extend(obj.spatial_series.values())
            elif isinstance(obj, SpatialSeries):
                found.append(obj)
    if not found:
        modules = {m: list(mod.data_interfaces) for m, mod in nwbfile.processing.items()}
        raise file_error(
            str(path),
            [
                "no positions: expected an ndx-pose PoseEstimation or a Position/SpatialSeries; found "
                f"acquisition {list(nwbfile.acquisition)} and processing modules {modules}"
            ],
        )
    problems = []
    t = _series_time(found[0])
    columns, names, units = [], [], set()
    for series in found:
        data = _series_values(series)
        if data.ndim != 2 or data.shape[1] < 2:
            problems.append(f"SpatialSeries {series.name!r} has shape {data.shape}; expected (time, 2) x, y")
            continue
        if data.shape[1] > 2:
            problems.append(
                f"SpatialSeries {series.name!r} is {data.shape[1]}-D; only 2-D positions are supported"
            )
            continue
        ts = _series_time(series)
        if ts.shape != t.shape or not np.allclose(ts, t):
            problems.append(
                f"SpatialSeries {series.name!r} has other timestamps than {found[0].name!r}; "
                "they cannot share one "
                "time axis"
            )
            continue
        unit, factor = _unit_factor(series.unit)
        units.add(unit)
        columns.append(data * factor)
        names.append(str(series.name))
    if len(units) > 1:
        problems.append(f"the SpatialSeries use different units {sorted(units)}")
    if problems or not columns:
        raise file_error(str(path), problems or ["no usable SpatialSeries"])
    space_unit = units.pop()
    subject = getattr(getattr(nwbfile, "subject", None), "subject_id", None)
    raw = RawTracks(
        position=np.stack(columns, axis=-1)[:, :, :, None],
        confidence=None,
        time=t,
        frames=None,
        fps=None,
        individual_names=[str(subject or "id_0")],
        keypoint_names=names,
        space_unit=space_unit,
        source_software="NWB",
    )
    return raw
