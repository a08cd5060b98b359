"""A fitted model let loose: its free simulation, and the closed-loop check that compares the simulated
animals' speed, turning rate and distance to the wall with a reference Recording (two-sample KS)."""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from .. import envs as ne
from .config import FittedModel

__all__ = ["simulate", "movement_samples", "ks_statistics", "closed_loop_check", "CHECK_MIN_SPEED"]


def simulate(
    model: FittedModel,
    *,
    duration: float,
    key: jax.Array,
    num_runs: int = 1,
    arena: dict | None = None,
) -> xr.Dataset:
    """Run a fitted model freely for ``duration`` seconds (``num_runs`` independent animals, named
    ``<kind><i>``), in the recorded arena or ``arena``; the Recording of
    :func:`neuroethology.simulation.run_session` (positions, headings, actions and, for networks, the units'
    activity ``hidden``)."""
    from ..simulation import run_session

    env = ne.env_of(model.env_params)
    params = model.env_params if arena is None else env.with_arena(model.env_params, arena)
    return run_session(
        env,
        params,
        [model.policy()],
        duration=duration,
        key=key,
        names=[model.kind],
        num_runs=num_runs,
        attrs={"model": model.kind},
    )


CHECK_MIN_SPEED = 0.025  # m/s: turning rates are compared only while the animal moves (heading defined)


def movement_samples(rec: xr.Dataset, arena: dict | None = None) -> dict[str, np.ndarray]:
    """Pooled samples of speed (m/s), turning rate (|angular velocity| rad/s, while moving faster than
    ``CHECK_MIN_SPEED``) and distance to the nearest wall (m) over every individual of a Recording."""
    from .. import analysis

    out: dict[str, list[np.ndarray]] = {"speed": [], "turning_rate": [], "wall_distance": []}
    for one in analysis.split_individuals(rec):
        values = {
            "speed": analysis.compute_speed(one).values,
            "turning_rate": np.abs(analysis.compute_angular_velocity(one, min_speed=CHECK_MIN_SPEED).values),
            "wall_distance": analysis.compute_wall_distance(one, arena=arena).values,
        }
        for name, v in values.items():
            v = np.ravel(v)
            out[name].append(v[np.isfinite(v)])
    return {name: np.concatenate(v) for name, v in out.items()}


def ks_statistics(sim: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Two-sample KS statistic per statistic of two :func:`movement_samples` results."""
    from scipy.stats import ks_2samp

    return {name: float(ks_2samp(sim[name], ref[name]).statistic) for name in sim}


def closed_loop_check(
    model: FittedModel,
    reference: xr.Dataset,
    *,
    runs: int,
    key: jax.Array,
    duration: float | None = None,
    reference_samples: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Two-sample KS statistics between ``model``'s free simulation (``runs`` animals, as long as the
    reference unless ``duration``) and a reference Recording, for speed, turning rate and wall distance.
    ``reference_samples`` (``movement_samples(reference)``) saves recomputing them for several models."""
    t = reference["time"].values
    duration = duration or float(t[-1] - t[0])
    sim = movement_samples(simulate(model, duration=duration, key=key, num_runs=runs))
    return ks_statistics(
        sim, reference_samples if reference_samples is not None else movement_samples(reference)
    )
