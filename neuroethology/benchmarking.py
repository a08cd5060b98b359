"""Environment throughput, measured as ratios within one run (absolute times drift between machines).

For each environment and batch size, the benchmark times a jitted ``lax.scan`` over ``vmap(env.step)`` with
uniform random actions (after compilation; the median of several runs), next to two references measured in
the same process:

* a *bare-JAX kernel*: the same motion arithmetic written directly on flat arrays (no env API, no state
  dataclasses, no per-environment keys), the ceiling for the environment (:mod:`neuroethology.bare_kernels`);
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
from .bare_kernels import (
    BARE_KERNELS,
    odor_plume_bare_kernel,
    open_field_bare_kernel,
    patch_foraging_bare_kernel,
    t_maze_bare_kernel,
    water_maze_bare_kernel,
)

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
    "BARE_KERNELS",
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


def polygon_arena(n_segments: int) -> dict:
    """A polygon arena of ``n_segments`` walls in the 1 x 1 m box: the box itself as 4 segments, else the
    regular ``n``-gon inscribed in its 1 m circle (the same floor area to within 1 - sinc)."""
    if n_segments == 4:
        return {"boundary": [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]}
    angles = 2 * np.pi * np.arange(n_segments) / n_segments
    return {"boundary": np.column_stack([0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)]).tolist()}


def run_arena_throughput(
    segments: Sequence[int] = (4, 16, 64, 256),
    batch: int = 4096,
    repeats: int = 5,
    budget: int = 400_000,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[int, float, float, float]]:
    """OpenField-v0 in polygon arenas of ``segments`` walls against today's analytic box, in one run.

    Returns rows ``(segments, polygon steps/s, box steps/s, median per-repeat ratio polygon / box)``; the two
    are timed alternately, so that load on the machine hits both alike.
    """
    say = progress or (lambda _msg: None)
    key = jax.random.key(0)
    steps = _steps_for(batch, budget)
    env, box = ne.make("neuroethology/OpenField-v0")
    run_box = env_kernel(env, box, batch, steps)
    jax.block_until_ready(run_box(key))
    rows = []
    for n in segments:
        say(f"OpenField-v0 in a {n}-segment polygon, batch {batch}")
        params = env.with_arena(box, polygon_arena(n))
        run = env_kernel(env, params, batch, steps)
        jax.block_until_ready(run(key))
        poly_times, box_times = [], []
        for _ in range(repeats):
            poly_times += time_calls(lambda run=run: run(key), 1, warmup=False)
            box_times += time_calls(lambda: run_box(key), 1, warmup=False)
        ratio = statistics.median(b / p for p, b in zip(poly_times, box_times, strict=True))
        rows.append(
            (
                n,
                batch * steps / statistics.median(poly_times),
                batch * steps / statistics.median(box_times),
                ratio,
            )
        )
    return rows


def format_arena_table(rows: Sequence[tuple[int, float, float, float]], batch: int) -> str:
    """Markdown table of :func:`run_arena_throughput`."""
    lines = [
        f"OpenField-v0 at batch {batch} in polygon arenas (4 segments: the 1 x 1 m box as a polygon; more: "
        "regular polygons in its circle) against the analytic box, timed alternately in this run",
        "",
        "| wall segments | polygon steps/s | analytic box steps/s | polygon / box |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {p:,.0f} | {b:,.0f} | {r:.2f} |" for n, p, b, r in rows]
    return "\n".join(lines)


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
