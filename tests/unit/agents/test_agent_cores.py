"""Recurrent cores against plain NumPy re-implementations, and the hidden-state reset inside the scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from neuroethology import agents

IN, H, B = 5, 7, 3


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _w(p):
    return np.asarray(p[...], np.float64)


def _core(kind: str, **kw):
    cfg = agents.CoreConfig(kind=kind, hidden_size=H, **kw)
    return agents.make_core(cfg, IN, dt=0.02, rngs=nnx.Rngs(params=jax.random.key(3)))


def test_gru_step_matches_numpy(rng):
    core = _core("gru")
    x, h = rng.normal(size=(B, IN)), rng.normal(size=(B, H))
    new, out = core.recur(
        jnp.asarray(h, jnp.float32), core.project(jnp.asarray(x, jnp.float32)), jnp.zeros((B, 0))
    )
    px = x @ _w(core.w_x) + _w(core.b_x)
    ph = h @ _w(core.w_h) + _w(core.b_h)
    r = _sigmoid(px[:, :H] + ph[:, :H])
    z = _sigmoid(px[:, H : 2 * H] + ph[:, H : 2 * H])
    n = np.tanh(px[:, 2 * H :] + r * ph[:, 2 * H :])
    expected = (1 - z) * n + z * h
    np.testing.assert_allclose(np.asarray(new), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(new))
    assert core.state_size == H and core.features == H and core.noise_size == 0


def test_lstm_step_matches_numpy(rng):
    core = _core("lstm")
    x, state = rng.normal(size=(B, IN)), rng.normal(size=(B, 2 * H))
    new, out = core.recur(
        jnp.asarray(state, jnp.float32), core.project(jnp.asarray(x, jnp.float32)), jnp.zeros((B, 0))
    )
    gates = x @ _w(core.w_x) + _w(core.b_x) + state[:, :H] @ _w(core.w_h)
    i, f = _sigmoid(gates[:, :H]), _sigmoid(gates[:, H : 2 * H])
    g, o = np.tanh(gates[:, 2 * H : 3 * H]), _sigmoid(gates[:, 3 * H :])
    c = f * state[:, H:] + i * g
    h = o * np.tanh(c)
    np.testing.assert_allclose(np.asarray(new), np.concatenate([h, c], 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out), h, rtol=1e-5, atol=1e-5)
    # Forget-gate bias starts at 1 (Jozefowicz et al. 2015).
    np.testing.assert_array_equal(_w(core.b_x)[H : 2 * H], 1.0)
    assert core.state_size == 2 * H and core.features == H


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_leaky_rnn_step_matches_the_euler_equation(rng, activation):
    core = _core("leaky_rnn", tau=0.1, noise_std=0.3, rate_activation=activation)
    alpha = 0.02 / 0.1
    x, h, xi = rng.normal(size=(B, IN)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    new, out = core.recur(
        jnp.asarray(h, jnp.float32), core.project(jnp.asarray(x, jnp.float32)), jnp.asarray(xi, jnp.float32)
    )
    f = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    pre = h @ _w(core.w_h) + x @ _w(core.w_x) + _w(core.b_x)
    expected = (1 - alpha) * h + alpha * f(pre) + np.sqrt(2 * alpha) * 0.3 * xi
    np.testing.assert_allclose(np.asarray(new), expected, rtol=1e-5, atol=1e-5)
    assert core.noise_size == H and core.alpha == pytest.approx(alpha)


def test_leaky_rnn_decays_with_time_constant_tau():
    """With no input drive (W = 0, U = 0) and no noise the state decays as (1 - dt/tau)^n."""
    core = _core("leaky_rnn", tau=0.1, noise_std=0.0)
    core.w_h[...] = jnp.zeros_like(core.w_h[...])
    h = jnp.ones((1, H))
    zero_px = jnp.zeros((1, H))
    for _ in range(10):
        h, _ = core.recur(h, zero_px, jnp.zeros((1, 0)))
    np.testing.assert_allclose(np.asarray(h), (1 - 0.2) ** 10, rtol=1e-5)
    assert core.noise_size == 0  # no noise argument needed when sigma = 0


def test_leaky_rnn_rejects_a_step_longer_than_tau():
    with pytest.raises(ValueError, match="must not exceed tau"):
        agents.make_core(agents.CoreConfig(kind="leaky_rnn", tau=0.01), IN, dt=0.02, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="needs a time step"):
        agents.make_core(agents.CoreConfig(kind="leaky_rnn"), IN, dt=None, rngs=nnx.Rngs(0))


def test_feedforward_core_has_no_state(rng):
    core = _core("feedforward")
    x = rng.normal(size=(B, IN)).astype(np.float32)
    state, out = core.recur(jnp.zeros((B, 0)), core.project(jnp.asarray(x)), jnp.zeros((B, 0)))
    assert state.shape == (B, 0)
    np.testing.assert_allclose(
        np.asarray(out), np.tanh(x @ _w(core.w_x) + _w(core.b_x)), rtol=1e-5, atol=1e-6
    )


def _agent(kind: str, obs_dim: int = 4):
    from gymnasium import spaces

    obs_space = spaces.Box(-1.0, 1.0, (obs_dim,), np.float32)
    act_space = spaces.Discrete(3)
    config = agents.AgentConfig(core=agents.CoreConfig(kind=kind, hidden_size=6, noise_std=0.0))
    return agents.make_agent(obs_space, act_space, config, dt=0.02, key=jax.random.key(0))


@pytest.mark.parametrize("kind", ["gru", "lstm", "leaky_rnn"])
def test_hidden_state_resets_at_episode_starts_inside_the_scan(kind, rng):
    """A start flag at step k makes the rest of the sequence identical to a fresh sequence begun at k, while
    the steps before k are untouched; without the flag the state carries over (and differs)."""
    agent = _agent(kind)
    T, k = 9, 4
    obs = jnp.asarray(rng.uniform(-1, 1, size=(T, 2, 4)), jnp.float32)
    starts = np.zeros((T, 2), bool)
    starts[0] = True
    starts[k, 0] = True  # env 0 starts a new episode at step k, env 1 does not
    h0 = jnp.asarray(rng.normal(size=(2, agent.state_size)), jnp.float32)  # junk: step 0 resets it
    out = agent.unroll(h0, obs, jnp.asarray(starts))
    fresh_starts = np.zeros((T - k, 2), bool)
    fresh_starts[0] = True
    fresh = agent.unroll(agent.initial_state((2,)), obs[k:], jnp.asarray(fresh_starts))
    np.testing.assert_allclose(
        np.asarray(out.hidden[k:, 0]), np.asarray(fresh.hidden[:, 0]), rtol=1e-6, atol=1e-6
    )
    assert not np.allclose(np.asarray(out.hidden[k:, 1]), np.asarray(fresh.hidden[:, 1]), atol=1e-4)
    # Before k nothing depends on the later flag.
    no_reset = agent.unroll(h0, obs, jnp.asarray(starts & (np.arange(T)[:, None] == 0)))
    np.testing.assert_array_equal(np.asarray(out.hidden[:k]), np.asarray(no_reset.hidden[:k]))
    # The step-0 reset makes the junk initial state irrelevant.
    zero = agent.unroll(agent.initial_state((2,)), obs, jnp.asarray(starts))
    np.testing.assert_array_equal(np.asarray(out.hidden), np.asarray(zero.hidden))


def test_step_is_one_iteration_of_unroll(rng):
    agent = _agent("gru")
    T = 6
    obs = jnp.asarray(rng.uniform(-1, 1, size=(T, 3, 4)), jnp.float32)
    starts = jnp.asarray(rng.uniform(size=(T, 3)) < 0.3).at[0].set(True)
    out = agent.unroll(agent.initial_state((3,)), obs, starts)
    state = agent.initial_state((3,))
    for t in range(T):
        step = agent.step(state, obs[t], starts[t])
        np.testing.assert_allclose(np.asarray(step.hidden), np.asarray(out.hidden[t]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(step.value), np.asarray(out.value[t]), rtol=1e-5, atol=1e-6)
        state = step.state
