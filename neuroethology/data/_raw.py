"""What a format reader hands to :func:`neuroethology.data.load`: arrays in the file's own units, before
calibration, keypoint selection, gap handling and validation; and what every reader shares (the format
names, the error naming the file, the guard that turns any reader failure into that error); and the
rename-into-place the writers share."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..problems import summarise_error
from .schema import CONFIDENCE_DIMS, POSITION_DIMS, RecordingError, singular_dims

#: Tracking programs whose coordinates are image pixels.
PIXEL_SOFTWARE = ("SLEAP", "DeepLabCut", "LightningPose", "Anipose", "idtracker.ai", "VIA-tracks")

#: Format name (what ``load(format=...)`` accepts) -> human label used in messages.
FORMATS: dict[str, str] = {
    "npz": "a NumPy .npz archive with arrays t (s) and pos (m) (RatInABox)",
    "csv": "a CSV table (time, x, y[, individual, keypoint, confidence])",
    "parquet": "a Parquet table (time, x, y[, individual, keypoint, confidence])",
    "netcdf": "a netCDF Recording",
    "sleap": "a SLEAP labels file (.slp)",
    "sleap-analysis": "a SLEAP analysis file (.h5)",
    "deeplabcut": "a DeepLabCut predictions file (.h5 or .csv)",
    "idtracker": "an idtracker.ai trajectories.h5 file",
    "nwb": "an NWB file (Position/SpatialSeries or ndx-pose PoseEstimation)",
}


@dataclass
class RawTracks:
    """Tracks as read from a file.

    Attributes:
        position: ``(time, 2, keypoint, individual)`` in ``space_unit``.
        confidence: ``(time, keypoint, individual)`` or ``None``.
        time: ``(time,)`` seconds, or ``None`` when the file counts frames instead.
        frames: ``(time,)`` frame numbers (needs an fps to become seconds), or ``None``.
        fps: the frame rate the file states, Hz, or ``None``.
        space_unit: ``"m"``, ``"pixels"``, ``"file units"`` (tables, npz: metres unless a scale is given) or
            ``"unknown"``.
        variables: extra variables ``{name: (dims, array, attrs)}`` (our own NWB exports).
        attrs: attributes the file provides (our own exports store the Recording's attrs).
        problems: what the reader found wrong without having to stop.
        implausible: what the reader found wrong that ``allow_implausible=True`` accepts (a lon/lat track too
            large for one plane).
    """

    position: np.ndarray
    confidence: np.ndarray | None
    time: np.ndarray | None
    frames: np.ndarray | None
    fps: float | None
    individual_names: list[str]
    keypoint_names: list[str]
    space_unit: str
    source_software: str
    attrs: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    implausible: list[str] = field(default_factory=list)
    # (time, individual) bool: which individual has a fix at each time of the shared axis, where individuals
    # are fixed at their own times (a long table of GPS collars); None when every individual has every time.
    sampled: np.ndarray | None = None


def file_error(path: Path | str, problems: list[str]) -> RecordingError:
    """The error of a file that cannot be loaded: every problem found, naming the file."""
    return RecordingError(str(path), problems, what="cannot be loaded")


@contextlib.contextmanager
def reading(path: Path | str, what: str) -> Iterator[None]:
    """Turn any exception raised while reading ``path`` as ``what`` into one :class:`RecordingError` naming
    the file (the original stays reachable as ``__context__`` for debugging), and keep movement's loguru
    logger quiet meanwhile (its errors are reported here instead)."""
    from loguru import logger

    logger.disable("movement")
    try:
        yield
    except RecordingError:
        raise
    except Exception as err:  # noqa: BLE001 - the boundary: every reader failure becomes one clear ValueError
        raise RecordingError(
            str(path),
            [
                f"cannot be read as {what}: {summarise_error(err)}; "
                f"the file is truncated, corrupt or not {what}"
            ],
            what="cannot be loaded",
        ) from None
    finally:
        logger.enable("movement")


def raw_from_movement(mds: xr.Dataset, software: str) -> RawTracks:
    """The tracks of a movement poses dataset (either dim naming; time in frames unless ``time_unit`` says
    otherwise), in pixels until the caller says better."""
    mds = singular_dims(mds)
    pos = np.asarray(mds["position"].transpose(*POSITION_DIMS).values, dtype=np.float64)
    if pos.shape[1] != 2:
        raise ValueError(f"only 2-D tracks are supported; the file has {pos.shape[1]} space dimensions")
    conf = np.asarray(mds["confidence"].transpose(*CONFIDENCE_DIMS).values, dtype=np.float64)
    in_frames = mds.attrs.get("time_unit", "frames") == "frames"
    t = np.asarray(mds["time"].values)
    return RawTracks(
        position=pos,
        confidence=conf,
        time=None if in_frames else t.astype(np.float64),
        frames=t.astype(np.float64) if in_frames else None,
        fps=None,
        individual_names=[str(v) for v in mds["individual"].values],
        keypoint_names=[str(v) for v in mds["keypoint"].values],
        space_unit="pixels",
        source_software=software,
    )


def write_atomically(path: Path, suffix: str, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a fresh temporary file beside ``path`` (named ``.<name>.<random><suffix>``),
    then rename it over ``path``, so an interrupted write never leaves a broken file; on any failure the
    temporary is removed and the error re-raised."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
