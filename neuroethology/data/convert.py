"""Conversion at the boundary with ``movement``: version 0.15 names the pose dims ``keypoints`` and
``individuals``; version 0.16 and later use ``keypoint`` and ``individual``. Recordings always use the
singular; these functions accept both and emit what is asked."""

from __future__ import annotations

from typing import Any, Literal

import xarray as xr

from .model import validate
from .pipeline import process_dataset
from .schema import PLURAL_DIMS, SINGULAR_DIMS, singular_dims

__all__ = ["from_movement", "movement_naming", "singular_dims", "to_movement"]


def movement_naming() -> Literal["plural", "singular"]:
    """The dim naming of the installed ``movement`` (``"plural"`` for 0.15, ``"singular"`` from 0.16)."""
    from movement.validators import datasets

    names: tuple[str, ...] = ()
    for cls_name in ("ValidPosesInputs", "ValidPosesDataset"):
        cls = getattr(datasets, cls_name, None)
        names = tuple(getattr(cls, "DIM_NAMES", ()) or ())
        if names:
            break
    return "plural" if any(name in SINGULAR_DIMS for name in names) else "singular"


def to_movement(rec: xr.Dataset, naming: Literal["auto", "plural", "singular"] = "auto") -> xr.Dataset:
    """A movement poses dataset of a Recording, for movement's kinematics, filters and plots.

    Args:
        rec: a Recording (validated first).
        naming: ``"plural"`` (``keypoints``/``individuals``, movement 0.15), ``"singular"`` (movement >= 0.16)
            or ``"auto"``: the installed movement's.

    Returns:
        The same data and attrs (``ds_type="poses"``, ``time_unit="seconds"``, ``fps``, ...) with the dims
        named as asked.
    """
    if naming not in ("auto", "plural", "singular"):
        raise ValueError(f"naming must be 'auto', 'plural' or 'singular', got {naming!r}")
    validate(rec)
    if naming == "auto":
        naming = movement_naming()
    out = rec.rename(PLURAL_DIMS) if naming == "plural" else rec.copy()
    out.attrs = {**rec.attrs, "ds_type": "poses", "time_unit": "seconds"}
    return out


def from_movement(ds: xr.Dataset, **options: Any) -> xr.Dataset:
    """A Recording from a movement poses dataset with either dim naming.

    A dataset made by :func:`to_movement` comes back unchanged. One made by movement's own loaders is in
    pixels and often in frames: pass the options of :func:`neuroethology.data.load` it needs (``fps=`` when
    ``time_unit`` is frames and the dataset has no fps, ``scale=`` or ``arena_corners=`` with ``arena_size=``
    to calibrate, or ``units="pixels"``); ``keypoint=``, ``centroid=``, ``max_gap=``, ``resample=``/``dt=``
    and ``arena=`` work as in ``load``.

    Raises:
        ValueError (:class:`~neuroethology.data.model.RecordingError`): every problem found, in one message.
    """
    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"from_movement expects an xarray.Dataset, got {type(ds).__name__}")
    return process_dataset(singular_dims(ds), source=str(ds.attrs.get("source_file", "") or ""), **options)
