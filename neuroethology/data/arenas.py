"""Arenas from the lab: what :func:`neuroethology.data.load` and :func:`~neuroethology.data.from_arrays`
accept as ``arena=``.

Every form :func:`neuroethology.envs.arena.resolve_arena` takes (a preset name such as ``"plus_maze"``, a
YAML/JSON file, a mapping in metres, a movement ``PolygonOfInterest``, the maze corners in pixels with its
real size ``{"pixels": [[u, v] x 4], "size_m": [W, H], ...}``), checked and stored as
:mod:`neuroethology.data.schema` describes, and one more: an arena drawn on the video frame in pixels that
says ``pixels: true`` instead of giving its corners, which takes them from the load's own calibration
(``arena_corners=``, ``arena_size=``), so that tracks and arena go through one projective map.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..envs.arena_presets import preset_names
from .schema import resolve_recording_arena

__all__ = ["lab_arena"]


def lab_arena(spec: Any, corners: Any, size: Any, problems: list[str]) -> dict[str, Any] | None:
    """The canonical mapping of ``load(arena=spec)`` as :func:`resolve_recording_arena` reads it, except that
    a mapping or YAML/JSON file with ``pixels: true`` holds the maze in the video's pixels and takes its
    corners from the load's ``arena_corners=`` and ``arena_size=`` (``corners``, ``size``): the projective
    map that calibrates the tracks, so that tracks and arena land in one frame. Problems (naming ``arena=``
    and the file) are appended to ``problems``; ``None`` for an unknown or invalid arena."""
    raw, source = spec, None
    if isinstance(spec, str | Path) and not _preset_or_json(spec) and Path(spec).expanduser().is_file():
        path = Path(spec).expanduser()
        source = f"arena={str(spec)!r} ({path})"
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            raw = None  # resolve_arena names the reading problem
    if not (isinstance(raw, Mapping) and raw.get("pixels") is True):
        return resolve_recording_arena(spec, problems)
    label = source or "arena="
    if corners is None or size is None:
        problems.append(
            f"{label}: pixels: true gives the arena in the video's pixels, which needs the load's "
            "arena_corners= and arena_size= to map it to metres (or give the maze corners in the arena: "
            "pixels: [[u, v] x 4] with size_m: [W, H])"
        )
        return None
    if "size_m" in raw:
        problems.append(f"{label}: size_m is taken from arena_size= when pixels is true; leave it out")
        return None
    filled = {**raw, "pixels": np.asarray(corners, dtype=np.float64).tolist(), "size_m": size}
    found: list[str] = []
    mapping = resolve_recording_arena(filled, found)
    problems.extend(f"{source}: {p}" if source else p for p in found)
    return mapping


def _preset_or_json(spec: str | Path) -> bool:
    text = str(spec).strip()
    return isinstance(spec, str) and (text.startswith("{") or text in preset_names())
