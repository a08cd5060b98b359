"""Scheduled sampling (fitting.behaviour.sampled_sequence_nll): at rate 0 it is teacher forcing step by step; at
rate 1 the network reads its own draws, not the animal's self-motion inputs; a fit with it runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import neuroethology.envs as ne
from neuroethology.agents import make_agent
from neuroethology.fitting import FitConfig
from neuroethology.fitting.behaviour import Batch, sampled_sequence_nll, sequence_nll
from neuroethology.fitting.targets import target_space


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
    return graphdef, weights, data, config.cloning(params), n


def test_at_rate_zero_it_is_teacher_forcing(setting):
    graphdef, weights, batch, cloning, _ = setting
    cloning = cloning.__class__(**{**cloning.__dict__, "scheduled_sampling": 0.0})
    got = sampled_sequence_nll(graphdef, weights, batch, jax.random.key(1), cloning)
    np.testing.assert_allclose(float(got), float(sequence_nll(graphdef, weights, batch)), rtol=1e-5)


def test_at_rate_one_the_animal_s_self_motion_inputs_are_not_read_except_at_a_reset(setting):
    graphdef, weights, batch, cloning, n = setting
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
