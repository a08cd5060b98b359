"""Output paths checked before any work starts, so a long simulation never ends in a write error."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["check_output_file", "check_output_dir", "write_recording"]


def _writable_ancestor(path: Path, option: str) -> None:
    """The nearest existing folder above ``path`` must be a folder we may write in."""
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"{option} {path}: cannot write in {parent} (permission denied); choose another {option}"
        )


def check_output_file(path: Path, option: str = "--out", *, suffix: str = ".nc") -> Path:
    """``path`` is a file that can be written: the right suffix, not a folder, in a writable folder."""
    path = Path(path)
    if path.suffix != suffix:
        raise ValueError(f"{option}: expected a {suffix} file, got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; give a file name ending in {suffix}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{option} {path} exists and cannot be overwritten (permission denied)")
    _writable_ancestor(path, option)
    return path


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """``path`` is a folder (existing or to be made) that can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; give a folder (it is made if needed)")
    if path.exists() and not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {path}: cannot write in it (permission denied); choose another {option}")
    _writable_ancestor(path, option)
    return path


def write_recording(path: Path, make: Callable[[], xr.Dataset], option: str = "--out") -> xr.Dataset:
    """Check ``path`` (:func:`check_output_file`), then make the Recording (the long part), then write it
    there, making its folders; returns the Recording."""
    from ..data import save

    check_output_file(path, option)
    rec = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    save(rec, path)
    return rec
