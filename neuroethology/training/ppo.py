"""Recurrent PPO, fully jitted: ``make_train(config) -> train(key)``.

Proximal policy optimisation (Schulman et al. 2017, arXiv:1707.06347) with generalised advantage estimation
(Schulman et al. 2016, ICLR) for the recurrent agents of :mod:`neuroethology.agents`, in the shape of
PureJaxRL (Lu et al. 2022, NeurIPS): environment stepping and updates inside one compiled function, pure
and ``vmap``-able over seeds and over a hyperparameter axis.

Each update:

1. **Rollout.** ``num_envs`` environments step ``num_steps`` times (``lax.scan`` over ``vmap(env.step)``);
   the agent's core state is carried and reset inside the scan where an episode starts (autoreset). Every
   step stores the observation, the episode-start flag, the core state *entering* the step, the leaky RNN's
   noise draw, the raw action, its log-probability and the value.
2. **Advantages** by :func:`compute_gae`. Terminations cut the bootstrap; with ``bootstrap_truncation`` a
   time-limit truncation is not treated as failure: it bootstraps from the value of the last state of the
   episode (the observation after a truncation already belongs to the next episode, so ``V(s_t)`` stands in
   for ``V(s_{t+1})``; Pardo et al. 2018, ICML, "Time limits in reinforcement learning").
3. **Truncated backprop through time.** The rollout is cut into ``num_steps / bptt_length`` chunks per
   environment; each chunk is a training sequence that starts from its *stored* core state, so gradients
   flow ``bptt_length`` steps back. For ``update_epochs`` epochs the sequences are shuffled and split into
   ``num_minibatches`` minibatches; each minibatch re-runs the agent over its sequences (same resets, same
   noise) and takes one Adam step on :func:`ppo_loss` (gradient norm clipped).

Hyperparameters that may differ between vmapped runs live in :class:`Hyperparams` (traced arrays); sizes and
code paths stay in the static :class:`PPOConfig`. A curriculum (``TrainConfig.curriculum``) switches the
environment's non-static parameters by update count inside the same compiled function.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from .. import envs as ne
from ..agents import make_agent

if TYPE_CHECKING:
    from .config import TrainConfig

__all__ = [
    "PPOConfig",
    "Hyperparams",
    "HYPERPARAMS",
    "Transition",
    "RunnerState",
    "PPOLossInfo",
    "PPO",
    "compute_gae",
    "ppo_loss",
    "make_ppo",
    "make_train",
]


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO settings. Defaults follow the continuous-control setting of Schulman et al. 2017 (Table 3) and the
    recommendations of Andrychowicz et al. 2021 (ICLR, "What matters in on-policy RL?")."""

    num_envs: int = 64  # environments stepped in parallel per run
    num_steps: int = 128  # rollout length per update (steps per environment)
    bptt_length: int = 32  # truncated BPTT: training-sequence length in steps; divides num_steps
    update_epochs: int = 4  # passes over each rollout
    num_minibatches: int = 4  # minibatches per epoch; divides num_envs * num_steps / bptt_length
    learning_rate: float = 3e-4  # Adam step size (Schulman et al. 2017)
    anneal_lr: bool = True  # decay the step size linearly to 0 over training
    gamma: float = 0.99  # discount per step
    gae_lambda: float = 0.95  # GAE lambda (Schulman et al. 2016)
    clip_eps: float = 0.2  # probability-ratio clip (Schulman et al. 2017)
    ent_coef: float = 0.0  # entropy bonus weight
    vf_coef: float = 0.5  # value-loss weight
    max_grad_norm: float = 0.5  # global gradient-norm clip
    adam_eps: float = 1e-5  # Adam epsilon (Andrychowicz et al. 2021)
    clip_value_loss: bool = (
        False  # PPO2's clipped value loss (Andrychowicz et al. 2021 find it does not help)
    )
    normalize_advantages: bool = True  # per minibatch
    reward_scale: float = 1.0  # rewards are multiplied by this before GAE
    bootstrap_truncation: bool = True  # bootstrap at time limits instead of treating them as terminal

    @property
    def num_sequences(self) -> int:
        """Training sequences per update: ``num_envs * num_steps / bptt_length``."""
        return self.num_envs * (self.num_steps // max(self.bptt_length, 1))

    def validate(self, where: str = "ppo") -> list[str]:
        problems = []
        for name in ("num_envs", "num_steps", "bptt_length", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                problems.append(f"'{where}.{name}' must be >= 1, got {getattr(self, name)}")
        if problems:
            return problems
        if self.num_steps % self.bptt_length:
            problems.append(
                f"'{where}.bptt_length' ({self.bptt_length}) must divide '{where}.num_steps' "
                f"({self.num_steps})"
            )
        elif self.num_sequences % self.num_minibatches:
            problems.append(
                f"'{where}.num_minibatches' ({self.num_minibatches}) must divide the number of "
                f"training sequences num_envs * num_steps / bptt_length = {self.num_sequences}"
            )
        for name in ("learning_rate", "max_grad_norm", "adam_eps", "clip_eps", "reward_scale"):
            if not getattr(self, name) > 0:
                problems.append(f"'{where}.{name}' must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"'{where}.{name}' must be in [0, 1], got {getattr(self, name)}")
        for name in ("ent_coef", "vf_coef"):
            if getattr(self, name) < 0:
                problems.append(f"'{where}.{name}' must be >= 0, got {getattr(self, name)}")
        return problems


HYPERPARAMS = (
    "learning_rate",
    "ent_coef",
    "vf_coef",
    "clip_eps",
    "gamma",
    "gae_lambda",
    "max_grad_norm",
    "reward_scale",
)


class Hyperparams(NamedTuple):
    """The PPO settings that may be traced (one value per vmapped run); scalars ``()`` or ``(runs,)``."""

    learning_rate: jax.Array
    ent_coef: jax.Array
    vf_coef: jax.Array
    clip_eps: jax.Array
    gamma: jax.Array
    gae_lambda: jax.Array
    max_grad_norm: jax.Array
    reward_scale: jax.Array

    @classmethod
    def from_config(cls, config: PPOConfig, **overrides: Any) -> Hyperparams:
        values = {name: overrides.get(name, getattr(config, name)) for name in HYPERPARAMS}
        return cls(**{k: jnp.asarray(v, jnp.float32) for k, v in values.items()})


class Transition(NamedTuple):
    """One rollout step per environment; stacked ``(num_steps, num_envs, ...)``."""

    obs: Any  # observation the action was taken on
    start: jax.Array  # bool: obs begins an episode (the core state is reset before reading it)
    core_state: jax.Array  # (state_size,) core state entering the step (before that reset)
    noise: jax.Array  # (noise_size,) the leaky RNN's private noise draw (empty for other cores)
    raw_action: jax.Array  # the distribution's raw draw (the action for Discrete)
    log_prob: jax.Array  # log-probability of raw_action under the rollout policy
    value: jax.Array  # V(history up to obs)
    reward: jax.Array
    terminated: jax.Array  # bool
    truncated: jax.Array  # bool


class RunnerState(NamedTuple):
    """Everything one run carries from update to update (all arrays: checkpointable as is)."""

    weights: nnx.State  # the agent's parameters
    opt_state: optax.OptState
    env_state: Any  # (num_envs, ...) environment states
    obs: Any  # (num_envs, ...) current observations
    core_state: jax.Array  # (num_envs, state_size)
    start: jax.Array  # (num_envs,) bool: obs begins an episode
    episode_return: jax.Array  # (num_envs,) return of the running episodes so far
    episode_length: jax.Array  # (num_envs,) int32 steps of the running episodes so far
    key: jax.Array  # (2,) uint32 raw key data (typed keys are not checkpointable)
    update: jax.Array  # () int32 updates done
    hparams: Hyperparams


class PPOLossInfo(NamedTuple):
    policy_loss: jax.Array
    value_loss: jax.Array
    entropy: jax.Array
    approx_kl: jax.Array
    clip_fraction: jax.Array


def compute_gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    episode_ends: jax.Array,
    *,
    gamma: jax.typing.ArrayLike,
    gae_lambda: jax.typing.ArrayLike,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16), time-major ``(T, ...)`` inputs.

    ``delta_t = r_t + gamma (1 - terminated_t) next_values_t - values_t`` and
    ``A_t = delta_t + gamma lambda (1 - episode_ends_t) A_{t+1}`` with ``A_T = 0``: a termination cuts the
    bootstrap, any episode end (termination or truncation) cuts the recursion. ``next_values_t`` is the
    value of the state after step ``t`` (the caller substitutes a stand-in after a truncation).
    Returns ``(advantages, returns = advantages + values)``, both ``(T, ...)``.
    """
    rewards, values, next_values = (jnp.asarray(x, jnp.float32) for x in (rewards, values, next_values))
    if (
        not rewards.shape
        == values.shape
        == next_values.shape
        == jnp.shape(terminated)
        == jnp.shape(episode_ends)
    ):
        raise ValueError(
            f"compute_gae: shapes differ: rewards {rewards.shape}, values {values.shape}, next_values "
            f"{next_values.shape}, terminated {jnp.shape(terminated)}, episode_ends {jnp.shape(episode_ends)}"
        )
    not_terminated = 1.0 - jnp.asarray(terminated, jnp.float32)
    continues = 1.0 - jnp.asarray(episode_ends, jnp.float32)
    deltas = rewards + gamma * not_terminated * next_values - values

    def body(next_advantage, inputs):
        delta, cont = inputs
        advantage = delta + gamma * gae_lambda * cont * next_advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(body, jnp.zeros_like(values[0]), (deltas, continues), reverse=True)
    return advantages, advantages + values


def ppo_loss(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantages: jax.Array,
    values: jax.Array,
    old_values: jax.Array,
    returns: jax.Array,
    entropy: jax.Array,
    *,
    clip_eps: jax.typing.ArrayLike,
    vf_coef: jax.typing.ArrayLike,
    ent_coef: jax.typing.ArrayLike,
    clip_value_loss: bool = False,
    normalize_advantages: bool = True,
) -> tuple[jax.Array, PPOLossInfo]:
    """PPO's clipped surrogate objective (Schulman et al. 2017, eq. 7) plus value and entropy terms.

    All inputs have the same shape (any); means are over all elements. With ``normalize_advantages`` the
    advantages are standardised first (mean 0, s.d. 1, +1e-8). ``loss = policy_loss + vf_coef value_loss -
    ent_coef entropy`` with ``policy_loss = mean(max(-A r, -A clip(r, 1 - eps, 1 + eps)))``,
    ``r = exp(log_prob - old_log_prob)`` and ``value_loss = 0.5 mean((V - R)^2)`` (with ``clip_value_loss``:
    the elementwise max with the loss of ``old_V + clip(V - old_V, -eps, eps)``). Also returns the approximate
    KL divergence ``mean(r - 1 - log r)`` (Schulman's k3 estimator) and the fraction of clipped ratios.
    """
    shape = jnp.shape(log_prob)
    for name, x in (
        ("old_log_prob", old_log_prob),
        ("advantages", advantages),
        ("values", values),
        ("old_values", old_values),
        ("returns", returns),
        ("entropy", entropy),
    ):
        if jnp.shape(x) != shape:
            raise ValueError(f"ppo_loss: {name} has shape {jnp.shape(x)}, expected {shape} (as log_prob)")
    if normalize_advantages:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    surrogate = jnp.maximum(
        -advantages * ratio, -advantages * jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    )
    policy_loss = surrogate.mean()
    value_error = (values - returns) ** 2
    if clip_value_loss:
        clipped = old_values + jnp.clip(values - old_values, -clip_eps, clip_eps)
        value_error = jnp.maximum(value_error, (clipped - returns) ** 2)
    value_loss = 0.5 * value_error.mean()
    mean_entropy = entropy.mean()
    total = policy_loss + vf_coef * value_loss - ent_coef * mean_entropy
    info = PPOLossInfo(
        policy_loss=policy_loss,
        value_loss=value_loss,
        entropy=mean_entropy,
        approx_kl=((ratio - 1.0) - log_ratio).mean(),
        clip_fraction=(jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32).mean(),
    )
    return total, info


class PPO(NamedTuple):
    """The pure functions of one PPO configuration (see :func:`make_ppo`)."""

    init: Callable[..., RunnerState]  # (key, hparams=None) -> RunnerState
    update: Callable[[RunnerState], tuple[RunnerState, dict]]  # one rollout + optimisation
    train: Callable[..., tuple[RunnerState, dict]]  # (key, hparams=None) -> (final state, metrics per update)
    num_updates: int
    steps_per_update: int  # environment steps per update (num_envs * num_steps)
    graphdef: nnx.GraphDef
    env: ne.NeuroEnv
    env_params: Any
    hyperparams: Hyperparams  # the config's values


# Leaves of RunnerState whose leading axis is the environment batch (sharded over devices with it).
ENV_AXIS_FIELDS = ("env_state", "obs", "core_state", "start", "episode_return", "episode_length")


def _optimizer(hp: Hyperparams, adam_eps: float) -> optax.GradientTransformation:
    # The step size is applied outside (annealed per update), so the state does not depend on it.
    return optax.chain(optax.clip_by_global_norm(hp.max_grad_norm), optax.scale_by_adam(eps=adam_eps))


def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _curriculum(config: TrainConfig, task_params: Any) -> tuple[Any, jax.Array]:
    """Stacked environment parameters of the curriculum stages then the task ``(stages + 1, ...)`` leaves,
    and the updates at which each stage ends; ``(None, [])`` without a curriculum."""
    if not config.curriculum:
        return None, jnp.zeros((0,), jnp.int32)
    from .config import curriculum_env_params

    steps_per_update = config.ppo.num_envs * config.ppo.num_steps
    num_updates = max(1, int(config.total_steps) // steps_per_update)
    stages = [curriculum_env_params(config.env, stage) for stage in config.curriculum] + [task_params]
    stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *stages)
    ends = jnp.asarray([round(stage.until * num_updates) for stage in config.curriculum], jnp.int32)
    return stacked, ends


def _animal_prior(config: TrainConfig, env: Any, env_params: Any):
    """The fitted network of ``config.prior.run`` as an animal prior for this environment (checked to see the
    same observations at the same time step)."""
    from ..fitting import load_fitted

    model = load_fitted(config.prior.run)
    where = f"prior.run {config.prior.run}"
    if model.kind == "ou":
        raise ValueError(f"{where}: the prior needs a fitted network (gru, lstm or rnn), this run holds the baseline")
    if config.env.id != "neuroethology/OpenField-v0":
        raise ValueError(f"{where}: fitted animal priors act in OpenField, not {config.env.id}")
    ours, theirs = env.observation_space(env_params), env.observation_space(model.env_params)
    if jax.tree.map(lambda s: s.shape, ours.spaces if hasattr(ours, "spaces") else ours) != jax.tree.map(
        lambda s: s.shape, theirs.spaces if hasattr(theirs, "spaces") else theirs
    ) or abs(float(env_params.dt) - float(model.env_params.dt)) > 1e-9:
        raise ValueError(
            f"{where}: the fitted network sees {theirs} at dt={float(model.env_params.dt)} s, the environment "
            f"gives {ours} at dt={float(env_params.dt)} s; set env.params (e.g. n_rays, dt) as in the fit"
        )
    return model.policy()


def make_ppo(config: TrainConfig) -> PPO:
    """Build the PPO functions for a :class:`~neuroethology.training.config.TrainConfig`.

    ``init(key, hparams)`` draws the agent's weights and resets the environments; ``update(state)`` does one
    rollout and ``update_epochs`` epochs of minibatch updates and returns per-update metrics (scalars:
    ``episodes``, ``return_sum``, ``length_sum`` of the episodes that ended, ``reward_mean`` per step, the
    loss terms, ``grad_norm``, ``learning_rate``, ``curriculum_stage`` and ``finite``: weights and loss all
    finite). All are pure and safe under ``jit``/``vmap``; ``train`` runs ``num_updates`` updates in one
    ``lax.scan``.
    """
    from .config import resolve_env_params

    cfg = config.ppo
    env, env_params = resolve_env_params(config.env)
    stage_params, boundaries = _curriculum(config, env_params)
    obs_space, action_space = env.observation_space(env_params), env.action_space(env_params)
    dt = float(env_params.dt) if hasattr(env_params, "dt") else None
    num_envs, num_steps, seq_len = cfg.num_envs, cfg.num_steps, cfg.bptt_length
    chunks = num_steps // seq_len
    num_sequences = chunks * num_envs
    minibatch = num_sequences // cfg.num_minibatches
    steps_per_update = num_envs * num_steps
    num_updates = max(1, int(config.total_steps) // steps_per_update)

    def new_agent(key: jax.Array):
        return make_agent(obs_space, action_space, config.agent, dt=dt, key=key)

    abstract_agent = nnx.eval_shape(lambda: new_agent(jax.random.key(0)))
    graphdef = nnx.graphdef(abstract_agent)
    noise_size = abstract_agent.noise_size
    default_hp = Hyperparams.from_config(cfg)
    prior = _animal_prior(config, env, env_params) if config.prior.weight > 0 else None
    prior_weight = float(config.prior.weight)

    def init(key: jax.Array, hparams: Hyperparams | None = None) -> RunnerState:
        hp = default_hp if hparams is None else hparams
        k_agent, k_env, k_run = jax.random.split(key, 3)
        weights = nnx.split(new_agent(k_agent))[1]
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(k_env, num_envs), params_at(jnp.zeros((), jnp.int32))
        )
        agent = nnx.merge(graphdef, weights)
        return RunnerState(
            weights=weights,
            opt_state=_optimizer(hp, cfg.adam_eps).init(weights),
            env_state=env_state,
            obs=obs,
            core_state=agent.initial_state((num_envs,)),
            start=jnp.ones((num_envs,), bool),
            episode_return=jnp.zeros((num_envs,), jnp.float32),
            episode_length=jnp.zeros((num_envs,), jnp.int32),
            key=jax.random.key_data(k_run),
            update=jnp.zeros((), jnp.int32),
            hparams=jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), hp),
        )

    def params_at(update: jax.Array):
        """The environment parameters in force at an update: a curriculum stage's, else the task's."""
        if stage_params is None:
            return env_params
        stage = jnp.sum(update >= boundaries)
        return jax.tree.map(lambda x: x[stage], stage_params)

    def rollout(rs: RunnerState, key: jax.Array):
        agent = nnx.merge(graphdef, rs.weights)
        step_params = params_at(rs.update)

        def step(carry, key_t):
            env_state, obs, core, start, ep_return, ep_length, prior_core = carry
            k_act, k_env, k_noise = jax.random.split(key_t, 3)
            if noise_size:
                noise = jax.random.normal(k_noise, (num_envs, noise_size))
            else:
                noise = jnp.zeros((num_envs, 0), jnp.float32)
            out = agent.step(core, obs, start, noise)
            action, raw = out.dist.sample(k_act)
            next_obs, next_state, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_env, num_envs), env_state, action, step_params
            )
            if prior is not None:
                prior_logp, prior_core = prior.log_prob(prior_core, obs, start, env_state, action, step_params)
            else:
                prior_logp = jnp.zeros((num_envs,), jnp.float32)
            done = term | trunc
            ep_return = ep_return + reward
            ep_length = ep_length + 1
            ended = (
                jnp.sum(done),
                jnp.sum(jnp.where(done, ep_return, 0.0)),
                jnp.sum(jnp.where(done, ep_length, 0)),
            )
            transition = Transition(
                obs, start, core, noise, raw, out.dist.log_prob_raw(raw), out.value, reward, term, trunc
            )
            carry = (
                next_state,
                next_obs,
                out.state,
                done,
                jnp.where(done, 0.0, ep_return),
                jnp.where(done, 0, ep_length),
                prior_core,
            )
            return carry, (transition, ended, prior_logp)

        # The animal prior's recurrent state starts from zeros (its initial state) with every rollout: it is
        # not part of RunnerState, so checkpoints and resumption are unchanged by the option.
        prior_core = jnp.zeros((num_envs, prior.state_size if prior is not None else 0), jnp.float32)
        carry = (rs.env_state, rs.obs, rs.core_state, rs.start, rs.episode_return, rs.episode_length, prior_core)
        carry, (traj, ended, prior_logp) = jax.lax.scan(step, carry, jax.random.split(key, num_steps))
        env_state, obs, core, start, ep_return, ep_length, _ = carry
        last_value = agent.step(core, obs, start, None).value
        rs = rs._replace(
            env_state=env_state,
            obs=obs,
            core_state=core,
            start=start,
            episode_return=ep_return,
            episode_length=ep_length,
        )
        return rs, traj, last_value, ended, prior_logp

    def to_sequences(x: jax.Array) -> jax.Array:
        """``(T, B, ...) -> (chunks * B, L, ...)``: sequence-major training sequences."""
        x = x.reshape(chunks, seq_len, num_envs, *x.shape[2:])
        x = jnp.moveaxis(x, 2, 1)  # (chunks, B, L, ...)
        return x.reshape(num_sequences, seq_len, *x.shape[3:])

    def loss_fn(weights: nnx.State, batch: dict, hp: Hyperparams):
        agent = nnx.merge(graphdef, weights)
        time_major = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), batch["seq"])
        out = agent.unroll(batch["init_state"], time_major["obs"], time_major["start"], time_major["noise"])
        return ppo_loss(
            out.dist.log_prob_raw(time_major["raw_action"]),
            time_major["log_prob"],
            time_major["advantages"],
            out.value,
            time_major["value"],
            time_major["returns"],
            out.dist.entropy(),
            clip_eps=hp.clip_eps,
            vf_coef=hp.vf_coef,
            ent_coef=hp.ent_coef,
            clip_value_loss=cfg.clip_value_loss,
            normalize_advantages=cfg.normalize_advantages,
        )

    def update(rs: RunnerState) -> tuple[RunnerState, dict]:
        hp = rs.hparams
        key = jax.random.wrap_key_data(rs.key)
        key, k_roll, k_epochs = jax.random.split(key, 3)
        rs, traj, last_value, ended, prior_logp = rollout(rs, k_roll)
        reward = traj.reward + prior_weight * prior_logp  # task plus data (no-op without a prior)

        # Advantages.
        next_values = jnp.concatenate([traj.value[1:], last_value[None]], axis=0)
        if cfg.bootstrap_truncation:
            next_values = jnp.where(traj.truncated, traj.value, next_values)
            terminal = traj.terminated
        else:
            terminal = traj.terminated | traj.truncated
        advantages, returns = compute_gae(
            reward * hp.reward_scale,
            traj.value,
            next_values,
            terminal,
            traj.terminated | traj.truncated,
            gamma=hp.gamma,
            gae_lambda=hp.gae_lambda,
        )

        # Training sequences for truncated BPTT, each starting from its stored core state.
        seq = {
            "obs": traj.obs,
            "start": traj.start,
            "noise": traj.noise,
            "raw_action": traj.raw_action,
            "log_prob": traj.log_prob,
            "value": traj.value,
            "advantages": advantages,
            "returns": returns,
        }
        batch = {
            "seq": jax.tree.map(to_sequences, seq),
            "init_state": to_sequences(traj.core_state)[:, 0],
        }
        fraction = 1.0 - rs.update.astype(jnp.float32) / num_updates
        learning_rate = hp.learning_rate * fraction if cfg.anneal_lr else hp.learning_rate
        tx = _optimizer(hp, cfg.adam_eps)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def epoch(carry, key_epoch):
            def minibatch_step(carry, mb):
                weights, opt_state = carry
                (loss, info), grads = grad_fn(weights, mb, hp)
                updates, opt_state = tx.update(grads, opt_state, weights)
                weights = optax.apply_updates(weights, jax.tree.map(lambda u: -learning_rate * u, updates))
                return (weights, opt_state), (loss, info, optax.tree.norm(grads))

            order = jax.random.permutation(key_epoch, num_sequences)
            shuffled = jax.tree.map(
                lambda x: jnp.take(x, order, axis=0).reshape(cfg.num_minibatches, minibatch, *x.shape[1:]),
                batch,
            )
            return jax.lax.scan(minibatch_step, carry, shuffled)

        (weights, opt_state), (losses, infos, grad_norms) = jax.lax.scan(
            epoch, (rs.weights, rs.opt_state), jax.random.split(k_epochs, cfg.update_epochs)
        )
        finite = _all_finite(weights) & jnp.all(jnp.isfinite(losses))
        episodes, return_sum, length_sum = (jnp.sum(x) for x in ended)
        metrics = {
            "episodes": episodes,
            "return_sum": return_sum,
            "length_sum": length_sum,
            "reward_mean": traj.reward.mean(),
            "prior_log_prob": prior_logp.mean(),
            "loss": losses.mean(),
            "policy_loss": infos.policy_loss.mean(),
            "value_loss": infos.value_loss.mean(),
            "entropy": infos.entropy.mean(),
            "approx_kl": infos.approx_kl.mean(),
            "clip_fraction": infos.clip_fraction.mean(),
            "grad_norm": grad_norms.mean(),
            "learning_rate": jnp.asarray(learning_rate, jnp.float32),
            "finite": finite,
            "curriculum_stage": jnp.sum(rs.update >= boundaries),
        }
        rs = rs._replace(
            weights=weights, opt_state=opt_state, key=jax.random.key_data(key), update=rs.update + 1
        )
        return rs, metrics

    def train(key: jax.Array, hparams: Hyperparams | None = None) -> tuple[RunnerState, dict]:
        rs = init(key, hparams)
        return jax.lax.scan(lambda s, _: update(s), rs, None, length=num_updates)

    return PPO(init, update, train, num_updates, steps_per_update, graphdef, env, env_params, default_hp)


def make_train(config: TrainConfig) -> Callable[..., tuple[RunnerState, dict]]:
    """``train(key, hparams=None) -> (RunnerState, metrics)``: the whole training run as one pure function
    (PureJaxRL's shape). ``jax.jit(jax.vmap(make_train(config)))(keys)`` trains several seeds at once;
    ``jax.vmap(train, in_axes=(0, 0))(keys, hparams)`` with batched :class:`Hyperparams` sweeps a setting.
    Metrics are stacked over updates (see :func:`make_ppo`)."""
    return make_ppo(config).train
