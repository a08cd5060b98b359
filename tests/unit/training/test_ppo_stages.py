"""PPO's stages one at a time: rollout (shapes, episode bookkeeping, the prior's state), advantages, the
training sequences, the minibatch loss (against ``ppo_loss``) and one update; and that an animal prior must be
built outside training and passed in."""

from __future__ import annotations

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from neuroethology.config import config_from_dict
from neuroethology.training import TrainConfig, compute_gae, make_ppo, ppo_loss
from neuroethology.training.ppo import (
    OptimiserCarry,
    collect,
    make_batch,
    minibatch_loss,
    optimise,
    rollout_advantages,
)
from neuroethology.training.ppo_rollout import RolloutCarry, rollout
from neuroethology.training.run import train_run

# 0.2 s episodes at dt = 0.02 s: every environment's first episode ends (truncated) at step index 9.
SMALL = {
    "total_steps": 128,
    "env": {"params": {"reward_type": "coverage", "episode_duration": 0.2}},
    "agent": {"encoder": {"mlp_features": [8]}, "core": {"kind": "gru", "hidden_size": 8}},
    "ppo": {"num_envs": 4, "num_steps": 16, "bptt_length": 8, "num_minibatches": 2, "update_epochs": 2},
}


def small(**sections) -> TrainConfig:
    data = json.loads(json.dumps(SMALL))
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return config_from_dict(TrainConfig, data)


@pytest.fixture(scope="module")
def collected():
    ppo = make_ppo(small())
    rs = jax.jit(ppo.init)(jax.random.key(0))
    after, result = jax.jit(functools.partial(collect, ppo.setup))(rs, jax.random.key(1))
    return ppo, rs, after, result


def test_rollout_shapes(collected):
    ppo, rs, _, result = collected
    traj, state_size = result.traj, rs.core_state.shape[-1]
    assert traj.reward.shape == traj.value.shape == traj.log_prob.shape == (16, 4)
    assert traj.core_state.shape == (16, 4, state_size) and traj.noise.shape == (16, 4, 0)
    assert traj.raw_action.shape == (16, 4, 2)  # OpenField: (acceleration, angular velocity)
    for leaf, first in zip(jax.tree.leaves(traj.obs), jax.tree.leaves(rs.obs), strict=True):
        assert leaf.shape == (16, *first.shape)
    assert result.last_value.shape == (4,) and result.ended.count.shape == (16,)
    np.testing.assert_array_equal(np.asarray(result.prior_log_prob), np.zeros((16, 4)))  # no prior


def test_rollout_counts_ended_episodes_and_resets_the_carry(collected):
    _, rs, after, result = collected
    traj = result.traj
    done = np.asarray(traj.terminated | traj.truncated)
    reward = np.asarray(traj.reward)
    assert done[9].all() and done.sum() == 4
    assert np.asarray(traj.start)[[0, 10]].all() and not np.asarray(traj.start)[1:10].any()
    np.testing.assert_array_equal(np.asarray(result.ended.count), np.where(np.arange(16) == 9, 4, 0))
    np.testing.assert_allclose(float(result.ended.return_sum[9]), reward[:10].sum(), rtol=1e-5)
    assert int(result.ended.length_sum[9]) == 40
    # The carry's running episodes restarted at step 10: 6 steps, the rewards since.
    np.testing.assert_array_equal(np.asarray(after.episode_length), [6, 6, 6, 6])
    np.testing.assert_allclose(
        np.asarray(after.episode_return), reward[10:].sum(axis=0), rtol=1e-5, atol=1e-7
    )
    assert not np.asarray(after.start).any() and int(after.update) == int(rs.update)


class StepCounter:
    """A stand-in prior: log p = steps since the episode began (its state), reset where an episode starts."""

    state_size = 1

    def log_prob(self, carry, obs, start, env_state, action, env_params):
        carry = jnp.where(start[:, None], 0.0, carry)
        return carry[:, 0], carry + 1.0


def test_rollout_carries_and_resets_the_prior_state(collected):
    ppo, rs, _, _ = collected
    setup = ppo.setup
    agent = nnx.merge(setup.graphdef, rs.weights)
    carry = RolloutCarry(
        rs.env_state,
        rs.obs,
        rs.core_state,
        rs.start,
        rs.episode_return,
        rs.episode_length,
        jnp.full((4, 1), 7.0),
    )
    run = jax.jit(
        lambda c, k: rollout(agent, setup.env, setup.env_params, c, k, num_steps=16, prior=StepCounter())
    )
    end, result = run(carry, jax.random.key(1))
    expected = np.concatenate([np.arange(10), np.arange(6)]).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(result.prior_log_prob), np.repeat(expected[:, None], 4, axis=1))
    np.testing.assert_array_equal(np.asarray(end.prior_state), np.full((4, 1), 6.0))


def test_advantages_bootstrap_truncations_and_add_the_prior(collected):
    ppo, rs, _, result = collected
    traj, hp = result.traj, rs.hparams
    advantages, returns = rollout_advantages(ppo.setup.config, hp, result)
    next_values = jnp.concatenate([traj.value[1:], result.last_value[None]])
    next_values = next_values.at[9].set(traj.value[9])  # the time limit: V(s_t) stands in for V(s_{t+1})
    ends = traj.terminated | traj.truncated
    ref = compute_gae(
        traj.reward, traj.value, next_values, traj.terminated, ends, gamma=0.99, gae_lambda=0.95
    )
    np.testing.assert_allclose(np.asarray(advantages), np.asarray(ref[0]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(returns), np.asarray(ref[1]), rtol=1e-6, atol=1e-7)
    shifted = result._replace(prior_log_prob=jnp.ones((16, 4)))
    plus, _ = rollout_advantages(ppo.setup.config, hp, shifted, prior_weight=0.5)
    ref_plus, _ = compute_gae(
        traj.reward + 0.5, traj.value, next_values, traj.terminated, ends, gamma=0.99, gae_lambda=0.95
    )
    np.testing.assert_allclose(np.asarray(plus), np.asarray(ref_plus), rtol=1e-6, atol=1e-6)


def test_batch_cuts_sequences_that_start_from_stored_states(collected):
    ppo, rs, _, result = collected
    traj = result.traj
    advantages, returns = rollout_advantages(ppo.setup.config, rs.hparams, result)
    batch = make_batch(ppo.setup.config, traj, advantages, returns)
    assert batch.sequences.value.shape == (8, 8) and batch.init_state.shape == (8, rs.core_state.shape[-1])
    for chunk in range(2):
        for env in range(4):
            s = chunk * 4 + env
            steps = slice(chunk * 8, (chunk + 1) * 8)
            np.testing.assert_array_equal(
                np.asarray(batch.sequences.value[s]), np.asarray(traj.value[steps, env])
            )
            np.testing.assert_array_equal(
                np.asarray(batch.sequences.advantages[s]), np.asarray(advantages[steps, env])
            )
            np.testing.assert_array_equal(
                np.asarray(batch.init_state[s]), np.asarray(traj.core_state[chunk * 8, env])
            )


def test_minibatch_loss_at_the_rollout_weights_is_ppo_loss_with_ratio_one(collected):
    """Re-running the rollout's own agent over the sequences gives back its log-probabilities and values, so
    the loss is ``ppo_loss`` with ``log_prob = old_log_prob``: no clipping, no KL."""
    ppo, rs, _, result = collected
    config = ppo.setup.config
    advantages, returns = rollout_advantages(config, rs.hparams, result)
    batch = make_batch(config, result.traj, advantages, returns)
    loss, info = minibatch_loss(rs.weights, batch, rs.hparams, graphdef=ppo.graphdef, config=config)
    seq = batch.sequences
    expected, ref = ppo_loss(
        seq.log_prob,
        seq.log_prob,
        seq.advantages,
        seq.value,
        seq.value,
        seq.returns,
        jnp.zeros_like(seq.value),
        clip_eps=0.2,
        vf_coef=0.5,
        ent_coef=0.0,
    )
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(float(info.value_loss), float(ref.value_loss), rtol=1e-4, atol=1e-7)
    assert abs(float(info.approx_kl)) < 1e-6 and float(info.clip_fraction) == 0.0
    assert float(info.entropy) > 0


def test_one_update_changes_the_weights_and_keeps_every_shape(collected):
    ppo, rs, _, _ = collected
    step = jax.jit(ppo.update)
    new, metrics = step(rs)
    assert jax.tree.structure(new) == jax.tree.structure(rs)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(rs), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
    moved = [
        np.abs(np.asarray(a) - np.asarray(b)).max()
        for a, b in zip(jax.tree.leaves(new.weights), jax.tree.leaves(rs.weights), strict=True)
    ]
    assert max(moved) > 1e-5
    assert int(new.update) == 1 and not np.array_equal(np.asarray(new.key), np.asarray(rs.key))
    assert all(np.shape(v) == () for v in metrics.values()) and bool(metrics["finite"])
    # A zero step size (traced: the same compiled update) leaves the weights exactly as they were.
    frozen, _ = step(rs._replace(hparams=rs.hparams._replace(learning_rate=jnp.float32(0.0))))
    for a, b in zip(jax.tree.leaves(frozen.weights), jax.tree.leaves(rs.weights), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_optimise_takes_a_step_per_minibatch_and_epoch(collected):
    ppo, rs, _, result = collected
    config = ppo.setup.config
    advantages, returns = rollout_advantages(config, rs.hparams, result)
    batch = make_batch(config, result.traj, advantages, returns)
    carry, stats = optimise(
        ppo.setup, OptimiserCarry(rs.weights, rs.opt_state), batch, rs.hparams, 1e-3, jax.random.key(2)
    )
    assert stats.loss.shape == stats.grad_norm.shape == stats.info.approx_kl.shape == (2, 2)
    assert np.isfinite(np.asarray(stats.loss)).all() and (np.asarray(stats.grad_norm) > 0).all()
    assert jax.tree.structure(carry.weights) == jax.tree.structure(rs.weights)


def test_a_prior_weight_needs_a_prior_built_outside_training(tmp_path):
    (tmp_path / "fit").mkdir()
    (tmp_path / "fit" / "model.json").write_text("{}")
    config = small(prior={"run": str(tmp_path / "fit"), "weight": 1.0})
    with pytest.raises(ValueError, match=r"neuroethology\.priors\.load_animal_prior"):
        make_ppo(config)
    with pytest.raises(ValueError, match=r"train_run\(config, run_dir, prior=prior\)"):
        train_run(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written
    with pytest.raises(ValueError, match="prior.weight is 0"):
        make_ppo(small(), prior=StepCounter())
