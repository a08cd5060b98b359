"""Bare-JAX reference kernels: each environment's arithmetic written directly on flat arrays.

A kernel does what the registered environment does per step (the same random actions as
:func:`neuroethology.benchmarking.env_kernel`, the same dynamics, resets and time limit, and a checksum of the
same observation values and rewards) without the env API, state dataclasses or per-environment keys. It is
the ceiling that :mod:`neuroethology.benchmarking` measures each environment's throughput against, and the
environments' tests check that a kernel and its env agree. ``make(params, batch, num_steps)`` returns a
jitted ``run(key) -> checksum``; :data:`BARE_KERNELS` maps environment ids to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import envs as ne

__all__ = [
    "BARE_KERNELS",
    "open_field_bare_kernel",
    "patch_foraging_bare_kernel",
    "odor_plume_bare_kernel",
    "water_maze_bare_kernel",
    "t_maze_bare_kernel",
]


def open_field_bare_kernel(params, batch: int, num_steps: int):
    """OpenField's motion arithmetic on flat arrays: the same random actions, speed/heading/position update,
    wall projection, time limit and uniform re-draw of the start, without the env API or ray casting."""
    w, h, dt = params.width, params.height, params.dt
    max_steps = int(params.max_steps)
    high = jnp.array([params.max_acceleration, params.max_angular_velocity])

    def run(key):
        k0, key = jax.random.split(key)
        init = jax.random.uniform(k0, (batch, 3))
        pos = init[:, :2] * jnp.array([w, h])
        heading = (init[:, 2] * 2 - 1) * jnp.pi
        speed = jnp.zeros(batch)
        steps = jnp.zeros(batch, jnp.int32)

        def body(carry, k):
            pos, heading, speed, steps, total = carry
            k_act, k_new = jax.random.split(k)
            action = jax.random.uniform(k_act, (batch, 2), minval=-high, maxval=high)
            new_speed = jnp.clip(speed + action[:, 0] * dt, 0.0, params.max_speed)
            new_heading = (heading + action[:, 1] * dt + jnp.pi) % (2 * jnp.pi) - jnp.pi
            step = new_speed[:, None] * dt * jnp.stack([jnp.cos(new_heading), jnp.sin(new_heading)], -1)
            new_pos = jnp.clip(pos + step, 0.0, jnp.array([w, h]))
            new_speed = jnp.linalg.norm(new_pos - pos, axis=-1) / dt
            steps = steps + 1
            done = steps >= max_steps
            fresh = jax.random.uniform(k_new, (batch, 3))
            new_pos = jnp.where(done[:, None], fresh[:, :2] * jnp.array([w, h]), new_pos)
            new_heading = jnp.where(done, (fresh[:, 2] * 2 - 1) * jnp.pi, new_heading)
            new_speed = jnp.where(done, 0.0, new_speed)
            steps = jnp.where(done, 0, steps)
            total = total + jnp.sum(new_pos) + jnp.sum(new_speed)
            return (new_pos, new_heading, new_speed, steps, total), None

        carry, _ = jax.lax.scan(
            body, (pos, heading, speed, steps, jnp.zeros(())), jax.random.split(key, num_steps)
        )
        return carry[-1]

    return jax.jit(run)


def patch_foraging_bare_kernel(params, batch: int, num_steps: int):
    """PatchForaging-v0's arithmetic on flat arrays: the stay/leave actions that :func:`~neuroethology.benchmarking.env_kernel`
    draws (same keys, same values), two uniforms per environment and step (reward and travel-time draws),
    exponential depletion, Bernoulli or expected rewards, travel rounded up to whole steps, arrival in a
    fresh patch and the time limit; the checksum adds the same five observation values and the reward. No
    env API, no state dataclasses, no per-environment keys."""
    if not isinstance(params, ne.PatchForagingParams):
        raise ValueError(f"patch_foraging_bare_kernel: PatchForaging-v0 only, got {type(params).__name__}")
    dt, decay, step_yield = params.dt, params.step_decay, params.step_yield
    size, bernoulli = params.reward_size, params.reward_noise == "bernoulli"
    mean, width, distribution = params.travel_time, params.travel_time_range, params.travel_distribution
    max_steps = int(params.max_steps)

    def run(key):
        _, key = jax.random.split(key)  # as env_kernel (the discrete start needs no random draw)
        zeros_i, zeros_f = jnp.zeros(batch, jnp.int32), jnp.zeros(batch, jnp.float32)
        start = (jnp.ones(batch, jnp.float32), zeros_i, zeros_i, zeros_i, zeros_f, zeros_i, jnp.zeros(()))

        def body(carry, k):
            level, residence, travel_left, elapsed, patch_reward, steps, total = carry
            k_act, k_env = jax.random.split(k)
            leave = jax.random.randint(k_act, (batch,), 0, 2) > 0
            u = jax.random.uniform(k_env, (batch, 2))
            travelling = travel_left > 0
            leave = ~travelling & leave
            harvest = ~travelling & ~leave
            expected = step_yield * level
            gain = jnp.where(u[:, 0] < expected / size, size, 0.0) if bernoulli else expected
            reward = jnp.where(harvest, gain, 0.0)
            if distribution == "exponential":
                x = -mean * jnp.log1p(-u[:, 1])
            elif distribution == "uniform":
                x = mean + (u[:, 1] - 0.5) * width
            else:
                x = jnp.full(batch, mean, jnp.float32)
            trip = jnp.maximum(1, jnp.ceil(x / dt - 1e-3)).astype(jnp.int32)
            travel_left = jnp.where(leave, trip - 1, jnp.where(travelling, travel_left - 1, 0))
            arrived = ~harvest & (travel_left == 0)
            level = jnp.where(arrived, 1.0, jnp.where(harvest, level * decay, level))
            residence = jnp.where(harvest, residence + 1, 0)
            patch_reward = jnp.where(harvest, patch_reward + reward, 0.0)
            elapsed = jnp.where(travel_left > 0, elapsed + 1, 0)
            steps = steps + 1
            done = steps >= max_steps
            level = jnp.where(done, 1.0, level)
            residence, travel_left = jnp.where(done, 0, residence), jnp.where(done, 0, travel_left)
            elapsed, steps = jnp.where(done, 0, elapsed), jnp.where(done, 0, steps)
            patch_reward = jnp.where(done, 0.0, patch_reward)
            last = jnp.where(done, 0.0, reward)
            observed = last + residence * dt + patch_reward + (travel_left > 0) + elapsed * dt
            total = total + jnp.sum(observed) + jnp.sum(reward)
            return (level, residence, travel_left, elapsed, patch_reward, steps, total), None

        carry, _ = jax.lax.scan(body, start, jax.random.split(key, num_steps))
        return carry[-1]

    return jax.jit(run)


class _PlumeConstants(NamedTuple):
    """What :func:`odor_plume_bare_kernel` derives once from OdorPlume's params (SI units)."""

    params: Any  # the env params, for the fields read as they are
    batch: int  # environments
    n: int  # puffs per environment
    dt: float
    width: float
    height: float
    source: jax.Array  # (2,) source position
    theta: float  # wind direction
    along: jax.Array  # (2,) unit vector downwind
    across: jax.Array  # (2,) unit vector crosswind
    wind: jax.Array  # (2,) wind velocity
    lifetime: float  # puff lifetime
    rate: float  # puff release rate
    kick: float  # s.d. of a puff's crosswind displacement per step
    births_cdf: jax.Array  # (32,) Poisson CDF of the births per step
    max_speed: float
    max_turn_rate: float
    max_steps: int
    low: jax.Array  # (2,) action bounds
    high: jax.Array  # (2,)
    slots: jax.Array  # (n,) puff slot indices
    base_age: jax.Array  # (n,) steady-state ages before the start's random phase


class _PlumeState(NamedTuple):
    """The bare kernel's agent pose ``(B,)`` and puffs ``(B, n)``."""

    x: jax.Array
    y: jax.Array
    heading: jax.Array
    px: jax.Array
    py: jax.Array
    age: jax.Array
    active: jax.Array


def _plume_constants(params, batch: int) -> _PlumeConstants:
    """The constants of :func:`odor_plume_bare_kernel`, derived from ``params`` as the env derives them."""
    n, dt = params.n_puffs, float(params.dt)
    theta = float(params.wind_direction)
    along = jnp.array([np.cos(theta), np.sin(theta)], jnp.float32)
    mean = float(params.births_per_step)
    pmf = [np.exp(-mean) * mean**j / np.prod(np.arange(1, j + 1)) for j in range(32)]
    vmax, wmax = float(params.max_speed), float(params.max_turn_rate)
    rate = float(params.puff_rate)
    return _PlumeConstants(
        params=params,
        batch=batch,
        n=n,
        dt=dt,
        width=float(params.width),
        height=float(params.height),
        source=jnp.array([params.source_x, params.source_y], jnp.float32),
        theta=theta,
        along=along,
        across=jnp.array([-np.sin(theta), np.cos(theta)], jnp.float32),
        wind=float(params.wind_speed) * along,
        lifetime=float(params.puff_lifetime),
        rate=rate,
        kick=float(np.sqrt(2 * params.puff_diffusivity * dt)),
        births_cdf=jnp.asarray(np.cumsum(pmf), jnp.float32),
        max_speed=vmax,
        max_turn_rate=wmax,
        max_steps=int(params.max_steps),
        low=jnp.array([0.0, -wmax], jnp.float32),
        high=jnp.array([vmax, wmax], jnp.float32),
        slots=jnp.arange(n, dtype=jnp.int32),
        base_age=(jnp.arange(n, 0, -1, dtype=jnp.float32) - 1.0) / rate,
    )


def _plume_fresh(c: _PlumeConstants, key: jax.Array) -> _PlumeState:
    """A fresh start pose downwind of the source and a steady-state plume, from one ``normal`` draw."""
    p, (w, h), src, along, across = c.params, (c.width, c.height), c.source, c.along, c.across
    z = jax.random.normal(key, (c.batch, c.n + 4), jnp.float32)
    u = jax.scipy.special.ndtr(z[:, :4])
    d = p.start_distance_min + u[:, 0] * (p.start_distance_max - p.start_distance_min)
    lat = (2 * u[:, 1] - 1) * p.start_lateral
    x = jnp.clip(src[0] + d * along[0] + lat * across[0], 0.0, w)
    y = jnp.clip(src[1] + d * along[1] + lat * across[1], 0.0, h)
    heading = (2 * u[:, 2] - 1) * jnp.pi
    age = c.base_age + u[:, 3:4] / c.rate
    spread = jnp.sqrt(2 * p.puff_diffusivity * age) * z[:, 4:]
    px = src[0] + p.wind_speed * age * along[0] + spread * across[0]
    py = src[1] + p.wind_speed * age * along[1] + spread * across[1]
    active = (age <= c.lifetime) & (px >= 0) & (px <= w) & (py >= 0) & (py <= h)
    return _PlumeState(x, y, heading, px, py, age, active)


def _plume_sensed(c: _PlumeConstants, s: _PlumeState) -> jax.Array:
    """Summed concentration at the two sensors, each clipped to ``odour_max`` and zero below threshold."""
    p = c.params
    r0 = float(p.puff_radius)
    radius = r0 + float(p.puff_growth) * s.age
    amp = jnp.where(s.active, (r0 / radius) ** 3, 0.0)
    scale = -0.5 / (radius * radius)
    ox, oy = -p.sensor_offset * jnp.sin(s.heading), p.sensor_offset * jnp.cos(s.heading)
    out = []
    for side in (1.0, -1.0):
        dx = (s.x + side * ox)[:, None] - s.px
        dy = (s.y + side * oy)[:, None] - s.py
        conc = jnp.clip(jnp.sum(amp * jnp.exp((dx * dx + dy * dy) * scale), -1), 0.0, p.odour_max)
        out.append(jnp.where(conc >= p.odour_threshold, conc, 0.0))
    return out[0] + out[1]


def _plume_advance_puffs(c: _PlumeConstants, z: jax.Array, s: _PlumeState, head: jax.Array):
    """Advection, crosswind diffusion, ageing and retirement of the puffs, then Poisson births into the
    circular buffer at ``head``; ``z`` is the step's ``(B, n + 1)`` normal draw. Returns (px, py, age,
    active, head)."""
    n, w, h = c.n, c.width, c.height
    px = s.px + c.wind[0] * c.dt + c.kick * z[:, :n] * c.across[0]
    py = s.py + c.wind[1] * c.dt + c.kick * z[:, :n] * c.across[1]
    age = s.age + c.dt
    active = s.active & (px >= 0) & (px <= w) & (py >= 0) & (py <= h) & (age <= c.lifetime)
    births = jnp.sum(jax.scipy.special.ndtr(z[:, n:]) >= c.births_cdf, -1).astype(jnp.int32)
    born = jnp.mod(c.slots - head[:, None], n) < births[:, None]
    px, py = jnp.where(born, c.source[0], px), jnp.where(born, c.source[1], py)
    age, active = jnp.where(born, 0.0, age), active | born
    return px, py, age, active, jnp.mod(head + births, n)


def _plume_move_agent(c: _PlumeConstants, action: jax.Array, s: _PlumeState):
    """Turn, then move at the clipped speed plus the wind drift, inside the walls. Returns (x, y, heading,
    speed, turn)."""
    dt, drift = c.dt, c.params.wind_drift
    speed = jnp.clip(action[:, 0], 0.0, c.max_speed)
    turn = jnp.clip(action[:, 1], -c.max_turn_rate, c.max_turn_rate)
    heading = (s.heading + turn * dt + jnp.pi) % (2 * jnp.pi) - jnp.pi
    x = jnp.clip(s.x + (speed * jnp.cos(heading) + drift * c.wind[0]) * dt, 0.0, c.width)
    y = jnp.clip(s.y + (speed * jnp.sin(heading) + drift * c.wind[1]) * dt, 0.0, c.height)
    return x, y, heading, speed, turn


def _plume_restart(done: jax.Array, new: _PlumeState, old: _PlumeState) -> _PlumeState:
    """``new`` for the environments that are ``done``, ``old`` for the others."""
    col = done[:, None]
    x, y, heading = (
        jnp.where(done, new.x, old.x),
        jnp.where(done, new.y, old.y),
        jnp.where(done, new.heading, old.heading),
    )
    px, py = jnp.where(col, new.px, old.px), jnp.where(col, new.py, old.py)
    age, active = jnp.where(col, new.age, old.age), jnp.where(col, new.active, old.active)
    return _PlumeState(x, y, heading, px, py, age, active)


def odor_plume_bare_kernel(params, batch: int, num_steps: int):
    """OdorPlume's plume-mode arithmetic on flat arrays: the same random actions as :func:`~neuroethology.benchmarking.env_kernel`, one
    ``normal`` draw per step for the puffs' crosswind kicks and the Poisson birth (inverse CDF, precomputed),
    advection, diffusion, ageing and retirement of the ``n_puffs`` puffs, births into the circular buffer,
    the agent's turn-and-move with wind drift and walls, success and time limit, a fresh start pose and
    steady-state plume (a second ``normal`` draw) for the environments that finished, and the concentration
    at the two sensors of the resulting state, thresholded and clipped. No env API, no state dataclasses,
    no per-environment keys, no sensor noise (0 by default). Plume mode with a constant wind only (the
    registered default). The stages are the module's ``_plume_*`` functions, traced into one jit."""
    if params.mode != "plume" or params.wind_regime != "constant":
        raise ValueError("odor_plume_bare_kernel: plume mode with a constant wind only")
    c = _plume_constants(params, batch)
    n, src = c.n, c.source

    def body(carry, k):
        s, head, steps, total = carry
        k_act, k_env = jax.random.split(k)
        action = jax.random.uniform(k_act, (batch, 2), minval=c.low, maxval=c.high)
        k_step, k_new = jax.random.split(k_env)
        z = jax.random.normal(k_step, (batch, n + 1), jnp.float32)
        px, py, age, active, head = _plume_advance_puffs(c, z, s, head)
        x, y, heading, speed, turn = _plume_move_agent(c, action, s)
        steps = steps + 1
        success = (x - src[0]) ** 2 + (y - src[1]) ** 2 <= params.success_radius**2
        done = success | (steps >= c.max_steps)
        s = _plume_restart(done, _plume_fresh(c, k_new), _PlumeState(x, y, heading, px, py, age, active))
        head, steps = jnp.where(done, 0, head), jnp.where(done, 0, steps)
        speed, turn = jnp.where(done, 0.0, speed), jnp.where(done, 0.0, turn)
        odour = _plume_sensed(c, s)
        rel = c.theta - s.heading
        reward = jnp.where(success, params.success_reward, 0.0)
        total = total + jnp.sum(odour + jnp.cos(rel) + jnp.sin(rel) + speed + turn + reward)
        return (s, head, steps, total), None

    def run(key):
        k0, key = jax.random.split(key)
        first = _plume_fresh(c, k0)
        head, steps = jnp.zeros(batch, jnp.int32), jnp.zeros(batch, jnp.int32)
        start = (first, head, steps, jnp.zeros(()))
        carry, _ = jax.lax.scan(body, start, jax.random.split(key, num_steps))
        return carry[-1]

    return jax.jit(run)


def water_maze_bare_kernel(params, batch: int, num_steps: int):
    """WaterMaze's arithmetic on flat arrays: the same random actions as :func:`~neuroethology.benchmarking.env_kernel`, the
    speed/heading/position update, the pool wall (projection with the body-radius skin), the swept platform
    test, the trial time limit, a fresh cardinal start (one ``randint`` for the batch) for the environments
    that finished, and the observation of the resulting state (wall rays, the cues' egocentric cos/sin and
    distance, speed, angular velocity) summed into the checksum with the reward. No env API, no state
    dataclasses, no per-environment keys. One trial per episode with a fixed platform or a probe (the
    registered default is a fixed platform)."""
    if int(params.trials_per_episode) != 1 or params.platform_mode == "movable" or params.observe_image:
        raise ValueError("water_maze_bare_kernel: one trial per episode, fixed platform or probe, no image")
    dt, radius, skin = float(params.dt), float(params.pool_radius), float(params.body_radius)
    vmax, max_steps = float(params.max_speed), int(params.trial_steps)
    high = jnp.array([params.max_acceleration, params.max_angular_velocity], jnp.float32)
    platform = jnp.asarray(params.platform_position, jnp.float32)
    present = params.platform_mode != "probe"
    r2 = float(params.platform_radius) ** 2
    cues = jnp.asarray(params.cue_positions, jnp.float32)  # (K, 2)
    offsets = ne.geometry.sector_offsets(params.n_rays, params.field_of_view)
    co, so = jnp.cos(offsets), jnp.sin(offsets)
    angles = jnp.array([0.5 * np.pi, 0.0, -0.5 * np.pi, np.pi], jnp.float32)
    start_xy = radius + (radius - skin) * jnp.stack([jnp.cos(angles), jnp.sin(angles)], -1)  # (4, 2)
    start_heading = angles if params.start_facing == "wall" else (angles + 2 * np.pi) % (2 * np.pi) - np.pi

    def observe(pos, heading, speed, omega):
        c, s = jnp.cos(heading)[:, None], jnp.sin(heading)[:, None]
        dx, dy = c * co - s * so, s * co + c * so  # (B, n_rays)
        q = pos - radius
        b = q[:, :1] * dx + q[:, 1:] * dy
        cc = jnp.sum(q * q, -1, keepdims=True) - radius**2
        rays = jnp.maximum(-b + jnp.sqrt(jnp.maximum(b * b - cc, 0.0)), 0.0)
        rel = cues[None] - pos[:, None]  # (B, K, 2)
        dist = jnp.sqrt(jnp.sum(rel * rel, -1))
        ux, uy = rel[..., 0] / dist, rel[..., 1] / dist
        cos_b, sin_b = ux * c + uy * s, uy * c - ux * s
        return jnp.sum(rays, -1) + jnp.sum(cos_b + sin_b + dist, -1) + speed + omega

    def run(key):
        k0, key = jax.random.split(key)
        first = jax.random.randint(k0, (batch,), 0, 4)
        pos, heading = start_xy[first], start_heading[first]
        zeros = jnp.zeros(batch, jnp.float32)

        def body(carry, k):
            pos, heading, speed, steps, total = carry
            k_act, k_new = jax.random.split(k)
            action = jax.random.uniform(k_act, (batch, 2), minval=-high, maxval=high)
            v = jnp.clip(speed + action[:, 0] * dt, 0.0, vmax)
            heading = (heading + action[:, 1] * dt + jnp.pi) % (2 * jnp.pi) - jnp.pi
            proposed = pos + (v * dt)[:, None] * jnp.stack([jnp.cos(heading), jnp.sin(heading)], -1)
            q = proposed - radius
            r = jnp.sqrt(jnp.sum(q * q, -1, keepdims=True))
            new = radius + q * jnp.where(r > radius - skin, (radius - skin) / jnp.maximum(r, 1e-12), 1.0)
            step = new - pos
            length2 = jnp.sum(step * step, -1)
            speed = jnp.minimum(jnp.sqrt(length2) / dt, v)
            t = jnp.clip(jnp.sum((platform - pos) * step, -1) / jnp.maximum(length2, 1e-12), 0.0, 1.0)
            gap = platform - pos - t[:, None] * step
            found = (jnp.sum(gap * gap, -1) <= r2) & present
            steps = steps + 1
            done = found | (steps >= max_steps)
            fresh = jax.random.randint(k_new, (batch,), 0, 4)
            pos = jnp.where(done[:, None], start_xy[fresh], new)
            heading = jnp.where(done, start_heading[fresh], heading)
            omega = jnp.where(done, 0.0, jnp.clip(action[:, 1], -high[1], high[1]))
            speed = jnp.where(done, 0.0, speed)
            steps = jnp.where(done, 0, steps)
            reward = jnp.where(found, params.platform_reward, 0.0)
            total = total + jnp.sum(observe(pos, heading, speed, omega)) + jnp.sum(reward)
            return (pos, heading, speed, steps, total), None

        start = (pos, heading, zeros, jnp.zeros(batch, jnp.int32), jnp.zeros(()))
        carry, _ = jax.lax.scan(body, start, jax.random.split(key, num_steps))
        return carry[-1]

    return jax.jit(run)


def t_maze_bare_kernel(params, batch: int, num_steps: int):
    """TMaze's discrete-mode arithmetic on flat arrays: the same random actions as :func:`~neuroethology.benchmarking.env_kernel`, the
    cue/delay/choice/outcome timers, choice or omission, judging (cue match or alternation), reward, the
    block's trial counter and end, the time limit, a fresh block of cues (one ``bits`` draw for the batch)
    for the environments that finished, and the six observation flags of the resulting state summed into the
    checksum with the reward. No env API, no state dataclasses, no per-environment keys. Discrete mode with
    at most 32 trials per block (the registered default: 10)."""
    if params.mode != "discrete" or params.n_trials > 32:
        raise ValueError("t_maze_bare_kernel: discrete mode with n_trials <= 32 only")
    cue_n, delay_n = int(params.cue_steps), int(params.delay_steps)
    resp_n, iti_n = int(params.response_steps), int(params.iti_steps)
    first = 0 if cue_n > 0 else 1 if delay_n > 0 else 2
    after_cue = 1 if delay_n > 0 else 2
    n_trials, max_steps = int(params.n_trials), int(params.max_steps)
    cued, rewarding = params.task == "cued", params.task != "spontaneous_alternation"

    def run(key):
        k0, key = jax.random.split(key)
        cues = jax.random.bits(k0, (batch,), jnp.uint32)
        zeros = jnp.zeros(batch, jnp.int32)
        minus = jnp.full(batch, -1, jnp.int32)

        def body(carry, k):
            cues, phase, ps, trial, choice, prev, correct, steps, total = carry
            k_act, k_new = jax.random.split(k)
            a = jax.random.randint(k_act, (batch,), 0, 3)
            ps = ps + 1
            cue = jnp.where(cued, ((cues >> trial.astype(jnp.uint32)) & 1).astype(jnp.int32), -1)
            in_choice = phase == 2
            chose = in_choice & (a > 0)
            done = chose | (in_choice & (ps >= resp_n))
            choice = jnp.where(chose, a - 1, choice)
            judged = (choice == cue) if cued else ((prev < 0) | (choice != prev))
            correct = jnp.where(done, (choice >= 0) & judged, correct)
            cue_end = (phase == 0) & (ps >= cue_n)
            delay_end = (phase == 1) & (ps >= delay_n)
            new_trial = (phase == 3) & (ps >= iti_n)
            phase = jnp.where(new_trial, first, phase)
            phase = jnp.where(done, 3, jnp.where(cue_end, after_cue, jnp.where(delay_end, 2, phase)))
            ps = jnp.where(done | cue_end | delay_end | new_trial, 0, ps)
            prev = jnp.where(new_trial & (choice >= 0), choice, prev)
            choice = jnp.where(new_trial, -1, choice)
            correct = correct & ~new_trial
            trial = trial + new_trial
            reward = jnp.where(done & correct & rewarding, params.reward_correct, 0.0)
            steps = steps + 1
            end = (trial >= n_trials) | (steps >= max_steps)  # the last trial's outcome period is over
            fresh = jax.random.bits(k_new, (batch,), jnp.uint32)
            cues = jnp.where(end, fresh, cues)
            phase, ps, trial = jnp.where(end, first, phase), jnp.where(end, 0, ps), jnp.where(end, 0, trial)
            choice, prev, correct = jnp.where(end, -1, choice), jnp.where(end, -1, prev), correct & ~end
            steps = jnp.where(end, 0, steps)
            cue = jnp.where(cued, ((cues >> trial.astype(jnp.uint32)) & 1).astype(jnp.int32), -1)
            outcome = phase == 3
            flags = (
                ((phase == 0) & (cue == 0)).astype(jnp.float32)
                + ((phase == 0) & (cue == 1))
                + (phase == 2)
                + (outcome & (choice == 0))
                + (outcome & (choice == 1))
                + (outcome & correct & rewarding)
            )
            total = total + jnp.sum(flags) + jnp.sum(reward)
            return (cues, phase, ps, trial, choice, prev, correct, steps, total), None

        false = jnp.zeros(batch, bool)
        start = (cues, zeros + first, zeros, zeros, minus, minus, false, zeros, jnp.zeros(()))
        carry, _ = jax.lax.scan(body, start, jax.random.split(key, num_steps))
        return carry[-1]

    return jax.jit(run)


BARE_KERNELS: dict[str, Callable] = {
    "neuroethology/OpenField-v0": open_field_bare_kernel,
    "neuroethology/PatchForaging-v0": patch_foraging_bare_kernel,
    "neuroethology/OdorPlume-v0": odor_plume_bare_kernel,
    "neuroethology/WaterMaze-v0": water_maze_bare_kernel,
    "neuroethology/TMaze-v0": t_maze_bare_kernel,
}
