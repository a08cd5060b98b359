"""Held-out scoring: the baseline, the null model and the network are scored on the same variable (the
reconstruction's action; the acceleration alone where the heading is held), each a normalised density of it,
and a baseline fitted to data of its own model beats the null on held-out steps."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx
from helpers import RAT_LIKE_MOTION, random_motion_positions

import neuroethology.envs as ne
from neuroethology.agents import make_agent
from neuroethology.envs.policies import RandomMotion, RandomMotionParams
from neuroethology.fitting import FitConfig, fit_random_motion
from neuroethology.fitting.behaviour import agent_log_likelihood
from neuroethology.fitting.config import FittedModel
from neuroethology.fitting.random_motion_fit import heading_held
from neuroethology.fitting.reconstruct import path_windows, reconstruct_path
from neuroethology.fitting.scoring import heldout_scores, network_log_likelihood, null_log_likelihood
from neuroethology.fitting.targets import target_log_jacobian, target_space, to_targets

MIN_SPEED = 0.025  # m/s, FitConfig's default

# Parameters like those fitted to the Sargolini rat (about 8% of its steps are slower than MIN_SPEED).
RAT_LIKE = RandomMotionParams(**RAT_LIKE_MOTION)


def _demonstration(positions: np.ndarray, params):
    return reconstruct_path(positions, params, min_step=MIN_SPEED * float(params.dt)), path_windows(
        positions, params
    )


def test_null_density_of_the_held_heading_variable_integrates_to_one():
    """2-D Gaussian over the actions that move at or above min_speed plus its marginal of the acceleration
    over the held ones: total mass 1 (a 2-D density at omega = 0 on the held part would not be)."""
    mean, cov = np.array([0.3, -0.5]), np.array([[1.2, 0.4], [0.4, 30.0]])
    dt, speed = 0.02, 0.03  # m/s before the step: held below a = (MIN_SPEED - speed) / dt = -0.25 m/s^2
    a_held = (MIN_SPEED - speed) / dt
    a = np.linspace(a_held, mean[0] + 9, 900)
    w = np.linspace(mean[1] - 45, mean[1] + 45, 901)
    aa, ww = np.meshgrid(a, w, indexing="ij")
    grid = np.stack([aa.ravel(), ww.ravel()], axis=1)
    moving = np.exp(null_log_likelihood(grid, np.zeros(len(grid), bool), mean, cov)).reshape(aa.shape)
    a_low = np.linspace(mean[0] - 9, a_held, 900)
    held = np.exp(null_log_likelihood(np.stack([a_low, 0 * a_low], 1), np.ones(len(a_low), bool), mean, cov))
    total = np.trapezoid(np.trapezoid(moving, w, axis=1), a) + np.trapezoid(held, a_low)
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("components", [0, 3], ids=["gaussian", "mixture"])
def test_network_scores_the_heads_marginal_on_held_steps(components):
    """Moving steps: the joint density as the fit computes it; held steps: the head's density integrated
    over the turning target (numerically, with the censored masses at its bounds), times the Jacobian; for the
    one-Gaussian head and the mixture head alike."""
    env, params = ne.make("neuroethology/OpenField-v0")
    positions = random_motion_positions(env, RandomMotion(RAT_LIKE), jax.random.key(3), params, 400)
    demo, windows = _demonstration(positions, params)
    held = heading_held(windows, float(params.dt), MIN_SPEED)
    assert 5 <= held.sum() < len(held) - 5
    space = target_space(params)
    config = FitConfig(head_components=components).agent_config
    agent = make_agent(env.observation_space(params), space, config, key=jax.random.key(0))
    graphdef, weights = nnx.split(agent)
    model = FittedModel("gru", params, RAT_LIKE, graphdef, weights)
    got = network_log_likelihood(model, demo, held, params)
    targets = to_targets(demo, params)
    joint = agent_log_likelihood(graphdef, weights, targets, space) + target_log_jacobian(demo, params)
    np.testing.assert_allclose(got[~held], joint[~held], atol=1e-4)
    # The marginal, numerically: unroll once, integrate each held step's density over the turning target.
    obs = jax.tree.map(lambda x: np.asarray(x)[:, None], demo.observations)
    dist = agent.unroll(agent.initial_state((1,)), obs, np.asarray(demo.episode_start)[:, None]).dist
    z1 = np.linspace(space.low[1], space.high[1], 4001)[1:-1]
    for i in np.flatnonzero(held)[:8]:
        one = jax.tree.map(lambda x, i=i: x[i], dist)  # the head's step i (batch of 1)
        z = np.stack([np.full_like(z1, targets.actions[i, 0]), z1], axis=1)
        inner = np.trapezoid(np.exp(np.asarray(one.log_prob(z[:, None]))[:, 0]), z1)
        ends = np.stack([[targets.actions[i, 0], space.low[1]], [targets.actions[i, 0], space.high[1]]])
        masses = np.exp(np.asarray(one.log_prob(ends[:, None]))[:, 0]).sum()
        want = np.log(inner + masses) + np.log(float(params.dt))
        assert got[i] == pytest.approx(want, abs=2e-3)


def test_baseline_fitted_to_its_own_model_beats_the_null_on_held_out_steps():
    """Data simulated from the random-motion policy (known, rat-like parameters), reconstructed as the fit
    reconstructs the rat (heading held below 0.025 m/s), split 80/20 in time: the baseline fitted to the first
    80% scores the last 20% at least 0.25 bits/step above the Gaussian null fitted to the same 80%, and within
    0.02 nats/step of the true parameters (the fit generalises), on the same steps and the same variable."""
    env, params = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    positions = random_motion_positions(env, RandomMotion(RAT_LIKE), jax.random.key(11), params, 15_000)
    cut = 12_000
    demo_train, windows_train = _demonstration(positions[:cut], params)
    demo_test, windows_test = _demonstration(positions[cut:], params)
    fit = fit_random_motion(windows_train, params)
    config = FitConfig(model="ou", min_speed=MIN_SPEED)
    scores = heldout_scores(
        FittedModel("ou", params, fit.params), config, params, demo_train, demo_test, windows_test
    )
    truth = heldout_scores(
        FittedModel("ou", params, RAT_LIKE), config, params, demo_train, demo_test, windows_test
    )
    gain = scores["baseline"]["bits_per_step_over_null"]
    print(
        f"\nheld steps {scores['test_steps_heading_held']} of {scores['test_steps']}; null "
        f"{scores['null']['log_likelihood_per_step']:.3f}, fitted {scores['baseline']['log_likelihood_per_step']:.3f},"
        f" true {truth['baseline']['log_likelihood_per_step']:.3f} nats/step; fitted over null {gain:.3f} bits/step"
    )
    assert scores["test_steps_heading_held"] > 0.02 * scores["test_steps"]  # the held steps are exercised
    assert gain > 0.25
    base, true = scores["baseline"]["log_likelihood_per_step"], truth["baseline"]["log_likelihood_per_step"]
    assert base == pytest.approx(true, abs=0.02)


def test_a_demonstration_reconstructed_with_another_min_speed_is_refused():
    env, params = ne.make("neuroethology/OpenField-v0")
    positions = random_motion_positions(env, RandomMotion(RAT_LIKE), jax.random.key(4), params, 300)
    demo = reconstruct_path(positions, params, min_step=0.0)  # no heading held
    windows = path_windows(positions, params)
    config = FitConfig(model="ou", min_speed=MIN_SPEED)
    with pytest.raises(ValueError, match="min_speed"):
        heldout_scores(FittedModel("ou", params, RAT_LIKE), config, params, demo, demo, windows)
