"""fit_recording -> save -> load -> simulate on a recording simulated from known random-motion parameters;
the fitted model as an animal prior in PPO ("task plus data")."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import random_motion_positions

import neuroethology.envs as ne
from neuroethology.config import config_from_dict
from neuroethology.data import from_arrays
from neuroethology.fitting import FitConfig, agent_log_likelihood, fit_recording, load_fitted, simulate
from neuroethology.fitting.pipeline import closed_loop_check
from neuroethology.fitting.targets import target_log_jacobian, target_space, to_targets

TINY = dict(
    total_steps=100,
    num_seeds=2,
    hidden_size=16,
    window=64,
    burn_in=8,
    batch_size=8,
    selection_runs=2,
    transfer_arenas=(),
    report_metrics=False,  # (tests/unit/fitting/test_report.py has the report)
)


def _recording(seconds: float = 240.0, seed: int = 0):
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    steps = int(seconds / float(p.dt))
    xy = random_motion_positions(env, ne.policies.RandomMotion(), jax.random.key(seed), p, steps)
    xy = xy[:, :, None, None]  # (time, space, keypoint, individual)
    return from_arrays(
        xy,
        fps=1 / float(p.dt),
        arena={"shape": "box", "width": 1.0, "height": 1.0},
        attrs={"source_file": "simulated.npz"},
    )


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "run"
    rec = _recording()
    result = fit_recording(rec, FitConfig(**TINY), out=out, say=lambda m: None)
    return rec, result, out


def test_fit_writes_a_complete_run(fitted_run):
    rec, result, out = fitted_run
    for name in ("config.yaml", "model.json", "metrics.jsonl", "manifest.json", "checkpoints/selected"):
        assert (out / name).exists(), name
    info = json.loads((out / "model.json").read_text())
    scores = info["scores"]
    assert scores["test_steps"] > 0.9 * 0.2 * rec.sizes["time"]
    # The data come from the baseline's own model: its fit must beat the Gaussian null model clearly.
    assert scores["baseline"]["log_likelihood_per_step"] > scores["null"]["log_likelihood_per_step"] + 0.5
    assert np.isfinite(scores["network"]["log_likelihood_per_step"])
    assert len(scores["closed_loop_check_on_training_data"]) == TINY["num_seeds"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and len(rows[0]["train_nll"]) == TINY["num_seeds"]
    with pytest.raises(FileExistsError, match="not empty"):
        fit_recording(rec, FitConfig(**TINY), out=out, say=lambda m: None)


def test_loaded_model_is_the_fitted_model(fitted_run):
    rec, result, out = fitted_run
    model = load_fitted(out)
    assert model.kind == "gru" and model.warp == result.model.warp
    for a, b in zip(jax.tree.leaves(model.weights), jax.tree.leaves(result.model.weights), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert model.baseline == result.model.baseline


def test_simulate_writes_a_recording_in_any_arena(fitted_run):
    _, _, out = fitted_run
    model = load_fitted(out)
    sim = simulate(model, duration=4.0, key=jax.random.key(0), num_runs=3)
    assert sim.sizes["individual"] == 3 and sim.sizes["time"] == 200
    xy = sim["position"].values
    assert np.all((xy >= 0) & (xy <= 1.0))
    assert sim["hidden"].sizes["unit"] == 16 and np.isfinite(sim["hidden"].values).all()
    circle = simulate(model, duration=4.0, key=jax.random.key(1), arena={"shape": "circle", "radius": 0.3})
    centre = circle["position"].values - 0.3
    assert np.all(np.hypot(centre[:, 0], centre[:, 1]) <= 0.3 + 1e-5)
    baseline = simulate(model._replace(kind="ou"), duration=4.0, key=jax.random.key(2))
    assert "hidden" not in baseline
    with pytest.raises(ValueError, match="duration"):
        simulate(model, duration=0.0, key=jax.random.key(0))


def test_closed_loop_check_tells_the_true_model_from_a_wrong_one():
    """The baseline fitted to data from the random-motion model reproduces the true model's statistics (a long
    reference of many simulated animals, so that sampling noise is small); a model with half the speed does not."""
    from neuroethology.envs.policies import RandomMotionParams

    rec = _recording(seconds=300.0, seed=3)
    # Simulated positions carry no tracking jitter: no smoothing (it would shrink the turning the fit sees).
    config = FitConfig(model="ou", smoothing=0.0, transfer_arenas=(), report_metrics=False)
    fitted = fit_recording(rec, config, say=lambda m: None).model
    truth = fitted._replace(baseline=RandomMotionParams())
    reference = simulate(truth, duration=300.0, key=jax.random.key(9), num_runs=8)
    ks = closed_loop_check(fitted, reference, runs=8, key=jax.random.key(0))
    assert set(ks) == {"speed", "turning_rate", "wall_distance"}
    assert max(ks.values()) < 0.06, ks
    slow = fitted._replace(baseline=RandomMotionParams(speed_mean=0.04))
    assert closed_loop_check(slow, reference, runs=8, key=jax.random.key(0))["speed"] > 0.2


def test_cross_validation_over_time_blocks():
    rec = _recording(seconds=60.0, seed=4)
    config = FitConfig(model="ou", folds=2, transfer_arenas=(), report_metrics=False)
    result = fit_recording(rec, config, say=lambda m: None)
    cv = result.scores["cross_validation"]
    assert len(cv["folds"]) == 2
    assert cv["baseline"]["log_likelihood_per_step_mean"] > cv["null"]["log_likelihood_per_step_mean"]


def test_fit_rejects_bad_configs_and_recordings():
    rec = _recording(seconds=20.0)
    with pytest.raises(ValueError, match="holdout_fraction"):
        fit_recording(rec, FitConfig(model="ou", holdout_fraction=1.5), say=lambda m: None)
    with pytest.raises(ValueError, match="model must be one of"):
        fit_recording(rec, FitConfig(model="transformer"), say=lambda m: None)
    two = from_arrays(
        np.zeros((100, 2, 1, 2)) + 0.5, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0}
    )
    with pytest.raises(ValueError, match="2 individuals"):
        fit_recording(two, FitConfig(model="ou"), say=lambda m: None)


def test_prior_log_prob_matches_the_fitted_likelihood(fitted_run):
    """The animal prior used in PPO scores actions exactly as the fit's held-out likelihood does."""
    _, _, out = fitted_run
    model = load_fitted(out)
    env, p = ne.OpenField(), model.env_params.replace(episode_duration=1000.0)
    policy = model.policy()
    result = ne.rollout(env, policy, jax.random.key(5), p, num_steps=300, record_obs=True)

    def step(carry, xs):
        obs, state, action, start = xs
        batch = lambda x: x[None]  # noqa: E731
        logp, carry = policy.log_prob(
            carry, batch(obs), batch(start), jax.tree.map(batch, state), batch(action), p
        )
        return carry, logp[0]

    starts = jnp.zeros(300, bool).at[0].set(True)
    _, logp = jax.lax.scan(
        step, jnp.zeros((1, policy.state_size)), (result.observations, result.states, result.actions, starts)
    )
    from neuroethology.fitting import Demonstration

    demo = Demonstration(
        np.asarray(result.observations),
        np.asarray(result.actions, float),
        result.states,
        np.zeros((300, 2)),
        np.asarray(starts),
        np.zeros(300, int),
        np.zeros(300),
        np.ones(300, bool),
    )
    expected = agent_log_likelihood(
        model.graphdef, model.weights, to_targets(demo, p, model.warp), target_space(p, model.warp)
    ) + target_log_jacobian(demo, p, model.warp)
    np.testing.assert_allclose(np.asarray(logp), expected, rtol=1e-4, atol=1e-3)


def test_ppo_with_an_animal_prior(fitted_run):
    """With a prior weight and no task reward, PPO moves the policy towards the fitted animal model. The
    prior is built outside training (neuroethology.priors) and passed in."""
    from neuroethology.priors import load_animal_prior
    from neuroethology.training import TrainConfig, make_ppo

    _, _, out = fitted_run
    config = config_from_dict(
        TrainConfig,
        {
            "total_steps": 60 * 8 * 32,
            "env": {"params": {"episode_duration": 5.0}},
            "agent": {"encoder": {"mlp_features": [16]}, "core": {"kind": "gru", "hidden_size": 16}},
            "ppo": {
                "num_envs": 8,
                "num_steps": 32,
                "bptt_length": 16,
                "num_minibatches": 2,
                "update_epochs": 2,
                "learning_rate": 3e-3,
                "ent_coef": 0.0,
            },
            "prior": {"run": str(out), "weight": 1.0},
        },
    )
    with pytest.raises(ValueError, match="load_animal_prior"):
        make_ppo(config)  # training loads no fitted run itself
    ppo = make_ppo(config, prior=load_animal_prior(config))
    _, metrics = jax.jit(ppo.train)(jax.random.key(0))
    prior = np.asarray(metrics["prior_log_prob"])
    assert np.isfinite(prior).all()
    assert prior[-10:].mean() > prior[:10].mean() + 0.5, prior
    assert float(np.asarray(metrics["reward_mean"]).max()) == 0.0  # the task pays nothing here
    bad = config_from_dict(
        TrainConfig, {"prior": {"run": str(out), "weight": 1.0}, "env": {"params": {"n_rays": 5}}}
    )
    with pytest.raises(ValueError, match="n_rays"):
        load_animal_prior(bad)
    one = config_from_dict(TrainConfig, {"prior": {"run": str(out), "weight": 1.0, "animal": "rat"}})
    with pytest.raises(ValueError, match="a model of one animal; prior.animal='rat' does not apply"):
        load_animal_prior(one)
    assert load_animal_prior(TrainConfig()) is None  # no prior.weight, no prior
    from neuroethology.config import ConfigError

    with pytest.raises(ConfigError, match="prior.run"):
        config_from_dict(TrainConfig, {"prior": {"weight": 1.0}})


def test_shipped_fit_config_is_the_default_and_the_prior_config_loads(fitted_run):
    from pathlib import Path

    from neuroethology.config import load_config
    from neuroethology.training import TrainConfig

    configs = Path(__file__).resolve().parents[3] / "configs"
    assert load_config(configs / "fit_open_field.yaml", schema=FitConfig) == FitConfig()
    _, _, out = fitted_run
    config = load_config(configs / "open_field_animal_prior.yaml", [f"prior.run={out}"], schema=TrainConfig)
    assert config.prior.weight > 0 and config.env.params["reward_type"] == "coverage"


@pytest.mark.parametrize(
    "overrides",
    # The pipeline treats every core alike (cores are tested in tests/unit/agents); the leaky RNN adds private
    # noise to simulate, the image option a CNN and Dict observations to reconstruct.
    [{"model": "rnn"}, {"model": "gru", "image": True, "env_params": {"image_size": 16}}],
    ids=["leaky_rnn", "gru_cnn_image"],
)
def test_every_network_kind_fits_saves_loads_and_simulates(tmp_path, overrides):
    rec = _recording(seconds=60.0, seed=5)
    config = FitConfig(**{**TINY, "num_seeds": 1, "total_steps": 50, "select": "likelihood", **overrides})
    result = fit_recording(rec, config, out=tmp_path / "run", say=lambda m: None)
    assert np.isfinite(result.scores["network"]["log_likelihood_per_step"])
    model = load_fitted(tmp_path / "run")
    assert model.kind == config.model and bool(model.env_params.observe_image) == config.image
    sim = simulate(model, duration=1.0, key=jax.random.key(0))
    assert np.isfinite(sim["position"].values).all()
