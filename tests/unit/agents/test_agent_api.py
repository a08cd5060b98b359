"""Encoders, the agent behind the policy protocol, rollouts that keep hidden states, and likelihoods."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from gymnasium import spaces

import neuroethology.envs as ne
from neuroethology import agents
from neuroethology.agents import BoundsNormalizer, EncoderConfig, make_encoder, symlog


def test_bounds_normalizer_modes():
    low, high = np.array([0.0, -25.0, 0.0, -np.inf]), np.array([2.0, 25.0, 600.0, np.inf])
    x = np.array([[0.0, -25.0, 6.0, -3.0], [2.0, 25.0, 600.0, 100.0], [1.0, 0.0, 0.0, 0.0]], np.float32)
    out = np.asarray(BoundsNormalizer(low, high)(x))  # auto
    np.testing.assert_allclose(out[:, :2], [[-1, -1], [1, 1], [0, 0]], atol=1e-6)
    # 600 s is a cap, not a typical range (half-range > 100): symlog; unbounded: symlog.
    np.testing.assert_allclose(out[:, 2:], np.asarray(symlog(x[:, 2:])), rtol=1e-6)
    out = np.asarray(BoundsNormalizer(low, high, "bounds")(x))
    np.testing.assert_allclose(out[:, 2], [-0.98, 1.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(np.asarray(BoundsNormalizer(low, high, "none")(x)), x)
    np.testing.assert_allclose(
        np.asarray(symlog(jnp.array([-np.e + 1, 0.0, np.e - 1]))), [-1, 0, 1], rtol=1e-6
    )


def test_log_scaled_inputs_resolve_every_decade():
    """Odour-like inputs spanning decades: the log scale maps [floor, high] to [-1, 1] evenly in decades."""
    norm = BoundsNormalizer(np.array([0.0, -1.0]), np.array([1.0, 1.0]), log_dims=(0,), log_floor=1e-4)
    x = np.array([[0.0, 0.5], [1e-4, 0.5], [1e-3, 0.5], [1e-2, 0.5], [1.0, 0.5]], np.float32)
    out = np.asarray(norm(x))
    np.testing.assert_allclose(out[:, 0], [-1.0, -1.0, -0.5, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], 0.5, atol=1e-7)  # other dims unchanged
    with pytest.raises(ValueError, match="log_dims must index"):
        BoundsNormalizer(np.zeros(2), np.ones(2), log_dims=(5,))


@pytest.mark.parametrize("size", [8, 9])
def test_patch_conv_is_a_3x3_stride_2_same_convolution(rng, size):
    """Against a plain NumPy loop (TensorFlow/XLA "SAME" padding: the extra row/column goes after)."""
    from neuroethology.agents import PatchConv

    conv = PatchConv(2, 3, rngs=nnx.Rngs(0))
    x = rng.normal(size=(2, size, size, 2)).astype(np.float32)
    kernel = np.asarray(conv.kernel[...]).reshape(2, 3, 3, 3)  # (C_in, kh, kw, C_out)
    out = -(-size // 2)
    total = max((out - 1) * 2 + 3 - size, 0)
    padded = np.pad(x, ((0, 0), (total // 2, total - total // 2), (total // 2, total - total // 2), (0, 0)))
    expected = np.zeros((2, out, out, 3))
    for i in range(out):
        for j in range(out):
            window = padded[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]  # (B, kh, kw, C_in)
            expected[:, i, j] = np.einsum("bhwc,chwo->bo", window, kernel)
    np.testing.assert_allclose(
        np.asarray(conv(jnp.asarray(x))), expected + np.asarray(conv.bias[...]), atol=1e-5
    )


def test_encoders_for_each_observation_space():
    cfg = EncoderConfig(mlp_features=(8, 8), cnn_channels=(4, 8), cnn_features=16)
    rngs = nnx.Rngs(0)
    vec = make_encoder(spaces.Box(-1, 1, (5,)), cfg, rngs=rngs)
    assert vec(jnp.zeros((2, 3, 5))).shape == (2, 3, 8)
    img = make_encoder(spaces.Box(0, 1, (12, 12, 2)), cfg, rngs=rngs)
    assert type(img).__name__ == "CNNEncoder" and img(jnp.zeros((2, 3, 12, 12, 2))).shape == (2, 3, 16)
    both = make_encoder(
        spaces.Dict({"vector": spaces.Box(-1, 1, (5,)), "image": spaces.Box(0, 1, (12, 12, 2))}),
        cfg,
        rngs=rngs,
    )
    assert both({"vector": jnp.zeros((4, 5)), "image": jnp.zeros((4, 12, 12, 2))}).shape == (4, 8)
    disc = make_encoder(spaces.Discrete(3), cfg, rngs=rngs)
    assert disc(jnp.array([0, 2])).shape == (2, 8)
    with pytest.raises(ValueError, match="no encoder for observation space"):
        make_encoder(spaces.Box(0, 1, (2, 3)), cfg, rngs=rngs)
    with pytest.raises(ValueError, match="lacks keys"):
        both({"vector": jnp.zeros((4, 5))})


@pytest.fixture(scope="module")
def open_field():
    env, params = ne.make("neuroethology/OpenField-v0", reward_type="coverage", episode_duration=0.2)
    config = agents.AgentConfig(
        encoder=EncoderConfig(mlp_features=(16,)), core=agents.CoreConfig(kind="gru", hidden_size=8)
    )
    agent = agents.make_agent(
        env.observation_space(params), env.action_space(params), config, dt=params.dt, key=jax.random.key(0)
    )
    graphdef, weights = nnx.split(agent)
    return env, params, graphdef, weights


def test_agent_is_a_policy_for_the_envs_rollout(open_field):
    env, params, graphdef, weights = open_field
    policy = agents.AgentPolicy(graphdef, weights)
    assert isinstance(policy, ne.policies.Policy)
    result = ne.rollout(env, policy, jax.random.key(1), params, num_steps=25)
    actions = np.asarray(result.actions)
    space = env.action_space(params)
    assert actions.shape == (25, 2) and np.all(actions >= space.low) and np.all(actions <= space.high)
    assert np.asarray(result.truncated).sum() == 2  # 10-step episodes, autoreset (carry reset by init)
    greedy = agents.AgentPolicy(graphdef, weights, deterministic=True)
    a = ne.rollout(env, greedy, jax.random.key(2), params, num_steps=5).actions
    b = ne.rollout(env, greedy, jax.random.key(2), params, num_steps=5).actions
    np.testing.assert_array_equal(a, b)


def test_a_network_streamed_in_chunks_is_the_same_network_run_at_once(open_field):
    """The agent's memory (GRU state) is carried across chunks: hidden units, values and actions equal."""
    env, params, graphdef, weights = open_field
    policy = agents.AgentPolicy(graphdef, weights)
    whole = ne.rollout(env, policy, jax.random.key(5), params, num_steps=25, record_extras=True)
    pieces = ne.rollout_chunks(
        env, policy, jax.random.key(5), params, num_steps=25, chunk_steps=6, record_extras=True
    )
    pieces = list(pieces)
    assert len(pieces) == 5
    for name in ("hidden", "value", "log_prob"):
        joined = np.concatenate([np.asarray(p.extras[name]) for p in pieces])
        np.testing.assert_array_equal(np.asarray(whole.extras[name]), joined)
    np.testing.assert_array_equal(np.asarray(whole.actions), np.concatenate([p.actions for p in pieces]))
    # a run shorter than one chunk runs the chunk and is cut: the same steps and final state as rollout's
    short = ne.rollout(env, policy, jax.random.key(5), params, num_steps=4, record_extras=True)
    (piece,) = ne.rollout_chunks(
        env, policy, jax.random.key(5), params, num_steps=4, chunk_steps=6, record_extras=True
    )
    for x, y in zip(jax.tree.leaves(short), jax.tree.leaves(piece), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _starts(roll):
    """Episode starts of a time-major rollout: the first step and every step after an episode end."""
    done = np.asarray(roll.terminated | roll.truncated)
    return np.concatenate([np.ones_like(done[:1]), done[:-1]], axis=0)


def test_rollout_records_hidden_states_that_replay_exactly(open_field):
    env, params, graphdef, weights = open_field
    policy = agents.AgentPolicy(graphdef, weights)
    roll = ne.rollout(
        env, policy, jax.random.key(3), params, num_steps=25, num_envs=3, record_obs=True, record_extras=True
    )
    hidden, values = roll.extras["hidden"], roll.extras["value"]
    assert hidden.shape == (25, 3, 8) and values.shape == (25, 3)
    starts = _starts(roll)
    np.testing.assert_array_equal(starts[[0, 10, 20]], True)  # episodes of 10 steps begin at 0, 10, 20
    assert starts.sum() == 9
    # The extras do not change what the policy does: same key, same actions as without them.
    plain = ne.rollout(env, policy, jax.random.key(3), params, num_steps=25, num_envs=3)
    np.testing.assert_array_equal(np.asarray(plain.actions), np.asarray(roll.actions))
    agent = nnx.merge(graphdef, weights)
    replay = agent.unroll(agent.initial_state((3,)), roll.observations, jnp.asarray(starts))
    np.testing.assert_allclose(np.asarray(replay.hidden), np.asarray(hidden), atol=1e-5)
    # The log-likelihood of the rollout's own actions is its sampling log-probability (clip: the Gaussian
    # density where no action hit a bound).
    logl = agent.log_likelihood(
        agent.initial_state((3,)), roll.observations, roll.actions, jnp.asarray(starts)
    )
    space = env.action_space(params)
    inside = np.all((np.asarray(roll.actions) > space.low) & (np.asarray(roll.actions) < space.high), -1)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(
        np.asarray(logl)[inside], np.asarray(roll.extras["log_prob"])[inside], rtol=1e-4, atol=1e-4
    )


def test_log_likelihood_resets_at_segment_starts(open_field, rng):
    """Teacher forcing over two recorded segments in one sequence gives, for the second segment, exactly
    the likelihood of that segment evaluated alone."""
    env, params, graphdef, weights = open_field
    agent = nnx.merge(graphdef, weights)
    T, k = 12, 5
    space = env.observation_space(params)
    obs = jnp.asarray(
        rng.uniform(space.low, np.minimum(space.high, 1.0), size=(T, 1, space.shape[0])), jnp.float32
    )
    actions = jnp.asarray(rng.uniform(-5, 5, size=(T, 1, 2)), jnp.float32)
    starts = np.zeros((T, 1), bool)
    starts[[0, k]] = True
    whole = np.asarray(agent.log_likelihood(agent.initial_state((1,)), obs, actions, jnp.asarray(starts)))
    second = np.asarray(
        agent.log_likelihood(agent.initial_state((1,)), obs[k:], actions[k:], jnp.asarray(starts[k:]))
    )
    np.testing.assert_allclose(whole[k:], second, rtol=1e-5, atol=1e-5)
    assert np.all(np.isfinite(whole))


def test_cnn_agent_on_image_observations():
    env, params = ne.make(
        "neuroethology/OpenField-v0",
        observe_image=True,
        image_size=16,
        reward_type="coverage",
        episode_duration=0.1,
    )
    config = agents.AgentConfig(
        encoder=EncoderConfig(mlp_features=(8,), cnn_channels=(4, 4), cnn_features=8),
        core=agents.CoreConfig(kind="lstm", hidden_size=6),
    )
    agent = agents.make_agent(
        env.observation_space(params), env.action_space(params), config, dt=params.dt, key=jax.random.key(0)
    )
    assert type(agent.encoder).__name__ == "DictEncoder"
    graphdef, weights = nnx.split(agent)
    policy = agents.AgentPolicy(graphdef, weights)
    roll = ne.rollout(
        env, policy, jax.random.key(0), params, num_steps=7, num_envs=2, record_obs=True, record_extras=True
    )
    assert roll.observations["image"].shape == (7, 2, 16, 16, 2)
    hidden = np.asarray(roll.extras["hidden"])
    assert hidden.shape == (7, 2, 6) and np.all(np.isfinite(hidden))


@pytest.mark.parametrize("kind", ["gru", "lstm", "leaky_rnn"])
def test_the_recurrent_map_is_the_core_the_policy_runs(kind):
    """recurrent_map's step(h, u), fed the inputs with_core_inputs records and reset at episode starts
    (replay_states), retraces the policy's own core states step by step (what fixed-point analysis studies is
    the network that acted)."""
    env, params = ne.make("neuroethology/OpenField-v0", episode_duration=0.2)
    config = agents.AgentConfig(
        encoder=EncoderConfig(mlp_features=(16,)), core=agents.CoreConfig(kind=kind, hidden_size=6)
    )
    agent = agents.make_agent(
        env.observation_space(params), env.action_space(params), config, dt=params.dt, key=jax.random.key(4)
    )
    policy = agents.with_core_inputs(agents.AgentPolicy(*nnx.split(agent), deterministic=True))
    roll = ne.rollout(env, policy, jax.random.key(6), params, num_steps=60, record_extras=True)
    plain = ne.rollout(env, policy.policy, jax.random.key(6), params, num_steps=60)
    np.testing.assert_array_equal(np.asarray(plain.actions), np.asarray(roll.actions))  # acts the same
    u = np.asarray(roll.extras["core_input"])
    done = np.asarray(roll.terminated | roll.truncated)
    starts = np.r_[True, done[:-1]]  # 0.2 s episodes: the state is reset every 10 steps
    assert starts.sum() == 6
    states = np.asarray(agents.replay_states(policy, u, starts))
    # hidden is the state (GRU, leaky RNN) or its first half (LSTM: [h, c]).
    hidden = np.asarray(roll.extras["hidden"])
    np.testing.assert_allclose(states[:, : hidden.shape[1]], hidden, atol=1e-5)
    with pytest.raises(ValueError, match="not a network policy"):
        agents.with_core_inputs(ne.policies.UniformRandomPolicy(env, params))
