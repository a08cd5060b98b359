"""Scheduled sampling (fitting.behaviour.sampled_sequence_nll): at rate 0 it is teacher forcing step by step; at
rate 1 the network reads its own draws, as OpenField would turn them into its next speed and turning rate, not the
animal's self-motion inputs; a jitted chunk of updates with it runs and lowers the loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import neuroethology.envs as ne
from neuroethology.agents import make_agent
from neuroethology.fitting import FitConfig
from neuroethology.fitting.behaviour import (
    Batch,
    make_fit_chunk,
    sampled_sequence_nll,
    scored_log_prob,
    sequence_nll,
)
from neuroethology.fitting.targets import from_targets, target_space


@pytest.fixture(scope="module")
def setting():
    env, params = ne.make("neuroethology/OpenField-v0")
    config = FitConfig(hidden_size=16)
    agent = make_agent(
        env.observation_space(params),
        target_space(params, config.warp),
        config.agent_config,
        dt=float(params.dt),
        key=jax.random.key(0),
    )
    graphdef, weights = nnx.split(agent)
    n = int(params.n_rays)
    length, batch = 40, 3
    rng = np.random.default_rng(0)
    obs = np.concatenate(
        [
            rng.uniform(0.05, 0.35, (length, batch, n)),
            rng.uniform(0.0, 0.3, (length, batch, 1)),
            rng.normal(0.0, 1.0, (length, batch, 1)),
        ],
        axis=-1,
    ).astype(np.float32)
    actions = np.stack([rng.uniform(0.0, 0.3, (length, batch)), rng.normal(0, 0.5, (length, batch))], -1)
    starts = np.zeros((length, batch), bool)
    starts[0] = True
    starts[25, 1] = True  # a segment start inside a window: the animal's inputs there, whatever the rate
    scored = np.broadcast_to(np.arange(length)[:, None] >= 4, (length, batch))
    held = rng.uniform(size=(length, batch)) < 0.2
    data = Batch(
        jnp.asarray(obs),
        jnp.asarray(actions, jnp.float32),
        jnp.asarray(starts),
        jnp.asarray(scored),
        jnp.asarray(held),
    )
    return graphdef, weights, data, config.cloning(params), n, params, config.warp


def test_at_rate_zero_it_is_teacher_forcing(setting):
    graphdef, weights, batch, cloning, *_ = setting
    cloning = cloning.__class__(**{**cloning.__dict__, "scheduled_sampling": 0.0})
    got = sampled_sequence_nll(graphdef, weights, batch, jax.random.key(1), cloning)
    np.testing.assert_allclose(float(got), float(sequence_nll(graphdef, weights, batch)), rtol=1e-5)


def test_at_rate_one_the_animal_s_self_motion_inputs_are_not_read_except_at_a_reset(setting):
    graphdef, weights, batch, cloning, n, *_ = setting
    own = cloning.__class__(**{**cloning.__dict__, "scheduled_sampling": 1.0})
    obs = np.asarray(batch.observations).copy()
    changed = obs.copy()
    changed[1:, :, n] += 0.2  # the animal's speed input, everywhere but the first step
    changed[1:, :, n + 1] -= 1.0  # and its turning rate
    changed[25, 1] = obs[25, 1]  # but not at the reset (tested below)
    other = batch._replace(observations=jnp.asarray(changed))
    key = jax.random.key(2)
    same = [float(sampled_sequence_nll(graphdef, weights, b, key, own)) for b in (batch, other)]
    assert same[0] == pytest.approx(same[1], rel=1e-6)  # its own draws replace them
    teacher = [float(sequence_nll(graphdef, weights, b)) for b in (batch, other)]
    assert abs(teacher[0] - teacher[1]) > 1e-3  # teacher forcing does read them
    at_reset = changed.copy()
    at_reset[25, 1, n] += 0.5  # a reset step reads the animal's input even at rate 1
    moved = float(
        sampled_sequence_nll(graphdef, weights, other._replace(observations=jnp.asarray(at_reset)), key, own)
    )
    assert abs(moved - same[1]) > 1e-6


def test_scheduled_sampling_is_a_fit_setting_checked_like_the_others():
    assert any("scheduled_sampling" in p for p in FitConfig(scheduled_sampling=1.5).validate())
    _, params = ne.make("neuroethology/OpenField-v0")
    cloning = FitConfig(scheduled_sampling=0.25).cloning(params)
    n = int(params.n_rays)
    assert cloning.scheduled_sampling == 0.25 and cloning.self_motion == (n, n + 1)
    assert cloning.self_motion_high == (float(params.max_speed), float(params.max_angular_velocity))


def test_at_rate_one_each_step_reads_the_speed_and_turn_openfield_makes_of_the_draw_before(setting):
    """A plain loop: the draw ``(next speed, angular velocity)`` becomes an action ``((v' - v) / dt, omega)``, which
    OpenField clips (acceleration, then speed, then turning rate): that is the next step's self-motion input."""
    graphdef, weights, batch, cloning, n, params, warp = setting
    own = cloning.__class__(**{**cloning.__dict__, "scheduled_sampling": 1.0})
    key = jax.random.key(5)
    agent = nnx.merge(graphdef, weights)
    _, k_draw = jax.random.split(key)
    keys = jax.random.split(k_draw, batch.starts.shape[0])
    dt, amax = float(params.dt), float(params.max_acceleration)
    vmax, wmax = float(params.max_speed), float(params.max_angular_velocity)
    state = agent.initial_state((batch.starts.shape[1],))
    prev = None
    total, count = 0.0, 0.0
    for t in range(batch.starts.shape[0]):
        vector = np.asarray(batch.observations[t]).copy()
        start = np.asarray(batch.starts[t])
        if prev is not None:
            vector[~start, n], vector[~start, n + 1] = prev[0][~start], prev[1][~start]
        out = agent.step(state, jnp.asarray(vector), jnp.asarray(start))
        logp = np.asarray(scored_log_prob(out.dist, batch.actions[t], batch.held[t]))
        total += float(np.sum(logp * np.asarray(batch.scored[t])))
        count += float(np.sum(batch.scored[t]))
        v_next, omega = (np.asarray(x, np.float64) for x in from_targets(out.dist.sample(keys[t])[0], warp))
        accel = np.clip((v_next - vector[:, n]) / dt, -amax, amax)
        prev = (np.clip(vector[:, n] + accel * dt, 0.0, vmax), np.clip(omega, -wmax, wmax))
        state = out.state
    got = float(sampled_sequence_nll(graphdef, weights, batch, key, own))
    assert got == pytest.approx(-total / count, rel=1e-4)


def test_a_jitted_chunk_of_updates_with_it_runs_and_lowers_the_loss(setting):
    graphdef, weights, batch, cloning, n, *_ = setting
    import optax

    config = cloning.__class__(
        **{
            **cloning.__dict__,
            "scheduled_sampling": 0.5,
            "batch_size": 4,
            "window": 16,
            "burn_in": 2,
            "chunk": 30,
        }
    )
    rows = batch.starts.shape[0] * batch.starts.shape[1]
    flat = lambda x: jnp.reshape(jnp.swapaxes(x, 0, 1), (rows,) + x.shape[2:])  # noqa: E731
    data = (flat(batch.observations), flat(batch.actions), flat(batch.starts), flat(batch.held))
    tx = optax.adam(3e-3)
    stacked = jax.tree.map(lambda x: x[None], weights)
    chunk = make_fit_chunk(graphdef, tx, config)
    _, _, losses = chunk(stacked, jax.vmap(tx.init)(stacked), jax.random.split(jax.random.key(0), 1), data)
    losses = np.asarray(losses)[0]
    assert np.all(np.isfinite(losses)) and losses[-10:].mean() < losses[:10].mean()
