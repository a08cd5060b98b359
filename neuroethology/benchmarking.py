"""Environment throughput, measured as ratios within one run (absolute times drift between machines).

For each environment and batch size, the benchmark times a jitted ``lax.scan`` over ``vmap(env.step)`` with
uniform random actions (after compilation; the median of several runs), next to two references measured in
the same process:

* a *bare-JAX kernel*: the same motion arithmetic written directly on flat arrays (no env API, no state
  dataclasses, no per-environment keys, no observation), the ceiling for the environment;
* RatInABox's ``Agent.update()`` (the NumPy motion model most labs use), one agent, stepped in Python.

``benchmarks/env_throughput.py`` and ``neuroethology bench`` print this table.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from . import envs as ne

__all__ = [
    "Measurement",
    "time_call",
    "time_calls",
    "env_kernel",
    "open_field_bare_kernel",
    "patch_foraging_bare_kernel",
    "odor_plume_bare_kernel",
    "water_maze_bare_kernel",
    "t_maze_bare_kernel",
    "ratinabox_steps_per_second",
    "run_env_throughput",
    "format_table",
]


@dataclass(frozen=True)
class Measurement:
    """One row: steps/s of an environment (median of repeats) and, when it has a bare kernel, the kernel's
    steps/s and the median of the per-repeat ratios (env and kernel timed alternately, so that a busy
    machine slows both alike)."""

    name: str
    batch: int
    steps_per_second: float
    kernel_steps_per_second: float | None = None
    ratio_to_kernel: float | None = None


def time_call(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` runs after one warm-up (compile) run."""
    return statistics.median(time_calls(fn, repeats))


def time_calls(fn: Callable[[], object], repeats: int, warmup: bool = True) -> list[float]:
    """Wall times (s) of ``repeats`` runs of ``fn()`` (after one warm-up run unless ``warmup=False``)."""
    if warmup:
        jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return times


def env_kernel(env: ne.NeuroEnv, params, batch: int, num_steps: int):
    """``run(key) -> checksum``: ``num_steps`` autoresetting steps of ``batch`` envs, random actions."""
    space = env.action_space(params)
    discrete = hasattr(space, "n")
    if not discrete:
        low, high = jnp.asarray(space.low), jnp.asarray(space.high)

    def run(key):
        k0, key = jax.random.split(key)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k0, batch), params)

        def body(carry, k):
            state, total = carry
            k_act, k_env = jax.random.split(k)
            if discrete:
                actions = jax.random.randint(k_act, (batch,), 0, space.n)
            else:
                actions = jax.random.uniform(k_act, (batch, *space.shape), minval=low, maxval=high)
            obs, state, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, batch), state, actions, params
            )
            leaves = jax.tree.leaves(obs)
            total = total + sum(jnp.sum(x.astype(jnp.float32)) for x in leaves) + jnp.sum(reward)
            return (state, total), None

        (_, total), _ = jax.lax.scan(body, (state, jnp.zeros(())), jax.random.split(key, num_steps))
        return total

    return jax.jit(run)


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
    """PatchForaging-v0's arithmetic on flat arrays: the stay/leave actions that :func:`env_kernel`
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


def odor_plume_bare_kernel(params, batch: int, num_steps: int):
    """OdorPlume's plume-mode arithmetic on flat arrays: the same random actions as :func:`env_kernel`, one
    ``normal`` draw per step for the puffs' crosswind kicks and the Poisson birth (inverse CDF, precomputed),
    advection, diffusion, ageing and retirement of the ``n_puffs`` puffs, births into the circular buffer,
    the agent's turn-and-move with wind drift and walls, success and time limit, a fresh start pose and
    steady-state plume (a second ``normal`` draw) for the environments that finished, and the concentration
    at the two sensors of the resulting state, thresholded and clipped. No env API, no state dataclasses,
    no per-environment keys, no sensor noise (0 by default). Plume mode with a constant wind only (the
    registered default)."""
    if params.mode != "plume" or params.wind_regime != "constant":
        raise ValueError("odor_plume_bare_kernel: plume mode with a constant wind only")
    n, dt = params.n_puffs, float(params.dt)
    w, h = float(params.width), float(params.height)
    r0, growth = float(params.puff_radius), float(params.puff_growth)
    src = jnp.array([params.source_x, params.source_y], jnp.float32)
    theta = float(params.wind_direction)
    along = jnp.array([np.cos(theta), np.sin(theta)], jnp.float32)
    across = jnp.array([-np.sin(theta), np.cos(theta)], jnp.float32)
    wind = float(params.wind_speed) * along
    lifetime, rate = float(params.puff_lifetime), float(params.puff_rate)
    kick = float(np.sqrt(2 * params.puff_diffusivity * dt))
    mean = float(params.births_per_step)
    pmf = [np.exp(-mean) * mean**j / np.prod(np.arange(1, j + 1)) for j in range(32)]
    cdf = jnp.asarray(np.cumsum(pmf), jnp.float32)
    vmax, wmax, max_steps = float(params.max_speed), float(params.max_turn_rate), int(params.max_steps)
    low = jnp.array([0.0, -wmax], jnp.float32)
    high = jnp.array([vmax, wmax], jnp.float32)
    slots = jnp.arange(n, dtype=jnp.int32)
    base_age = (jnp.arange(n, 0, -1, dtype=jnp.float32) - 1.0) / rate

    def fresh(key):
        z = jax.random.normal(key, (batch, n + 4), jnp.float32)
        u = jax.scipy.special.ndtr(z[:, :4])
        d = params.start_distance_min + u[:, 0] * (params.start_distance_max - params.start_distance_min)
        lat = (2 * u[:, 1] - 1) * params.start_lateral
        x = jnp.clip(src[0] + d * along[0] + lat * across[0], 0.0, w)
        y = jnp.clip(src[1] + d * along[1] + lat * across[1], 0.0, h)
        heading = (2 * u[:, 2] - 1) * jnp.pi
        age = base_age + u[:, 3:4] / rate
        spread = jnp.sqrt(2 * params.puff_diffusivity * age) * z[:, 4:]
        px = src[0] + params.wind_speed * age * along[0] + spread * across[0]
        py = src[1] + params.wind_speed * age * along[1] + spread * across[1]
        active = (age <= lifetime) & (px >= 0) & (px <= w) & (py >= 0) & (py <= h)
        return x, y, heading, px, py, age, active

    def sensed(x, y, heading, px, py, age, active):
        radius = r0 + growth * age
        amp = jnp.where(active, (r0 / radius) ** 3, 0.0)
        scale = -0.5 / (radius * radius)
        ox, oy = -params.sensor_offset * jnp.sin(heading), params.sensor_offset * jnp.cos(heading)
        out = []
        for side in (1.0, -1.0):
            dx = (x + side * ox)[:, None] - px
            dy = (y + side * oy)[:, None] - py
            c = jnp.clip(jnp.sum(amp * jnp.exp((dx * dx + dy * dy) * scale), -1), 0.0, params.odour_max)
            out.append(jnp.where(c >= params.odour_threshold, c, 0.0))
        return out[0] + out[1]

    def run(key):
        k0, key = jax.random.split(key)
        x, y, heading, px, py, age, active = fresh(k0)
        head, steps = jnp.zeros(batch, jnp.int32), jnp.zeros(batch, jnp.int32)

        def body(carry, k):
            x, y, heading, px, py, age, active, head, steps, total = carry
            k_act, k_env = jax.random.split(k)
            action = jax.random.uniform(k_act, (batch, 2), minval=low, maxval=high)
            k_step, k_new = jax.random.split(k_env)
            z = jax.random.normal(k_step, (batch, n + 1), jnp.float32)
            px = px + wind[0] * dt + kick * z[:, :n] * across[0]
            py = py + wind[1] * dt + kick * z[:, :n] * across[1]
            age = age + dt
            active = active & (px >= 0) & (px <= w) & (py >= 0) & (py <= h) & (age <= lifetime)
            births = jnp.sum(jax.scipy.special.ndtr(z[:, n:]) >= cdf, -1).astype(jnp.int32)
            born = jnp.mod(slots - head[:, None], n) < births[:, None]
            px, py = jnp.where(born, src[0], px), jnp.where(born, src[1], py)
            age, active = jnp.where(born, 0.0, age), active | born
            head = jnp.mod(head + births, n)
            speed = jnp.clip(action[:, 0], 0.0, vmax)
            turn = jnp.clip(action[:, 1], -wmax, wmax)
            heading = (heading + turn * dt + jnp.pi) % (2 * jnp.pi) - jnp.pi
            x = jnp.clip(x + (speed * jnp.cos(heading) + params.wind_drift * wind[0]) * dt, 0.0, w)
            y = jnp.clip(y + (speed * jnp.sin(heading) + params.wind_drift * wind[1]) * dt, 0.0, h)
            steps = steps + 1
            success = (x - src[0]) ** 2 + (y - src[1]) ** 2 <= params.success_radius**2
            done = success | (steps >= max_steps)
            new = fresh(k_new)
            col = done[:, None]
            x, y, heading = (
                jnp.where(done, new[0], x),
                jnp.where(done, new[1], y),
                jnp.where(done, new[2], heading),
            )
            px, py = jnp.where(col, new[3], px), jnp.where(col, new[4], py)
            age, active = jnp.where(col, new[5], age), jnp.where(col, new[6], active)
            head, steps = jnp.where(done, 0, head), jnp.where(done, 0, steps)
            speed, turn = jnp.where(done, 0.0, speed), jnp.where(done, 0.0, turn)
            odour = sensed(x, y, heading, px, py, age, active)
            rel = theta - heading
            reward = jnp.where(success, params.success_reward, 0.0)
            total = total + jnp.sum(odour + jnp.cos(rel) + jnp.sin(rel) + speed + turn + reward)
            return (x, y, heading, px, py, age, active, head, steps, total), None

        start = (x, y, heading, px, py, age, active, head, steps, jnp.zeros(()))
        carry, _ = jax.lax.scan(body, start, jax.random.split(key, num_steps))
        return carry[-1]

    return jax.jit(run)


def water_maze_bare_kernel(params, batch: int, num_steps: int):
    """WaterMaze's arithmetic on flat arrays: the same random actions as :func:`env_kernel`, the
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
    """TMaze's discrete-mode arithmetic on flat arrays: the same random actions as :func:`env_kernel`, the
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
            end = (done & (trial >= n_trials - 1)) | (steps >= max_steps)
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


def ratinabox_steps_per_second(num_steps: int = 2000, repeats: int = 3, dt: float = 0.02) -> float:
    """Median steps/s of RatInABox's ``Agent.update()`` in its default 1 x 1 m box."""
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    agent = Agent(Environment(), params={"dt": dt})

    def run():
        for _ in range(num_steps):
            agent.update()
        agent.reset_history()

    return num_steps / time_call(run, repeats)


def _steps_for(batch: int, budget: int) -> int:
    """Scan length so that each timed run does about ``budget`` env-steps (at least 50 steps)."""
    return max(50, budget // batch)


def run_env_throughput(
    batches: Sequence[int] = (1, 64, 1024, 4096),
    env_ids: Sequence[str] | None = None,
    repeats: int = 5,
    budget: int = 400_000,
    ratinabox: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[Measurement], float | None]:
    """Measure every registered env (or ``env_ids``) and the references; returns (rows, RatInABox steps/s).

    ``budget`` is the number of env-steps in each timed run (the scan length is ``budget / batch``, at least 50).
    """
    say = progress or (lambda _msg: None)
    rows: list[Measurement] = []
    key = jax.random.key(0)
    for env_id in env_ids or ne.registered_envs():
        env, params = ne.make(env_id)
        make_bare = BARE_KERNELS.get(env_id)
        for batch in batches:
            steps = _steps_for(batch, budget)
            say(f"{env_id} batch {batch}")
            run = env_kernel(env, params, batch, steps)
            jax.block_until_ready(run(key))
            if make_bare is None:
                sps = batch * steps / time_call(lambda run=run: run(key), repeats)
                rows.append(Measurement(env_id, batch, sps))
                continue
            ref = make_bare(params, batch, steps)
            jax.block_until_ready(ref(key))
            env_times, ref_times = [], []
            for _ in range(repeats):  # alternate, so that load on the machine hits both alike
                env_times += time_calls(lambda run=run: run(key), 1, warmup=False)
                ref_times += time_calls(lambda ref=ref: ref(key), 1, warmup=False)
            ratio = statistics.median(r / e for e, r in zip(env_times, ref_times, strict=True))
            rows.append(
                Measurement(
                    env_id,
                    batch,
                    batch * steps / statistics.median(env_times),
                    batch * steps / statistics.median(ref_times),
                    ratio,
                )
            )
    rib = None
    if ratinabox:
        say("RatInABox Agent.update()")
        rib = ratinabox_steps_per_second(repeats=max(3, repeats // 2))
    return rows, rib


def format_table(rows: Sequence[Measurement], ratinabox_sps: float | None) -> str:
    """Markdown table: steps/s, the bare kernel's, their ratio, and the ratio to RatInABox."""
    lines = [
        f"JAX {jax.__version__} on {jax.devices()[0].platform.upper()} ({jax.device_count()} device(s)); "
        "env-steps per second, median of repeated runs after compilation",
        "",
        "| environment | batch | steps/s | bare kernel steps/s | env / kernel | vs RatInABox |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def rib(sps: float) -> str:
        return f"{sps / ratinabox_sps:,.0f}x" if ratinabox_sps else "n/a"

    for r in rows:
        kernel = f"{r.kernel_steps_per_second:,.0f}" if r.kernel_steps_per_second else "n/a"
        ratio = f"{r.ratio_to_kernel:.2f}" if r.ratio_to_kernel else "n/a"
        lines.append(
            f"| {r.name} | {r.batch} | {r.steps_per_second:,.0f} | {kernel} | {ratio} | {rib(r.steps_per_second)} |"
        )
    if ratinabox_sps:
        lines.append(f"| RatInABox Agent.update() (NumPy, 1 agent) | 1 | {ratinabox_sps:,.0f} | | | 1x |")
    return "\n".join(lines)


BARE_KERNELS: dict[str, Callable] = {
    "neuroethology/OpenField-v0": open_field_bare_kernel,
    "neuroethology/PatchForaging-v0": patch_foraging_bare_kernel,
    "neuroethology/OdorPlume-v0": odor_plume_bare_kernel,
    "neuroethology/WaterMaze-v0": water_maze_bare_kernel,
    "neuroethology/TMaze-v0": t_maze_bare_kernel,
}
