"""Run directories: what every command that trains or fits writes next to its results.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl``, ``checkpoints/`` and
``manifest.json``: package version, git commit (when running from a checkout), Python and JAX versions,
devices, seeds and wall time, so that a result can be traced to what produced it.
"""

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

__all__ = ["now", "git_commit", "package_version", "write_json", "environment_manifest"]


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, if it is a git checkout (read only)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def package_version() -> str:
    try:
        return version("neuroethology")
    except PackageNotFoundError:
        return "unknown"


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write JSON atomically (a temporary file renamed over the target): a crash never leaves half a file."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def environment_manifest(**fields: Any) -> dict[str, Any]:
    """The manifest entries that describe the software and hardware, plus ``fields``."""
    return {
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
