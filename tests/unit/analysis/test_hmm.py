"""The movement HMM against data simulated from known states: parameter recovery within the sampling error,
Viterbi state accuracy, canonical state order, sequences with breaks (likelihood and Viterbi path checked
against a float64 NumPy implementation), and movement_states end to end on a simulated Recording. The
inference (hmm_inference: forward-backward, Viterbi) against brute-force enumeration of every path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr
from scipy import special, stats

from neuroethology.analysis.fixes import compute_fix_steps
from neuroethology.analysis.hmm import (
    MovementHMM,
    decode_states,
    fit_movement_hmm,
    movement_states,
    state_probabilities,
    state_statistics,
)
from neuroethology.analysis.hmm_inference import forward_backward, viterbi
from neuroethology.data import from_arrays

# Two states as in moveHMM's examples (Michelot et al. 2016): encamped (short steps, turning back often) and
# exploratory (long steps, straight on); sticky transitions.
TRUE = {
    "step_mean": np.array([0.1, 1.0]),  # m
    "step_sd": np.array([0.08, 0.5]),  # m
    "angle_mean": np.array([np.pi, 0.0]),  # rad
    "angle_concentration": np.array([0.5, 5.0]),
    "transition": np.array([[0.9, 0.1], [0.1, 0.9]]),
}
N = 3000  # steps; every fit below has 2,999-3,000 steps, so all share one compilation


def simulate(rng, n=N, n_runs=1, perm=(0, 1), zero_mass=(0.0, 0.0), dt=1.0):
    """Steps Dataset of an HMM with TRUE's states relabelled by ``perm`` (simulated label ``perm[k]`` has
    TRUE's state ``k``), ``n_runs`` equal runs each started from the stationary (uniform) distribution, and
    the true simulated labels."""
    inv = np.argsort(perm)
    par = {k: v[inv] if v.ndim == 1 else v[np.ix_(inv, inv)] for k, v in TRUE.items()}
    starts = np.zeros(n, bool)
    starts[np.arange(n_runs) * (n // n_runs)] = True
    z = np.empty(n, np.int64)
    for t in range(n):
        z[t] = rng.integers(2) if starts[t] else rng.choice(2, p=par["transition"][z[t - 1]])
    shape = (par["step_mean"] / par["step_sd"]) ** 2
    x = rng.gamma(shape[z], (par["step_sd"] ** 2 / par["step_mean"])[z])
    x[rng.random(n) < np.asarray(zero_mass)[inv][z]] = 0.0
    angle = rng.vonmises(par["angle_mean"][z], par["angle_concentration"][z])
    angle[starts | (x == 0) | np.r_[False, x[:-1] == 0]] = np.nan  # as compute_fix_steps leaves them
    steps = xr.Dataset(
        {"step_length": ("step", x), "turning_angle": ("step", angle), "dt": ("step", np.full(n, dt))},
        coords={"run": ("step", np.cumsum(starts) - 1), "time": ("step", np.arange(n) * dt)},
    )
    return steps, z


def standard_errors(n_per_state: float) -> dict[str, np.ndarray]:
    """Asymptotic standard errors of each parameter's maximum-likelihood estimate from ``n_per_state``
    observations in a known state (Fisher information; the HMM's state uncertainty adds a little on top)."""
    mean, sd, kappa = TRUE["step_mean"], TRUE["step_sd"], TRUE["angle_concentration"]
    a, b = (mean / sd) ** 2, mean / sd**2
    se_mean, se_sd = [], []
    for ak, bk in zip(a, b, strict=True):  # gamma (shape, rate): I = [[psi'(a), -1/b], [-1/b, a/b^2]]
        cov = np.linalg.inv(
            n_per_state * np.array([[special.polygamma(1, ak), -1 / bk], [-1 / bk, ak / bk**2]])
        )
        for g, out in (
            ([1 / bk, -ak / bk**2], se_mean),
            ([0.5 / np.sqrt(ak) / bk, -np.sqrt(ak) / bk**2], se_sd),
        ):
            out.append(np.sqrt(np.asarray(g) @ cov @ np.asarray(g)))
    A = special.i1(kappa) / special.i0(kappa)  # von Mises: I(kappa) = A'(kappa), I(mu) = kappa A(kappa)
    p = np.diag(TRUE["transition"])
    return {
        "step_mean": np.array(se_mean),
        "step_sd": np.array(se_sd),
        "angle_concentration": 1 / np.sqrt(n_per_state * (1 - A / kappa - A**2)),
        "angle_mean": 1 / np.sqrt(n_per_state * kappa * A),
        "transition": np.sqrt(p * (1 - p) / n_per_state),
    }


def z_scores(model: MovementHMM, n_per_state: float) -> dict[str, np.ndarray]:
    se = standard_errors(n_per_state)
    err = {k: getattr(model, k) - TRUE[k] for k in ("step_mean", "step_sd", "angle_concentration")}
    err["angle_mean"] = np.angle(np.exp(1j * (model.angle_mean - TRUE["angle_mean"])))
    err["transition"] = np.diag(model.transition) - np.diag(TRUE["transition"])
    return {k: err[k] / se[k] for k in err}


def numpy_forward_viterbi(model: MovementHMM, steps: xr.Dataset) -> tuple[float, np.ndarray]:
    """float64 reference: log-likelihood (runs independent, each from ``model.initial``) and Viterbi path."""
    x, ang = steps["step_length"].values, steps["turning_angle"].values
    shape = (model.step_mean / model.step_sd) ** 2
    scale = model.step_sd**2 / model.step_mean
    with np.errstate(divide="ignore"):
        logp = np.where(
            x[:, None] == 0,
            np.log(model.zero_mass),
            np.log1p(-model.zero_mass) + stats.gamma.logpdf(x[:, None], shape, scale=scale),
        )
        logA, log0 = np.log(model.transition), np.log(model.initial)
    vm = stats.vonmises.logpdf(np.nan_to_num(ang)[:, None], model.angle_concentration, loc=model.angle_mean)
    logp = logp + np.where(np.isfinite(ang)[:, None], vm, 0.0)
    run = steps["run"].values
    total, path = 0.0, []
    for r in np.unique(run):
        lp = logp[run == r]
        alpha, delta, back = log0 + lp[0], log0 + lp[0], []
        for t in range(1, len(lp)):
            alpha = special.logsumexp(alpha[:, None] + logA, axis=0) + lp[t]
            scores = delta[:, None] + logA
            back.append(scores.argmax(0))
            delta = scores.max(0) + lp[t]
        total += special.logsumexp(alpha)
        states = [int(delta.argmax())]
        for bp in reversed(back):
            states.append(int(bp[states[-1]]))
        path.extend(states[::-1])
    return total, np.array(path)


@pytest.fixture(scope="module")
def one_track():
    steps, z = simulate(np.random.default_rng(0))
    return steps, z, fit_movement_hmm(steps)


def test_parameters_recovered_within_the_sampling_error(one_track):
    steps, z, model = one_track
    assert model.converged and model.n_states == 2
    # 4 standard errors: a 1-in-16,000 chance per parameter if the estimator is unbiased with this error.
    for name, zs in z_scores(model, N / 2).items():
        assert np.all(np.abs(zs) < 4), (name, getattr(model, name), zs)
    np.testing.assert_allclose(model.zero_mass, 0.0)  # no zero steps: no zero mass fitted or counted
    assert model.n_parameters == 2 * 4 + 2 + 1
    np.testing.assert_allclose(model.aic, -2 * model.log_likelihood + 2 * model.n_parameters)
    np.testing.assert_allclose(model.bic, -2 * model.log_likelihood + model.n_parameters * np.log(N))


def test_viterbi_state_accuracy_at_least_90_percent(one_track):
    steps, z, model = one_track
    states = decode_states(model, steps)
    assert states.dims == ("step",) and states.sizes["step"] == N
    accuracy = float(np.mean(states.values == z))
    assert accuracy >= 0.90, accuracy
    probs = state_probabilities(model, steps)
    np.testing.assert_allclose(probs.sum("state"), 1.0, atol=1e-5)
    assert np.mean(probs.argmax("state").values == states.values) > 0.97  # marginal and joint modes agree


def test_state_order_is_canonical_whatever_the_simulated_labels():
    # Label the exploratory state 0 in the simulation: the fit still calls the short-step state 0.
    steps, z = simulate(np.random.default_rng(1), perm=(1, 0))
    model = fit_movement_hmm(steps, seed=3)
    assert model.step_mean[0] < model.step_mean[1]
    for name, zs in z_scores(model, N / 2).items():
        assert np.all(np.abs(zs) < 4), (name, zs)
    assert np.mean(decode_states(model, steps).values == 1 - z) >= 0.90


def test_runs_are_independent_sequences_as_in_a_float64_reference():
    # Six runs with zero steps (zero mass 5% in the encamped state): the fitted model's likelihood and
    # Viterbi path equal a NumPy forward / Viterbi run per run, and splitting the runs over several
    # Datasets changes nothing.
    steps, z = simulate(np.random.default_rng(2), n_runs=6, zero_mass=(0.05, 0.0))
    model = fit_movement_hmm(steps)
    ref_ll, ref_path = numpy_forward_viterbi(model, steps)
    np.testing.assert_allclose(model.log_likelihood, ref_ll, rtol=2e-6)
    states = decode_states(model, steps).values
    assert np.mean(states == ref_path) > 0.999  # float32 vs float64: a near-tie may flip
    assert np.mean(states == z) >= 0.90
    n_zero = int((steps["step_length"] == 0).sum())
    se_zero = np.sqrt(0.05 * 0.95 / (N / 2))
    assert abs(model.zero_mass[0] - 0.05) < 4 * se_zero and model.zero_mass[1] < 4 * se_zero, model.zero_mass
    assert n_zero > 0 and model.n_parameters == 2 * 5 + 2 + 1

    parts = [steps.isel(step=slice(i * 1000, (i + 1) * 1000)) for i in range(3)]
    split = fit_movement_hmm(parts)
    np.testing.assert_allclose(split.log_likelihood, model.log_likelihood, rtol=1e-5)
    np.testing.assert_allclose(split.step_mean, model.step_mean, rtol=1e-3)
    assert np.array_equal(np.concatenate([s.values for s in decode_states(model, parts)]), states)
    # Ignoring the breaks would be a different model (the chain would run across them).
    assert not np.isclose(numpy_forward_viterbi(model, steps.assign_coords(run=steps["run"] * 0))[0], ref_ll)


def test_state_statistics_of_a_known_sequence():
    # Two states so far apart that the Viterbi path is the step lengths' class: bouts known by construction.
    model = MovementHMM(
        step_mean=np.array([0.01, 10.0]),
        step_sd=np.array([0.002, 1.0]),
        zero_mass=np.zeros(2),
        angle_mean=np.zeros(2),
        angle_concentration=np.array([1.0, 1.0]),
        transition=np.array([[0.8, 0.2], [0.25, 0.75]]),
        initial=np.array([0.5, 0.5]),
        log_likelihood=0.0,
        n_parameters=11,
        n_steps=9,
        aic=0.0,
        bic=0.0,
        n_iter=0,
        converged=True,
        restart_log_likelihoods=np.zeros(1),
    )
    pattern = np.array([0, 0, 0, 1, 1, 0, 1, 1, 1])  # run 0: 0 0 0 1 1 | run 1: 0 1 1 1
    steps = xr.Dataset(
        {
            "step_length": ("step", np.where(pattern == 0, 0.01, 10.0)),
            "turning_angle": ("step", np.zeros(9)),
            "dt": ("step", np.array([1, 1, 1, 2, 2, 1, 2, 2, 2], float)),
        },
        coords={"run": ("step", [0, 0, 0, 0, 0, 1, 1, 1, 1])},
    )
    np.testing.assert_array_equal(decode_states(model, steps), pattern)
    st = state_statistics(model, steps)
    np.testing.assert_allclose(st["fraction_of_steps"], [4 / 9, 5 / 9])
    np.testing.assert_allclose(st["fraction_of_time"], [4 / 14, 10 / 14])
    np.testing.assert_allclose(st["mean_step_length"], [0.01, 10.0])
    np.testing.assert_array_equal(st["n_bouts"], [2, 2])  # bouts: 000 | 11 || 0 | 111
    np.testing.assert_allclose(st["mean_dwell_steps"], [2.0, 2.5])
    np.testing.assert_allclose(st["mean_dwell_time"], [2.0, 5.0])
    np.testing.assert_allclose(st["expected_dwell_steps"], [5.0, 4.0])


def test_refusals_name_the_problem():
    steps, _ = simulate(np.random.default_rng(3), n=200)
    irregular = steps.assign(dt=steps["dt"].where(np.arange(200) % 4 != 0, 3.0))
    with pytest.raises(ValueError, match=r"50 of 200 steps .* median interval 1 s"):
        fit_movement_hmm(irregular)
    bad = steps.assign(step_length=steps["step_length"].where(np.arange(200) > 1))
    with pytest.raises(ValueError, match="2 step lengths are NaN"):
        fit_movement_hmm(bad)
    with pytest.raises(ValueError, match="too few"):
        fit_movement_hmm(steps.isel(step=slice(0, 8)))
    with pytest.raises(ValueError, match="lacks"):
        fit_movement_hmm(steps.drop_vars("dt"))
    with pytest.raises(ValueError, match="MovementHMM"):
        decode_states("not a model", steps)


def test_movement_states_end_to_end_on_a_recording():
    # A two-state walk built from simulated steps and turns, as a Recording at 2 Hz in a large box.
    steps, z = simulate(np.random.default_rng(4), n=N - 1)
    rng = np.random.default_rng(5)
    turn = np.nan_to_num(steps["turning_angle"].values, nan=rng.uniform(-np.pi, np.pi))
    heading = np.cumsum(turn)
    xy = np.cumsum(
        np.r_[[[0.0, 0.0]], steps["step_length"].values[:, None] * np.c_[np.cos(heading), np.sin(heading)]], 0
    )
    xy -= xy.min(0) - 1.0
    width, height = xy.max(0) + 1.0
    rec = from_arrays(xy[:, :, None, None], fps=2.0, arena={"shape": "box", "width": width, "height": height})

    result = movement_states(rec)
    xr.testing.assert_allclose(result.steps["step_length"], compute_fix_steps(rec)["step_length"])
    np.testing.assert_allclose(result.steps["dt"], 0.5)
    assert np.mean(result.steps["viterbi_state"].values == z) >= 0.90
    for name, zs in z_scores(result.model, N / 2).items():
        assert np.all(np.abs(zs) < 4), (name, zs)
    st = result.statistics
    assert abs(float(st["fraction_of_steps"][0]) - np.mean(z == 0)) < 0.05
    np.testing.assert_allclose(st["mean_dwell_time"], st["mean_dwell_steps"] * 0.5)
    assert result.steps["state_probability"].dims == ("step", "state")


def test_same_seed_same_fit(one_track):
    steps, _, model = one_track
    again = fit_movement_hmm(steps)
    np.testing.assert_array_equal(again.restart_log_likelihoods, model.restart_log_likelihoods)
    np.testing.assert_array_equal(again.transition, model.transition)


def brute_force(initial, transition, emissions, start):
    """float64 posteriors, pair counts, evidence and most likely path from every path's joint probability."""
    k, t = emissions.shape[1], emissions.shape[0]
    paths = np.array(list(itertools.product(range(k), repeat=t)))
    joint = np.ones(len(paths))
    for s in range(t):
        prior = initial[paths[:, s]] if start[s] else transition[paths[:, s - 1], paths[:, s]]
        joint *= prior * emissions[s, paths[:, s]]
    evidence = joint.sum()
    smoothed = np.stack([[joint[paths[:, s] == i].sum() for i in range(k)] for s in range(t)]) / evidence
    counts = np.zeros((k, k))
    for s in range(1, t):
        if not start[s]:
            np.add.at(counts, (paths[:, s - 1], paths[:, s]), joint / evidence)
    return smoothed, counts, evidence, paths[joint.argmax()]


@pytest.mark.parametrize("first", [[True, False, False, False, False], [True, False, True, False, False]])
def test_inference_equals_brute_force_enumeration(first):
    # 3 states, 5 steps, one missing emission (log 1), optionally a sequence start at step 2; 20 random
    # models, each against the enumeration of all 3^5 paths in float64.
    rng = np.random.default_rng(6)
    start = np.array(first)
    for _ in range(20):
        initial = rng.dirichlet(np.ones(3))
        transition = rng.dirichlet(np.full(3, 0.5), size=3)
        emissions = rng.uniform(0.05, 1.0, (5, 3))
        emissions[3] = 1.0  # missing observation
        smoothed, counts, evidence, mode = brute_force(initial, transition, emissions, start)
        logs = np.log(initial), np.log(transition), np.log(emissions)
        post = forward_backward(*logs, start)
        np.testing.assert_allclose(post.smoothed, smoothed, atol=2e-6)
        np.testing.assert_allclose(post.transition_counts, counts, atol=2e-6)
        np.testing.assert_allclose(post.transition_counts.sum(), (~start[1:]).sum(), rtol=1e-6)
        np.testing.assert_allclose(post.log_likelihood, np.log(evidence), rtol=1e-6)
        filtered_0 = initial * emissions[0] / (initial * emissions[0]).sum()
        np.testing.assert_allclose(post.filtered[0], filtered_0, rtol=1e-6)
        np.testing.assert_allclose(post.smoothed[-1], post.filtered[-1], rtol=1e-5)  # nothing after the last
        np.testing.assert_array_equal(viterbi(*logs, start), mode)


def test_inference_is_exact_over_long_sequences_in_float32():
    # 6,000 steps of two nearly indistinguishable states: the data's probability, about e^-4000, is far below
    # float32's range (e^-87), yet the log-space recursions keep the likelihood to float32 precision per step
    # and the posteriors normalised.
    rng = np.random.default_rng(7)
    t = 6_000
    log_e = np.log(rng.uniform(0.4, 0.6, (t, 2)))
    log_a, log_0 = np.log([[0.9, 0.1], [0.2, 0.8]]), np.log([0.5, 0.5])
    alpha, ref = log_0 + log_e[0], 0.0
    for s in range(1, t):  # float64 forward, renormalised each step
        c = np.logaddexp(*alpha)
        ref, alpha = ref + c, np.logaddexp(*((alpha - c)[:, None] + log_a)) + log_e[s]
    ref += np.logaddexp(*alpha)
    post = forward_backward(log_0, log_a, log_e, np.zeros(t, bool))
    assert np.isfinite(post.log_likelihood) and ref < -3000
    np.testing.assert_allclose(np.sum(np.asarray(post.log_normalisers, np.float64)), ref, rtol=1e-6)
    np.testing.assert_allclose(post.smoothed.sum(1), 1.0, atol=1e-5)
    assert np.all(np.isfinite(post.transition_counts)) and abs(post.transition_counts.sum() - (t - 1)) < 1
