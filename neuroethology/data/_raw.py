"""What a format reader hands to :func:`neuroethology.data.load`: arrays in the file's own units, before
calibration, keypoint selection, gap handling and validation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .model import RecordingError

#: Tracking programs whose coordinates are image pixels.
PIXEL_SOFTWARE = ("SLEAP", "DeepLabCut", "LightningPose", "Anipose", "idtracker.ai", "VIA-tracks")


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


def file_error(path: Path | str, problems: list[str]) -> RecordingError:
    """The error of a file that cannot be loaded: every problem found, naming the file."""
    return RecordingError(str(path), problems, what="cannot be loaded")


def summarise_error(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


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
