"""The rows a training run writes to ``metrics.jsonl`` (one per update and run); the file itself is
:mod:`neuroethology.runs.metrics`'s."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..runs.metrics import append_metric_lines

__all__ = ["metric_lines", "append_metrics"]


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


def append_metrics(
    path: Path, metrics: dict, first_update: int, steps_per_update: int, labels: list[dict], wall: float
) -> None:
    """Append :func:`metric_lines` of a chunk to ``path``."""
    append_metric_lines(path, metric_lines(metrics, first_update, steps_per_update, labels, wall))
