"""Rows padded to a few bucketed lengths, so that recordings of nearby lengths share one compiled program.

A jitted function compiles once per shape of its arguments: the baseline's likelihood of ``N`` windows, a
network's training and validation on ``N`` rows. Padded to :func:`bucket` ``(N)`` rows (4, 5, 6 or 7 times a
power of two: at most a quarter more) and told which rows are real, recordings of nearby lengths reuse one
program, in this process and from the persistent compilation cache (as
:func:`neuroethology.simulation._chunk_steps` does for simulations). The padded rows never count: they get
weight 0 in a sum, are never drawn, or come after the real rows of a causal unroll and are cut.
"""

from __future__ import annotations

import numpy as np

__all__ = ["bucket", "pad_rows"]


def bucket(n: int) -> int:
    """``n`` rounded up to a number with three significant bits (4, 5, 6 or 7 times a power of two)."""
    n = max(1, int(n))
    unit = 1 << max(0, n.bit_length() - 3)
    return -(-n // unit) * unit


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """``x`` with its last row repeated to ``rows`` rows along the first axis (a real row: every function of
    it stays finite, and so does its gradient)."""
    x = np.asarray(x)
    if len(x) >= rows:
        return x
    return np.concatenate([x, np.repeat(x[-1:], rows - len(x), axis=0)], axis=0)
