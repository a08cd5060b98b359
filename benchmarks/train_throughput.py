"""PPO training throughput (environment steps per second, rollout and updates included) against a bare-JAX
reference of the same sizes, both measured in this run.

Rows:

* ``PPO GRU-64 (vector obs)``: :func:`neuroethology.training.make_ppo` on OpenField-v0 (coverage reward),
  an MLP encoder (64 units), a 64-unit GRU, 256 environments, rollouts of 128 steps, BPTT chunks of 32,
  4 epochs of 4 minibatches (the library: Flax NNX modules, Optax, the env API).
* ``bare JAX GRU-64``: the same algorithm written directly with ``jax.numpy``/``jax.lax`` on a dict of
  arrays (no Flax, no Optax): the same environment calls, the same encoder/GRU/heads arithmetic, the same
  rollout, GAE, truncated-BPTT sequences, shuffled minibatches, clipped loss, gradient clipping and Adam.
* the same two for the CNN agent on OpenField's image observations (``observe_image=True``: a 32 x 32 x 2
  egocentric image, three 3x3 stride-2 convolutions of 16/32/32 channels and a 64-unit dense layer, plus the
  vector MLP, mixed, into the GRU), with 64 environments. Both compute convolutions as patch extraction
  plus a matrix product: XLA's CPU backend runs a convolution's kernel gradient inside a loop 30-120x
  slower than outside one (see ``neuroethology.agents.PatchConv``).

Each figure is the median over ``--repeats`` timed calls of a jitted function running ``--updates`` updates
(compilation excluded). The target is PPO >= 0.6 x the reference.

    .venv/bin/python benchmarks/train_throughput.py            # both agents
    .venv/bin/python benchmarks/train_throughput.py --quick    # fewer repeats, GRU only
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from neuroethology import envs as ne
from neuroethology.config import config_from_dict
from neuroethology.training import TrainConfig, make_ppo


def ppo_config(image: bool, num_envs: int) -> TrainConfig:
    params = {"reward_type": "coverage", "episode_duration": 5.0}
    if image:
        params["observe_image"] = True
    return config_from_dict(
        TrainConfig,
        {
            "seed": 0,
            "total_steps": 10**9,
            "env": {"id": "neuroethology/OpenField-v0", "params": params},
            "agent": {
                "encoder": {"mlp_features": [64], "cnn_channels": [16, 32, 32], "cnn_features": 64},
                "core": {"kind": "gru", "hidden_size": 64},
            },
            "ppo": {
                "num_envs": num_envs,
                "num_steps": 128,
                "bptt_length": 32,
                "update_epochs": 4,
                "num_minibatches": 4,
                "anneal_lr": False,
            },
        },
    )


# ---------------------------------------------------------------------------------------------------------
# The bare-JAX reference: one PPO update written on plain arrays.
# ---------------------------------------------------------------------------------------------------------


def _orthogonal(key, shape, gain=1.0):
    a = jax.random.normal(key, (max(shape), min(shape)))
    q, r = jnp.linalg.qr(a)
    q = q * jnp.sign(jnp.diag(r))
    return gain * (q if shape[0] >= shape[1] else q.T)[: shape[0], : shape[1]]


def bare_ppo(config: TrainConfig):  # noqa: C901 (one branch per field or format; to be split, issue 16)
    """``(init(key) -> state, run(state, n) -> state)`` for the config's sizes, in plain JAX."""
    cfg = config.ppo
    env, env_params = ne.make(config.env.id, **config.env.params)
    obs_space, act_space = env.observation_space(env_params), env.action_space(env_params)
    image = isinstance(obs_space, __import__("gymnasium").spaces.Dict)
    vec_space = obs_space["vector"] if image else obs_space
    low_v, high_v = np.asarray(vec_space.low), np.asarray(vec_space.high)
    centre_v, half_v = (low_v + high_v) / 2, (high_v - low_v) / 2
    low_a, high_a = np.asarray(act_space.low), np.asarray(act_space.high)
    centre_a, half_a = (low_a + high_a) / 2, (high_a - low_a) / 2
    B, T, L, H = cfg.num_envs, cfg.num_steps, cfg.bptt_length, config.agent.core.hidden_size
    C = T // L
    S = C * B
    M = cfg.num_minibatches
    F = config.agent.encoder.mlp_features[0]
    A = int(np.prod(act_space.shape))
    D = vec_space.shape[0]
    chans = config.agent.encoder.cnn_channels

    def init_params(key):
        ks = iter(jax.random.split(key, 32))
        p = {"w1": _orthogonal(next(ks), (D, F), np.sqrt(2)), "b1": jnp.zeros(F)}
        enc = F
        if image:
            c_in, size = obs_space["image"].shape[-1], obs_space["image"].shape[0]
            for i, c in enumerate(chans):
                p[f"conv{i}"] = _orthogonal(next(ks), (9 * c_in, c), np.sqrt(2)).reshape(3, 3, c_in, c)
                p[f"convb{i}"] = jnp.zeros(c)
                c_in, size = c, -(-size // 2)
            p["wc"] = _orthogonal(
                next(ks), (size * size * c_in, config.agent.encoder.cnn_features), np.sqrt(2)
            )
            p["bc"] = jnp.zeros(config.agent.encoder.cnn_features)
            p["wm"] = _orthogonal(next(ks), (F + config.agent.encoder.cnn_features, F), np.sqrt(2))
            p["bm"] = jnp.zeros(F)
        p.update(
            {
                "wx": jnp.concatenate([_orthogonal(next(ks), (enc, H)) for _ in range(3)], 1),
                "bx": jnp.zeros(3 * H),
                "wh": jnp.concatenate([_orthogonal(next(ks), (H, H)) for _ in range(3)], 1),
                "bh": jnp.zeros(3 * H),
                "wp": _orthogonal(next(ks), (H, A), 0.01),
                "bp": jnp.zeros(A),
                "log_std": jnp.full(A, np.log(0.5)),
                "wv": _orthogonal(next(ks), (H, 1)),
                "bv": jnp.zeros(1),
            }
        )
        return p

    def encode(p, obs):
        vec = obs["vector"] if image else obs
        x = jnp.tanh(((vec - centre_v) / half_v) @ p["w1"] + p["b1"])
        if not image:
            return x
        img = obs["image"] * 2.0 - 1.0
        lead = img.shape[:-3]
        y = img.reshape(-1, *img.shape[-3:])
        for i in range(len(chans)):
            y = jax.lax.conv_general_dilated_patches(
                y, (3, 3), (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
            ) @ p[f"conv{i}"].transpose(2, 0, 1, 3).reshape(-1, p[f"conv{i}"].shape[-1])
            y = jax.nn.relu(y + p[f"convb{i}"])
        y = jax.nn.relu(y.reshape(y.shape[0], -1) @ p["wc"] + p["bc"]).reshape(*lead, -1)
        return jnp.tanh(jnp.concatenate([x, y], -1) @ p["wm"] + p["bm"])

    def gru(p, h, px, start):
        h = jnp.where(start[..., None], 0.0, h)
        ph = h @ p["wh"] + p["bh"]
        r = jax.nn.sigmoid(px[..., :H] + ph[..., :H])
        z = jax.nn.sigmoid(px[..., H : 2 * H] + ph[..., H : 2 * H])
        n = jnp.tanh(px[..., 2 * H :] + r * ph[..., 2 * H :])
        return (1 - z) * n + z * h

    def heads(p, h):
        return h @ p["wp"] + p["bp"], (h @ p["wv"] + p["bv"])[..., 0]

    def logp(p, mean, u):
        z = (u - mean) * jnp.exp(-p["log_std"])
        return jnp.sum(-0.5 * z**2 - p["log_std"] - 0.5 * np.log(2 * np.pi) - np.log(half_a), -1)

    def init(key):
        k1, k2, k3 = jax.random.split(key, 3)
        p = init_params(k1)
        obs, es = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(k2, B), env_params)
        zeros = jax.tree.map(jnp.zeros_like, p)
        return (
            p,
            (zeros, zeros, jnp.zeros((), jnp.int32)),
            es,
            obs,
            jnp.zeros((B, H)),
            jnp.ones(B, bool),
            k3,
        )

    def update(state, _):
        p, adam, es, obs, h, start, key = state
        key, k_roll, k_ep = jax.random.split(key, 3)

        def step(carry, k):
            es, obs, h, start = carry
            k_a, k_e = jax.random.split(k)
            h_in = h
            h = gru(p, h, encode(p, obs) @ p["wx"] + p["bx"], start)
            mean, value = heads(p, h)
            u = mean + jnp.exp(p["log_std"]) * jax.random.normal(k_a, mean.shape)
            action = jnp.clip(centre_a + half_a * u, low_a, high_a)
            nobs, nes, rew, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_e, B), es, action, env_params
            )
            return (nes, nobs, h, term | trunc), (
                obs,
                start,
                h_in,
                u,
                logp(p, mean, u),
                value,
                rew,
                term,
                trunc,
            )

        (es, obs, h, start), traj = jax.lax.scan(step, (es, obs, h, start), jax.random.split(k_roll, T))
        t_obs, t_start, t_h, t_u, t_logp, t_val, t_rew, t_term, t_trunc = traj
        last_val = heads(p, gru(p, h, encode(p, obs) @ p["wx"] + p["bx"], start))[1]
        nxt = jnp.concatenate([t_val[1:], last_val[None]])
        nxt = jnp.where(t_trunc, t_val, nxt)
        delta = t_rew + cfg.gamma * (1.0 - t_term) * nxt - t_val
        cont = 1.0 - (t_term | t_trunc)

        def gae(a, x):
            a = x[0] + cfg.gamma * cfg.gae_lambda * x[1] * a
            return a, a

        _, adv = jax.lax.scan(gae, jnp.zeros(B), (delta, cont), reverse=True)
        ret = adv + t_val

        def seqs(x):
            x = x.reshape(C, L, B, *x.shape[2:])
            return jnp.moveaxis(x, 2, 1).reshape(S, L, *x.shape[3:])

        batch = jax.tree.map(seqs, (t_obs, t_start, t_u, t_logp, t_val, adv, ret))
        h0 = seqs(t_h)[:, 0]

        def loss(p, mb, h0):
            b_obs, b_start, b_u, b_logp, b_val, b_adv, b_ret = jax.tree.map(
                lambda x: jnp.swapaxes(x, 0, 1), mb
            )
            px = encode(p, b_obs) @ p["wx"] + p["bx"]
            _, hs = jax.lax.scan(lambda c, x: (gru(p, c, x[0], x[1]),) * 2, h0, (px, b_start))
            mean, value = heads(p, hs)
            lp = logp(p, mean, b_u)
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
            ratio = jnp.exp(lp - b_logp)
            pl = jnp.maximum(
                -b_adv * ratio, -b_adv * jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps)
            ).mean()
            vl = 0.5 * ((value - b_ret) ** 2).mean()
            ent = jnp.sum(p["log_std"] + 0.5 + 0.5 * np.log(2 * np.pi) + np.log(half_a))
            return pl + cfg.vf_coef * vl - cfg.ent_coef * ent

        grad = jax.grad(loss)

        def epoch(carry, k):
            order = jax.random.permutation(k, S)
            mbs = jax.tree.map(lambda x: x[order].reshape(M, S // M, *x.shape[1:]), (batch, h0))

            def mstep(carry, mb):
                p, (m, v, t) = carry
                g = grad(p, *mb)
                norm = jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(g)))
                g = jax.tree.map(lambda x: x * jnp.minimum(1.0, cfg.max_grad_norm / norm), g)
                t = t + 1
                m = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
                v = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
                c1, c2 = 1 - 0.9**t, 1 - 0.999**t
                p = jax.tree.map(
                    lambda x, a, b: x - cfg.learning_rate * (a / c1) / (jnp.sqrt(b / c2) + cfg.adam_eps),
                    p,
                    m,
                    v,
                )
                return (p, (m, v, t)), None

            return jax.lax.scan(mstep, carry, mbs)[0], None

        p, adam = jax.lax.scan(epoch, (p, adam), jax.random.split(k_ep, cfg.update_epochs))[0]
        return (p, adam, es, obs, h, start, key), None

    def run(state, n):
        return jax.lax.scan(update, state, None, length=n)[0]

    return init, run


# ---------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------


def timed(run, state) -> float:
    t0 = time.perf_counter()
    jax.block_until_ready(run(state))
    return time.perf_counter() - t0


def measure(image: bool, num_envs: int, updates: int, repeats: int) -> tuple[float, float]:
    """Median env-steps/s of the library's PPO and of the bare reference, timed alternately (so that load
    from other processes affects both alike), compilation excluded."""
    config = ppo_config(image, num_envs)
    ppo = make_ppo(config)
    ppo_state = jax.jit(ppo.init)(jax.random.key(0))
    ppo_run = jax.jit(lambda s: jax.lax.scan(lambda c, _: ppo.update(c), s, None, length=updates)[0])
    init, bare_run = bare_ppo(config)
    bare_state = jax.jit(init)(jax.random.key(0))
    bare = jax.jit(lambda s: bare_run(s, updates))
    jax.block_until_ready(ppo_run(ppo_state))  # compile both
    jax.block_until_ready(bare(bare_state))
    steps = updates * ppo.steps_per_update
    ppo_times, bare_times = [], []
    for _ in range(repeats):
        ppo_times.append(timed(ppo_run, ppo_state))
        bare_times.append(timed(bare, bare_state))
    return steps / statistics.median(ppo_times), steps / statistics.median(bare_times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row; the median is shown")
    parser.add_argument("--updates", type=int, default=3, help="PPO updates per timed run")
    parser.add_argument("--quick", action="store_true", help="3 repeats, GRU agent only")
    parser.add_argument("--cnn-updates", type=int, default=1, help="updates per timed run for the CNN agent")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    rows = [("GRU-64, vector obs", False, 256, args.updates)]
    if not args.quick:
        rows.append(("CNN + GRU-64, image obs", True, 64, args.cnn_updates))
    print(
        f"JAX {jax.__version__} on {jax.devices()[0].platform.upper()} ({jax.device_count()} device(s)); "
        f"OpenField-v0, rollouts of 128 steps, BPTT 32, 4 epochs x 4 minibatches; median of {repeats} timed "
        "runs after compilation (rollouts and updates included)\n",
        flush=True,
    )
    print("| agent | envs | PPO (neuroethology) steps/s | bare JAX steps/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, image, envs, updates in rows:
        ppo_sps, bare_sps = measure(image, envs, updates, repeats)
        print(
            f"| {name} | {envs} | {ppo_sps:,.0f} | {bare_sps:,.0f} | {ppo_sps / bare_sps:.2f} |", flush=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
