"""Run directories: what every command that trains or fits writes next to its results.

A run directory holds ``config.yaml`` (the resolved config), ``metrics.jsonl``, ``checkpoints/`` and
``manifest.json``: the run's ``kind`` (``"ppo"`` from ``neuroethology train``, ``"fitted"`` from
``neuroethology fit``), package version, git commit (when running from a checkout), Python and JAX versions,
devices, seeds and wall time, so that a result can be traced to what produced it. Both kinds are read back
by :func:`neuroethology.run_policies.load_policy`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import subprocess
from collections.abc import Iterator
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
    "run_lock",
    "run_is_locked",
    "run_status",
    "RunLockedError",
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


# ---------------------------------------------------------------------------------------------------------
# One writer per run directory
# ---------------------------------------------------------------------------------------------------------

LOCK_FILE = ".lock"


class RunLockedError(RuntimeError):
    """Another live process is writing the run directory (``neuroethology train``, ``fit`` or a resume)."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, command: str) -> Iterator[dict[str, Any]]:
    """Hold the run directory's exclusive lock while the block runs: one writer per run.

    The lock is an OS file lock (``fcntl.flock``) on ``RUN/.lock``, which records the holder's pid, host,
    command and start time. The OS releases it when the holder exits in any way, ``kill -9`` included, so a
    lock file left by a dead process is stale by construction: it is taken over and the returned record's
    ``"stale"`` entry names the process that left it. A live holder makes this raise
    :class:`RunLockedError` naming it. (Local file systems; on NFS, flock is advisory and may not be shared
    between hosts.)
    """
    import fcntl

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_lock(fd)
            raise RunLockedError(
                f"{run_dir} is in use by another process (pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, `{holder.get('command', '?')}` since {holder.get('started', '?')}); "
                "wait for it to finish or stop it, or choose another --out"
            ) from None
        previous = _read_lock(fd)
        record = {"pid": os.getpid(), "host": platform.node(), "command": command, "started": now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        os.fsync(fd)
        if previous.get("pid") is not None:
            record = {**record, "stale": previous}
        try:
            yield record
        finally:
            os.ftruncate(fd, 0)  # released: an empty lock file holds nobody
    finally:
        os.close(fd)  # closing releases the flock


def _read_lock(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def run_is_locked(run_dir: str | os.PathLike) -> bool:
    """Whether a live process holds ``run_dir``'s lock (:func:`run_lock`)."""
    import fcntl

    path = Path(run_dir) / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def run_status(run_dir: str | os.PathLike) -> str | None:
    """The run's status as it is, not only as its manifest last said: a manifest still ``"running"`` whose
    process no longer holds the lock was killed or crashed, and is ``"interrupted"``. ``None`` without a
    readable manifest."""
    try:
        manifest = json.loads((Path(run_dir) / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    status = manifest.get("status") if isinstance(manifest, dict) else None
    if status == "running" and not run_is_locked(run_dir):
        return "interrupted"
    return status
