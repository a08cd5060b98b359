"""Stopping a run that has diverged while its numbers are still finite.

NaN and infinity stop a run at once (``finite`` in the update's metrics). A run can also blow up without
them: with a learning rate of 1e15 the loss reached ~1e32 and the policy's entropy collapsed to 0 while every
number stayed finite (issue 15); with 1e2 on a small OpenField run the entropy rises from 3 to 250 nats in one
update, and the run would otherwise "complete". After each chunk of updates the run loop checks
each run's metrics against the limits of the config's ``run`` section:

* ``run.max_loss``: the absolute PPO loss (default 1e8; the loss of a healthy run is of the order of the
  value loss, the squared scale of its returns);
* ``run.max_weight_norm``: the global L2 norm of the network's weights (default 1e6; initial networks of the
  shipped configs have norms of 10-100);
* ``run.max_entropy_change``: how far the policy's mean entropy may move in one update, down (a collapse to a
  deterministic policy) or up (a Gaussian policy whose spread explodes) (default 5 nats; PPO's clipped
  objective changes the policy little per update).

A limit set very high (``run.max_loss=1e30``) is in effect switched off. A diverged run stops like a non-finite one: the state of the
offending chunk is not saved, the newest checkpoint (from before the divergence) is kept.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["DIVERGENCE_LIMITS", "Divergence", "find_divergence"]

#: The ``run`` settings that bound a run (a resumed run may change them).
DIVERGENCE_LIMITS = ("max_loss", "max_weight_norm", "max_entropy_change")


class Divergence(NamedTuple):
    update: int  # 1-based update at which the first limit was crossed
    run: int
    what: str  # a sentence naming the measure, its value and the limit


def find_divergence(
    metrics: dict,
    first_update: int,
    *,
    max_loss: float,
    max_weight_norm: float,
    max_entropy_change: float,
    previous_entropy: np.ndarray | None,
) -> Divergence | None:
    """The first update of a chunk (metrics shaped ``(runs, updates)``, after update ``first_update``) at
    which a run crosses a limit, or ``None``. ``previous_entropy`` is each run's entropy at the update before
    the chunk (``None`` at the start of a run)."""
    loss = np.abs(np.asarray(metrics["loss"], np.float64))
    norm = np.asarray(metrics["weight_norm"], np.float64)
    entropy = np.asarray(metrics["entropy"], np.float64)
    before = entropy[:, :1] if previous_entropy is None else np.asarray(previous_entropy)[:, None]
    change = np.abs(entropy - np.concatenate([before, entropy[:, :-1]], axis=1))
    checks = (
        (loss > max_loss, loss, f"|loss| exceeds run.max_loss = {max_loss:g}"),
        (
            norm > max_weight_norm,
            norm,
            f"the weights' norm exceeds run.max_weight_norm = {max_weight_norm:g}",
        ),
        (
            change > max_entropy_change,
            change,
            "the policy's entropy moved by more than run.max_entropy_change = "
            f"{max_entropy_change:g} nats in one update",
        ),
    )
    first = None
    for bad, values, text in checks:
        if bad.any():
            runs, updates = np.nonzero(bad)
            i = int(np.argmin(updates))
            found = Divergence(
                first_update + int(updates[i]) + 1,
                int(runs[i]),
                f"{text} ({values[runs[i], updates[i]]:.3g})",
            )
            if first is None or found.update < first.update:
                first = found
    return first
