"""``make_train(config) -> train(key)``: pure, jittable, vmappable over seeds and over a hyperparameter;
with a curriculum of environment parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_train

from neuroethology.config import config_from_dict
from neuroethology.training import Hyperparams, TrainConfig, make_ppo

TINY = tiny_train(
    total_steps=256,
    # Episodes of 0.2 s (10 steps) for the first half of training, then the task's 0.4 s (20 steps).
    curriculum=[{"until": 0.5, "params": {"episode_duration": 0.2}}],
)


def _leaves(tree, i=None):
    return [np.asarray(x if i is None else x[i]) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def trained():
    config = config_from_dict(TrainConfig, TINY)
    ppo = make_ppo(config)
    assert ppo.num_updates == 4 and ppo.steps_per_update == 64
    # Seeds and a hyperparameter axis, batched together: runs (seed 0, lr 1e-3), (seed 1, lr 1e-3),
    # (seed 0, lr 0), (seed 1, lr 1e-3).
    lr = jnp.array([1e-3, 1e-3, 0.0, 1e-3], jnp.float32)
    hparams = Hyperparams.from_config(config.ppo)._replace(learning_rate=lr)
    hparams = jax.tree.map(lambda x: jnp.broadcast_to(x, (4,)), hparams)
    keys = jnp.stack([jax.random.key(s) for s in (0, 1, 0, 1)])
    train = jax.jit(jax.vmap(ppo.train))
    first = train(keys, hparams)
    second = train(keys, hparams)
    init = jax.jit(jax.vmap(ppo.init))(keys, hparams)
    return ppo, first, second, init


def test_train_returns_metrics_per_update(trained):
    ppo, (state, metrics), _, _ = trained
    assert metrics["loss"].shape == (4, ppo.num_updates)
    assert np.asarray(metrics["finite"]).all()
    assert np.asarray(state.update).tolist() == [4, 4, 4, 4]
    # 16-step rollouts. Updates 1-2 (curriculum): 10-step episodes end at steps 10 (update 1), 20 and 30
    # (update 2). Updates 3-4 (the task): the episode begun at step 31 ends after 20 steps, at step 50
    # (update 4). All 4 environments alike.
    episodes = np.asarray(metrics["episodes"])
    np.testing.assert_array_equal(episodes, [[4, 8, 0, 4]] * 4)
    np.testing.assert_array_equal(np.asarray(metrics["length_sum"]), [[40, 80, 0, 80]] * 4)
    np.testing.assert_array_equal(np.asarray(metrics["curriculum_stage"]), [[0, 0, 1, 1]] * 4)
    returns = np.asarray(metrics["return_sum"])[:, [0, 1, 3]] / episodes[:, [0, 1, 3]]
    assert np.all((returns > 0) & (returns <= 1.0))  # coverage fractions


def test_vmapped_seeds_are_distinct_and_individually_reproducible(trained):
    _, (state, _), (again, _), _ = trained
    for a, b in zip(_leaves(state.weights), _leaves(again.weights), strict=True):
        np.testing.assert_array_equal(a, b)  # same keys, same results, bit for bit
    seed0, seed1 = _leaves(state.weights, 0), _leaves(state.weights, 1)
    assert max(np.abs(a - b).max() for a, b in zip(seed0, seed1, strict=True)) > 1e-3
    # Run 3 has run 1's seed and settings in another batch position: the same result, so a run depends on
    # its own key alone (and is reproduced by training that seed by itself).
    for a, b in zip(seed1, _leaves(state.weights, 3), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_hyperparameter_axis_is_traced_per_run(trained):
    _, (state, metrics), _, init = trained
    # Run 2 (learning rate 0) keeps its initial weights exactly; run 0 (same seed, 1e-3) moves.
    for trained_w, init_w in zip(_leaves(state.weights, 2), _leaves(init.weights, 2), strict=True):
        np.testing.assert_array_equal(trained_w, init_w)
    assert (
        max(
            np.abs(a - b).max()
            for a, b in zip(_leaves(state.weights, 0), _leaves(init.weights, 0), strict=True)
        )
        > 1e-4
    )
    lr = np.asarray(metrics["learning_rate"])
    np.testing.assert_allclose(lr[0], 1e-3 * (1 - np.arange(4) / 4), rtol=1e-6)  # linear annealing
    np.testing.assert_array_equal(lr[2], 0.0)
