"""compare_movement_states: two groups' movement HMMs side by side, decoded with the reference's states, and
cross-likelihoods; checked on tracks simulated from known two-state models."""

from __future__ import annotations

import numpy as np
import pytest

import neuroethology.analysis as na
from neuroethology.analysis.fixes import compute_fix_steps
from neuroethology.data import from_arrays

STEP_MEAN, STEP_SD = np.array([0.05, 0.5]), np.array([0.04, 0.2])  # m: encamped, travelling
KAPPA, MU = np.array([0.5, 8.0]), np.array([np.pi, 0.0])


def two_state_track(rng, n, p_stay, *, fps=1.0, name="a"):
    """A Recording whose steps follow a two-state HMM with ``p_stay`` on the diagonal; the true states."""
    z = np.empty(n, np.int64)
    z[0] = rng.integers(2)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.random() < p_stay else 1 - z[t - 1]
    shape = (STEP_MEAN / STEP_SD) ** 2
    length = rng.gamma(shape[z], (STEP_SD**2 / STEP_MEAN)[z])
    heading = np.cumsum(rng.vonmises(MU[z], KAPPA[z]))
    xy = np.cumsum(np.r_[[[0.0, 0.0]], length[:, None] * np.c_[np.cos(heading), np.sin(heading)]], axis=0)
    xy -= xy.min(0) - 1.0
    width, height = xy.max(0) + 1.0
    arena = {"shape": "box", "width": float(width), "height": float(height)}
    return from_arrays(xy, fps=fps, arena=arena, individual_names=[name]), z


def test_the_likelihood_of_the_fitted_steps_is_the_fit_s_own():
    rec, _ = two_state_track(np.random.default_rng(0), 2000, 0.9)
    steps = compute_fix_steps(rec)
    model = na.fit_movement_hmm(steps, n_restarts=2)
    assert na.steps_log_likelihood(model, steps) == pytest.approx(model.log_likelihood, rel=1e-5)


def test_stickier_switching_is_found_in_the_agents_bouts_and_likelihoods():
    rng = np.random.default_rng(1)
    animal = [two_state_track(rng, 2500, 0.9, name=f"rat{i}")[0] for i in range(2)]
    agent = [two_state_track(rng, 2500, 0.97, name=f"gru{i}")[0] for i in range(2)]
    twin = [two_state_track(rng, 2500, 0.9, name=f"twin{i}")[0] for i in range(2)]
    out = na.compare_movement_states(agent, animal, labels=("agent", "animal"), n_restarts=4)
    assert out.attrs["reference"] == "animal" and int(out["n_steps"].sel(group="animal")) == 2 * 2500
    # Own fits recover each group's emissions and stickiness (about 2,500 steps per state: s.e. ~0.01).
    np.testing.assert_allclose(out["p_stay"].sel(group="animal"), 0.9, atol=0.025)
    np.testing.assert_allclose(out["p_stay"].sel(group="agent"), 0.97, atol=0.015)
    np.testing.assert_allclose(out["step_mean"], np.tile(STEP_MEAN, (2, 1)), rtol=0.08)
    # Decoded with the animal's states, the agent's bouts are about three times longer (1 / (1 - p)).
    dwell = out["mean_dwell_steps"]
    assert float(dwell.sel(group="animal").mean()) == pytest.approx(10, rel=0.2)
    assert float(dwell.sel(group="agent").mean()) == pytest.approx(33, rel=0.25)
    np.testing.assert_allclose(out["mean_dwell_time"], dwell * 1.0)  # 1 Hz
    bits = out["bits_per_step"]
    # The animal's model explains the agent less well than the agent's own model does; each own model is
    # the ceiling for its own group.
    assert float(bits.sel(group="agent", model="animal")) < float(bits.sel(group="agent", model="agent"))
    assert float(bits.sel(group="animal", model="agent")) < float(bits.sel(group="animal", model="animal"))
    # A twin of the animal (same model, other draws) loses almost nothing under the animal's model.
    same = na.compare_movement_states(twin, animal, labels=("twin", "animal"), n_restarts=4)
    gap = float(
        same["bits_per_step"].sel(group="twin", model="twin")
        - same["bits_per_step"].sel(group="twin", model="animal")
    )
    agent_gap = float(bits.sel(group="agent", model="agent") - bits.sel(group="agent", model="animal"))
    assert 0 <= gap < 0.01 < agent_gap
    np.testing.assert_allclose(
        same["fraction_of_time"].sel(group="twin"), same["fraction_of_time"].sel(group="animal"), atol=0.06
    )


def test_groups_sampled_at_different_intervals_are_refused():
    rng = np.random.default_rng(2)
    a, _ = two_state_track(rng, 600, 0.9, fps=1.0)
    b, _ = two_state_track(rng, 600, 0.9, fps=4.0)
    with pytest.raises(ValueError, match="resample"):
        na.compare_movement_states(a, b)


def test_stationary_steps_the_other_model_cannot_score_are_refused_and_names_are_checked():
    rng = np.random.default_rng(3)
    animal, _ = two_state_track(rng, 800, 0.9, name="rat")
    agent, _ = two_state_track(rng, 800, 0.9, name="gru")
    pos = agent["position"].values
    pos[100:105] = pos[99]  # the agent stands still for 5 samples: 5 steps of exactly 0 m
    agent = agent.assign(position=(agent["position"].dims, pos))
    with pytest.raises(ValueError, match="5 steps of exactly 0 m"):
        na.compare_movement_states(agent, animal, n_restarts=2)
    with pytest.raises(ValueError, match=r"no individual 'Rat'; it has \['rat'\]"):
        na.compare_movement_states(animal, animal, individual="Rat", n_restarts=2)
