"""``manifest.json`` (what produced a run) and atomic file writes."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jax

__all__ = [
    "RUN_KINDS",
    "now",
    "git_commit",
    "package_version",
    "write_json",
    "environment_manifest",
    "manifest_kind",
    "write_text_atomic",
    "MANIFEST_FILE",
]

RUN_KINDS = ("ppo", "fitted")
MANIFEST_FILE = "manifest.json"


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, if it is a git checkout (read only)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def package_version() -> str:
    try:
        return version("neuroethology")
    except PackageNotFoundError:
        return "unknown"


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` atomically: a uniquely named temporary file in the same folder, flushed to disk and
    renamed over the target, so a crash never leaves half a file and two writers never share a temporary."""
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write JSON atomically (:func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def environment_manifest(*, kind: str, **fields: Any) -> dict[str, Any]:
    """The manifest of a run of ``kind`` (one of :data:`RUN_KINDS`): the entries that describe the
    software and hardware, plus ``fields``."""
    if kind not in RUN_KINDS:
        raise ValueError(f"environment_manifest: kind must be one of {RUN_KINDS}, got {kind!r}")
    return {
        "kind": kind,
        "package": "neuroethology",
        "version": package_version(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "platform": jax.devices()[0].platform,
        "devices": [str(d) for d in jax.devices()],
        "process_count": jax.process_count(),
        "created": now(),
        **fields,
    }


def manifest_kind(run_dir: str | os.PathLike) -> str | None:
    """The ``kind`` a run directory's manifest records (``None`` for a manifest without one or none)."""
    path = Path(run_dir) / MANIFEST_FILE
    try:
        kind = json.loads(path.read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in RUN_KINDS else None
