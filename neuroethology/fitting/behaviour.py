"""Recurrent agents fitted to an animal's actions by maximum likelihood (behavioural cloning with memory).

The agent (:mod:`neuroethology.agents`: encoder, GRU/LSTM/leaky-RNN core, bounded-Gaussian policy head)
reads the observations reconstructed along the recorded path (teacher forcing, see
:mod:`neuroethology.fitting.reconstruct`) and is trained with Optax to maximise ``sum_t log p(a_t | o_1..o_t)``
of the actions the animal took. Training draws random windows of ``window`` steps; the recurrent state starts
from zeros at each window and at every tracked-segment start inside it, and the first ``burn_in`` steps of a
window only warm the state up (they are not scored). Evaluation unrolls whole held-out stretches.

Several seeds train at once (``vmap`` over the weights), from independent initialisations and data orders.
The pure pieces are :func:`window_batch` (sampling), :func:`sequence_nll` (the loss) and
:func:`make_fit_chunk` (a jitted chunk of updates); :func:`fit_agent` drives them with a progress callback.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from gymnasium import spaces

from ..agents import AgentConfig, make_agent
from .padding import bucket, pad_rows
from .reconstruct import Demonstration

__all__ = [
    "CloningConfig",
    "FittedAgents",
    "window_batch",
    "sequence_nll",
    "sampled_sequence_nll",
    "make_fit_chunk",
    "fit_agent",
    "agent_log_likelihood",
    "scored_log_prob",
    "unroll_log_likelihood",
]


@dataclasses.dataclass(frozen=True)
class CloningConfig:
    """How a network is fitted to recorded actions."""

    learning_rate: float = 1e-3  # Adam step size
    batch_size: int = 32  # windows per gradient step
    window: int = 256  # steps per training window (5.1 s at 50 Hz)
    burn_in: int = 32  # steps at the start of each window that warm up the state and are not scored
    max_grad_norm: float = 1.0  # global gradient-norm clip
    input_noise: float = 0.0  # s.d. of Gaussian noise added to vector observations while training, in units
    # of each feature's half range (see the module docstring: it teaches the network to correct deviations)
    noise_features: tuple[int, ...] | None = None  # which features get that noise (None: all)
    chunk: int = 50  # gradient steps per jitted call (progress is reported between chunks)
    # Scheduled sampling (Bengio et al. 2015, "Scheduled sampling for sequence prediction with recurrent neural
    # networks", NeurIPS): with this probability per step, the self-motion inputs (speed, angular velocity) are
    # the network's own draw at the step before instead of the animal's, as they are when it runs on its own
    # (see sampled_sequence_nll). 0: pure teacher forcing.
    scheduled_sampling: float = 0.0
    self_motion: tuple[int, int] | None = None  # indices of (speed, angular velocity) in the vector input
    # max speed (m/s) and max |angular velocity| (rad/s), and max_acceleration * dt (m/s per step), the bounds
    # the environment puts on an action
    self_motion_high: tuple[float, float] = (np.inf, np.inf)
    max_speed_change: float = np.inf
    warp: tuple[float, float] = (0.0, 2.0)  # the targets' (speed_offset, turn_scale): fitting.targets.Warp

    def __post_init__(self) -> None:
        if self.scheduled_sampling > 0 and self.self_motion is None:
            raise ValueError(
                "CloningConfig: scheduled_sampling needs self_motion, the (speed, angular velocity) indices of "
                "the vector observation (FitConfig.cloning sets them for OpenField)"
            )


class FittedAgents(NamedTuple):
    """Agents fitted with one config from several seeds (``weights`` leaves have a leading seed axis).

    With a validation set, ``weights`` are each seed's weights at its best validation log-likelihood (early
    stopping) and ``best`` is the seed with the best of those.
    """

    graphdef: nnx.GraphDef
    weights: nnx.State
    train_nll: np.ndarray  # (chunks, seeds) mean training loss (nats per scored step) of each chunk
    validation_ll: (
        np.ndarray
    )  # (chunks, seeds) validation log-likelihood per step after each chunk (or empty)
    best_update: np.ndarray  # (seeds,) updates done when each seed's kept weights were taken
    best: int  # index of the seed with the best validation log-likelihood (0 without validation)

    def seed_weights(self, i: int) -> nnx.State:
        return jax.tree.map(lambda x: x[i], self.weights)


class Batch(NamedTuple):
    observations: Any  # leaves (L, B, ...)
    actions: jax.Array  # (L, B, action_dim)
    starts: jax.Array  # (L, B) bool
    scored: jax.Array  # (L, B) bool
    held: jax.Array | None = None  # (L, B) bool: heading held, only the first action (acceleration) scored


def scored_log_prob(dist: Any, actions: jax.Array, held: jax.Array | None) -> jax.Array:
    """``log p`` of actions ``(..., d)`` under a head's distribution, of the whole action where the heading
    moved and of its first component (the acceleration) alone where it was ``held`` (the reconstruction's
    angular velocity is 0 there by construction, not the animal's; see ``Demonstration.heading_held``): the
    variable a fit is trained on and scored on (:mod:`neuroethology.fitting.scoring`). The first component's
    marginal is the Box heads' ``marginal(1)`` (:class:`~neuroethology.agents.heads.BoundedGaussian` and its
    mixture); other heads (discrete actions, where nothing is held) get the joint."""
    joint = dist.log_prob(actions)
    if held is None or not hasattr(dist, "marginal"):
        return joint
    return jnp.where(held, dist.marginal(1).log_prob(actions[..., :1]), joint)


def _clip_actions(actions: jax.Array, space: spaces.Space) -> jax.Array:
    """Actions beyond a Box's bounds are what the environment would have clipped: count them on the bound."""
    if isinstance(space, spaces.Box):
        return jnp.clip(actions, jnp.asarray(space.low), jnp.asarray(space.high))
    return actions


def window_batch(
    key: jax.Array,
    observations: Any,
    actions: jax.Array,
    starts: jax.Array,
    *,
    batch_size: int,
    window: int,
    burn_in: int,
    noise_scale: jax.Array | None = None,
    held: jax.Array | None = None,
    num_rows: jax.Array | None = None,
) -> Batch:
    """``batch_size`` random windows of ``window`` consecutive steps, time-major.

    Each window's first step starts the recurrent state afresh; so does every tracked-segment start inside
    it. The first ``burn_in`` steps are not scored. With ``noise_scale`` (one s.d. per feature of the vector
    observation), Gaussian noise is added to the observations (the actions, the targets, are untouched).
    ``num_rows`` (an integer array): windows lie in the first ``num_rows`` rows only, the rest being padding
    (:mod:`~neuroethology.fitting.padding`); the same draws as from those rows alone. Default: every row.
    """
    k_rows, k_noise = jax.random.split(key)
    n = actions.shape[0] if num_rows is None else num_rows
    first = jax.random.randint(k_rows, (batch_size,), 0, n - window + 1)
    rows = first[None, :] + jnp.arange(window)[:, None]  # (L, B)
    take = lambda x: jnp.take(x, rows, axis=0)  # noqa: E731
    win_starts = take(starts).at[0].set(True)
    scored = jnp.broadcast_to(jnp.arange(window)[:, None] >= burn_in, (window, batch_size))
    obs = jax.tree.map(take, observations)
    if noise_scale is not None:

        def add(x):
            return x + noise_scale * jax.random.normal(k_noise, x.shape, x.dtype)

        obs = {**obs, "vector": add(obs["vector"])} if isinstance(obs, dict) else add(obs)
    return Batch(obs, take(actions), win_starts, scored, None if held is None else take(held))


def sequence_nll(graphdef: nnx.GraphDef, weights: nnx.State, batch: Batch) -> jax.Array:
    """Mean negative log-likelihood (nats per scored step) of the batch's actions (teacher forcing)."""
    agent = nnx.merge(graphdef, weights)
    batch_size = batch.starts.shape[1]
    dist = agent.unroll(agent.initial_state((batch_size,)), batch.observations, batch.starts).dist
    logp = scored_log_prob(dist, batch.actions, batch.held)
    scored = batch.scored.astype(jnp.float32)
    return -jnp.sum(logp * scored) / jnp.maximum(jnp.sum(scored), 1.0)


def sampled_sequence_nll(
    graphdef: nnx.GraphDef, weights: nnx.State, batch: Batch, key: jax.Array, config: CloningConfig
) -> jax.Array:
    """:func:`sequence_nll` under scheduled sampling: step by step, with probability
    ``config.scheduled_sampling`` (and never at a state reset) the speed and angular-velocity inputs are the
    network's own draw of the step before (``(next speed, angular velocity)`` from its head, clipped to the
    environment's bounds, no gradient through the draw) instead of the animal's: the inputs it reads when it
    runs on its own, where a network trained only on the animal's inputs has never seen its own errors fed
    back. The wall rays stay the animal's (they follow its recorded path), and a swapped input carries no
    ``input_noise`` (it is the network's own). The loss is still the animal's actions' negative
    log-likelihood. The draw is limited as the environment limits an action: the speed changes by at most
    ``max_speed_change`` from the speed input and stays in ``[0, max speed]``; the turning rate within its
    bound."""
    from .targets import Warp, from_targets

    agent = nnx.merge(graphdef, weights)
    length, batch_size = batch.starts.shape
    k_use, k_draw = jax.random.split(key)
    use = jax.random.bernoulli(k_use, config.scheduled_sampling, (length, batch_size))
    i_speed, i_turn = config.self_motion
    high = jnp.asarray(config.self_motion_high, jnp.float32)
    warp = Warp(*config.warp)
    held = batch.held if batch.held is not None else jnp.zeros_like(batch.starts)

    def body(carry, inputs):
        state, own = carry
        obs, start, use_t, k, action, held_t = inputs
        vector = obs["vector"] if isinstance(obs, dict) else obs
        swap = use_t & ~start
        vector = vector.at[:, i_speed].set(jnp.where(swap, own[:, 0], vector[:, i_speed]))
        vector = vector.at[:, i_turn].set(jnp.where(swap, own[:, 1], vector[:, i_turn]))
        obs = {**obs, "vector": vector} if isinstance(obs, dict) else vector
        out = agent.step(state, obs, start)
        logp = scored_log_prob(out.dist, action, held_t)
        speed, omega = from_targets(jax.lax.stop_gradient(out.dist.sample(k)[0]), warp)
        # as the environment would: the acceleration bounded, then the speed and the turning rate
        change = config.max_speed_change
        speed = jnp.clip(speed, vector[:, i_speed] - change, vector[:, i_speed] + change)
        own = jnp.stack([jnp.clip(speed, 0.0, high[0]), jnp.clip(omega, -high[1], high[1])], axis=-1)
        return (out.state, own), logp

    start_state = (agent.initial_state((batch_size,)), jnp.zeros((batch_size, 2), jnp.float32))
    inputs = (batch.observations, batch.starts, use, jax.random.split(k_draw, length), batch.actions, held)
    _, logp = jax.lax.scan(body, start_state, inputs)
    scored = batch.scored.astype(jnp.float32)
    return -jnp.sum(logp * scored) / jnp.maximum(jnp.sum(scored), 1.0)


def make_fit_chunk(
    graphdef: nnx.GraphDef,
    tx: optax.GradientTransformation,
    config: CloningConfig,
    noise_scale: jax.Array | None = None,
):
    """A jitted ``chunk(weights, opt_state, keys, data) -> (weights, opt_state, losses)`` doing
    ``config.chunk`` Adam steps for every seed at once (leading seed axis on weights, opt_state, keys).
    ``data``: ``(observations, actions, starts, held)`` rows, or with a fifth element ``num_rows``, the
    number of real rows before padding (see :func:`window_batch`)."""

    def one_seed(weights, opt_state, key, data):
        observations, actions, starts, held, *num_rows = data

        def update(carry, k):
            weights, opt_state = carry
            batch = window_batch(
                k,
                observations,
                actions,
                starts,
                batch_size=config.batch_size,
                window=config.window,
                burn_in=config.burn_in,
                noise_scale=noise_scale,
                held=held,
                num_rows=num_rows[0] if num_rows else None,
            )
            if config.scheduled_sampling > 0:
                k_own = jax.random.fold_in(k, 1)  # the windows' draws stay those of teacher forcing
                loss, grads = jax.value_and_grad(
                    lambda w: sampled_sequence_nll(graphdef, w, batch, k_own, config)
                )(weights)
            else:
                loss, grads = jax.value_and_grad(lambda w: sequence_nll(graphdef, w, batch))(weights)
            updates, opt_state = tx.update(grads, opt_state, weights)
            return (optax.apply_updates(weights, updates), opt_state), loss

        (weights, opt_state), losses = jax.lax.scan(
            update, (weights, opt_state), jax.random.split(key, config.chunk)
        )
        return weights, opt_state, losses

    return jax.jit(jax.vmap(one_seed, in_axes=(0, 0, 0, None)))


def _device_data(demo: Demonstration, action_space: spaces.Space, rows: int | None = None):
    """``(observations, actions, starts, held)`` of a demonstration on the device, padded to ``rows`` rows
    (its last row repeated; :mod:`~neuroethology.fitting.padding`) if given."""
    pad = (lambda x: x) if rows is None else (lambda x: pad_rows(x, rows))  # noqa: E731
    observations = jax.tree.map(lambda x: jnp.asarray(pad(x)), demo.observations)
    actions = _clip_actions(jnp.asarray(pad(demo.actions), jnp.float32), action_space)
    held = demo.heading_held if demo.heading_held is not None else np.zeros(demo.num_steps, bool)
    return observations, actions, jnp.asarray(pad(demo.episode_start), bool), jnp.asarray(pad(held), bool)


def _training_data(demo: Demonstration, action_space: spaces.Space):
    """:func:`_device_data` padded to a bucketed number of rows, and the number of real rows: the training
    chunk then compiles once for demonstrations of nearby lengths."""
    return (*_device_data(demo, action_space, bucket(demo.num_steps)), jnp.asarray(demo.num_steps, jnp.int32))


def fit_agent(
    demo: Demonstration,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    *,
    agent_config: AgentConfig,
    config: CloningConfig,
    num_updates: int,
    key: jax.Array,
    num_seeds: int = 1,
    dt: float | None = None,
    init_weights: nnx.State | None = None,
    validation: Demonstration | None = None,
    patience: int | None = None,
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None = None,
    store: ProgressStore | None = None,
) -> FittedAgents:
    """Fit ``num_seeds`` agents to a demonstration by maximum likelihood of its actions.

    Args:
        demo: training rows (see :func:`~neuroethology.fitting.reconstruct.reconstruct`).
        observation_space, action_space: the environment's spaces (encoder normalisation, action bounds).
        agent_config: the architecture.
        config: optimisation settings.
        num_updates: gradient steps (rounded up to whole chunks).
        key: randomness for initial weights and windows; seed ``i`` uses ``fold_in(key, i)``.
        init_weights: continue from these (stacked over seeds) instead of fresh weights.
        validation: held-out rows of the training data; each seed keeps its weights from the chunk with the
            best validation log-likelihood (early stopping), and the best seed is named.
        patience: with validation, stop after this many chunks without improvement for any seed.
        progress: ``progress(updates_done, losses (chunk, seeds), validation_ll (seeds,) or None)`` after every
            chunk.
        store: where the fit's progress is kept after every chunk and resumed from (:class:`ProgressStore`).
    """
    _check_windows(demo, config)
    seed_keys = [jax.random.fold_in(key, i) for i in range(num_seeds)]
    graphdef, weights = _initial_weights(
        observation_space, action_space, agent_config, seed_keys, dt=dt, init_weights=init_weights
    )
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
    chunk = make_fit_chunk(graphdef, tx, config, _input_noise_scale(observation_space, config))
    validate = None if validation is None else _make_validate(graphdef, validation, action_space)
    return _train_in_chunks(
        graphdef,
        chunk,
        weights,
        jax.vmap(tx.init)(weights),
        _training_data(demo, action_space),
        seed_keys,
        num_chunks=-(-num_updates // config.chunk),
        chunk_size=config.chunk,
        validate=validate,
        patience=patience,
        progress=progress,
        store=store,
    )


def _check_windows(demo: Demonstration, config: CloningConfig) -> None:
    """Refuse a demonstration shorter than one training window and a burn-in outside ``[0, window)``."""
    if demo.num_steps < config.window + 1:
        raise ValueError(
            f"fit_agent: {demo.num_steps} training steps are fewer than one window ({config.window}); "
            "record longer or lower window"
        )
    if not 0 <= config.burn_in < config.window:
        raise ValueError(f"fit_agent: burn_in must be in [0, window), got {config.burn_in}")


def _initial_weights(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    agent_config: AgentConfig,
    seed_keys: list[jax.Array],
    *,
    dt: float | None,
    init_weights: nnx.State | None,
) -> tuple[nnx.GraphDef, nnx.State]:
    """The agent's graph and its weights stacked over seeds: fresh (seed ``i`` from ``fold_in(seed_keys[i],
    0)``) or ``init_weights``."""
    if init_weights is not None:
        graphdef = nnx.graphdef(
            make_agent(observation_space, action_space, agent_config, dt=dt, key=seed_keys[0])
        )
        return graphdef, init_weights

    def fresh(key: jax.Array) -> nnx.State:
        return nnx.state(make_agent(observation_space, action_space, agent_config, dt=dt, key=key))

    graphdef = nnx.graphdef(
        nnx.eval_shape(
            lambda: make_agent(observation_space, action_space, agent_config, dt=dt, key=seed_keys[0])
        )
    )
    # one compiled initialisation for every seed (not one small compilation per array drawn)
    keys = jnp.stack([jax.random.fold_in(k, 0) for k in seed_keys])
    return graphdef, jax.jit(jax.vmap(fresh))(keys)


def _input_noise_scale(observation_space: spaces.Space, config: CloningConfig) -> jax.Array | None:
    """One s.d. per feature of the vector observation for ``config.input_noise`` (None without noise):
    ``input_noise`` times the feature's half range, zero outside ``config.noise_features``."""
    if config.input_noise <= 0:
        return None
    vector_space = (
        observation_space["vector"] if isinstance(observation_space, spaces.Dict) else observation_space
    )
    half = (np.asarray(vector_space.high, np.float64) - np.asarray(vector_space.low, np.float64)) / 2
    noise_scale = config.input_noise * half
    if config.noise_features is not None:
        keep = np.zeros_like(noise_scale)
        keep[list(config.noise_features)] = 1.0
        noise_scale = noise_scale * keep
    return jnp.asarray(noise_scale, jnp.float32)


def _make_validate(
    graphdef: nnx.GraphDef, validation: Demonstration, action_space: spaces.Space
) -> Callable[[nnx.State], jax.Array]:
    """``validate(weights) -> (seeds,)`` mean log-likelihood per step of the validation rows (the rows are an
    argument of the compiled function, not constants in it; padded to a bucketed length after the real rows,
    which the causal unroll does not let them change, and left out of the mean)."""
    n = validation.num_steps
    val_data = _device_data(validation, action_space, bucket(n))
    real, count = jnp.arange(bucket(n)) < n, jnp.asarray(n, jnp.float32)

    def mean_ll(weights, data, real, count):
        return jnp.sum(jnp.where(real, unroll_log_likelihood(graphdef, weights, *data), 0.0)) / count

    run = jax.jit(jax.vmap(mean_ll, in_axes=(0, None, None, None)))
    return lambda weights: run(weights, val_data, real, count)


class BestWeights(NamedTuple):
    """Early stopping: each seed's weights at its best validation log-likelihood so far."""

    weights: nnx.State  # leaves with a leading seed axis
    log_likelihood: np.ndarray  # (seeds,) best validation log-likelihood per step
    update: np.ndarray  # (seeds,) updates done when the kept weights were taken
    stale: int  # chunks since any seed last improved


def _keep_best(best: BestWeights, weights: nnx.State, val_ll: np.ndarray, updates: int) -> BestWeights:
    """``best`` with the seeds whose ``val_ll`` improved on theirs replaced by ``weights`` after ``updates``."""
    improved = val_ll > best.log_likelihood
    if not improved.any():
        return best._replace(stale=best.stale + 1)
    mask = jnp.asarray(improved)
    kept = jax.tree.map(
        lambda new, old: jnp.where(mask.reshape((-1,) + (1,) * (new.ndim - 1)), new, old),
        weights,
        best.weights,
    )
    return BestWeights(
        kept, np.where(improved, val_ll, best.log_likelihood), np.where(improved, updates, best.update), 0
    )


class FitProgress(NamedTuple):
    """Where a fit's chunk loop stands after ``chunks`` chunks: what a fit checkpoint holds."""

    chunks: int
    weights: nnx.State  # leaves with a leading seed axis
    opt_state: optax.OptState
    best: BestWeights
    losses: list[np.ndarray]  # per chunk: mean loss per seed
    val_curve: list[np.ndarray]  # per chunk: validation log-likelihood per seed


class ProgressStore(Protocol):
    """Keeps a fit's :class:`FitProgress` between chunks, so that a killed fit resumes where it was
    (:class:`neuroethology.fitting.run_dir.CheckpointStore` writes Orbax checkpoints in the run directory)."""

    def load(self, like: FitProgress) -> FitProgress | None: ...

    def save(self, progress: FitProgress) -> None: ...


def _train_in_chunks(
    graphdef: nnx.GraphDef,
    chunk: Callable,
    weights: nnx.State,
    opt_state: optax.OptState,
    data,
    seed_keys: list[jax.Array],
    *,
    num_chunks: int,
    chunk_size: int,
    validate: Callable[[nnx.State], jax.Array] | None,
    patience: int | None,
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None,
    store: ProgressStore | None = None,
) -> FittedAgents:
    """Run ``num_chunks`` jitted chunks (chunk ``c`` of seed ``i`` draws from ``fold_in(fold_in(seed_keys[i],
    1), c)``), stopping on a non-finite loss (error) or after ``patience`` chunks without improvement. With
    ``store``, the loop starts from the stored progress and stores it after every chunk: a resumed fit ends
    with exactly the weights of an uninterrupted one."""
    num_seeds = len(seed_keys)
    start = FitProgress(
        0,
        weights,
        opt_state,
        BestWeights(weights, np.full(num_seeds, -np.inf), np.zeros(num_seeds, int), 0),
        [],
        [],
    )
    state = (store.load(start) if store is not None else None) or start
    weights, opt_state, best = state.weights, state.opt_state, state.best
    losses, val_curve = list(state.losses), list(state.val_curve)
    for c in range(state.chunks, num_chunks):
        if patience is not None and best.stale >= patience:
            break
        keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(k, 1), c) for k in seed_keys])
        weights, opt_state, chunk_losses = chunk(weights, opt_state, keys, data)
        chunk_losses = np.asarray(chunk_losses).T  # (chunk, seeds)
        if not np.all(np.isfinite(chunk_losses)):
            raise FloatingPointError(
                f"fit_agent: the loss became non-finite after {(c + 1) * chunk_size} updates; lower the "
                "learning rate"
            )
        losses.append(chunk_losses.mean(axis=0))
        val_ll = None
        if validate is not None:
            val_ll = np.asarray(validate(weights), float)
            val_curve.append(val_ll)
            best = _keep_best(best, weights, val_ll, (c + 1) * chunk_size)
        if store is not None:
            store.save(FitProgress(c + 1, weights, opt_state, best, losses, val_curve))
        if progress is not None:
            progress((c + 1) * chunk_size, chunk_losses, val_ll)
    if validate is None:
        best = BestWeights(weights, best.log_likelihood, np.full(num_seeds, len(losses) * chunk_size), 0)
    return FittedAgents(
        graphdef,
        best.weights,
        np.stack(losses),
        np.asarray(val_curve).reshape(-1, num_seeds),
        best.update,
        int(np.argmax(best.log_likelihood)) if validate is not None else 0,
    )


def agent_log_likelihood(
    graphdef: nnx.GraphDef, weights: nnx.State, demo: Demonstration, action_space: spaces.Space
) -> np.ndarray:
    """Per-step ``log p(a_t | o_1..o_t)`` (nats) along a demonstration, unrolled in one sequence (the state
    reset at each segment start), of the acceleration alone where the heading was held
    (:func:`scored_log_prob`). Actions beyond a Box's bounds count as on the bound (censored)."""
    return padded_unroll_log_likelihood(graphdef, weights, *_device_data(demo, action_space))


def padded_unroll_log_likelihood(graphdef, weights, observations, actions, starts, held) -> np.ndarray:
    """:func:`unroll_log_likelihood` as a host array, run on the rows padded to a bucketed length and cut
    back (the unroll is causal: the padding after the last row changes no earlier step), so that sequences
    of nearby lengths share one compiled unroll."""
    n = actions.shape[0]
    pad = lambda x: jnp.asarray(pad_rows(np.asarray(x), bucket(n)))  # noqa: E731
    padded = (jax.tree.map(pad, observations), pad(actions), pad(starts), pad(held))
    return np.asarray(unroll_log_likelihood(graphdef, weights, *padded))[:n]


@functools.partial(jax.jit, static_argnums=0)
def unroll_dist(graphdef: nnx.GraphDef, weights: nnx.State, observations: Any, starts: jax.Array) -> Any:
    """The head's distribution at every step of one sequence ``(T, 1, ...)`` (teacher forcing: the state
    starts from zeros and resets at each ``starts[t]``)."""
    agent = nnx.merge(graphdef, weights)
    obs = jax.tree.map(lambda x: x[:, None], observations)
    return agent.unroll(agent.initial_state((1,)), obs, starts[:, None]).dist


@functools.partial(jax.jit, static_argnums=0)
def unroll_log_likelihood(graphdef, weights, observations, actions, starts, held):
    """Per-step :func:`scored_log_prob` (nats) of ``actions (T, d)`` along one sequence, compiled once."""
    dist = unroll_dist(graphdef, weights, observations, starts)
    return scored_log_prob(dist, actions[:, None], held[:, None])[:, 0]
