"""Simulation -> Recording: the one place where what a policy does in an environment becomes a Recording.

Every simulated animal, whatever drives it (a PPO-trained agent, a network fitted to an animal, the fitted
random-motion baseline, a reference policy), runs through :func:`neuroethology.envs.rollout` and is written
by :func:`write_recording`, so every simulated Recording has the same variables and attributes for the same
environment, and every analysis reads agents and animals alike. Two ways to run:

* :func:`run_episodes`: each policy runs ``episodes`` complete episodes (one environment per episode, all in
  parallel, each to its first end); each policy is one ``individual`` and its episodes follow each other on
  the time axis. What ``neuroethology evaluate`` writes.
* :func:`run_session`: each policy drives ``num_runs`` animals for ``duration`` seconds in one free-running
  session (:meth:`NeuroEnv.with_session <neuroethology.envs.NeuroEnv.with_session>` extends a pure time
  limit; a task's trials keep theirs and follow each other); each animal is one ``individual``. What
  ``neuroethology simulate`` writes.

The Recording (see :mod:`neuroethology.data`):

* ``position (time, space, keypoint, individual)`` and ``heading`` are the environment state's (the pose in
  which the action was taken), keypoint ``centroid``. Non-spatial tasks (``env.is_spatial(params)`` false)
  have a placeholder position at ``(0, 0)`` with ``confidence`` 0 and the attribute ``spatial = 0``.
* ``episode (time, individual)`` numbers the episodes; ``segment`` equals it (an episode is one contiguous
  stretch: analyses never difference across the teleport of a reset). Individuals with fewer steps are
  padded with NaN positions and ``episode = segment = -1``.
* ``action (time, action_dim, individual)`` with ``action_dim`` = ``env.action_names(params)``, ``reward``.
* The policy's extras (:class:`~neuroethology.envs.policies.base.Policy`): ``hidden (time, unit,
  individual)``, the network's units (activity with ``source = model``), ``value`` and ``log_prob``; a
  network policy that has no critic gets ``value`` as NaN (the attribute ``missing_extras`` says so).
* Every other scalar of ``env.state_info`` becomes a ``(time, individual)`` variable (``speed``, ``patch``,
  ``trial``, ``correct``, ...; booleans as int8), a vector ``(time, <name>_dim, individual)``, and a point
  (``platform``, ``source``) the attributes ``<name>_x``/``<name>_y`` when it is the same everywhere.
* Attributes: the arena (``env.arena(params)``), ``env.recording_attrs(params)`` (task constants such as
  ``platform_radius``), ``env_id``, ``env_params`` (JSON of ``env.params_dict``), ``spatial`` and what the
  caller adds (the run directory, the checkpoint, the model).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np
import xarray as xr

from . import envs as ne
from .data import from_arrays
from .problems import ProblemsError

__all__ = ["Piece", "run_episodes", "run_session", "write_recording", "STANDARD_EXTRAS"]

# The extras every network policy's Recording carries (NaN where a policy cannot report one).
STANDARD_EXTRAS = ("hidden", "value", "log_prob")
_RESERVED = {"time", "position", "heading", "reward", "action", "episode", "segment", "confidence"}
_POINTS = ("platform", "source")


class Piece(NamedTuple):
    """One simulated individual, time-major ``(n, ...)`` NumPy arrays."""

    info: dict[str, np.ndarray]  # env.state_info of the state each action was taken in
    action: np.ndarray  # (n, action_dim)
    reward: np.ndarray  # (n,)
    episode: np.ndarray  # (n,) int, 0, 1, ... (episodes of this individual)
    extras: dict[str, np.ndarray]  # the policy's extras, (n, ...)


MAX_BYTES = 4 * 2**30  # a simulation's arrays on the host; beyond this the caller is asked to shorten it
CHUNK_BYTES = 256 * 2**20  # one chunk of states, units and state_info on the device (see _simulate)
PROGRESS_EVERY = 10.0  # seconds between progress lines of a chunked simulation
UNITS_PER_STEP = 256  # what the size estimates allow for the policy's extras (hidden units, value, ...)


def _bytes_per_step(env: ne.NeuroEnv, params: Any) -> int:
    """An upper estimate of one simulated animal's step in the Recording (float64): every state leaf, the
    action and reward and up to ``UNITS_PER_STEP`` units (computed from shapes; nothing runs)."""
    state = jax.eval_shape(env.reset, jax.random.key(0), params)[1]
    return 8 * (sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(state)) + UNITS_PER_STEP + 8)


def _check_size(env: ne.NeuroEnv, params: Any, steps: int, count: int, hint: str) -> None:
    """Refuse a simulation whose Recording would not fit in memory (estimated before anything runs)."""
    need = _bytes_per_step(env, params) * int(steps) * int(count)
    if need > MAX_BYTES:
        raise ValueError(
            f"{steps:,} steps x {count} simulated animal(s) would need about {need / 2**30:,.1f} GiB of memory "
            f"(limit {MAX_BYTES / 2**30:.0f} GiB); {hint}"
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class _Progress:
    """Progress and time left of a chunked simulation: the first estimate as soon as a chunk after the first
    has run (the first one includes compiling), then a line at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, log: Callable[[str], None] | None, label: str, steps: int):
        self.log, self.label, self.steps = log, label, steps
        self.last = time.perf_counter()
        self.warm: tuple[float, int] | None = None  # (time, steps) when the first chunk finished
        self.estimated = False

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if self.warm is None:
            self.warm = (now, done)
            return
        due = not self.estimated or now - self.last >= PROGRESS_EVERY
        if self.log is None or done >= self.steps or not due:
            return
        self.estimated = True
        self.last = now
        line = f"{self.label}: {done:,} of {self.steps:,} steps ({100 * done / self.steps:.0f}%)"
        t_warm, s_warm = self.warm
        if done > s_warm and now > t_warm:
            left = (self.steps - done) * (now - t_warm) / (done - s_warm)
            line += f", about {_duration(left)} left"
        self.log(line)


def _chunk_steps(steps: int, most: int) -> int:
    """Steps per compiled chunk: ``steps`` rounded up, or ``most`` (what fits in ``CHUNK_BYTES``) rounded
    down, to a number with three significant bits (4, 5, 6 or 7 times a power of two). Simulations of
    other lengths then share a compiled chunk, at the cost of computing at most a quarter more steps (or, in
    a chunked run, less than one chunk) that are cut (see :func:`~neuroethology.envs.rollout_chunks`)."""

    def unit(n: int) -> int:
        return 1 << max(0, n.bit_length() - 3)

    steps, most = max(1, int(steps)), max(1, int(most))
    return min(-(-steps // unit(steps)) * unit(steps), most // unit(most) * unit(most))


def _simulate(
    env: ne.NeuroEnv,
    params: Any,
    policy: Any,
    key: jax.Array,
    *,
    steps: int,
    num_envs: int,
    label: str,
    log: Callable[[str], None] | None,
    until_all_ended: bool = False,
) -> tuple[dict, ne.Rollout]:
    """``num_envs`` animals driven by ``policy`` for ``steps`` steps: ``state_info`` of every ``(time, env)``
    state and the rest of the rollout, as host arrays.

    Runs as :func:`neuroethology.envs.rollout_chunks` (bit for bit one :func:`~neuroethology.envs.rollout`)
    in chunks of at most ``CHUNK_BYTES`` on the device (:func:`_chunk_steps`), each copied to the host as it
    finishes, with progress and the time left through ``log``. ``until_all_ended`` stops after the chunk in
    which every environment has ended its first episode (what follows would be thrown away)."""
    chunk = _chunk_steps(steps, CHUNK_BYTES // (_bytes_per_step(env, params) * num_envs))
    if log and chunk < steps:
        log(f"{label}: {steps:,} steps x {num_envs} in chunks of {chunk:,} steps")
    progress = _Progress(log, label, steps)
    infos, rests, done, ended = [], [], 0, np.zeros(num_envs, bool)
    pieces = ne.rollout_chunks(
        env, policy, key, params, num_steps=steps, chunk_steps=chunk, num_envs=num_envs, record_extras=True
    )
    for piece in pieces:
        info = jax.tree.map(np.asarray, _batched_state_info(env)(piece.states, params))
        rest = jax.tree.map(np.asarray, piece._replace(states=None, final_state=None, observations=()))
        infos.append(info)
        rests.append(rest)
        done += rest.actions.shape[0]
        progress.update(done)
        ended |= (rest.terminated | rest.truncated).any(axis=0)
        if until_all_ended and ended.all():
            break

    def join(*xs):
        return xs[0] if len(xs) == 1 else np.concatenate(xs, axis=0)

    return jax.tree.map(join, *infos), jax.tree.map(join, *rests)


def _policy_keys(key: jax.Array, n: int) -> list[jax.Array]:
    """One key per policy: the key itself for a single policy, ``fold_in(key, i)`` for several."""
    return [key] if n == 1 else [jax.random.fold_in(key, i) for i in range(n)]


@functools.lru_cache(maxsize=16)
def _batched_state_info(env: ne.NeuroEnv) -> Callable:
    """``env.state_info`` over ``(time, env)`` states, compiled once per environment."""
    return jax.jit(jax.vmap(jax.vmap(env.state_info, in_axes=(0, None)), in_axes=(0, None)))


def _piece(info: dict, roll: ne.Rollout, pick: Callable[[np.ndarray], np.ndarray], episode: np.ndarray):
    steps = roll.actions.shape[0]
    return Piece(
        info={k: pick(v) for k, v in info.items()},
        action=pick(roll.actions.reshape(steps, roll.actions.shape[1], -1).astype(np.float64)),
        reward=pick(roll.rewards.astype(np.float64)),
        episode=episode,
        extras={k: pick(np.asarray(v)) for k, v in dict(roll.extras or {}).items()},
    )


def run_episodes(
    env: ne.NeuroEnv,
    params: Any,
    policies: Sequence[Any],
    *,
    episodes: int,
    key: jax.Array,
    names: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Each policy runs ``episodes`` complete episodes (see the module docstring); one individual each."""
    if int(episodes) < 1:
        raise ValueError(f"--episodes must be >= 1, got {episodes}")
    max_steps = int(params.max_steps)
    _check_size(env, params, max_steps, int(episodes) * len(policies), "ask for fewer --episodes")
    pieces = []
    for policy, name, k in zip(policies, names, _policy_keys(key, len(policies)), strict=True):
        if log:
            log(f"{name}: {episodes} episode(s) of up to {max_steps} steps")
        info, roll = _simulate(
            env,
            params,
            policy,
            k,
            steps=max_steps,
            num_envs=int(episodes),
            label=name,
            log=log,
            until_all_ended=True,
        )
        ends = roll.terminated | roll.truncated  # (T, B); every column has an end (the time limit)
        lengths = np.where(ends.any(axis=0), ends.argmax(axis=0) + 1, ends.shape[0])

        def first_episodes(x: np.ndarray, lengths=lengths) -> np.ndarray:
            return np.concatenate([x[: lengths[b], b] for b in range(len(lengths))], axis=0)

        episode = np.concatenate([np.full(n, b) for b, n in enumerate(lengths)])
        pieces.append(_piece(info, roll, first_episodes, episode))
    return write_recording(env, params, pieces, names=names, attrs=attrs)


def run_session(
    env: ne.NeuroEnv,
    params: Any,
    policies: Sequence[Any],
    *,
    duration: float,
    key: jax.Array,
    names: Sequence[str],
    num_runs: int = 1,
    attrs: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Each policy drives ``num_runs`` animals for ``duration`` seconds (see the module docstring); the
    animals are named ``<name><i>``. Long sessions run in chunks, with progress and time left through
    ``log``."""
    if not (np.isfinite(duration) and duration > 0):
        raise ValueError(f"--duration must be a positive number of seconds, got {duration}")
    if int(num_runs) < 1:
        raise ValueError(f"--runs must be >= 1, got {num_runs}")
    params = env.with_session(params, float(duration))
    problems = env.validate_params(params)
    if problems:
        raise ProblemsError(env.env_id(), problems, what="cannot run this session")
    steps = max(2, int(round(float(duration) / float(params.dt))))
    _check_size(env, params, steps, int(num_runs) * len(policies), "shorten --duration or lower --runs")
    pieces, animals = [], []
    for policy, name, k in zip(policies, names, _policy_keys(key, len(policies)), strict=True):
        info, roll = _simulate(
            env, params, policy, k, steps=steps, num_envs=int(num_runs), label=name, log=log
        )
        ends = roll.terminated | roll.truncated
        for b in range(int(num_runs)):
            episode = np.concatenate([[0], np.cumsum(ends[:-1, b])]).astype(np.int64)
            pieces.append(_piece(info, roll, lambda x, b=b: x[:, b], episode))
            animals.append(f"{name}{b}")
    out_attrs = {"simulated_duration_s": steps * float(params.dt), **dict(attrs or {})}
    return write_recording(env, params, pieces, names=animals, attrs=out_attrs)


# ---------------------------------------------------------------------------------------------------------
# The writer
# ---------------------------------------------------------------------------------------------------------


def _stack(pieces: Sequence[Piece], get: Callable[[Piece], np.ndarray], fill: float) -> np.ndarray:
    """``(time, ..., individual)``, shorter individuals padded with ``fill``."""
    n_time = max(len(p.episode) for p in pieces)
    first = np.asarray(get(pieces[0]))
    out = np.full((n_time, *first.shape[1:], len(pieces)), fill, np.result_type(first.dtype, type(fill)))
    for i, p in enumerate(pieces):
        x = np.asarray(get(p))
        out[: len(x), ..., i] = x
    return out


def _plain(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == bool:
        return x.astype(np.int8)
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.int64)
    return x.astype(np.float64)


def _fill(value: np.ndarray) -> float | int:
    value = np.asarray(value)
    return -1 if (value.dtype == bool or np.issubdtype(value.dtype, np.integer)) else np.nan


def _state_variables(pieces: Sequence[Piece], valid: np.ndarray) -> tuple[dict, dict]:
    """Variables and attributes from ``state_info`` (all but the pose)."""
    variables: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for name, value in pieces[0].info.items():
        if name in ("position", "time"):
            continue
        if name == "heading":
            heading = _stack(pieces, lambda p: p.info["heading"].astype(np.float64), np.nan)
            variables["heading"] = (("time", "individual"), heading)
            continue
        key = name if name not in _RESERVED and name not in STANDARD_EXTRAS else f"state_{name}"
        arr = _stack(pieces, lambda p, name=name: _plain(p.info[name]), _fill(value))
        if arr.ndim == 2:
            variables[key] = (("time", "individual"), arr)
        elif name in _POINTS and arr.shape[1] == 2:
            xs, ys = arr[:, 0][valid], arr[:, 1][valid]
            if xs.size and np.all(xs == xs[0]) and np.all(ys == ys[0]):
                attrs[f"{name}_x"], attrs[f"{name}_y"] = float(xs[0]), float(ys[0])
            else:
                variables[f"{name}_x"] = (("time", "individual"), arr[:, 0])
                variables[f"{name}_y"] = (("time", "individual"), arr[:, 1])
        elif arr.ndim == 3:
            variables[key] = (("time", f"{key}_dim", "individual"), arr)
    return variables, attrs


def _extra_variables(pieces: Sequence[Piece]) -> tuple[dict, list[str]]:
    """``hidden``, ``value``, ``log_prob`` (and any other extra); the standard ones a network policy could
    not report are NaN and listed."""
    names = sorted(set().union(*(p.extras for p in pieces)))
    if not names:
        return {}, []
    missing = [n for n in STANDARD_EXTRAS if n not in names and n != "hidden"]
    variables: dict[str, Any] = {}
    for name in names:
        if any(name not in p.extras for p in pieces):
            raise ValueError(f"write_recording: the extra {name!r} is reported by some policies only")
        arr = _stack(pieces, lambda p, name=name: p.extras[name].astype(np.float64), np.nan)
        if name == "hidden":
            coords = {"unit": np.arange(arr.shape[1])}
            variables[name] = xr.DataArray(arr, dims=("time", "unit", "individual"), coords=coords)
            variables[name].attrs.update(source="model", kind="model units")
        elif arr.ndim == 2:
            variables[name] = (("time", "individual"), arr)
        else:
            variables[name] = (
                ("time", f"{name}_dim", "individual"),
                arr.reshape(arr.shape[0], -1, arr.shape[-1]),
            )
    for name in missing:
        variables[name] = (
            ("time", "individual"),
            _stack(pieces, lambda p: np.full(len(p.episode), np.nan), np.nan),
        )
    return variables, missing


def write_recording(
    env: ne.NeuroEnv,
    params: Any,
    pieces: Sequence[Piece],
    *,
    names: Sequence[str],
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """The simulated Recording of ``pieces`` (one individual each; see the module docstring)."""
    if len(pieces) != len(names) or not pieces:
        raise ValueError(f"write_recording: {len(pieces)} individuals but {len(names)} names")
    dt = float(params.dt)
    spatial = bool(env.is_spatial(params))
    episode = _stack(pieces, lambda p: p.episode, -1).astype(np.int64)
    valid = episode >= 0
    n_time, n_ind = episode.shape
    if spatial:
        position = _stack(pieces, lambda p: p.info["position"].astype(np.float64), np.nan)
        confidence = None
    else:
        position = np.broadcast_to(np.where(valid[:, None, :], 0.0, np.nan), (n_time, 2, n_ind)).copy()
        confidence = np.where(valid, 0.0, np.nan)[:, None, :]
    action = _stack(pieces, lambda p: p.action, np.nan)
    variables: dict[str, Any] = {
        "episode": (("time", "individual"), episode),
        "segment": (("time", "individual"), episode.copy()),
        "reward": (("time", "individual"), _stack(pieces, lambda p: p.reward, np.nan)),
        "action": xr.DataArray(
            action, dims=("time", "action_dim", "individual"), coords={"action_dim": env.action_names(params)}
        ),
    }
    state_vars, out_attrs = _state_variables(pieces, valid)
    extra_vars, missing = _extra_variables(pieces)
    variables.update(state_vars)
    variables.update(extra_vars)
    out_attrs.update(env.recording_attrs(params))
    out_attrs.update(
        env_id=env.env_id(),
        env_params=json.dumps(env.params_dict(params)),
        spatial=int(spatial),
    )
    if missing:
        out_attrs["missing_extras"] = ", ".join(missing)
    out_attrs.update(attrs or {})
    return from_arrays(
        position[:, :, None, :],
        time=np.arange(n_time) * dt,
        fps=1.0 / dt,
        confidence=confidence,
        individual_names=list(names),
        keypoint_names=["centroid"],
        arena=env.arena(params) if spatial else None,
        source_software="neuroethology",
        variables=variables,
        attrs=out_attrs,
    )
