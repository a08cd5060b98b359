"""``load`` and ``save``: any supported file in, a validated Recording out; Recordings to netCDF.

Every reader is registered in :data:`READERS`; what it returns goes through the one pipeline,
:func:`neuroethology.data.pipeline.process`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from . import formats
from ._raw import RawTracks, write_atomically
from .model import validate
from .nwb import read_nwb
from .pipeline import LoadOptions, process
from .schema import RecordingError, encode_attrs

__all__ = ["READERS", "load", "save"]

#: A reader: ``(path, columns)`` -> raw tracks, or a dataset (a Recording read back, a movement dataset).
Reader = Callable[[Path, Mapping[str, str] | None], RawTracks | xr.Dataset]

#: The one table of readers, by format name (the names of :data:`neuroethology.data.formats.FORMATS`).
READERS: dict[str, Reader] = {
    "npz": lambda path, columns: formats.read_npz(path, columns),
    "csv": lambda path, columns: formats.read_table(path, "csv", columns),
    "parquet": lambda path, columns: formats.read_table(path, "parquet", columns),
    "netcdf": lambda path, columns: formats.read_netcdf(path),
    "sleap": lambda path, columns: formats.read_sleap(path, "sleap"),
    "sleap-analysis": lambda path, columns: formats.read_sleap(path, "sleap-analysis"),
    "deeplabcut": lambda path, columns: formats.read_deeplabcut(path),
    "idtracker": lambda path, columns: formats.read_idtracker(path),
    "nwb": lambda path, columns: read_nwb(path),
}


def load(
    path: str | os.PathLike,
    *,
    format: str | None = None,  # noqa: A002 - the natural name for the option
    fps: float | None = None,
    scale: float | None = None,
    arena_corners: Any = None,
    arena_size: Any = None,
    units: str | None = None,
    keypoint: str | None = None,
    centroid: bool = False,
    individuals: Sequence[str] | None = None,
    max_gap: float | None = None,
    max_interval: float | None = None,
    resample: float | None = None,
    dt: float | None = None,
    arena: Any = None,
    columns: Mapping[str, str] | None = None,
    allow_implausible: bool = False,
) -> xr.Dataset:
    """Load a tracking file as a validated Recording (metres, seconds; see :mod:`neuroethology.data`).

    Formats, detected from the content (and extension) unless ``format=`` forces one:

    ========================  ============================================  ================================
    format                    files                                         read by
    ========================  ============================================  ================================
    ``sleap``                 SLEAP labels ``.slp`` (no frame rate stored)  movement (sleap-io)
    ``sleap-analysis``        SLEAP analysis ``.h5``                        movement
    ``deeplabcut``            DeepLabCut ``.h5`` / ``.csv`` predictions     movement
    ``nwb``                   NWB: ndx-pose PoseEstimation, or Position     movement (ndx-pose) / pynwb
                              SpatialSeries (what :func:`to_nwb` writes)
    ``idtracker``             idtracker.ai ``trajectories.h5``              this package (h5py)
    ``npz``                   arrays ``t`` (s), ``pos`` (m) (RatInABox)     this package (numpy)
    ``csv`` / ``parquet``     long tables: time (or frame), x, y            this package (pandas)
                              [, individual, keypoint, confidence]
    ``netcdf``                Recordings written by :func:`save`            xarray
    ========================  ============================================  ================================

    What happens, in order (each step is recorded in ``attrs["processing"]``): select ``individuals``;
    calibrate to metres; keep one ``keypoint`` or the ``centroid``; put a frame-grid time axis with missing
    frames onto the complete grid (missing frames become untracked samples); fill gaps up to ``max_gap``;
    number the tracked stretches (``segment``); refuse implausible values (see ``allow_implausible``);
    resample.

    Time stamps without a stated frame rate (GPS tables, loggers) are kept as recorded, each individual on
    its own clock (``time_sampling``, ``sampled``: see :mod:`neuroethology.data`); ``fps=`` makes frames. Netcdf files and :func:`to_nwb` exports are
    Recordings already: only the steps asked for are applied to them.

    Args:
        path: the file.
        format: force a format (names above).
        fps: frame rate, Hz, for files that store none (SLEAP, DeepLabCut, tables with a frame column).
        scale: metres per pixel (video trackers) or per file unit (tables, npz, which are otherwise metres).
        arena_corners: ``(4, 2)`` pixel positions of the arena corners (0, 0), (W, 0), (W, H), (0, H) in the
            arena frame; with ``arena_size=(W, H)`` metres they calibrate through a projective map (camera
            tilt included) and set a ``W x H`` box arena.
        arena_size: ``(W, H)`` metres, or one number for a square; only with ``arena_corners``.
        units: ``"pixels"`` keeps pixel coordinates of video trackers (no calibration); ``"m"`` states that a
            file which does not say its unit is in metres. Without calibration pixel data is an error.
        keypoint: keep this keypoint only.
        centroid: replace the keypoints by their mean over those tracked at each time.
        individuals: keep these individuals only (names as in the file).
        max_gap: fill gaps of up to this many seconds by linear interpolation; longer gaps split the track
            into segments. Default 0 (no filling) for tracking files.
        max_interval: seconds; fixes further apart split the track (default: never, as recorded).
        resample: resample to this rate, Hz, interpolating within segments only; or
        dt: resample to this step, seconds (an environment's ``dt``).
        arena: the arena in metres, overriding the file's: any form :func:`~neuroethology.envs.arena.resolve_arena`
            takes (a preset such as ``"plus_maze"``, a YAML file, a box/circle/polygon mapping, a ROI).
        columns: table columns by role ``time|frame|x|y|lon|lat|individual|keypoint|confidence`` (lon/lat are
            projected to metres, date/time strings parsed: :mod:`~neuroethology.data.geography`); for npz
            the array names ``{"time": "t", "position": "pos"}``.
        allow_implausible: load values no animal can have, deliberately (default ``False``: refused, see
            :mod:`neuroethology.data.plausibility` for the bounds and their sources): positions more than half
            the arena's extent outside it or beyond 1e8 m; steps faster than 50 m/s within a tracked segment
            (metres only; GPS-tagged or flying animals may exceed it); infinite positions (then loaded as
            untracked); time stamps that would make a time grid over 20 times the recorded samples (and over
            a million). The command line's ``neuroethology compare --allow-implausible`` passes it.

    Returns:
        The Recording: ``position (time, space, keypoint, individual)`` m, ``confidence``, ``segment``
        (``sampled``) and attrs ``fps``, ``time_sampling``, ``source_*``, arena, ``processing``.

    Raises:
        FileNotFoundError: no such file.
        ValueError (:class:`~neuroethology.data.model.RecordingError`): every problem with the file or the
            options, in one message naming the file (unknown format, truncated or corrupt file, no time axis,
            non-monotonic or duplicated times, all-NaN tracks, pixels without calibration, missing
            columns, implausible values: see ``allow_implausible``).
        ImportError: a Parquet file without pyarrow/fastparquet installed.
    """
    path = _tracking_file(path)
    given = {name: value for name, value in locals().items() if name in _OPTION_NAMES}  # the arguments above
    given["individuals"] = list(individuals) if individuals is not None else None
    options = LoadOptions(**given)
    option_problems = options.problems()
    if option_problems:
        raise RecordingError(str(path), option_problems, what="cannot be loaded with these options")
    return process(READERS[_format_of(path, format)](path, columns), str(path), options, own_file=True)


_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(LoadOptions))


def _tracking_file(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise RecordingError(str(path), ["is a directory, not a tracking file"], what="cannot be loaded")
    return path


def _format_of(path: Path, forced: str | None) -> str:
    """The format ``format=`` names (an HDF5 file is checked for corruption first), else the detected one."""
    if forced is None:
        return formats.detect_format(path)
    fmt = formats.normalise_format(forced)
    if formats.is_hdf5(path):
        formats.check_hdf5(path)
    return fmt


# ------------------------------------------------------------------------------------------------- save


def save(rec: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a Recording to a netCDF file (``.nc``) that :func:`load` reads back unchanged.

    Structured attrs (dicts, lists, booleans, ``None``) are stored as JSON strings and decoded on load.
    The file is written to a temporary file beside ``path`` and renamed into place, so an interrupted save
    never leaves a broken file.

    Returns:
        The absolute path written.

    Raises:
        ValueError: ``rec`` is not a valid Recording (every problem, in one message).
    """
    validate(rec)
    path = Path(path).expanduser().resolve()
    if path.suffix.lower() not in (".nc", ".netcdf"):
        raise ValueError(f"save writes netCDF: give a path ending in .nc, got {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = rec.copy()
    out.attrs = encode_attrs(rec.attrs)
    for name in out.variables:
        out[name].attrs = encode_attrs(rec[name].attrs)
    write_atomically(path, ".nc.tmp", lambda tmp: out.to_netcdf(tmp, engine="netcdf4"))
    return path
