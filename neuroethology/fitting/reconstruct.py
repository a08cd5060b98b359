"""From a recorded path to what an agent in OpenField would have seen and done (teacher forcing).

Along a tracked path ``x_0, x_1, ...`` sampled every ``dt`` (the environment's step), the displacement
``D_k = x_{k+1} - x_k`` fixes OpenField's state and action exactly, because OpenField moves along its heading
at the speed it reaches::

    speed_k   = |D_{k-1}| / dt                    heading_k = angle(D_{k-1})
    angular_velocity_k = wrap(heading_k - heading_{k-1}) / dt
    action_k  = [(speed_{k+1} - speed_k) / dt,  wrap(heading_{k+1} - heading_k) / dt]

so that ``OpenField.transition(state_k, action_k)`` lands on ``x_{k+1}`` (exactly, while the action is inside
the action space and no wall is touched). When the animal barely moves (``|D| < min_step``) its heading is
undefined; it is then held from the previous step. The environment's own observation function is applied to
the reconstructed states, so an agent fitted to these pairs sees exactly what it will see when it is let
loose in the environment. Reconstruction runs within tracked segments and never across a gap: each segment
starts a new episode (``episode_start``), and its first two samples only serve to define the first state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from .. import envs as ne
from ..envs.geometry import wrap_angle
from ..envs.open_field import OpenFieldParams, OpenFieldState

__all__ = [
    "Demonstration",
    "demonstration",
    "baseline_windows",
    "open_field_params_for",
    "path_segments",
    "path_windows",
    "reconstruct",
    "reconstruct_path",
]


class Demonstration(NamedTuple):
    """Teacher-forcing data, one row per usable step (time-major, segments concatenated).

    Attributes:
        observations: ``(N, obs_dim)`` (or a dict of arrays for image observations) the env's observations.
        actions: ``(N, 2)`` inferred actions ``[acceleration m/s^2, angular velocity rad/s]``, not clipped.
        states: the reconstructed :class:`OpenFieldState`, fields with a leading ``N`` axis.
        next_position: ``(N, 2)`` m, where the animal was one step later.
        episode_start: ``(N,)`` bool, first step of a tracked segment (reset recurrent state here).
        segment: ``(N,)`` int, which segment each step belongs to.
        time: ``(N,)`` s, the recording's time of each step.
        in_bounds: ``(N,)`` bool, the action lies inside the env's action space (so the env would reproduce
            the step exactly).
        heading_held: ``(N,)`` bool, the step is shorter than ``min_step``: its heading is held, so its angular
            velocity is 0 by construction and only its acceleration says anything about the animal (fits and
            scores use the acceleration alone there). ``None`` for a demonstration built by hand (no step
            held).
    """

    observations: Any
    actions: np.ndarray
    states: OpenFieldState
    next_position: np.ndarray
    episode_start: np.ndarray
    segment: np.ndarray
    time: np.ndarray
    in_bounds: np.ndarray
    heading_held: np.ndarray | None = None

    @property
    def num_steps(self) -> int:
        """Number of rows (steps)."""
        return int(self.actions.shape[0])

    def select(self, mask: np.ndarray) -> Demonstration:
        """Rows where ``mask`` is true; a row that follows a dropped row starts a new episode."""
        mask = np.asarray(mask, bool)
        idx = np.flatnonzero(mask)
        start = self.episode_start[idx].copy()
        if idx.size:
            start[0] = True
            start[1:] |= np.diff(idx) > 1
        take = lambda x: np.asarray(x)[idx]  # noqa: E731
        return Demonstration(
            observations=jax.tree.map(take, self.observations),
            actions=self.actions[idx],
            states=jax.tree.map(take, self.states),
            next_position=self.next_position[idx],
            episode_start=start,
            segment=self.segment[idx],
            time=self.time[idx],
            in_bounds=self.in_bounds[idx],
            heading_held=None if self.heading_held is None else self.heading_held[idx],
        )


def path_segments(valid: np.ndarray, segment: np.ndarray | None = None) -> list[np.ndarray]:
    """Index arrays of the contiguous stretches where ``valid`` holds and ``segment`` stays the same."""
    valid = np.asarray(valid, bool)
    key = np.where(valid, 0 if segment is None else np.asarray(segment), -1)
    runs = np.split(np.arange(valid.size), np.flatnonzero(np.diff(key) != 0) + 1)
    return [r for r in runs if r.size and valid[r[0]]]


def _runs(
    positions: np.ndarray, params: OpenFieldParams, time: np.ndarray | None, segment: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Positions, times and the index runs (>= 3 samples) that reconstruction works on, checked."""
    x = np.asarray(positions, float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"reconstruct_path: positions must have shape (time, 2), got {x.shape}")
    dt = float(params.dt)
    t = np.arange(len(x)) * dt if time is None else np.asarray(time, float)
    valid = np.all(np.isfinite(x), axis=1)
    if segment is not None:
        valid &= np.asarray(segment) >= 0
    runs = [r for r in path_segments(valid, segment) if r.size >= 3]
    if not runs:
        raise ValueError("reconstruct_path: no tracked segment has the 3 samples a step needs")
    steps = np.concatenate([np.diff(t[r]) for r in runs])
    if np.any(np.abs(steps - dt) > 1e-3 * dt):
        raise ValueError(
            f"reconstruct_path: the path is sampled every {np.median(steps):.6g} s (range "
            f"{steps.min():.6g}-{steps.max():.6g} s) but the environment steps dt={dt:g} s; resample it first "
            f"(neuroethology.data.load(..., dt={dt:g}))"
        )
    return x, t, runs


def path_windows(
    positions: np.ndarray,
    params: OpenFieldParams,
    *,
    time: np.ndarray | None = None,
    segment: np.ndarray | None = None,
) -> np.ndarray:
    """``(N, 4, 2)`` positions ``x_{k-2}, x_{k-1}, x_k, x_{k+1}`` for each row of :func:`reconstruct_path`
    (``x_{k-2}`` is NaN on a segment's first row): what a step's likelihood under a motion model needs."""
    x, _, runs = _runs(positions, params, time, segment)
    out = []
    for r in runs:
        xs = x[r]
        k = np.arange(1, len(xs) - 1)
        before = np.vstack([np.full((1, 2), np.nan), xs[: len(xs) - 3]])  # x_{k-2}; none for k = 1
        out.append(np.stack([before, xs[k - 1], xs[k], xs[k + 1]], axis=1))
    return np.concatenate(out)


def reconstruct_path(
    positions: np.ndarray,
    params: OpenFieldParams,
    *,
    time: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    min_step: float = 1e-5,
) -> Demonstration:
    """Reconstruct OpenField states, observations and actions along a path.

    Args:
        positions: ``(T, 2)`` metres, sampled every ``params.dt``; NaN rows are gaps.
        params: the environment (arena, ``dt``, senses) the animal is placed in.
        time: ``(T,)`` seconds (default ``arange(T) * dt``); used to check the sampling interval.
        segment: ``(T,)`` tracked-segment ids (the Recording's ``segment`` variable); -1 = missing.
        min_step: displacements shorter than this (m) leave the heading unchanged.

    Raises:
        ValueError: the sampling interval is not the environment's ``dt``, or no segment has 3 samples.
    """
    x, t, runs = _runs(positions, params, time, segment)
    dt = float(params.dt)
    env = ne.OpenField()
    rows: dict[str, list] = {
        k: [] for k in ("pos", "head", "speed", "omega", "action", "next", "start", "seg", "time", "held")
    }
    for seg_id, r in enumerate(runs):
        xs = x[r]
        d = np.diff(xs, axis=0)  # D_k, k = 0..n-2
        length = np.hypot(d[:, 0], d[:, 1])
        heading = np.arctan2(d[:, 1], d[:, 0])
        for k in range(1, len(heading)):  # hold the heading through (near) standstills
            if length[k] < min_step:
                heading[k] = heading[k - 1]
        speed = length / dt  # speed after step k
        omega = np.concatenate([[0.0], wrap_angle(np.diff(heading)) / dt])  # turn of step k
        # States k = 1..n-2: position x_k, heading/speed of step k-1; action k: speed/heading of step k.
        k = np.arange(1, len(d))
        rows["pos"].append(xs[k])
        rows["head"].append(heading[k - 1])
        rows["speed"].append(speed[k - 1])
        rows["omega"].append(omega[k - 1])
        rows["action"].append(np.stack([(speed[k] - speed[k - 1]) / dt, omega[k]], axis=1))
        rows["next"].append(xs[k + 1])
        rows["held"].append(length[k] < min_step)
        start = np.zeros(len(k), bool)
        start[0] = True
        rows["start"].append(start)
        rows["seg"].append(np.full(len(k), seg_id))
        rows["time"].append(t[r][k])
    cat = {key: np.concatenate(v) for key, v in rows.items()}
    position = np.asarray(jax.vmap(lambda p: env.project(p, params))(jnp.asarray(cat["pos"], jnp.float32)))
    n = len(position)
    nbins = params.coverage_bins if params.reward_type != "none" else 0
    states = OpenFieldState(
        step=jnp.zeros(n, jnp.int32),
        position=jnp.asarray(position, jnp.float32),
        heading=jnp.asarray(wrap_angle(cat["head"]), jnp.float32),
        speed=jnp.asarray(cat["speed"], jnp.float32),
        angular_velocity=jnp.asarray(cat["omega"], jnp.float32),
        visits=jnp.zeros((n, nbins, nbins), jnp.int32),
    )
    observations = jax.jit(jax.vmap(env.observation, in_axes=(0, None, None)))(
        states, jax.random.key(0), params
    )
    high = np.array([float(params.max_acceleration), float(params.max_angular_velocity)])
    actions = cat["action"]
    return Demonstration(
        observations=jax.tree.map(np.asarray, observations),
        actions=actions,
        states=states,
        next_position=cat["next"],
        episode_start=cat["start"],
        segment=cat["seg"],
        time=cat["time"],
        in_bounds=np.all(np.abs(actions) <= high, axis=1),
        heading_held=cat["held"],
    )


def open_field_params_for(rec: xr.Dataset, arena: Any = None, **overrides: Any) -> OpenFieldParams:
    """OpenField params matching a Recording: its arena (from attrs, or ``arena``: any form
    :func:`neuroethology.envs.arena.resolve_arena` takes, a box, a circle or a polygon) and its sampling
    interval.

    Raises a ``ValueError`` naming the file when the recording has no arena, when its positions do not fit
    that arena (wrong units, e.g. pixels; for a polygon, positions off its floor), or when it is not sampled
    at a constant interval.
    """
    from ..data import arena_of

    source = rec.attrs.get("source_file") or "the recording"
    arena = arena if arena is not None else arena_of(rec)
    problems = []
    if not arena:
        problems.append(
            "it has no arena geometry (attrs arena_shape and its size); give one, e.g. "
            "arena={'shape': 'box', 'width': 1.0, 'height': 1.0} (metres), a preset (arena='plus_maze') or a "
            "YAML file of its boundary, or --arena WxH|PRESET|FILE"
        )
    t = np.asarray(rec["time"].values, float)
    steps = np.diff(t)
    if steps.size == 0 or np.any(np.abs(steps - np.median(steps)) > 1e-3 * np.median(steps)):
        problems.append(
            "it is not sampled at a constant interval (time steps "
            + (f"{steps.min():.4g} to {steps.max():.4g} s" if steps.size else "missing")
            + "); if it was tracked at a fixed rate with dropped frames, give that rate with fps= to put it on its "
            "frame grid (gaps up to max_gap= filled); a truly irregular recording must be resampled first (dt= "
            "when loading it in Python)"
        )
    if problems:
        raise ValueError(f"{source}: cannot place this recording in OpenField: " + "; ".join(problems))
    env = ne.OpenField()
    params = env.with_arena(env.make_params(dt=float(np.median(steps)), **overrides), arena)
    problems = env.validate_params(params)
    if problems:
        raise ValueError(f"{source}: cannot place this recording in OpenField: " + "; ".join(problems))
    xy = np.asarray(rec["position"].values, float)
    xy = np.moveaxis(xy, 1, -1).reshape(-1, 2)
    _check_on_floor(xy[np.all(np.isfinite(xy), axis=1)], env, params, source)
    return params


def _check_on_floor(xy: np.ndarray, env: ne.OpenField, params: OpenFieldParams, source: str) -> None:
    """Refuse positions ``(N, 2)`` farther off the arena than tracking noise explains: more than 5% of the
    arena's larger extent outside its box (a box or circle: its bounding box from ``(0, 0)``), or off its
    floor (a polygon: outside the boundary or in a hole). Positions within that tolerance are kept and
    projected onto the floor by :func:`reconstruct_path`, as in a box."""
    if not xy.size:
        return
    ex, ey = (float(v) for v in params.extent)
    tolerance = 0.05 * max(ex, ey)
    if params.arena_shape != "polygon":
        if (
            xy.min(axis=0).min() < -tolerance
            or xy[:, 0].max() > ex + tolerance
            or xy[:, 1].max() > ey + tolerance
        ):
            raise ValueError(
                f"{source}: positions span x {xy[:, 0].min():.4g}..{xy[:, 0].max():.4g}, y "
                f"{xy[:, 1].min():.4g}..{xy[:, 1].max():.4g} but the arena is {ex:g} x {ey:g} m with its corner "
                "at (0, 0): are the units metres (calibrate pixels with scale= when loading) and is the origin "
                "at the arena's corner?"
            )
        return
    points = jnp.asarray(xy, jnp.float32)
    on_floor = jax.jit(jax.vmap(lambda p: env.project(p, params)))(points)
    off = np.hypot(*(xy - np.asarray(on_floor, float)).T)
    far = off > tolerance
    if np.any(far):
        worst = int(np.argmax(off))
        (x0, y0) = (float(v) for v in params.origin)
        raise ValueError(
            f"{source}: {int(far.sum())} of {len(xy)} positions lie more than {tolerance:.3g} m (5% of the "
            f"arena's {max(ex, ey):g} m extent) off the floor of the polygon arena (the farthest {off[worst]:.3g} "
            f"m, at ({xy[worst, 0]:.4g}, {xy[worst, 1]:.4g})); positions span x {xy[:, 0].min():.4g}.."
            f"{xy[:, 0].max():.4g}, y {xy[:, 1].min():.4g}..{xy[:, 1].max():.4g} and the arena x {x0:.4g}.."
            f"{x0 + ex:.4g}, y {y0:.4g}..{y0 + ey:.4g} m: are the units metres (calibrate pixels with scale= when "
            "loading), is the origin the arena's, and is it the arena the animal was in?"
        )


def reconstruct(
    rec: xr.Dataset,
    params: OpenFieldParams | None = None,
    *,
    individual: str | int = 0,
    keypoint: str | int = 0,
    arena: Any = None,
    min_step: float = 1e-5,
) -> tuple[Demonstration, OpenFieldParams]:
    """:func:`reconstruct_path` on one individual of a Recording; params from the recording if not given."""
    params = params or open_field_params_for(rec, arena)
    pos = rec["position"]
    pos = pos.isel(individual=individual) if isinstance(individual, int) else pos.sel(individual=individual)
    pos = pos.isel(keypoint=keypoint) if isinstance(keypoint, int) else pos.sel(keypoint=keypoint)
    xy = np.asarray(pos.transpose("time", "space").values, float)
    segment = None
    if "segment" in rec:
        seg = rec["segment"]
        seg = (
            seg.isel(individual=individual) if isinstance(individual, int) else seg.sel(individual=individual)
        )
        segment = np.asarray(seg.values)
    demo = reconstruct_path(xy, params, time=rec["time"].values, segment=segment, min_step=min_step)
    return demo, params


def _track(rec: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    xy = rec["position"].isel(keypoint=0, individual=0).transpose("time", "space").values.astype(float)
    seg = rec["segment"].isel(individual=0).values if "segment" in rec else None
    return xy, rec["time"].values.astype(float), seg


def demonstration(rec: xr.Dataset, params: OpenFieldParams, min_step: float) -> Demonstration:
    """Teacher-forcing rows of a one-animal (sub-)recording: :func:`reconstruct_path` of its first keypoint."""
    xy, t, seg = _track(rec)
    return reconstruct_path(xy, params, time=t, segment=seg, min_step=min_step)


def baseline_windows(rec: xr.Dataset, params: OpenFieldParams) -> np.ndarray:
    """The baseline's likelihood windows of a (sub-)recording, step for step with :func:`demonstration`'s
    rows (:func:`path_windows`)."""
    xy, t, seg = _track(rec)
    return path_windows(xy, params, time=t, segment=seg)
