"""What the writers share: a file written beside its target and renamed into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


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
