"""One writer per run directory: an OS file lock on ``RUN/.lock``, and the run's status as it really is."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .manifest import MANIFEST_FILE, now

__all__ = ["LOCK_FILE", "RunLockedError", "run_lock", "run_is_locked", "run_status"]

LOCK_FILE = ".lock"


class RunLockedError(FileExistsError):
    """Another live process is writing the run directory (``neuroethology train``, ``fit`` or a resume): the
    run is taken, as a file that exists is (the command line reports it as bad input, without a traceback)."""


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike, command: str) -> Iterator[dict[str, Any]]:
    """Hold the run directory's exclusive lock while the block runs: one writer per run.

    The lock is an OS file lock (``fcntl.flock``) on ``RUN/.lock``, which records the holder's pid, host,
    command and start time. The OS releases it when the holder exits in any way, ``kill -9`` included, so a
    lock file left by a dead process is stale by construction: it is taken over and the returned record's
    ``"stale"`` entry names the process that left it. A live holder makes this raise
    :class:`RunLockedError` naming it. The lock file is removed on release, and a folder this call created
    and the block left empty is removed too, so a run refused before it wrote anything leaves nothing behind. (Local file systems; on NFS, flock is
    advisory and may not be shared between hosts.)
    """
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    fd = _acquire(path, run_dir)
    try:
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
            with contextlib.suppress(OSError):  # another process may be taking the run right now
                path.unlink()  # (a waiter that opened this file sees it is gone and takes the new one)
                if created and not any(run_dir.iterdir()):
                    run_dir.rmdir()  # a start refused before it wrote anything leaves no folder behind
    finally:
        os.close(fd)  # closing releases the flock


def _acquire(path: Path, run_dir: Path) -> int:
    """An open descriptor of ``path`` holding its exclusive flock, or :class:`RunLockedError` naming the
    holder. A lock file removed between our open and our flock (a refused start cleaning up after itself) is
    not the lock any more: open the new one and try again."""
    import fcntl

    for _ in range(100):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # the folder was removed in between
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_lock(fd)
            os.close(fd)
            if (
                not holder
            ):  # a reader's brief shared lock (run_is_locked), or a holder still writing its record
                time.sleep(0.05)
                continue
            raise RunLockedError(
                f"{run_dir} is in use by another process (pid {holder.get('pid', '?')} on "
                f"{holder.get('host', '?')}, `{holder.get('command', '?')}` since {holder.get('started', '?')}); "
                "wait for it to finish or stop it, or choose another --out"
            ) from None
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
    raise RunLockedError(
        f"{run_dir}: its lock could not be taken in 5 s (held without a record, or replaced again and again); "
        "is another program using it?"
    )


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
