"""The random-motion baseline: its likelihood is a normalised density, and fitting recovers known parameters."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import RAT_LIKE_MOTION, random_motion_positions

import neuroethology.envs as ne
from neuroethology.envs.policies import RandomMotion, RandomMotionParams
from neuroethology.fitting import fit_random_motion, random_motion_log_likelihood
from neuroethology.fitting.random_motion_fit import FITTED_FIELDS, action_log_likelihood
from neuroethology.fitting.reconstruct import path_windows, reconstruct_path


@pytest.mark.parametrize("where", ["centre", "near_wall"])
def test_step_density_integrates_to_one(where):
    """Integrate p(D | past) over a polar grid of displacements around the previous step."""
    env, p = ne.make("neuroethology/OpenField-v0")
    x0 = np.array([0.5, 0.5]) if where == "centre" else np.array([0.05, 0.5])
    v = np.array([-0.08, 0.03])  # previous intended velocity, m/s
    past = np.stack([x0 - 2 * v * 0.02, x0 - v * 0.02, x0])
    radius = np.linspace(1e-6, 0.012, 700)
    angle = np.linspace(-np.pi, np.pi, 721)
    rr, aa = np.meshgrid(radius, angle, indexing="ij")
    steps = np.stack([rr * np.cos(aa), rr * np.sin(aa)], axis=-1).reshape(-1, 2)
    windows = np.concatenate([np.broadcast_to(past, (len(steps), 3, 2)), (x0 + steps)[:, None]], axis=1)
    density = np.exp(random_motion_log_likelihood(RandomMotionParams(), windows, p, outlier_fraction=1e-9))
    total = np.trapezoid(np.trapezoid(density.reshape(rr.shape) * rr, angle, axis=1), radius)
    assert total == pytest.approx(1.0, abs=0.02)


def test_action_density_is_the_displacement_density_times_the_jacobian():
    env, p = ne.make("neuroethology/OpenField-v0")
    windows = np.array([[[0.49, 0.5], [0.495, 0.5], [0.5, 0.5], [0.5041, 0.5007]]])
    step = windows[0, 3] - windows[0, 2]
    s_after = np.hypot(*step) / 0.02
    la = action_log_likelihood(RandomMotionParams(), windows, p)
    ld = random_motion_log_likelihood(RandomMotionParams(), windows, p)
    assert la[0] == pytest.approx(ld[0] + 4 * np.log(0.02) + np.log(s_after))


def test_parameters_are_recovered_from_simulated_data():
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    true = RandomMotionParams(
        speed_mean=0.12,
        speed_coherence_time=0.5,
        rotational_velocity_std=1.5,
        rotational_velocity_coherence_time=0.15,
        thigmotaxis=0.3,
        wall_repel_distance=0.08,
        wall_repel_strength=1.5,
    )
    positions = random_motion_positions(env, RandomMotion(true), jax.random.key(0), p, 12_000, 3)
    windows = np.concatenate([path_windows(positions[:, b], p) for b in range(3)])
    fit = fit_random_motion(windows, p)  # starts from RatInABox's defaults
    assert fit.converged, fit.message
    for name in FITTED_FIELDS:
        got, want = float(getattr(fit.params, name)), float(getattr(true, name))
        assert got == pytest.approx(want, rel=0.1), f"{name}: fitted {got:.4g}, true {want:.4g}"
    # The maximum is a maximum: the true parameters are not more likely than the fit.
    ll_true = random_motion_log_likelihood(true, windows, p).sum()
    assert fit.log_likelihood >= ll_true - 1e-6 * abs(ll_true)


def test_windows_and_demonstration_rows_line_up():
    env, p = ne.make("neuroethology/OpenField-v0")
    positions = random_motion_positions(env, RandomMotion(), jax.random.key(1), p, 500)
    windows = path_windows(positions, p)
    demo = reconstruct_path(positions, p)
    np.testing.assert_allclose(windows[:, 2], np.asarray(demo.states.position), atol=1e-6)
    np.testing.assert_allclose(windows[:, 3], demo.next_position)


def test_bad_input_is_rejected():
    env, p = ne.make("neuroethology/OpenField-v0")
    with pytest.raises(ValueError, match="position windows"):
        fit_random_motion(np.zeros((5, 3, 2)), p)


# ---------------------------------------------------------------------------------------------------------
# Any arena: the walls are segments (envs.policies.random_motion.wall_normals, vmapped)
# ---------------------------------------------------------------------------------------------------------

# An L-shaped room with a thin wall across its lower arm.
L_ROOM = {
    "boundary": [[0, 0], [1, 0], [1, 0.6], [0.6, 0.6], [0.6, 1], [0, 1]],
    "walls": [[[0.2, 0.3], [0.45, 0.3]]],
}


def test_log_likelihood_in_a_square_polygon_equals_the_box():
    env, box = ne.make("neuroethology/OpenField-v0")
    _, square = ne.make("neuroethology/OpenField-v0", arena={"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]})
    assert square.arena_shape == "polygon"
    params = RandomMotionParams(thigmotaxis=0.7, wall_repel_distance=0.15)  # walls felt over much of the box
    windows = path_windows(
        random_motion_positions(env, RandomMotion(params), jax.random.key(5), box, 3000), box
    )
    a = random_motion_log_likelihood(params, windows, box)
    b = random_motion_log_likelihood(params, windows, square)
    near = np.min(np.minimum(windows[:, 2], 1 - windows[:, 2]), axis=1) < 0.15
    assert near.mean() > 0.15  # the wall terms are exercised
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        action_log_likelihood(params, windows, square), action_log_likelihood(params, windows, box)
    )


@pytest.mark.slow  # two fits of 36,000 steps: about 25 s on one core
def test_parameters_are_recovered_in_a_polygon_arena_and_its_walls_matter():
    """Simulated in an L-shaped room with a thin wall, fitted there: every parameter within 10%; fitted as if
    the room were the 1 x 1 m box (walls missing), the path is less likely and the turning noise is inflated
    by the unexplained turns at the missing walls."""
    env, p = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0, arena=L_ROOM)
    true = RandomMotionParams(
        speed_mean=0.12,
        speed_coherence_time=0.5,
        rotational_velocity_std=1.5,
        rotational_velocity_coherence_time=0.15,
        thigmotaxis=0.3,
        wall_repel_distance=0.08,
        wall_repel_strength=1.5,
    )
    positions = random_motion_positions(env, RandomMotion(true), jax.random.key(0), p, 12_000, 3)
    windows = np.concatenate([path_windows(positions[:, b], p) for b in range(3)])
    fit = fit_random_motion(windows, p)
    assert fit.converged, fit.message
    for name in FITTED_FIELDS:
        got, want = float(getattr(fit.params, name)), float(getattr(true, name))
        assert got == pytest.approx(want, rel=0.1), f"{name}: fitted {got:.4g}, true {want:.4g}"
    _, box = ne.make("neuroethology/OpenField-v0", episode_duration=10_000.0)
    wrong = fit_random_motion(windows, box)
    print(f"\nlog-likelihood: L room {fit.log_likelihood:.1f}, box {wrong.log_likelihood:.1f} nats")
    assert fit.log_likelihood > wrong.log_likelihood + 1000
    assert float(wrong.params.rotational_velocity_std) > 1.1 * float(fit.params.rotational_velocity_std)


# ---------------------------------------------------------------------------------------------------------
# The reconstruction's action: (a, omega) at or above min_speed, a alone below it (heading held, omega = 0)
# ---------------------------------------------------------------------------------------------------------

# Parameters like those fitted to the Sargolini rat (fast, strongly coupled turning noise).
RAT_LIKE = RandomMotionParams(**RAT_LIKE_MOTION)


def _past(x0: np.ndarray, speed: float, heading: float, dt: float) -> np.ndarray:
    """``x_{k-2}, x_{k-1}, x_k`` of a straight approach to ``x0`` at ``speed`` along ``heading``."""
    u = np.array([np.cos(heading), np.sin(heading)])
    return np.stack([x0 - 2 * speed * dt * u, x0 - speed * dt * u, x0])


def _windows(past: np.ndarray, steps: np.ndarray) -> np.ndarray:
    return np.concatenate([np.broadcast_to(past, (len(steps), 3, 2)), (past[2] + steps)[:, None]], axis=1)


@pytest.mark.parametrize(
    ("params", "x0", "speed"),
    [
        (RandomMotionParams(), (0.5, 0.5), 0.1),  # centre, moving
        (RAT_LIKE, (0.03, 0.5), 0.05),  # inside the wall's repulsion
        (RAT_LIKE, (0.5, 0.3), 0.01),  # after a held step: most of the mass is held
    ],
)
def test_action_density_of_the_held_heading_variable_integrates_to_one(params, x0, speed):
    """Over a grid of actions: the 2-D density of (acceleration, angular velocity) over the steps at or above
    min_speed plus the 1-D density of the acceleration over the held steps below it sums to 1 (a 2-D density
    at omega = 0 on the held steps would not)."""
    env, p = ne.make("neuroethology/OpenField-v0")
    dt, min_speed, heading = float(p.dt), 0.025, 2.0
    past = _past(np.asarray(x0, float), speed, heading, dt)
    # Moving: next speed s' in (min_speed, 0.8] m/s (a = (s' - v) / dt), omega over a full turn (periodic).
    s_next = np.linspace(min_speed * (1 + 1e-9), 0.8, 600)
    omega = -np.pi / dt + 2 * np.pi / dt * np.arange(360) / 360
    ss, ww = np.meshgrid(s_next, omega, indexing="ij")
    turn = heading + ww.ravel() * dt
    steps = dt * ss.ravel()[:, None] * np.stack([np.cos(turn), np.sin(turn)], axis=1)
    la = action_log_likelihood(params, _windows(past, steps), p, min_speed=min_speed, outlier_fraction=1e-9)
    moving = np.trapezoid(
        np.exp(la).reshape(ss.shape).sum(axis=1) * (2 * np.pi / dt / 360), (s_next - speed) / dt
    )
    # Held: s' in [0, min_speed), omega = 0.
    s_held = np.linspace(1e-9, min_speed * (1 - 1e-9), 300)
    steps = dt * s_held[:, None] * np.array([np.cos(heading), np.sin(heading)])
    lh = action_log_likelihood(params, _windows(past, steps), p, min_speed=min_speed, outlier_fraction=1e-9)
    held = np.trapezoid(np.exp(lh), (s_held - speed) / dt)
    print(f"\nmoving {moving:.5f} + held {held:.5f} = {moving + held:.5f}")
    assert moving + held == pytest.approx(1.0, abs=2e-3)
    assert 0 < held  # the held part is exercised


def test_step_length_density_away_from_walls_is_the_rayleigh_ou_speed_density():
    """Away from the walls the step is the intended velocity times dt, so the density of its length is the
    model's speed density (the direction integrates out): ``z = Phi^-1(F_Rayleigh(s))`` is Gaussian around
    ``z_prev (1 - dt / tau_v)`` with variance ``2 dt / tau_v``; computed here with scipy."""
    from scipy import stats

    from neuroethology.fitting.random_motion_fit import step_length_log_density

    env, p = ne.make("neuroethology/OpenField-v0")
    dt, v, sigma, tau = float(p.dt), 0.06, float(RAT_LIKE.speed_mean), float(RAT_LIKE.speed_coherence_time)
    past = _past(np.array([0.5, 0.5]), v, 0.7, dt)
    s = np.array([0.002, 0.01, 0.02, 0.05, 0.1])
    angle = np.array([0.3, 2.0, -2.5, 1.0, 0.7])  # the direction does not matter
    steps = dt * s[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    got = step_length_log_density(RAT_LIKE, _windows(past, steps), p, outlier_fraction=1e-300)
    rayleigh = stats.rayleigh(scale=sigma)
    z, z_prev = stats.norm.ppf(rayleigh.cdf(s)), stats.norm.ppf(rayleigh.cdf(v))
    log_dz = rayleigh.logpdf(s) - stats.norm.logpdf(z)  # dz/ds
    want = stats.norm.logpdf(z, z_prev * (1 - dt / tau), np.sqrt(2 * dt / tau)) + log_dz - np.log(dt)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_min_speed_zero_scores_every_step_in_two_dimensions():
    env, p = ne.make("neuroethology/OpenField-v0")
    windows = np.array([[[0.49, 0.5], [0.495, 0.5], [0.5, 0.5], [0.5001, 0.5002]]])  # 0.011 m/s
    two_d = action_log_likelihood(RandomMotionParams(), windows, p)
    held = action_log_likelihood(RandomMotionParams(), windows, p, min_speed=0.025)
    assert two_d[0] == pytest.approx(
        random_motion_log_likelihood(RandomMotionParams(), windows, p)[0]
        + 4 * np.log(0.02)
        + np.log(0.011180),
        rel=1e-4,
    )
    assert held[0] != pytest.approx(two_d[0])
