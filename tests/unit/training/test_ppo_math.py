"""GAE and the PPO loss against plain NumPy references on fixed inputs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from neuroethology.training import compute_gae, ppo_loss


def gae_numpy(rewards, values, next_values, terminated, ends, gamma, lam):
    """Textbook GAE, one environment at a time, backwards loop (Schulman et al. 2016)."""
    T, B = rewards.shape
    adv = np.zeros((T, B))
    for b in range(B):
        running = 0.0
        for t in reversed(range(T)):
            delta = rewards[t, b] + gamma * (0.0 if terminated[t, b] else next_values[t, b]) - values[t, b]
            running = delta + gamma * lam * (0.0 if ends[t, b] else running)
            adv[t, b] = running
    return adv, adv + values


def test_gae_matches_numpy_with_terminations_and_truncations(rng):
    T, B = 17, 4
    rewards, values, next_values = rng.normal(size=(T, B)), rng.normal(size=(T, B)), rng.normal(size=(T, B))
    terminated = rng.uniform(size=(T, B)) < 0.1
    truncated = (rng.uniform(size=(T, B)) < 0.1) & ~terminated
    ends = terminated | truncated
    adv, ret = compute_gae(
        jnp.asarray(rewards),
        jnp.asarray(values),
        jnp.asarray(next_values),
        jnp.asarray(terminated),
        jnp.asarray(ends),
        gamma=0.97,
        gae_lambda=0.9,
    )
    ref_adv, ref_ret = gae_numpy(rewards, values, next_values, terminated, ends, 0.97, 0.9)
    np.testing.assert_allclose(np.asarray(adv), ref_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ret), ref_ret, rtol=1e-5, atol=1e-5)


def test_gae_special_cases():
    # lambda = 0: one-step TD errors; lambda = 1, gamma = 1, no ends: reward-to-go minus value.
    r = np.array([[1.0], [2.0], [3.0]])
    v = np.array([[0.5], [0.2], [0.1]])
    nv = np.array([[0.2], [0.1], [4.0]])
    no = np.zeros((3, 1), bool)
    adv, _ = compute_gae(r, v, nv, no, no, gamma=0.9, gae_lambda=0.0)
    np.testing.assert_allclose(np.asarray(adv), r + 0.9 * nv - v, rtol=1e-6)
    adv, ret = compute_gae(r, v, nv, no, no, gamma=1.0, gae_lambda=1.0)
    np.testing.assert_allclose(np.asarray(ret)[:, 0], [1 + 2 + 3 + 4.0, 2 + 3 + 4.0, 3 + 4.0], rtol=1e-6)
    with pytest.raises(ValueError, match="shapes differ"):
        compute_gae(r, v, nv[:2], no, no, gamma=0.9, gae_lambda=0.9)


def ppo_loss_numpy(logp, old_logp, adv, values, old_values, returns, entropy, eps, vf, ent, clip_value, norm):
    if norm:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = np.exp(logp - old_logp)
    policy = np.mean(np.maximum(-adv * ratio, -adv * np.clip(ratio, 1 - eps, 1 + eps)))
    err = (values - returns) ** 2
    if clip_value:
        err = np.maximum(err, (old_values + np.clip(values - old_values, -eps, eps) - returns) ** 2)
    value = 0.5 * err.mean()
    total = policy + vf * value - ent * entropy.mean()
    kl = np.mean(ratio - 1 - (logp - old_logp))
    clipped = np.mean(np.abs(ratio - 1) > eps)
    return total, policy, value, kl, clipped


@pytest.mark.parametrize("clip_value", [False, True])
@pytest.mark.parametrize("normalize", [False, True])
def test_ppo_loss_matches_numpy(rng, clip_value, normalize):
    shape = (6, 5)
    old = rng.normal(size=shape)
    logp = old + rng.normal(scale=0.3, size=shape)  # ratios spread beyond the clip range
    adv, values, old_values, returns = (rng.normal(size=shape) for _ in range(4))
    entropy = rng.uniform(0.5, 2.0, size=shape)
    total, info = ppo_loss(
        *(jnp.asarray(x, jnp.float32) for x in (logp, old, adv, values, old_values, returns, entropy)),
        clip_eps=0.2,
        vf_coef=0.5,
        ent_coef=0.01,
        clip_value_loss=clip_value,
        normalize_advantages=normalize,
    )
    ref = ppo_loss_numpy(
        logp, old, adv, values, old_values, returns, entropy, 0.2, 0.5, 0.01, clip_value, normalize
    )
    got = (total, info.policy_loss, info.value_loss, info.approx_kl, info.clip_fraction)
    np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(ref), rtol=2e-5, atol=1e-6)
    assert 0 < float(info.clip_fraction) < 1


def test_ppo_loss_at_ratio_one_is_minus_the_mean_advantage(rng):
    adv = rng.normal(size=10)
    z = np.zeros(10)
    total, info = ppo_loss(
        z, z, adv, z, z, z, z, clip_eps=0.2, vf_coef=0.5, ent_coef=0.0, normalize_advantages=False
    )
    assert float(info.policy_loss) == pytest.approx(-adv.mean(), rel=1e-5)
    assert float(info.approx_kl) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="advantages has shape"):
        ppo_loss(z, z, adv[:3], z, z, z, z, clip_eps=0.2, vf_coef=0.5, ent_coef=0.0)
