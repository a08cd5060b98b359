"""``metrics.jsonl``: one JSON object per line, appended as a run goes and cut back when it resumes.

Training writes a line per update and run (``"update"``), fitting a line per chunk of updates
(``"updates"``); both go through these functions, so a torn last line (a crash while writing) is handled
the same way for both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .manifest import write_text_atomic

__all__ = ["METRICS_FILE", "append_metric_lines", "read_metrics", "truncate_metrics"]

METRICS_FILE = "metrics.jsonl"


def append_metric_lines(path: Path, rows: Iterable[dict[str, Any] | str]) -> None:
    """Append rows (dicts, or lines already encoded as JSON) to ``path``, one per line."""
    with Path(path).open("a") as fh:
        fh.writelines((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of ``path``; a torn last line (a crash while it was written) is dropped, a torn line before
    it is refused, naming the line."""
    return [row for row, _ in _parsed(path)]


def _parsed(path: Path) -> list[tuple[dict[str, Any], str]]:
    if not Path(path).exists():
        return []
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    out = []
    for i, line in enumerate(lines):
        try:
            out.append((json.loads(line), line))
        except ValueError:
            if i == len(lines) - 1:  # the last line torn by a crash while it was written: drop it
                break
            raise ValueError(
                f"{path}: line {i + 1} is not valid JSON (the metrics file was edited or corrupted); "
                "restore it or remove that line, then --resume"
            ) from None
    return out


def truncate_metrics(path: Path, updates: int, *, key: str = "update") -> None:
    """Keep the lines of ``path`` whose ``key`` is at most ``updates`` (a resumed run drops what came after
    its checkpoint), rewritten atomically; a torn last line is dropped, a torn line before it refused."""
    if not Path(path).exists():
        return
    keep = [line for row, line in _parsed(path) if row.get(key, 0) <= updates]
    write_text_atomic(path, "".join(line + "\n" for line in keep))
