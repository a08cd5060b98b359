"""Does the agent switch between searching and travelling like the animal? Two groups' movement states in
one call.

:func:`compare_movement_states` fits the movement HMM (:mod:`.hmm`, moveHMM's gamma / von Mises model) to
each group's fix steps (every individual of every Recording pooled, each run its own sequence) and reports,
side by side:

* each group's **own** states: step-length mean and sd, turning-angle mean and concentration, the
  probability of staying in the state from one step to the next and the stationary distribution;
* both groups decoded with the **reference's** model (the second group, e.g. the animal), so that "state
  0" means the same thing in both: fraction of time in each state and mean bout duration (Viterbi);
* cross-likelihoods, in bits per step: each group's steps under each group's model. The agent's steps
  scored by the animal's model, against the animal's own steps scored by it, says how animal-like the
  agent's step-to-step switching and emissions are in one number; each group under its own model is the
  ceiling.

The chain counts steps, not seconds, so two groups compare only at one sampling interval: groups whose
median intervals differ by more than ``dt_tolerance`` are refused (resample one of them first, e.g. with
:func:`neuroethology.data.resample`, a step the user asks for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._recording import as_recording, split_individuals
from .fixes import compute_fix_steps
from .hmm import fit_movement_hmm, state_statistics, steps_log_likelihood

__all__ = ["compare_movement_states"]

_LOG2 = np.log(2.0)


def _group_steps(group: Any, label: str, individual, keypoint) -> list[xr.Dataset]:
    recs = [group] if isinstance(group, xr.Dataset) else list(group)
    if not recs:
        raise ValueError(f"compare_movement_states: group {label!r} is empty")
    steps = []
    names: list[str] = []
    for i, r in enumerate(recs):
        units = split_individuals(as_recording(r, caller=f"compare_movement_states ({label} #{i})"))
        names += [str(u["individual"].values[0]) for u in units]
        if individual is not None:
            units = [u for u in units if str(u["individual"].values[0]) == str(individual)]
        steps += [compute_fix_steps(u, keypoint=keypoint) for u in units]
    if individual is not None and not steps:
        raise ValueError(
            f"compare_movement_states: group {label!r} has no individual {individual!r}; it has {sorted(set(names))}"
        )
    steps = [s for s in steps if s.sizes["step"] > 0]
    if not steps:
        raise ValueError(f"compare_movement_states: group {label!r} has no fix steps")
    return steps


def _check_zero_steps(steps, models, labels) -> None:
    """A step of exactly 0 m has probability 0 under a model fitted to steps with none (no zero mass): scoring
    or decoding one group with the other's model would give -inf bits and wrong states. Refused, naming them."""
    problems = []
    for s, lab in zip(steps, labels, strict=True):
        zeros = sum(int((x["step_length"].values == 0).sum()) for x in s)
        for m, other in zip(models, labels, strict=True):
            if zeros and not np.any(np.asarray(m.zero_mass) > 0):
                problems.append(
                    f"{lab} has {zeros} steps of exactly 0 m (stationary samples) and {other}'s steps have "
                    f"none, so {other}'s model gives them probability 0"
                )
    if problems:
        raise ValueError(
            "compare_movement_states: " + "; ".join(problems) + ". Compare groups that both stop (or both "
            "never do), or drop the stationary samples from both first"
        )


def _median_dt(steps: list[xr.Dataset]) -> float:
    return float(np.median(np.concatenate([s["dt"].values for s in steps])))


def _stationary(transition: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eig(transition.T)
    pi = np.real(v[:, np.argmin(np.abs(w - 1))])
    return pi / pi.sum()


def compare_movement_states(
    sim: xr.Dataset | Sequence[xr.Dataset],
    real: xr.Dataset | Sequence[xr.Dataset],
    *,
    n_states: int = 2,
    labels: tuple[str, str] = ("sim", "real"),
    individual=None,
    keypoint=None,
    n_restarts: int = 8,
    seed: int = 0,
    dt_tolerance: float = 0.1,
) -> xr.Dataset:
    """Movement states of two groups (e.g. agents and animals) side by side (see the module docstring).

    Returns:
        ``Dataset`` with dims ``group`` (the labels), ``state`` (0 = shortest mean step) and ``model`` (the
        labels again: whose model scores the steps):

        * own fits, ``(group, state)``: ``step_mean``, ``step_sd`` (m), ``angle_mean`` (rad),
          ``angle_concentration``, ``p_stay`` (transition matrix diagonal), ``stationary``;
        * under the reference's (second group's) model, ``(group, state)``: ``fraction_of_time``,
          ``mean_dwell_time`` (s), ``mean_dwell_steps``;
        * ``(group, model)``: ``bits_per_step``, the mean log2-likelihood of a group's steps under a model;
        * ``(group,)``: ``n_steps``, ``dt`` (s, median interval), ``log_likelihood`` (nats, own model),
          ``converged``.
    """
    if len(labels) != 2 or labels[0] == labels[1]:
        raise ValueError(f"compare_movement_states: labels must be two different names, got {labels!r}")
    steps = [_group_steps(g, lab, individual, keypoint) for g, lab in zip((sim, real), labels, strict=True)]
    dts = [_median_dt(s) for s in steps]
    if abs(dts[0] - dts[1]) > dt_tolerance * dts[1]:
        raise ValueError(
            f"compare_movement_states: the groups are sampled every {dts[0]:.4g} s ({labels[0]}) and "
            f"{dts[1]:.4g} s ({labels[1]}); the HMM counts steps, so its states compare only at one interval. "
            "Resample one group to the other's interval first (neuroethology.data.resample)"
        )
    fit = dict(n_states=n_states, n_restarts=n_restarts, seed=seed, dt_tolerance=dt_tolerance)
    models = [fit_movement_hmm(s, **fit) for s in steps]
    _check_zero_steps(steps, models, labels)
    ref = models[1]
    under_ref = [state_statistics(ref, s) for s in steps]
    n_steps = np.array([sum(int(x.sizes["step"]) for x in s) for s in steps])
    bits = np.array([[steps_log_likelihood(m, s) for m in models] for s in steps]) / n_steps[:, None] / _LOG2
    gs, gsm = ("group", "state"), ("group", "model")

    def own(name: str) -> np.ndarray:
        return np.stack([np.asarray(getattr(m, name), float) for m in models])

    def ref_stat(name: str) -> np.ndarray:
        return np.stack([st[name].values.astype(float) for st in under_ref])

    variables = {
        "step_mean": (gs, own("step_mean"), {"units": "m"}),
        "step_sd": (gs, own("step_sd"), {"units": "m"}),
        "angle_mean": (gs, own("angle_mean"), {"units": "rad"}),
        "angle_concentration": (gs, own("angle_concentration"), {"units": "1"}),
        "p_stay": (gs, np.stack([np.diag(m.transition) for m in models]), {"units": "1"}),
        "stationary": (gs, np.stack([_stationary(m.transition) for m in models]), {"units": "1"}),
        "fraction_of_time": (gs, ref_stat("fraction_of_time"), {"units": "1", "states": "reference's"}),
        "mean_dwell_time": (gs, ref_stat("mean_dwell_time"), {"units": "s", "states": "reference's"}),
        "mean_dwell_steps": (gs, ref_stat("mean_dwell_steps"), {"units": "steps", "states": "reference's"}),
        "bits_per_step": (gsm, bits, {"units": "bit", "long_name": "mean log2-likelihood of a step"}),
        "n_steps": ("group", n_steps, {}),
        "dt": ("group", np.array(dts), {"units": "s"}),
        "log_likelihood": ("group", np.array([m.log_likelihood for m in models]), {"units": "nat"}),
        "converged": ("group", np.array([m.converged for m in models]), {}),
    }
    return xr.Dataset(
        variables,
        coords={"group": list(labels), "model": list(labels), "state": np.arange(n_states)},
        attrs={"reference": labels[1], "n_states": int(n_states)},
    )
