"""Recurrent PPO, fully jitted: ``make_train(config) -> train(key)``.

Proximal policy optimisation (Schulman et al. 2017, arXiv:1707.06347) with generalised advantage estimation
(Schulman et al. 2016, ICLR) for the recurrent agents of :mod:`neuroethology.agents`, in the shape of
PureJaxRL (Lu et al. 2022, NeurIPS): environment stepping and updates inside one compiled function, pure
and ``vmap``-able over seeds and over a hyperparameter axis.

Each update (:func:`update`) runs the stages below, each a module-level pure function of a
:class:`PPOSetup` (what one configuration fixes) and named carries:

1. **Rollout** (:func:`collect`, by :mod:`~neuroethology.training.ppo_rollout`). ``num_envs`` environments
   step ``num_steps`` times (``lax.scan`` over ``vmap(env.step)``, carrying a ``RolloutCarry``); the agent's
   core state is reset inside the scan where an episode starts (autoreset). Every step stores a
   ``Transition``: the observation, the episode-start flag, the core state *entering* the step, the leaky
   RNN's noise draw, the raw action, its log-probability and the value.
2. **Advantages** (:func:`rollout_advantages`, by :func:`compute_gae`). Terminations cut the bootstrap; with
   ``bootstrap_truncation`` a time-limit truncation is not treated as failure: it bootstraps from the value
   of the last state of the episode (the observation after a truncation already belongs to the next
   episode, so ``V(s_t)`` stands in for ``V(s_{t+1})``; Pardo et al. 2018, ICML, "Time limits in
   reinforcement learning").
3. **Truncated backprop through time** (:func:`make_batch`). The rollout is cut into
   ``num_steps / bptt_length`` chunks per environment; each chunk is a training sequence that starts from
   its *stored* core state, so gradients flow ``bptt_length`` steps back.
4. **Optimisation** (:func:`optimise`). For ``update_epochs`` epochs the sequences are shuffled and split
   into ``num_minibatches`` minibatches; each minibatch re-runs the agent over its sequences (same resets,
   same noise) and takes one Adam step on :func:`minibatch_loss` (:func:`ppo_loss`; gradient norm clipped).

Hyperparameters that may differ between vmapped runs live in :class:`Hyperparams` (traced arrays); sizes and
code paths stay in the static :class:`~neuroethology.training.config.PPOConfig`. A curriculum
(``TrainConfig.curriculum``) switches the environment's non-static parameters by update count inside the
same compiled function. An animal prior (``TrainConfig.prior``) is built outside training and passed in
(:func:`make_ppo`'s ``prior``; see :func:`neuroethology.priors.load_animal_prior`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from .. import envs as ne
from ..agents import AgentConfig, make_agent
from .config import HYPERPARAMS, PPOConfig, TrainConfig, curriculum_env_params, resolve_env_params
from .ppo_math import PPOLossInfo, compute_gae, ppo_loss
from .ppo_rollout import AnimalPrior, Rollout, RolloutCarry, Transition, rollout

__all__ = [
    "Hyperparams",
    "RunnerState",
    "Sequences",
    "Batch",
    "OptimiserCarry",
    "MinibatchStats",
    "PPOSetup",
    "PPO",
    "check_prior",
    "env_params_at",
    "init",
    "collect",
    "rollout_advantages",
    "make_batch",
    "minibatch_loss",
    "optimise",
    "update",
    "train",
    "make_ppo",
    "make_train",
]


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


class Sequences(NamedTuple):
    """Training sequences for truncated BPTT, each leaf ``(num_sequences, bptt_length, ...)``."""

    obs: Any
    start: jax.Array
    noise: jax.Array
    raw_action: jax.Array
    log_prob: jax.Array  # under the rollout policy
    value: jax.Array  # under the rollout policy
    advantages: jax.Array
    returns: jax.Array


class Batch(NamedTuple):
    """The sequences of one update (or one minibatch of them) and the core state each starts from."""

    sequences: Sequences
    init_state: jax.Array  # (num_sequences, state_size) stored core state entering each sequence


class OptimiserCarry(NamedTuple):
    """What the epoch and minibatch scans carry."""

    weights: nnx.State
    opt_state: optax.OptState


class MinibatchStats(NamedTuple):
    """One minibatch step's loss terms (stacked ``(update_epochs, num_minibatches)``)."""

    loss: jax.Array
    info: PPOLossInfo
    grad_norm: jax.Array  # global norm of the gradient before clipping


@dataclasses.dataclass(frozen=True, eq=False)
class PPOSetup:
    """What one configuration fixes for all the PPO functions (built once by :func:`make_ppo`): the settings,
    the environment, the network's graph and the sizes derived from them. Not a pytree: the functions close
    over it (``functools.partial``), so its arrays enter compiled code as constants."""

    config: PPOConfig
    agent_config: AgentConfig
    env: ne.NeuroEnv
    env_params: Any  # the task's environment parameters
    obs_space: Any  # gymnasium spaces of the task (the agent's input and output)
    action_space: Any
    dt: float | None  # s per environment step (the leaky RNN's time constant is in seconds)
    stage_params: Any  # curriculum stages then the task, stacked: (stages + 1, ...) leaves; None without
    stage_ends: jax.Array  # (stages,) int32 update at which each curriculum stage ends
    graphdef: nnx.GraphDef
    noise_size: int  # the leaky RNN's private noise per step (0 for other cores)
    num_updates: int
    prior: AnimalPrior | None = None
    prior_weight: float = 0.0  # nats of reward per nat of the prior's log-likelihood

    @property
    def steps_per_update(self) -> int:
        """Environment steps per update: ``num_envs * num_steps``."""
        return self.config.steps_per_update


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
    setup: PPOSetup  # what the functions share (for calling the stages one by one)


# Leaves of RunnerState whose leading axis is the environment batch (sharded over devices with it): also the
# fields the rollout's RolloutCarry takes from RunnerState and gives back (see collect).
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
    num_updates = config.num_updates
    stages = [curriculum_env_params(config.env, stage) for stage in config.curriculum] + [task_params]
    stacked = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *stages)
    ends = jnp.asarray([round(stage.until * num_updates) for stage in config.curriculum], jnp.int32)
    return stacked, ends


def env_params_at(setup: PPOSetup, update: jax.Array) -> Any:
    """The environment parameters in force at an update: a curriculum stage's, else the task's."""
    if setup.stage_params is None:
        return setup.env_params
    stage = jnp.sum(update >= setup.stage_ends)
    return jax.tree.map(lambda x: x[stage], setup.stage_params)


def init(setup: PPOSetup, key: jax.Array, hparams: Hyperparams | None = None) -> RunnerState:
    """A run's first state: the agent's weights drawn from ``key``, the environments reset."""
    cfg = setup.config
    hp = Hyperparams.from_config(cfg) if hparams is None else hparams
    k_agent, k_env, k_run = jax.random.split(key, 3)
    fresh = make_agent(setup.obs_space, setup.action_space, setup.agent_config, dt=setup.dt, key=k_agent)
    weights = nnx.split(fresh)[1]
    obs, env_state = jax.vmap(setup.env.reset, in_axes=(0, None))(
        jax.random.split(k_env, cfg.num_envs), env_params_at(setup, jnp.zeros((), jnp.int32))
    )
    agent = nnx.merge(setup.graphdef, weights)
    return RunnerState(
        weights=weights,
        opt_state=_optimizer(hp, cfg.adam_eps).init(weights),
        env_state=env_state,
        obs=obs,
        core_state=agent.initial_state((cfg.num_envs,)),
        start=jnp.ones((cfg.num_envs,), bool),
        episode_return=jnp.zeros((cfg.num_envs,), jnp.float32),
        episode_length=jnp.zeros((cfg.num_envs,), jnp.int32),
        key=jax.random.key_data(k_run),
        update=jnp.zeros((), jnp.int32),
        hparams=jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), hp),
    )


def collect(setup: PPOSetup, rs: RunnerState, key: jax.Array) -> tuple[RunnerState, Rollout]:
    """The update's :func:`~neuroethology.training.ppo_rollout.rollout` from ``rs`` (the environment
    parameters of its curriculum stage); returns ``rs`` advanced past it (environments, core states, running
    episodes) and the :class:`Rollout`."""
    agent = nnx.merge(setup.graphdef, rs.weights)
    step_params = env_params_at(setup, rs.update)
    # The animal prior's recurrent state starts from zeros (its initial state) with every rollout: it is not
    # part of RunnerState, so checkpoints and resumption are unchanged by the option.
    prior_size = setup.prior.state_size if setup.prior is not None else 0
    carry = RolloutCarry(
        **{name: getattr(rs, name) for name in ENV_AXIS_FIELDS},
        prior_state=jnp.zeros((setup.config.num_envs, prior_size), jnp.float32),
    )
    carry, collected = rollout(
        agent,
        setup.env,
        step_params,
        carry,
        key,
        num_steps=setup.config.num_steps,
        noise_size=setup.noise_size,
        prior=setup.prior,
    )
    rs = rs._replace(**{name: getattr(carry, name) for name in ENV_AXIS_FIELDS})
    return rs, collected


def rollout_advantages(
    config: PPOConfig, hp: Hyperparams, collected: Rollout, *, prior_weight: float = 0.0
) -> tuple[jax.Array, jax.Array]:
    """``(advantages, returns)``, each ``(num_steps, num_envs)``, of a rollout by :func:`compute_gae` on the
    task's reward plus ``prior_weight`` times the prior's log-likelihood, scaled by ``hp.reward_scale``."""
    traj = collected.traj
    reward = traj.reward + prior_weight * collected.prior_log_prob  # task plus data (no-op without a prior)
    next_values = jnp.concatenate([traj.value[1:], collected.last_value[None]], axis=0)
    if config.bootstrap_truncation:
        next_values = jnp.where(traj.truncated, traj.value, next_values)
        terminal = traj.terminated
    else:
        terminal = traj.terminated | traj.truncated
    return compute_gae(
        reward * hp.reward_scale,
        traj.value,
        next_values,
        terminal,
        traj.terminated | traj.truncated,
        gamma=hp.gamma,
        gae_lambda=hp.gae_lambda,
    )


def _to_sequences(config: PPOConfig, x: jax.Array) -> jax.Array:
    """``(T, B, ...) -> (chunks * B, L, ...)``: sequence-major training sequences."""
    x = x.reshape(config.num_steps // config.bptt_length, config.bptt_length, config.num_envs, *x.shape[2:])
    x = jnp.moveaxis(x, 2, 1)  # (chunks, B, L, ...)
    return x.reshape(config.num_sequences, config.bptt_length, *x.shape[3:])


def make_batch(config: PPOConfig, traj: Transition, advantages: jax.Array, returns: jax.Array) -> Batch:
    """The rollout cut into ``num_sequences`` training sequences of ``bptt_length`` steps, each starting
    from its stored core state (truncated BPTT)."""
    sequences = Sequences(
        obs=traj.obs,
        start=traj.start,
        noise=traj.noise,
        raw_action=traj.raw_action,
        log_prob=traj.log_prob,
        value=traj.value,
        advantages=advantages,
        returns=returns,
    )
    to_sequences = functools.partial(_to_sequences, config)
    return Batch(jax.tree.map(to_sequences, sequences), to_sequences(traj.core_state)[:, 0])


def minibatch_loss(
    weights: nnx.State, batch: Batch, hp: Hyperparams, *, graphdef: nnx.GraphDef, config: PPOConfig
) -> tuple[jax.Array, PPOLossInfo]:
    """:func:`ppo_loss` of the agent ``(graphdef, weights)`` re-run over a batch of sequences (same resets,
    same noise, from the stored core states)."""
    agent = nnx.merge(graphdef, weights)
    seq = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), batch.sequences)  # time-major
    out = agent.unroll(batch.init_state, seq.obs, seq.start, seq.noise)
    return ppo_loss(
        out.dist.log_prob_raw(seq.raw_action),
        seq.log_prob,
        seq.advantages,
        out.value,
        seq.value,
        seq.returns,
        out.dist.entropy(),
        clip_eps=hp.clip_eps,
        vf_coef=hp.vf_coef,
        ent_coef=hp.ent_coef,
        clip_value_loss=config.clip_value_loss,
        normalize_advantages=config.normalize_advantages,
    )


def _minibatch_step(
    graphdef: nnx.GraphDef,
    config: PPOConfig,
    hp: Hyperparams,
    learning_rate: jax.Array,
    carry: OptimiserCarry,
    minibatch: Batch,
) -> tuple[OptimiserCarry, MinibatchStats]:
    """One Adam step (gradient norm clipped, step size ``learning_rate``) on :func:`minibatch_loss`."""
    grad_fn = jax.value_and_grad(
        functools.partial(minibatch_loss, graphdef=graphdef, config=config), has_aux=True
    )
    (loss, info), grads = grad_fn(carry.weights, minibatch, hp)
    updates, opt_state = _optimizer(hp, config.adam_eps).update(grads, carry.opt_state, carry.weights)
    weights = optax.apply_updates(carry.weights, jax.tree.map(lambda u: -learning_rate * u, updates))
    return OptimiserCarry(weights, opt_state), MinibatchStats(loss, info, optax.tree.norm(grads))


def optimise(
    setup: PPOSetup,
    carry: OptimiserCarry,
    batch: Batch,
    hp: Hyperparams,
    learning_rate: jax.Array,
    key: jax.Array,
) -> tuple[OptimiserCarry, MinibatchStats]:
    """``update_epochs`` epochs over ``batch``: each shuffles the sequences (by ``key``), splits them into
    ``num_minibatches`` minibatches and takes one step on each. Stats are ``(epochs, minibatches)``."""
    cfg = setup.config
    step = functools.partial(_minibatch_step, setup.graphdef, cfg, hp, learning_rate)
    minibatch_size = cfg.num_sequences // cfg.num_minibatches

    def epoch(carry: OptimiserCarry, key_epoch: jax.Array) -> tuple[OptimiserCarry, MinibatchStats]:
        order = jax.random.permutation(key_epoch, cfg.num_sequences)
        shuffled = jax.tree.map(
            lambda x: jnp.take(x, order, axis=0).reshape(cfg.num_minibatches, minibatch_size, *x.shape[1:]),
            batch,
        )
        return jax.lax.scan(step, carry, shuffled)

    return jax.lax.scan(epoch, carry, jax.random.split(key, cfg.update_epochs))


def _metrics(
    setup: PPOSetup,
    rs: RunnerState,
    collected: Rollout,
    finite: jax.Array,
    stats: MinibatchStats,
    lr: jax.Array,
    weights: Any,
) -> dict:
    episodes, return_sum, length_sum = (jnp.sum(x) for x in collected.ended)
    return {
        "episodes": episodes,
        "return_sum": return_sum,
        "length_sum": length_sum,
        "reward_mean": collected.traj.reward.mean(),
        "prior_log_prob": collected.prior_log_prob.mean(),
        "loss": stats.loss.mean(),
        "policy_loss": stats.info.policy_loss.mean(),
        "value_loss": stats.info.value_loss.mean(),
        "entropy": stats.info.entropy.mean(),
        "approx_kl": stats.info.approx_kl.mean(),
        "clip_fraction": stats.info.clip_fraction.mean(),
        "grad_norm": stats.grad_norm.mean(),
        "weight_norm": optax.tree.norm(weights),
        "learning_rate": jnp.asarray(lr, jnp.float32),
        "finite": finite,
        "curriculum_stage": jnp.sum(rs.update >= setup.stage_ends),
    }


def update(setup: PPOSetup, rs: RunnerState) -> tuple[RunnerState, dict]:
    """One update: rollout, advantages, training sequences, ``update_epochs`` epochs of minibatch steps.

    Metrics (scalars): ``episodes``, ``return_sum``, ``length_sum`` of the episodes that ended, ``reward_mean``
    per step, ``prior_log_prob``, the loss terms, ``grad_norm``, ``weight_norm`` (global L2 norm of the
    updated weights), ``learning_rate``, ``curriculum_stage`` and ``finite`` (weights and loss all finite)."""
    cfg, hp = setup.config, rs.hparams
    key = jax.random.wrap_key_data(rs.key)
    key, k_roll, k_epochs = jax.random.split(key, 3)
    rs, collected = collect(setup, rs, k_roll)
    advantages, returns = rollout_advantages(cfg, hp, collected, prior_weight=setup.prior_weight)
    batch = make_batch(cfg, collected.traj, advantages, returns)
    fraction = 1.0 - rs.update.astype(jnp.float32) / setup.num_updates
    learning_rate = hp.learning_rate * fraction if cfg.anneal_lr else hp.learning_rate
    carry, stats = optimise(
        setup, OptimiserCarry(rs.weights, rs.opt_state), batch, hp, learning_rate, k_epochs
    )
    finite = _all_finite(carry.weights) & jnp.all(jnp.isfinite(stats.loss))
    metrics = _metrics(setup, rs, collected, finite, stats, learning_rate, carry.weights)
    rs = rs._replace(
        weights=carry.weights, opt_state=carry.opt_state, key=jax.random.key_data(key), update=rs.update + 1
    )
    return rs, metrics


def train(setup: PPOSetup, key: jax.Array, hparams: Hyperparams | None = None) -> tuple[RunnerState, dict]:
    """:func:`init` then ``num_updates`` :func:`update` s in one ``lax.scan``; metrics stacked over updates."""
    rs = init(setup, key, hparams)
    return jax.lax.scan(lambda s, _: update(setup, s), rs, None, length=setup.num_updates)


def check_prior(config: TrainConfig, prior: AnimalPrior | None) -> None:
    """A ``ValueError`` unless ``prior`` is given exactly when ``config.prior.weight > 0``."""
    if config.prior.weight > 0 and prior is None:
        raise ValueError(
            f"prior.weight = {config.prior.weight:g} > 0 needs the animal prior built and passed in: "
            f"prior = neuroethology.priors.load_animal_prior(config) (loads prior.run {config.prior.run}), "
            "then make_ppo(config, prior=prior) or train_run(config, run_dir, prior=prior)"
        )
    if prior is not None and not config.prior.weight > 0:
        raise ValueError("a prior was passed but prior.weight is 0: set prior.weight > 0, or pass no prior")


def make_ppo(config: TrainConfig, prior: AnimalPrior | None = None) -> PPO:
    """Build the PPO functions for a :class:`~neuroethology.training.config.TrainConfig`.

    ``prior``: the animal prior when ``config.prior.weight > 0`` (an :class:`AnimalPrior`, built outside
    training: :func:`neuroethology.priors.load_animal_prior`), else ``None``.

    ``init(key, hparams)`` draws the agent's weights and resets the environments; ``update(state)`` does one
    rollout and ``update_epochs`` epochs of minibatch updates and returns per-update metrics (see
    :func:`update`). All are pure and safe under ``jit``/``vmap``; ``train`` runs ``num_updates`` updates in
    one ``lax.scan``.
    """
    check_prior(config, prior)
    env, env_params = resolve_env_params(config.env)
    stage_params, stage_ends = _curriculum(config, env_params)
    obs_space, action_space = env.observation_space(env_params), env.action_space(env_params)
    dt = float(env_params.dt) if hasattr(env_params, "dt") else None
    abstract_agent = nnx.eval_shape(
        lambda: make_agent(obs_space, action_space, config.agent, dt=dt, key=jax.random.key(0))
    )
    setup = PPOSetup(
        config=config.ppo,
        agent_config=config.agent,
        env=env,
        env_params=env_params,
        obs_space=obs_space,
        action_space=action_space,
        dt=dt,
        stage_params=stage_params,
        stage_ends=stage_ends,
        graphdef=nnx.graphdef(abstract_agent),
        noise_size=abstract_agent.noise_size,
        num_updates=config.num_updates,
        prior=prior,
        prior_weight=float(config.prior.weight),
    )
    return PPO(
        init=functools.partial(init, setup),
        update=functools.partial(update, setup),
        train=functools.partial(train, setup),
        num_updates=setup.num_updates,
        steps_per_update=setup.steps_per_update,
        graphdef=setup.graphdef,
        env=env,
        env_params=env_params,
        hyperparams=Hyperparams.from_config(config.ppo),
        setup=setup,
    )


def make_train(
    config: TrainConfig, prior: AnimalPrior | None = None
) -> Callable[..., tuple[RunnerState, dict]]:
    """``train(key, hparams=None) -> (RunnerState, metrics)``: the whole training run as one pure function
    (PureJaxRL's shape). ``jax.jit(jax.vmap(make_train(config)))(keys)`` trains several seeds at once;
    ``jax.vmap(train, in_axes=(0, 0))(keys, hparams)`` with batched :class:`Hyperparams` sweeps a setting.
    Metrics are stacked over updates (see :func:`update`)."""
    return make_ppo(config, prior).train
