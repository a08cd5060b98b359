"""Behavioural cloning recovers a known recurrent policy: a GRU fitted to the actions of a teacher GRU that
drove OpenField reaches the teacher's own log-likelihood on held-out episodes."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from flax import nnx

import neuroethology.envs as ne
from neuroethology.agents import AgentConfig, make_agent
from neuroethology.agents.cores import CoreConfig
from neuroethology.fitting import (
    CloningConfig,
    Demonstration,
    TargetSpeedPolicy,
    agent_log_likelihood,
    fit_agent,
)
from neuroethology.fitting.targets import Warp, target_space, to_targets


def _demonstration(result, envs: slice, params) -> Demonstration:
    """Teacher-forcing rows of some of a rollout's environments (episodes concatenated)."""
    obs = np.asarray(result.observations)[:, envs]
    steps, batch = obs.shape[:2]

    def flat(x):
        x = np.asarray(x)[:, envs]
        return np.swapaxes(x, 0, 1).reshape(batch * steps, *x.shape[2:])

    done = (np.asarray(result.terminated) | np.asarray(result.truncated))[:, envs].T
    starts = np.zeros((batch, steps), bool)
    starts[:, 0] = True
    starts[:, 1:] |= done[:, :-1]
    n = batch * steps
    demo = Demonstration(
        flat(result.observations),
        flat(result.actions).astype(float),
        jax.tree.map(flat, result.states),
        np.zeros((n, 2)),
        starts.reshape(-1),
        np.zeros(n, int),
        np.zeros(n),
        np.ones(n, bool),
    )
    return to_targets(demo, params)


@pytest.fixture(scope="module")
def teacher_data():
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=20.0, n_rays=8)
    space = target_space(p)
    config = AgentConfig(core=CoreConfig(kind="gru", hidden_size=8), squash="clip", init_std=0.05)
    graphdef, weights = nnx.split(
        make_agent(env.observation_space(p), space, config, dt=float(p.dt), key=jax.random.key(3))
    )
    # A fresh network's action means hardly depend on its state (the policy layer starts near zero, as PPO
    # wants). Larger weights make the teacher's actions depend strongly on what it sees and remembers, so
    # that matching its likelihood takes learning.
    gain = {"['core']['w_h']": 2.0, "['policy']['out']['kernel']": 150.0}
    weights = jax.tree_util.tree_map_with_path(
        lambda path, x: gain.get(jax.tree_util.keystr(path).removesuffix(".value"), 1.0) * x, weights
    )
    result = ne.rollout(
        env,
        TargetSpeedPolicy(graphdef, weights),
        jax.random.key(1),
        p,
        num_steps=2000,
        num_envs=10,
        record_obs=True,
    )
    return env, p, space, graphdef, weights, result


def test_gru_fitted_to_a_known_recurrent_policy_reaches_its_heldout_likelihood(teacher_data):
    env, p, space, graphdef, weights, result = teacher_data
    train, val, test = (_demonstration(result, s, p) for s in (slice(0, 6), slice(6, 8), slice(8, 10)))
    ll_teacher = agent_log_likelihood(graphdef, weights, test, space).mean()
    mean, sd = train.actions.mean(axis=0), train.actions.std(axis=0)
    ll_null = (-0.5 * ((test.actions - mean) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))).sum(axis=1).mean()
    assert ll_teacher > ll_null + 0.5, (
        "the teacher must be far more predictable than a Gaussian for the test to bite"
    )
    fitted = fit_agent(
        train,
        env.observation_space(p),
        space,
        agent_config=AgentConfig(core=CoreConfig(kind="gru", hidden_size=32), squash="clip", init_std=0.2),
        config=CloningConfig(learning_rate=3e-3, batch_size=16, window=64, burn_in=8),
        num_updates=1500,
        key=jax.random.key(0),
        num_seeds=2,
        dt=float(p.dt),
        validation=val,
    )
    ll_student = agent_log_likelihood(fitted.graphdef, fitted.seed_weights(fitted.best), test, space).mean()
    # Within 0.15 nats per step of the teacher (the gap a finite sample and 600 updates leave), and most of
    # the way from the null model to the teacher.
    assert ll_student > ll_teacher - 0.15, (ll_student, ll_teacher, ll_null)
    assert (ll_student - ll_null) > 0.85 * (ll_teacher - ll_null)
    assert fitted.validation_ll.shape == (len(fitted.train_nll), 2)


def test_targets_round_trip_and_jacobian():

    _, p = ne.make("neuroethology/OpenField-v0")
    rng = np.random.default_rng(0)
    n = 200
    speed = rng.uniform(0, 0.8, n)
    actions = np.stack([rng.normal(0, 3, n), rng.normal(0, 5, n)], axis=1)
    states = ne.OpenField().reset(jax.random.key(0), p)[1]
    states = jax.tree.map(lambda x: np.broadcast_to(np.asarray(x), (n, *np.shape(x))).copy(), states)
    states = states.replace(speed=speed)
    demo = Demonstration(
        np.zeros((n, 1)),
        actions,
        states,
        np.zeros((n, 2)),
        np.zeros(n, bool),
        np.zeros(n, int),
        np.zeros(n),
        np.ones(n, bool),
    )
    for warp in (Warp(0.02, 2.0), Warp(0.0, 2.0), Warp(0.0, 0.0)):
        _check_round_trip(demo, p, warp, speed, actions)


def _check_round_trip(demo, p, warp, speed, actions):
    from neuroethology.fitting.targets import from_targets, target_log_jacobian

    z = to_targets(demo, p, warp).actions
    next_speed, omega = from_targets(z, warp, xp=np)
    accel = np.clip(actions[:, 0], -float(p.max_acceleration), float(p.max_acceleration))  # as the env clips
    np.testing.assert_allclose(
        next_speed, np.clip(speed + accel * float(p.dt), 0, float(p.max_speed)), atol=1e-9
    )
    np.testing.assert_allclose(omega, actions[:, 1], atol=1e-9)
    # log |dz/da| (what turns a density of z into one of the action) by finite differences.
    eps = 1e-6
    bumped = demo._replace(actions=actions + eps)
    dz = (to_targets(bumped, p, warp).actions - z) / eps
    inside = (next_speed > 1e-3) & (np.abs(actions[:, 0]) < float(p.max_acceleration))
    with np.errstate(divide="ignore"):  # d(next speed)/da is 0 where the speed is clipped at 0
        expected = np.log(np.abs(dz[:, 0] * dz[:, 1]))
    np.testing.assert_allclose(
        target_log_jacobian(demo, p, warp)[inside], expected[inside], rtol=1e-4, atol=1e-4
    )


def test_held_steps_score_the_acceleration_alone():
    """Where the heading was held (its angular velocity 0 by construction), a fit is trained and scored on the
    acceleration's marginal: the first component's censored Gaussian, whatever the second action says; where
    it moved, on the joint density, exactly as the head's own log_prob."""
    from scipy.stats import norm

    from neuroethology.agents.heads import BoundedGaussian
    from neuroethology.fitting.behaviour import scored_log_prob

    dist = BoundedGaussian(
        mean=np.array([[0.1, -0.3]], np.float32),
        log_std=np.log(np.array([[0.2, 0.5]], np.float32)),
        low=(-2.0, -4.0),
        high=(2.0, 4.0),
    )
    a = np.array([[0.5, 0.0]], np.float32)
    moved = scored_log_prob(dist, a, np.array([False]))
    np.testing.assert_allclose(moved, dist.log_prob(a), rtol=1e-6)
    held = scored_log_prob(dist, a, np.array([True]))
    # normalised units: (0.5 - 0) / 2 = 0.25 for the first action; its density there over the half range 2
    expected = norm.logpdf(0.25, 0.1, 0.2) - np.log(2.0)
    np.testing.assert_allclose(held, [expected], rtol=1e-5)
    other = scored_log_prob(dist, np.array([[0.5, 3.0]], np.float32), np.array([True]))
    np.testing.assert_allclose(other, held, rtol=0)
