"""Format detection and readers. Pose-tracking formats go through ``movement`` (SLEAP, DeepLabCut, NWB
ndx-pose); the small formats movement lacks are read here (RatInABox npz, CSV/Parquet tables,
idtracker.ai ``trajectories.h5``, our netCDF)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import geography
from ._raw import FORMATS, RawTracks, file_error, raw_from_movement, reading
from .schema import decode_attrs

__all__ = ["FORMATS", "detect_format", "read_idtracker", "read_npz", "read_table"]

_ALIASES = {
    "nc": "netcdf",
    "netcdf4": "netcdf",
    "slp": "sleap",
    "sleap_analysis": "sleap-analysis",
    "dlc": "deeplabcut",
    "idtrackerai": "idtracker",
    "idtracker.ai": "idtracker",
    "pq": "parquet",
    "ratinabox": "npz",
}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

_BY_EXTENSION = {
    ".npz": "npz",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".nc": "netcdf",
    ".netcdf": "netcdf",
    ".slp": "sleap",
    ".nwb": "nwb",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
}


def normalise_format(fmt: str) -> str:
    key = str(fmt).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {sorted(FORMATS)}")
    return key


def is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == _HDF5_SIGNATURE


def check_hdf5(path: Path) -> None:
    """Walk every group, dataset and attribute of an HDF5 file with h5py and refuse the file if any name or
    attribute is unreadable. Some readers downstream (PyTables, used by pandas for DeepLabCut files) crash
    the interpreter on such corruption instead of raising; h5py raises or returns undecodable bytes."""
    import h5py

    bad: list[str] = []

    def check_attrs(name: str, obj: Any) -> None:
        for key in obj.attrs.keys():
            if not isinstance(key, str):
                bad.append(f"attribute name {key!r} of {name or '/'!r} is not text")
                continue
            obj.attrs[key]
        if isinstance(obj, h5py.Dataset):
            _ = (obj.shape, obj.dtype)

    def visit(name: str | bytes, obj: Any) -> None:
        if not isinstance(name, str):
            bad.append(f"object name {name!r} is not text")
            return
        check_attrs(name, obj)

    with reading(path, "an HDF5 file"), h5py.File(path, "r") as f:
        check_attrs("", f)
        f.visititems(visit)
    if bad:
        raise file_error(
            str(path),
            [f"corrupt HDF5 file: {bad[0]}" + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")],
        )


def _sniff_hdf5(path: Path) -> tuple[str | None, list[str]]:
    import h5py

    check_hdf5(path)
    with reading(path, "an HDF5 file"), h5py.File(path, "r") as f:
        keys = set(f.keys())
        attrs = set(f.attrs.keys())
        if "_NCProperties" in attrs:
            return "netcdf", []
        if "nwb_version" in attrs or {"acquisition", "general", "processing"} <= keys:
            return "nwb", []
        if {"metadata", "frames", "instances", "points"} <= keys:
            return "sleap", []
        if {"tracks", "node_names"} <= keys:
            return "sleap-analysis", []
        if "trajectories" in keys:
            return "idtracker", []
        if "df_with_missing" in keys:
            return "deeplabcut", []
        return None, [
            "an HDF5 file of an unknown layout: expected SLEAP (tracks, node_names or frames, instances, "
            "points), "
            "DeepLabCut (df_with_missing), idtracker.ai (trajectories), NWB or netCDF; "
            f"found top-level keys {sorted(keys)}"
        ]


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")  # characters no text table holds


def _text_of(head: bytes) -> str | None:
    """The first bytes of a file as text (UTF-8, else latin-1, which decodes any byte), or ``None`` when they
    hold control characters (a binary file). A UTF-8 character cut at the end of ``head`` is dropped."""
    for encoding in ("utf-8", "latin-1"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as err:
            if err.start < len(head) - 3:
                continue
            text = head[: err.start].decode(encoding)
        return None if _CONTROL.search(text) else text
    return None


def detect_format(path: Path) -> str:
    """The format of ``path`` from its content (magic bytes, HDF5 layout, CSV header) and its extension.

    Raises:
        ValueError (:class:`RecordingError`): unknown, empty, or inconsistent with its extension.
    """
    size = path.stat().st_size
    if size == 0:
        raise file_error(str(path), ["the file is empty (0 bytes)"])
    with open(path, "rb") as f:
        head = f.read(4096)
    ext = _BY_EXTENSION.get(path.suffix.lower())
    if head.startswith(_HDF5_SIGNATURE):
        fmt, problems = _sniff_hdf5(path)
        if fmt is None:
            raise file_error(str(path), problems)
        return fmt
    if head[:4] in (b"CDF\x01", b"CDF\x02", b"CDF\x05"):
        return "netcdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if head.startswith(b"PAR1"):
        return "parquet"
    if ext in ("hdf5", "netcdf", "nwb", "sleap", "npz", "parquet"):
        expected = {
            "hdf5": "the HDF5 signature",
            "netcdf": "the netCDF/HDF5 signature",
            "nwb": "the HDF5 signature",
            "sleap": "the HDF5 signature",
            "npz": "the zip signature PK",
            "parquet": "the Parquet signature PAR1",
        }[ext]
        raise file_error(
            str(path),
            [
                f"a {path.suffix} file should start with {expected}, found bytes {head[:8]!r}: "
                "truncated or corrupt"
            ],
        )
    text = _text_of(head)
    if text is not None:
        first = text.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
        if first.startswith("scorer,"):
            return "deeplabcut"
        if ext == "csv" or "," in first or "\t" in first:
            return "csv"
    raise file_error(
        str(path),
        [
            f"unknown format (extension {path.suffix or 'none'!r}, first bytes {head[:8]!r}); "
            f"supported: {', '.join(sorted(FORMATS))}; pass format= to force one"
        ],
    )


# ----------------------------------------------------------------------------------------------- npz


def read_npz(path: Path, columns: Mapping[str, str] | None) -> RawTracks:
    columns = dict(columns or {})
    with reading(path, FORMATS["npz"]), np.load(path, allow_pickle=False) as archive:
        keys = list(archive.files)
        time_key = columns.get("time") or next((k for k in ("t", "time") if k in keys), None)
        pos_key = columns.get("position") or next((k for k in ("pos", "position") if k in keys), None)
        problems = []
        if time_key is None or time_key not in keys:
            problems.append(
                f"no time axis: expected an array {time_key or 't'!r} (seconds); found arrays {keys}"
            )
        if pos_key is None or pos_key not in keys:
            problems.append(
                f"no positions: expected an array {pos_key or 'pos'!r} (metres); found arrays {keys}"
            )
        if problems:
            raise file_error(str(path), problems)
        t = np.asarray(archive[time_key])
        pos = np.asarray(archive[pos_key])
        fps = float(archive["fps"]) if "fps" in keys and np.size(archive["fps"]) == 1 else None
    if not (np.issubdtype(t.dtype, np.number) and np.issubdtype(pos.dtype, np.number)):
        raise file_error(
            str(path), [f"{time_key!r} and {pos_key!r} must be numeric, got {t.dtype} and {pos.dtype}"]
        )
    problems = []
    if pos.ndim == 2 and pos.shape[1] == 2:
        pos = pos[:, :, None, None]
    elif not (pos.ndim == 4 and pos.shape[1] == 2):
        problems.append(
            f"{pos_key!r} must have shape (time, 2) or (time, 2, keypoint, individual), got {pos.shape}"
        )
    if t.ndim != 1 or (pos.ndim == 4 and t.shape[0] != pos.shape[0]):
        problems.append(f"{time_key!r} must have shape ({pos.shape[0]},) to match {pos_key!r}, got {t.shape}")
    if problems:
        raise file_error(str(path), problems)
    n_kp, n_ind = pos.shape[2], pos.shape[3]
    return RawTracks(
        position=pos.astype(np.float64),
        confidence=None,
        time=t.astype(np.float64),
        frames=None,
        fps=fps,
        individual_names=[f"id_{i}" for i in range(n_ind)],
        keypoint_names=["centroid"] if n_kp == 1 else [f"keypoint_{i}" for i in range(n_kp)],
        space_unit="file units",
        source_software="ratinabox" if (time_key, pos_key) == ("t", "pos") else "npz",
    )


# ---------------------------------------------------------------------------------------------- tables

_DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "time": ("time", "t", "time_s", "timestamp"),
    "frame": ("frame", "frame_idx", "frame_index"),
    "x": ("x",),
    "y": ("y",),
    "lon": geography.LON_NAMES,  # degrees, WGS84: projected to metres (geography.py)
    "lat": geography.LAT_NAMES,
    "individual": ("individual", "track", "id", *geography.MOVEBANK_INDIVIDUAL_NAMES),
    "keypoint": ("keypoint", "bodypart", "node"),
    "confidence": ("confidence", "likelihood", "score"),
}
_MISSING_TEXT = {"", "nan", "NaN", "NAN", "NA", "N/A", "null", "None"}


def _read_csv_frame(path: Path):
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except UnicodeDecodeError:  # not UTF-8: latin-1 (Windows/Excel exports) decodes every byte
        df = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="latin-1"
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df


def require_parquet_engine(path: Path) -> None:
    """Raise a clear ImportError when pandas has no Parquet engine (pyarrow or fastparquet) here."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None and importlib.util.find_spec("fastparquet") is None:
        raise ImportError(
            f"reading the Parquet file {path} needs the optional dependency 'pyarrow' (or 'fastparquet'), "
            "which is not installed: pip install 'neuroethology[parquet]'"
        )


def _short_lines(path: Path, n_fields: int) -> list[int]:
    """File line numbers (1-based) of non-blank rows with fewer than ``n_fields`` fields (pandas pads them
    silently with empty values)."""
    import csv

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, delimiter=sep)
        return [
            reader.line_num for row in reader if row and any(c.strip() for c in row) and len(row) < n_fields
        ]


def _read_frame(path: Path, fmt: str):
    """The table as a pandas DataFrame (Parquet, or CSV/TSV read as text)."""
    import pandas as pd

    if fmt == "parquet":
        require_parquet_engine(path)
        with reading(path, FORMATS[fmt]):
            return pd.read_parquet(path)
    with reading(path, FORMATS[fmt]):
        return _read_csv_frame(path)


def _column_roles(path: Path, found: list[str], columns: Mapping[str, str] | None) -> dict[str, str | None]:
    """The column playing each role of :data:`_DEFAULT_COLUMNS` (``None``: absent), from ``columns=`` or the
    default names (exact, then any case). Raises naming every missing or unknown column."""
    given = dict(columns or {})
    unknown = set(given) - set(_DEFAULT_COLUMNS)
    if unknown:
        raise ValueError(
            f"columns= has unknown roles {sorted(unknown)}; the roles are {sorted(_DEFAULT_COLUMNS)}"
        )
    problems: list[str] = []
    role: dict[str, str | None] = {}
    for key, defaults in _DEFAULT_COLUMNS.items():
        if key in given:
            role[key] = given[key] if given[key] in found else None
            if role[key] is None:
                problems.append(
                    f"column {given[key]!r} (given for {key}) not found; the file has columns {found}"
                )
        else:
            role[key] = next((c for d in defaults for c in found if c == d), None)  # the first default
            if role[key] is None:
                role[key] = next((c for d in defaults for c in found if c.lower() == d), None)
    problems.extend(geography.position_role_problems(role, given, found))
    if role["time"] is None and role["frame"] is None and "time" not in given:
        problems.append(
            "no time axis: expected a column 'time' (seconds) or 'frame' (with fps=); "
            f"the file has columns {found}; name it: columns={{'time': 'NAME'}}"
        )
    if problems:
        raise file_error(str(path), problems)
    return role


def _numeric_column(df, column: str, problems: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A column as float64 (empty cells NaN) and where it held text that is not a number (named in
    ``problems``)."""
    import pandas as pd

    series = df[column]
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(df), dtype=bool)
    text = series.astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & ~text.isin(_MISSING_TEXT).to_numpy(dtype=bool, na_value=True)
    if bad.any():
        rows = np.flatnonzero(bad)[:5]
        problems.append(
            f"column {column!r} has {int(bad.sum())} non-numeric values "
            f"(e.g. {text.iloc[rows[0]]!r} at file line {int(rows[0]) + 2})"
        )
    return values, bad


def _time_column(df, column: str, problems: list[str], dates: bool) -> tuple[np.ndarray, dict | None]:
    """The time (or frame) column as float64 and, for date-times (``dates``: allowed), their step."""
    if dates and geography.holds_dates(df[column]):
        return geography.parse_times(df[column], column, problems)
    stamps, unparsable = _numeric_column(df, column, problems)
    missing = np.flatnonzero(np.isnan(stamps) & ~unparsable)
    if missing.size:
        problems.append(
            f"column {column!r} has {missing.size} empty values (file lines {(missing[:5] + 2).tolist()})"
        )
    return stamps, None


def _label_column(df, column: str | None, default: str, problems: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the column's names (in order of first appearance) and those names; one name,
    ``default``, when the table has no such column. Empty cells are named in ``problems``."""
    if column is None:
        return np.zeros(len(df), dtype=np.int64), [default]
    text = df[column].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(text == "")
    if empty.size:
        problems.append(
            f"column {column!r} has {empty.size} empty values (file lines {(empty[:5] + 2).tolist()})"
        )
    names, first = np.unique(text, return_index=True)
    order = names[np.argsort(first)].tolist()
    index = {n: i for i, n in enumerate(order)}
    return np.array([index[v] for v in text], dtype=np.int64), [str(n) for n in order]


def _time_order_problems(
    stamps: np.ndarray, time_col: str, group: np.ndarray, individuals: list[str], keypoints: list[str]
) -> list[str]:
    """Duplicated or decreasing times within each track (``group`` = individual * n_keypoints + keypoint),
    with the file lines of the first offence."""
    problems = []
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        d = np.diff(stamps[rows])
        label = (
            ""
            if len(individuals) * len(keypoints) == 1
            else f" for individual {individuals[g // len(keypoints)]!r}, "
            f"keypoint {keypoints[g % len(keypoints)]!r}"
        )
        if (d == 0).any():
            i = rows[np.flatnonzero(d == 0)[0] + 1]
            problems.append(
                f"column {time_col!r}{label} has {int((d == 0).sum())} duplicated times "
                f"(first {float(stamps[i]):g} at file line {int(i) + 2}); times must be strictly increasing"
            )
        if (d < 0).any():
            j = np.flatnonzero(d < 0)[0]
            before, after = rows[j], rows[j + 1]
            problems.append(
                f"column {time_col!r}{label} is not monotonic: it decreases {int((d < 0).sum())} times "
                f"(first at file line {int(after) + 2}: "
                f"{float(stamps[before]):g} -> {float(stamps[after]):g}); "
                "times must be strictly increasing"
            )
    return problems


def read_table(path: Path, fmt: str, columns: Mapping[str, str] | None) -> RawTracks:
    """A long table: one row per (time, individual, keypoint), x, y or lon, lat (see geography.py)."""
    df = _read_frame(path, fmt)
    found = [str(c) for c in df.columns]
    role = _column_roles(path, found, columns)
    if len(df) == 0:
        raise file_error(str(path), ["the table has a header but no rows"])
    problems: list[str] = []
    if fmt == "csv":
        short = _short_lines(path, len(found))
        if short:
            problems.append(
                f"{len(short)} malformed rows with fewer than {len(found)} fields (file lines {short[:5]})"
            )
    lonlat = role["lon"] is not None
    x, _ = _numeric_column(df, role["lon"] if lonlat else role["x"], problems)
    y, _ = _numeric_column(df, role["lat"] if lonlat else role["y"], problems)
    if lonlat:
        problems.extend(geography.lonlat_problems(x, y, role["lon"], role["lat"]))
    time_col = role["time"] or role["frame"]
    stamps, time_step = _time_column(df, time_col, problems, dates=role["time"] is not None)
    conf = _numeric_column(df, role["confidence"], problems)[0] if role["confidence"] else None
    ind_idx, individuals = _label_column(df, role["individual"], "id_0", problems)
    kp_idx, keypoints = _label_column(df, role["keypoint"], "centroid", problems)
    if problems:
        raise file_error(str(path), problems)
    group = ind_idx * len(keypoints) + kp_idx
    problems = _time_order_problems(stamps, time_col, group, individuals, keypoints)
    if problems:
        raise file_error(str(path), problems)
    attrs: dict[str, Any] = {"time_origin": time_step["time_origin"]} if time_step else {}
    steps, implausible = [time_step] if time_step else [], []
    if lonlat:
        names = [f"individual {i!r}, keypoint {k!r}" for i in individuals for k in keypoints]
        x, y, step, implausible = geography.project_lonlat(x, y, group, stamps, names, role)
        attrs.update(crs=step["projection"], crs_source=geography.CRS_SOURCE)
        steps.append(step)
    axis = np.unique(stamps)
    ti = np.searchsorted(axis, stamps)
    pos = np.full((axis.size, 2, len(keypoints), len(individuals)), np.nan)
    pos[ti, 0, kp_idx, ind_idx] = x
    pos[ti, 1, kp_idx, ind_idx] = y
    confidence = None
    if conf is not None:
        confidence = np.full((axis.size, len(keypoints), len(individuals)), np.nan)
        confidence[ti, kp_idx, ind_idx] = conf
    sampled = np.zeros((axis.size, len(individuals)), bool)
    sampled[ti, ind_idx] = True
    by_time = role["time"] is not None
    return RawTracks(
        position=pos,
        confidence=confidence,
        time=axis if by_time else None,
        frames=None if by_time else axis,
        fps=None,
        individual_names=individuals,
        keypoint_names=keypoints,
        space_unit="m" if lonlat else "file units",
        source_software="table",
        attrs={**attrs, "processing": steps} if steps else attrs,
        sampled=None if sampled.all() else sampled,
        implausible=implausible,
    )


# -------------------------------------------------------------------------------------------- movement


def read_sleap(path: Path, fmt: str) -> RawTracks:
    from movement.io import load_poses

    with reading(path, FORMATS[fmt]):
        mds = load_poses.from_sleap_file(path, fps=None)
        raw = raw_from_movement(mds, "SLEAP")
    raw.attrs["fps_note"] = "SLEAP files store no frame rate"
    return raw


def read_deeplabcut(path: Path) -> RawTracks:
    from movement.io import load_poses

    if not is_hdf5(path):  # a CSV: pandas would pad a cut-off last row with empty values
        with reading(path, FORMATS["deeplabcut"]), open(path, encoding="utf-8") as f:
            n_fields = len(f.readline().split(","))
        short = _short_lines(path, n_fields)
        if short:
            raise file_error(
                path,
                [f"{len(short)} malformed rows with fewer than {n_fields} fields (file lines {short[:5]})"],
            )
    with reading(path, FORMATS["deeplabcut"]):
        mds = load_poses.from_dlc_file(path, fps=None)
        raw = raw_from_movement(mds, "DeepLabCut")
    raw.attrs["fps_note"] = "DeepLabCut files store no frame rate"
    return raw


# -------------------------------------------------------------------------------------------- idtracker


def read_idtracker(path: Path) -> RawTracks:
    """idtracker.ai ``trajectories.h5``: ``trajectories (frames, individuals, 2)`` pixels, the frame rate in
    ``attrs["frames_per_second"]``, identity probabilities ``id_probabilities (frames, individuals, 1)``
    (used as confidence). Romero-Ferrero et al. 2019, Nature Methods 16:179."""
    import h5py

    with reading(path, FORMATS["idtracker"]), h5py.File(path, "r") as f:
        if "trajectories" not in f:
            raise file_error(
                str(path),
                [f"no 'trajectories' dataset (frames, individuals, 2); found keys {sorted(f.keys())}"],
            )
        traj = np.asarray(f["trajectories"][()], dtype=np.float64)
        if traj.ndim != 3 or traj.shape[2] != 2:
            raise file_error(
                str(path), [f"'trajectories' must have shape (frames, individuals, 2), got {traj.shape}"]
            )
        probs = None
        if "id_probabilities" in f:
            p = np.asarray(f["id_probabilities"][()], dtype=np.float64)
            if p.shape[:2] == traj.shape[:2]:
                probs = p.reshape(traj.shape[0], traj.shape[1], -1)[:, :, 0]
        attrs = dict(f.attrs)
    fps = attrs.get("frames_per_second")
    fps = float(fps) if fps is not None and np.ndim(fps) == 0 and float(fps) > 0 else None
    labels = attrs.get("identities_labels")
    names = (
        [x.decode() if isinstance(x, bytes) else str(x) for x in np.ravel(labels)]
        if labels is not None
        else []
    )
    if len(names) != traj.shape[1] or len(set(names)) != len(names):
        names = [str(i + 1) for i in range(traj.shape[1])]
    extra: dict[str, Any] = {}
    for key, name in (
        ("body_length", "idtracker_body_length_px"),
        ("estimated_accuracy", "idtracker_estimated_accuracy"),
    ):
        if key in attrs and np.ndim(attrs[key]) == 0:
            extra[name] = float(attrs[key])
    if "version" in attrs:
        extra["idtracker_version"] = str(attrs["version"])
    return RawTracks(
        position=np.transpose(traj, (0, 2, 1))[:, :, None, :],
        confidence=None if probs is None else probs[:, None, :],
        time=None,
        frames=np.arange(traj.shape[0], dtype=np.float64),
        fps=fps,
        individual_names=names,
        keypoint_names=["centroid"],
        space_unit="pixels",
        source_software="idtracker.ai",
        attrs=extra,
    )


# ----------------------------------------------------------------------------------------------- netCDF


def read_netcdf(path: Path):
    import xarray as xr

    with reading(path, FORMATS["netcdf"]):
        with xr.open_dataset(path, decode_times=False, decode_timedelta=False) as handle:
            ds = handle.load()
        for name in list(ds.variables):
            var = ds[name]
            if var.dtype == object and var.size and all(isinstance(v, str) for v in np.ravel(var.values)):
                ds[name] = var.astype(str)
            ds[name].attrs = decode_attrs(ds[name].attrs)
        ds.attrs = decode_attrs(ds.attrs)
    return ds
