"""The environment core: one base class owns reset, autoreset, time limits and the Gymnasium edges.

Each environment subclasses :class:`NeuroEnv` (itself a ``gymnasium.experimental.functional.FuncEnv``) and
writes only the pure pieces of its task:

``initial(rng, params)``, ``transition(state, action, rng, params)``, ``observation(state, rng, params)``,
``reward(state, action, next_state, rng, params)``, ``terminal(state, rng, params)``,
``observation_space(params)``, ``action_space(params)`` and, for pictures, ``render_image``. Each takes
``params`` last, optional as in FuncEnv; the base supplies the default params where a caller leaves them
out, so an environment writes its methods as if they were always given.

The base turns these into

* ``env.reset(key, params) -> (obs, state)`` and
  ``env.step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``, pure and
  safe under ``jax.jit`` and ``jax.vmap``, with autoreset (a finished episode's next state is a fresh
  initial state) and a time limit (``params.max_steps``); ``terminated`` (the task ended) and
  ``truncated`` (time ran out) are kept apart and never both true;
* :class:`GymnasiumEnv`, the single-environment ``gymnasium.Env`` behind ``gymnasium.make``, which owns the
  random key, casts to NumPy and Python types, and rejects invalid actions with a clear error;
* :class:`JaxVectorEnv`, the ``gymnasium.vector.VectorEnv`` behind
  ``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``: one compiled function for all steps,
  states kept on the device.

Length: the base class, the Gymnasium single and vector adapters that wrap it, and the registry
that ``gymnasium.make`` reaches are one contract (DESIGN.md, "Environments"); splitting them would put
the adapters and the registry in an import circle with the base.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces
from gymnasium.experimental.functional import FuncEnv
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from neuroethology.problems import ProblemsError, convert, unknown_name

__all__ = [
    "EnvState",
    "NeuroEnv",
    "GymnasiumEnv",
    "JaxVectorEnv",
    "register",
    "make",
    "registered_envs",
    "resolve_params",
    "uniform21",
    "subkeys",
    "env_of",
    "env_for_mode",
]

NAMESPACE = "neuroethology"


@struct.dataclass(kw_only=True)
class EnvState:
    """Fields every environment state carries.

    ``step`` counts the transitions since the last reset; the base class owns it (sets it to 0 on reset and
    increments it on every step) and compares it with ``params.max_steps`` for the time limit.
    """

    step: jax.Array = 0


StateT = TypeVar("StateT", bound=EnvState)
ParamsT = TypeVar("ParamsT")


def subkeys(key: jax.Array, n: int) -> tuple[jax.Array, ...]:
    """``n`` independent keys derived with ``fold_in``: a key that a pure function never uses costs nothing
    once compiled (``split`` would hash all ``n`` every step)."""
    return tuple(jax.random.fold_in(key, i) for i in range(n))


def _fmix32(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finaliser: a bijection of uint32 with full avalanche."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def uniform21(key: jax.Array, n: int) -> jax.Array:
    """``n`` independent uniforms on ``[0, 1)`` with 21-bit resolution, three from every 64 random bits.

    On CPU, JAX lowers each threefry hash to a rolled loop whose fixed cost per call dominates an
    autoresetting batched step; a start pose needs only three numbers (x, y, heading), and 21 bits (half a
    micrometre in a 1 m arena) are plenty. For ``n <= 3`` the 64 bits are therefore the key's own data
    passed through a bijective integer mixer (MurmurHash3's finaliser): uniform when the key comes from
    ``split``/``fold_in`` (as every key the base class hands to ``initial`` does), and still well spread for
    a raw ``jax.random.key(seed)``. Larger ``n`` uses ``jax.random.bits``.
    """
    m = -(-n // 3)
    if m == 1:
        data = jax.random.key_data(key).reshape(-1)
        # A Feistel-like chain of bijections, so every output word depends on both input words.
        h1 = _fmix32(data[1] + jnp.uint32(0x9E3779B9))
        w0 = _fmix32(data[0] ^ h1)
        w1 = _fmix32(h1 ^ w0)
        words = jnp.stack([w0, w1])[None]
    else:
        words = jax.random.bits(key, (m, 2), jnp.uint32)
    w0, w1 = words[:, 0], words[:, 1]
    chunks = jnp.stack([w0 >> 11, w1 >> 11, ((w0 & 0x7FF) << 10) | (w1 & 0x3FF)], axis=-1).reshape(-1)[:n]
    return chunks.astype(jnp.float32) * jnp.float32(2.0**-21)


def _select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Elementwise ``where`` over two pytrees of the same structure (scalar ``pred``, vmapped by callers)."""
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def _takes_optional_params(method: Callable) -> bool:
    parameter = inspect.signature(method).parameters.get("params")
    return parameter is not None and parameter.default is None and not hasattr(method, "_resolves_params")


def _with_default_params(method: Callable) -> Callable:
    """``method`` with ``params`` (positional or keyword) ``None`` or omitted replaced by
    ``self.default_params``; resolved while tracing, so compiled code is unchanged."""
    at = list(inspect.signature(method).parameters).index("params") - 1  # among the arguments after self

    @functools.wraps(method)
    def resolved(self: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > at:
            if args[at] is None:
                args = (*args[:at], self.default_params, *args[at + 1 :])
        elif kwargs.get("params") is None:
            kwargs["params"] = self.default_params
        return method(self, *args, **kwargs)

    resolved._resolves_params = True  # type: ignore[attr-defined]
    return resolved


class NeuroEnv(FuncEnv, Generic[StateT, ParamsT]):
    """Base of every neuroethology environment.

    Subclasses set the class attributes ``name`` (e.g. ``"OpenField"``) and ``params_type`` (a frozen
    ``flax.struct.dataclass`` whose fields are the task's parameters in SI units and which has a
    ``max_steps`` property), and implement the pure functions listed in the module docstring. The env object
    holds nothing that changes: everything that changes lives in the state, everything that configures lives
    in the params.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 0
    params_type: ClassVar[type]
    # Tasks that were once modes of one environment: each ``mode`` value and the id of the environment that
    # is now that task. ``make`` and the Gymnasium entry points take ``mode=`` and build that environment, so
    # old configs and runs (``params: {mode: spatial}``) keep working (see :func:`env_for_mode`).
    mode_ids: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        super().__init__()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every method of an environment that takes ``params=None`` (FuncEnv's ``initial``, ``transition``,
        ``observation``, ``reward``, ``terminal``, the spaces, ``state_info``, rendering, ...; its own and
        those of its bases and mixins) gets the environment's default params when called without them, here
        in one place: an environment writes its methods as if ``params`` were always given."""
        super().__init_subclass__(**kwargs)
        for name in {n for base in cls.__mro__[:-1] for n in vars(base)}:
            method = inspect.getattr_static(cls, name)
            if inspect.isfunction(method) and _takes_optional_params(method):
                setattr(cls, name, _with_default_params(method))

    # -- identity and parameters ------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        """Two environments of one class with the same default params are interchangeable (the object holds
        nothing that changes), so code compiled for one (a cached rollout) serves the other."""
        if self is other:
            return True
        if type(self) is not type(other):
            return NotImplemented
        try:
            return bool(vars(self) == vars(other))
        except Exception:  # a field that cannot be compared as a whole (an array): not known to be the same
            return False

    def __hash__(self) -> int:
        return hash(type(self))

    @classmethod
    def env_id(cls) -> str:
        """The Gymnasium id, e.g. ``"neuroethology/OpenField-v0"``."""
        return f"{NAMESPACE}/{cls.name}-v{cls.version}"

    def get_default_params(self, **kwargs: Any) -> ParamsT:
        return self.params_type(**kwargs)

    @staticmethod
    def check_fields(
        params: Any,
        *,
        choices: Mapping[str, tuple[str, ...]] | None = None,
        positive: tuple[str, ...] = (),
        non_negative: tuple[str, ...] = (),
        at_least_one: tuple[str, ...] = (),
        angles: tuple[str, ...] = (),
    ) -> list[str]:
        """The common checks of :meth:`validate_params`, one sentence per problem: each of ``choices`` is one of
        its allowed values; ``positive`` fields are > 0, ``non_negative`` >= 0, ``at_least_one`` integers >= 1
        and ``angles`` (fields of view) in (0, 2 pi] rad. NaN fails every check."""
        problems = []
        for name, allowed in (choices or {}).items():
            if getattr(params, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(params, name)!r}")
        value = lambda name: float(np.asarray(getattr(params, name)))  # noqa: E731
        for names, ok, text in (
            (positive, lambda v: v > 0, "> 0"),
            (non_negative, lambda v: v >= 0, ">= 0"),
            (angles, lambda v: 0 < v <= 2 * np.pi, "in (0, 2*pi] rad"),
        ):
            for name in names:
                if not ok(value(name)):
                    problems.append(f"{name} must be {text}, got {getattr(params, name)}")
        for name in at_least_one:
            if int(getattr(params, name)) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(params, name)}")
        return problems

    def validate_params(self, params: ParamsT) -> list[str]:
        """Problems with concrete (non-traced) params, one sentence each. Subclasses extend this list."""
        problems = []
        max_steps = int(params.max_steps)
        if max_steps < 1:
            problems.append(f"the episode must last at least one step (max_steps={max_steps})")
        return problems

    def make_params(self, **overrides: Any) -> ParamsT:
        """Default params with ``overrides`` applied, checked: unknown names and bad values raise one
        ``ValueError`` that lists every problem and, for a misspelt name, the nearest valid one."""
        return resolve_params(self, self.default_params, overrides)

    # -- what the environment says about itself (read by simulation, fitting and the commands) ----------
    def arena(self, params: ParamsT) -> dict[str, Any] | None:
        """The arena as a Recording stores it (``{"shape": "box", "width": W, "height": H}`` or
        ``{"shape": "circle", "radius": R}``, metres), or ``None`` where the task has no such arena (a
        non-spatial task, a maze corridor)."""
        return None

    def with_arena(self, params: ParamsT, arena: Mapping[str, Any]) -> ParamsT:
        """``params`` placed in another arena (a mapping as :meth:`arena` returns). Environments whose
        arena can change override this; the others refuse."""
        raise ValueError(f"{self.env_id()} has no arena that can be changed (got {arena!r})")

    def is_spatial(self, params: ParamsT) -> bool:
        """Whether the animal has a pose (``state_info`` reports ``position`` and ``heading``)."""
        return True

    def action_names(self, params: ParamsT) -> list[str]:
        """Names of the action dimensions (a Recording's ``action_dim`` coordinate): ``["action"]`` for a
        discrete choice, ``a0, a1, ...`` unless the environment names them."""
        space = self.action_space(params)
        if isinstance(space, spaces.Discrete):
            return ["action"]
        return [f"a{i}" for i in range(int(np.prod(space.shape)))]

    def recording_attrs(self, params: ParamsT) -> dict[str, Any]:
        """Task constants that a simulated Recording carries as attributes (e.g. ``platform_radius``), so
        that analyses of the task need not know the environment."""
        return {}

    def with_session(self, params: ParamsT, seconds: float) -> ParamsT:
        """``params`` for a free-running session of at least ``seconds``: environments whose episodes are
        only a time limit (free exploration) extend it; tasks whose episodes are trials keep them."""
        return params

    def params_dict(self, params: ParamsT) -> dict[str, Any]:
        """Every parameter as a plain Python value (JSON-safe; arrays become lists), in field order."""
        out = {}
        for f in dataclasses.fields(params):
            value = getattr(params, f.name)
            if isinstance(value, (bool, int, float, str)) or value is None:
                out[f.name] = value
            elif isinstance(value, tuple):
                out[f.name] = [np.asarray(v).tolist() for v in value]
            else:
                out[f.name] = np.asarray(value).tolist()
        return out

    # -- the jittable contract --------------------------------------------------------------------------
    def reset(self, key: jax.Array, params: ParamsT | None = None) -> tuple[Any, StateT]:
        """Draw an initial state; returns ``(obs, state)``. Pure; safe under ``jit``/``vmap``."""
        key_init, key_obs = subkeys(key, 2)
        state = self._initial(key_init, params)
        return self.observation(state, key_obs, params), state

    def step_env(
        self, key: jax.Array, state: StateT, action: Any, params: ParamsT | None = None
    ) -> tuple[Any, StateT, jax.Array, jax.Array, jax.Array, dict]:
        """One transition without autoreset (what the single Gymnasium env uses)."""
        key_step, key_obs = subkeys(key, 2)
        next_state, reward, terminated, truncated, info = self._transition(key_step, state, action, params)
        return self.observation(next_state, key_obs, params), next_state, reward, terminated, truncated, info

    def step(
        self, key: jax.Array, state: StateT, action: Any, params: ParamsT | None = None
    ) -> tuple[Any, StateT, jax.Array, jax.Array, jax.Array, dict]:
        """One transition with autoreset; returns ``(obs, state, reward, terminated, truncated, info)``.

        When the episode ends (``terminated | truncated``), ``reward``, the flags and ``info`` describe the
        finishing transition while ``obs`` and ``state`` already belong to a fresh episode. The observation
        is computed once, on the state that is returned.
        """
        key_step, key_reset, key_obs = subkeys(key, 3)
        next_state, reward, terminated, truncated, info = self._transition(key_step, state, action, params)
        state_out = _select(terminated | truncated, self._initial(key_reset, params), next_state)
        return self.observation(state_out, key_obs, params), state_out, reward, terminated, truncated, info

    def _initial(self, key: jax.Array, params: ParamsT) -> StateT:
        return self.initial(key, params).replace(step=jnp.zeros((), jnp.int32))

    def _transition(
        self, key: jax.Array, state: StateT, action: Any, params: ParamsT
    ) -> tuple[StateT, jax.Array, jax.Array, jax.Array, dict]:
        next_state = self.transition(state, action, key, params)
        next_state = next_state.replace(step=state.step + 1)
        reward = jnp.asarray(self.reward(state, action, next_state, key, params), jnp.float32)
        terminated = jnp.asarray(self.terminal(next_state, key, params), bool)
        truncated = (next_state.step >= params.max_steps) & ~terminated
        info = self.transition_info(state, action, next_state, params)
        return next_state, reward, terminated, truncated, info

    def transition_info(
        self, state: Any, action: Any, next_state: Any, params: ParamsT | None = None
    ) -> dict:
        """What :meth:`step` reports in ``info`` about a transition: the new state's :meth:`state_info`
        (an environment overrides this to report more)."""
        return self.state_info(next_state, params)

    # -- spaces (functions of params: sizes may depend on them) -------------------------------------------
    def observation_space(self, params: ParamsT | None = None) -> spaces.Space:  # type: ignore[override]
        raise NotImplementedError

    def action_space(self, params: ParamsT | None = None) -> spaces.Space:  # type: ignore[override]
        raise NotImplementedError

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(self, params: ParamsT | None = None, **kwargs: Any) -> Any:
        return None

    def render_close(self, render_state: Any, params: ParamsT | None = None) -> None:
        return None

    def render_fps(self, params: ParamsT) -> int:
        return max(1, int(round(1.0 / float(params.dt)))) if hasattr(params, "dt") else 30

    # -- gymnasium edges ----------------------------------------------------------------------------------
    def gymnasium(self, render_mode: str | None = None, **overrides: Any) -> GymnasiumEnv:
        return GymnasiumEnv(self, self.make_params(**overrides), render_mode=render_mode)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ---------------------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------------------


def _field_names(params_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(params_type)]


class ParamsError(ProblemsError):
    """Environment parameters that cannot be used: every problem found, naming the environment."""

    def __init__(self, env_id: str, problems: list[str]) -> None:
        super().__init__(env_id, problems, what="cannot take these parameters")


@functools.cache
def _field_types(params_type: type) -> dict[str, Any]:
    return typing.get_type_hints(params_type)


def resolve_params(env: NeuroEnv, base: Any, overrides: Mapping[str, Any]) -> Any:
    """``base.replace(**overrides)``, each value converted to its field's type by the package's one typed
    converter (:func:`neuroethology.problems.convert`: ``1e3`` is a number, a list a tuple), with every
    problem gathered into one :class:`ParamsError` (a ``ValueError``)."""
    names = _field_names(type(base))
    types_ = _field_types(type(base))
    problems: list[str] = []
    clean = {}
    for key, value in overrides.items():
        if key not in names:
            problems.append(unknown_name("parameter", key, names))
            continue
        converted = convert(value, types_[key], key, problems)
        if converted is not None:
            clean[key] = converted
    if problems:
        raise ParamsError(env.env_id(), problems)
    params = base.replace(**clean)
    problems = env.validate_params(params)
    if problems:
        raise ParamsError(env.env_id(), problems)
    return params


# ---------------------------------------------------------------------------------------------------------
# Gymnasium single environment
# ---------------------------------------------------------------------------------------------------------


def _to_numpy(tree: Any) -> Any:
    return jax.tree.map(np.asarray, tree)


def check_action(env_id: str, space: spaces.Space, action: Any) -> np.ndarray:
    """Return ``action`` as a NumPy value of the space's dtype or raise a ``ValueError`` saying why not."""
    if isinstance(space, spaces.Discrete):
        arr = np.asarray(action)
        if arr.shape != () or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"{env_id}: action must be one integer in [0, {space.n - 1}], got {action!r}")
        if not space.start <= int(arr) < space.start + space.n:
            raise ValueError(f"{env_id}: action {int(arr)} is outside [0, {space.n - 1}] ({space})")
        return np.asarray(arr, dtype=space.dtype)
    if isinstance(space, spaces.Box):
        try:
            arr = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{env_id}: action must be numbers of shape {space.shape}, got {action!r}"
            ) from e
        if arr.shape != space.shape:
            raise ValueError(f"{env_id}: action must have shape {space.shape}, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{env_id}: action must be finite, got {arr.tolist()}")
        if np.any(arr < space.low) or np.any(arr > space.high):
            raise ValueError(
                f"{env_id}: action {arr.tolist()} is outside the action space: expected low "
                f"{space.low.tolist()} <= action <= high {space.high.tolist()}"
            )
        return arr.astype(space.dtype)
    if not space.contains(action):
        raise ValueError(f"{env_id}: action {action!r} is not in the action space {space}")
    return action


class GymnasiumEnv(gymnasium.Env):
    """A :class:`NeuroEnv` as a stateful ``gymnasium.Env`` (what ``gymnasium.make`` returns).

    It owns the JAX random key (seeded by ``reset(seed=...)``), calls the jitted pure functions, casts
    results to NumPy/Python types and rejects actions outside the action space with a ``ValueError``.
    Param overrides are keyword arguments: ``gymnasium.make("neuroethology/OpenField-v0", width=2.0)``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, env: NeuroEnv, params: Any, render_mode: str | None = None) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"{env.env_id()}: render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.env = env
        self.params = params
        self.observation_space = env.observation_space(params)
        self.action_space = env.action_space(params)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": env.render_fps(params)}
        self.render_mode = render_mode
        self._reset_fn = jax.jit(env.reset)
        self._step_fn = jax.jit(env.step_env)
        self._key: jax.Array | None = None
        self.state: Any = None
        self._render_state = env.render_init(params) if render_mode == "rgb_array" else None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = jax.random.key(int(self.np_random.integers(0, 2**31 - 1)) if seed is None else seed)
        self._key, key = jax.random.split(self._key)
        obs, self.state = self._reset_fn(key, self.params)
        return _to_numpy(obs), _to_numpy(self.env.state_info(self.state, self.params))

    def step(self, action: Any):
        if self.state is None:
            raise RuntimeError(f"{self.env.env_id()}: call reset() before step()")
        action = check_action(self.env.env_id(), self.action_space, action)
        self._key, key = jax.random.split(self._key)
        obs, self.state, reward, terminated, truncated, info = self._step_fn(
            key, self.state, jnp.asarray(action), self.params
        )
        return _to_numpy(obs), float(reward), bool(terminated), bool(truncated), _to_numpy(info)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self.state is None:
            raise RuntimeError(f"{self.env.env_id()}: call reset() before render()")
        self._render_state, image = self.env.render_image(self.state, self._render_state, self.params)
        return image

    def close(self):
        if self._render_state is not None:
            self.env.render_close(self._render_state, self.params)
            self._render_state = None


# ---------------------------------------------------------------------------------------------------------
# Jitted vector environment
# ---------------------------------------------------------------------------------------------------------


class JaxVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` copies of a :class:`NeuroEnv` stepped by one compiled, vmapped function.

    Observations, rewards and flags are returned as JAX arrays (they stay on the accelerator; call
    ``np.asarray`` for NumPy). Autoreset happens in the same step (``AutoresetMode.SAME_STEP``): for an
    environment whose episode ended, the returned observation starts the next episode, and
    ``info["final_obs"]`` holds every environment's observation before any reset, with
    ``info["_final_obs"]`` marking which ones ended. Shapes never depend on the data, so nothing recompiles
    between steps. Actions are not checked against the bounds (that would need a device-to-host copy); the
    core clips them into the action space.
    """

    def __init__(self, env: NeuroEnv, params: Any, num_envs: int, render_mode: str | None = None) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"{env.env_id()}: num_envs must be at least 1, got {num_envs}")
        super().__init__()
        self.env = env
        self.params = params
        self.num_envs = int(num_envs)
        self.single_observation_space = env.observation_space(params)
        self.single_action_space = env.action_space(params)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {
            "autoreset_mode": AutoresetMode.SAME_STEP,
            "render_modes": ["rgb_array"],
            "render_fps": env.render_fps(params),
            "jax": True,
        }
        self.render_mode = render_mode
        self._key: jax.Array | None = None
        self.state: Any = None
        self._reset_fn = jax.jit(self._batched_reset)
        self._step_fn = jax.jit(self._batched_step)
        self._render_state = env.render_init(params) if render_mode == "rgb_array" else None

    def _batched_reset(self, key: jax.Array, params: Any):
        key, sub = jax.random.split(key)
        obs, state = jax.vmap(self.env.reset, in_axes=(0, None))(jax.random.split(sub, self.num_envs), params)
        return key, obs, state

    def _batched_step(self, key: jax.Array, state: Any, action: jax.Array, params: Any):
        key, sub = jax.random.split(key)
        keys = jax.random.split(sub, (self.num_envs, 2))

        def one(k, s, a):
            final_obs, next_s, reward, term, trunc, info = self.env.step_env(k[0], s, a, params)
            done = term | trunc
            obs_reset, s_reset = self.env.reset(k[1], params)
            return (
                _select(done, obs_reset, final_obs),
                _select(done, s_reset, next_s),
                reward,
                term,
                trunc,
                info,
                final_obs,
            )

        obs, state, reward, term, trunc, info, final_obs = jax.vmap(one)(keys, state, action)
        info = dict(info, final_obs=final_obs, _final_obs=term | trunc)
        return key, obs, state, reward, term, trunc, info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or self._key is None:
            self._key = jax.random.key(int(self.np_random.integers(0, 2**31 - 1)) if seed is None else seed)
        self._key, obs, self.state = self._reset_fn(self._key, self.params)
        return obs, {}

    def step(self, actions: Any):
        if self.state is None:
            raise RuntimeError(f"{self.env.env_id()}: call reset() before step()")
        actions = jnp.asarray(actions)
        expected = self.action_space.shape
        if actions.shape != expected:
            raise ValueError(f"{self.env.env_id()}: actions must have shape {expected}, got {actions.shape}")
        self._key, obs, self.state, reward, term, trunc, info = self._step_fn(
            self._key, self.state, actions, self.params
        )
        return obs, reward, term, trunc, info

    def render(self):
        """The first environment's frame (``rgb_array``)."""
        if self.render_mode != "rgb_array":
            return None
        first = jax.tree.map(lambda x: x[0], self.state)
        self._render_state, image = self.env.render_image(first, self._render_state, self.params)
        return image

    def close_extras(self, **kwargs: Any) -> None:
        if self._render_state is not None:
            self.env.render_close(self._render_state, self.params)
            self._render_state = None


# ---------------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------------

_REGISTRY: dict[str, type[NeuroEnv]] = {}


def env_for_mode(env_cls: type[NeuroEnv], overrides: Mapping[str, Any]) -> tuple[type[NeuroEnv], dict]:
    """The environment class that ``overrides`` ask for, and the overrides it takes.

    For an environment without :attr:`NeuroEnv.mode_ids`, that is ``env_cls`` with ``overrides`` unchanged.
    Otherwise a ``mode`` override is popped and names the registered environment that is now that task;
    parameters that only another of those tasks has are dropped, as the one environment with modes ignored
    them (a run's resolved config lists every parameter of every mode). Without ``mode``, such a parameter
    is refused with the ``mode`` (and id) that has it.
    """
    overrides = dict(overrides)
    if not env_cls.mode_ids:
        return env_cls, overrides
    owner = {}  # parameter -> the first mode whose environment has it
    for m, i in reversed(list(env_cls.mode_ids.items())):
        owner.update(dict.fromkeys(_field_names(_REGISTRY[i].params_type), m))
    mode = overrides.pop("mode", None)
    if mode is None:
        own = set(_field_names(env_cls.params_type))
        problems = [
            f"{k} needs mode={owner[k]!r} ({env_cls.mode_ids[owner[k]]})"
            for k in overrides
            if k in owner and k not in own
        ]
        if problems:
            raise ParamsError(env_cls.env_id(), problems)
        return env_cls, overrides
    allowed = tuple(env_cls.mode_ids)
    if not isinstance(mode, str) or mode not in allowed:
        raise ParamsError(env_cls.env_id(), [f"mode must be one of {allowed}, got {mode!r}"])
    target = _REGISTRY[env_cls.mode_ids[mode]]
    own = set(_field_names(target.params_type))
    return target, {k: v for k, v in overrides.items() if k in own or k not in owner}


def _gymnasium_entry(
    env_cls: type[NeuroEnv], render_mode: str | None = None, **overrides: Any
) -> GymnasiumEnv:
    env_cls, overrides = env_for_mode(env_cls, overrides)
    return env_cls().gymnasium(render_mode=render_mode, **overrides)


def _vector_entry(
    env_cls: type[NeuroEnv], num_envs: int = 1, render_mode: str | None = None, **overrides: Any
) -> JaxVectorEnv:
    overrides.pop("max_episode_steps", None)  # the time limit is a param (episode duration), not a wrapper
    env_cls, overrides = env_for_mode(env_cls, overrides)
    env = env_cls()
    return JaxVectorEnv(env, env.make_params(**overrides), num_envs=num_envs, render_mode=render_mode)


def register(env_cls: type[NeuroEnv]) -> type[NeuroEnv]:
    """Register an environment class with this package and with Gymnasium (usable as a decorator)."""
    env_id = env_cls.env_id()
    _REGISTRY[env_id] = env_cls
    if env_id not in gymnasium.registry:
        gymnasium.register(
            id=env_id,
            entry_point=functools.partial(_gymnasium_entry, env_cls),
            vector_entry_point=functools.partial(_vector_entry, env_cls),
            disable_env_checker=False,
        )
    return env_cls


def env_of(params: Any) -> NeuroEnv:
    """The registered environment whose parameter type ``params`` is (``TypeError`` for anything else)."""
    for env_cls in _REGISTRY.values():
        if type(params) is env_cls.params_type:
            return env_cls()
    raise TypeError(f"{type(params).__name__} is not the params of a registered environment")


def registered_envs() -> list[str]:
    """Ids of all registered environments."""
    return sorted(_REGISTRY)


def make(env_id: str, **overrides: Any) -> tuple[NeuroEnv, Any]:
    """``(env, params)`` for a registered id, with param overrides checked (see :meth:`NeuroEnv.make_params`).
    A ``mode`` override picks the task of an environment that had modes (:func:`env_for_mode`).

    >>> env, params = make("neuroethology/OpenField-v0", width=2.0, height=1.0)
    """
    if env_id not in _REGISTRY:
        short = {i.split("/", 1)[-1]: i for i in _REGISTRY}
        if env_id in short:  # "OpenField-v0" is accepted too
            env_id = short[env_id]
        else:
            near = difflib.get_close_matches(env_id, list(_REGISTRY) + list(short), n=1)
            hint = f" Did you mean '{near[0]}'?" if near else ""
            raise ValueError(f"unknown environment '{env_id}'.{hint} Registered: {registered_envs()}")
    env_cls, overrides = env_for_mode(_REGISTRY[env_id], overrides)
    env = env_cls()
    return env, env.make_params(**overrides)


EnvFactory = Callable[..., NeuroEnv]
