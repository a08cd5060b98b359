"""A fitted model let loose: its free simulation, the closed-loop check that compares the simulated animals'
speed, turning rate and distance to the wall with a reference Recording (two-sample KS), and the transfer
check that lets it loose in arenas it never saw in fitting (:func:`transfer_check`)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import xarray as xr

from .. import envs as ne
from .config import FittedModel

__all__ = [
    "simulate",
    "movement_samples",
    "ks_statistics",
    "closed_loop_check",
    "transfer_check",
    "movement_summary",
    "CHECK_MIN_SPEED",
]


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


def movement_summary(samples: dict[str, np.ndarray]) -> dict[str, float]:
    """Median, 10th and 90th percentiles of speed (m/s), the median turning rate while moving (rad/s) and
    the median wall distance (m) of :func:`movement_samples`, and the fraction of samples slower than
    ``CHECK_MIN_SPEED`` (stopped)."""
    speed = samples["speed"]
    return {
        "speed_median": float(np.median(speed)),
        "speed_p10": float(np.percentile(speed, 10)),
        "speed_p90": float(np.percentile(speed, 90)),
        "stopped_fraction": float(np.mean(speed < CHECK_MIN_SPEED)),
        "turning_rate_median": float(np.median(samples["turning_rate"])),
        "wall_distance_median": float(np.median(samples["wall_distance"])),
    }


def transfer_check(
    model: FittedModel,
    arenas: tuple,
    reference: xr.Dataset,
    *,
    runs: int,
    duration: float,
    key: jax.Array,
) -> dict:
    """The model let loose in arenas it never saw in fitting, next to the animal in its own.

    ``arenas``: any forms :func:`neuroethology.envs.arena.resolve_arena` takes (a preset, a mapping of a box,
    circle or polygon, a file). Each is simulated with ``runs`` animals of ``duration`` seconds (the model's
    own arena too, as the yardstick of what fitting reproduced); returns ``{"animal": summary, "arenas":
    [{"arena": name, "median_speed_ratio": model's median speed / the animal's, **summary}, ...]}`` with
    :func:`movement_summary` for each. A model whose inputs mean the same thing in any arena (e.g. wall rays
    with a finite ``ray_range``) keeps its speed; one that reads a bigger arena as inputs it never saw does
    not (the issue this check was written for: a GRU fitted in a 1 m box ran at 0.77 m/s in a 3.5 m one)."""
    from ..envs.arena import resolve_arena

    animal = movement_summary(movement_samples(reference))
    out = []
    for i, spec in enumerate((None, *arenas)):
        arena = None if spec is None else resolve_arena(spec)
        rec = simulate(model, duration=duration, key=jax.random.fold_in(key, i), num_runs=runs, arena=arena)
        summary = movement_summary(movement_samples(rec))  # its arena: the Recording's attrs
        out.append(
            {
                "arena": "own arena" if spec is None else arena_name(spec),
                "median_speed_ratio": summary["speed_median"] / max(animal["speed_median"], 1e-12),
                **summary,
            }
        )
    return {"animal": animal, "runs": runs, "duration_s": duration, "arenas": out}


def arena_name(spec) -> str:
    """A short name of an arena spec: a preset's name, ``"3.5 x 2.5 m box"``, ``"circle r = 1 m"``, a
    polygon's bounding box."""
    from ..envs.arena import resolve_arena

    if isinstance(spec, (str, Path)):
        return str(spec)
    arena = resolve_arena(spec)
    if arena.get("shape") == "box":
        return f"{arena['width']:g} x {arena['height']:g} m box"
    if arena.get("shape") == "circle":
        return f"circle r = {arena['radius']:g} m"
    xy = np.asarray(arena["boundary"], float)
    ex, ey = np.ptp(xy, axis=0)
    return f"polygon {ex:.3g} x {ey:.3g} m"
