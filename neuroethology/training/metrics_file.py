"""``metrics.jsonl``: one JSON line per update and run of a training run, appended chunk by chunk."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..runs import write_text_atomic

__all__ = ["METRICS_FILE", "metric_lines", "append_metrics", "truncate_metrics"]

METRICS_FILE = "metrics.jsonl"


def _clean(value: Any) -> Any:
    """JSON-safe scalar: non-finite floats become null."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def metric_lines(metrics: dict, first_update: int, steps_per_update: int, labels: list[dict], wall: float):
    """One JSON line per (update, run) for a chunk of metrics shaped ``(runs, updates)``."""
    episodes = metrics["episodes"]
    lines = []
    for u in range(episodes.shape[1]):
        for r, label in enumerate(labels):
            n = int(episodes[r, u])
            row = {
                "update": first_update + u + 1,
                "env_steps": (first_update + u + 1) * steps_per_update,
                "run": r,
                **label,
                "return_mean": _clean(metrics["return_sum"][r, u] / n) if n else None,
                "episode_length_mean": _clean(metrics["length_sum"][r, u] / n) if n else None,
            }
            for name, values in metrics.items():
                if name not in ("return_sum", "length_sum"):
                    row[name] = _clean(values[r, u])
            row["wall_time_s"] = round(wall, 3)
            lines.append(json.dumps(row))
    return lines


def truncate_metrics(path: Path, updates: int) -> None:
    """Keep the lines of ``path`` up to update ``updates`` (a resumed run drops what came after its
    checkpoint); a torn last line is dropped, a torn line before it refused."""
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    keep = []
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
        except ValueError:
            if i == len(lines) - 1:  # the last line torn by a crash while it was written: drop it
                break
            raise ValueError(
                f"{path}: line {i + 1} is not valid JSON (the metrics file was edited or corrupted); "
                "restore it or remove that line, then --resume"
            ) from None
        if row.get("update", 0) <= updates:
            keep.append(line)
    write_text_atomic(path, "".join(line + "\n" for line in keep))


def append_metrics(
    path: Path, metrics: dict, first_update: int, steps_per_update: int, labels: list[dict], wall: float
) -> None:
    """Append :func:`metric_lines` of a chunk to ``path``."""
    with path.open("a") as fh:
        fh.writelines(
            line + "\n" for line in metric_lines(metrics, first_update, steps_per_update, labels, wall)
        )
