"""Trial measures against analytic cases and data simulated with known parameters: Wilson intervals,
psychometric fits (logistic with lapses, probit), the drift-diffusion density, fit and mean decision times,
learning curves, win-stay/lose-shift, and a simulated T-maze agent's trials through the same curves."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad
from scipy.special import expit, ndtr

import neuroethology.envs as ne
from neuroethology.analysis import ddm
from neuroethology.analysis import trials as tm
from neuroethology.analysis.choice import compute_trials
from neuroethology.data.trials import load_trials, trials_from_arrays
from neuroethology.simulation import run_episodes

LEVELS = np.array([-1.0, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 1.0])


def fisher_stderr(levels, n, bias, sigma, gamma, lam, model="logistic"):
    """Asymptotic standard errors of (bias, sigma, gamma, lambda) from the expected Fisher information of
    binomial counts at the true parameters (written here independently of the module)."""
    z = (levels - bias) / sigma
    if model == "logistic":
        F, f = expit(z), expit(z) * (1 - expit(z))
    else:
        F, f = ndtr(z), np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
    p = gamma + (1 - gamma - lam) * F
    grads = np.stack([-(1 - gamma - lam) * f / sigma, -(1 - gamma - lam) * f * z / sigma, 1 - F, -F])
    info = (grads * (n / (p * (1 - p)))) @ grads.T
    return np.sqrt(np.diag(np.linalg.inv(info)))


def test_wilson_interval_closed_forms():
    z = 1.959963984540054
    low, high = tm.wilson_interval([0, 10, 5], [10, 10, 10])
    assert low[0] == 0 and high[0] == pytest.approx(z**2 / (10 + z**2))  # 0 of n: upper z^2 / (n + z^2)
    assert high[1] == pytest.approx(1) and low[1] == pytest.approx(10 / (10 + z**2))
    assert (low[2] + high[2]) / 2 == pytest.approx(0.5)
    assert np.isnan(tm.wilson_interval(0, 0)[0])


def test_psychometric_fit_recovers_bias_slope_and_lapses(rng):
    bias, sigma, gamma, lam, per_level = 0.1, 0.2, 0.05, 0.1, 400
    x = np.repeat(LEVELS, per_level)
    p = tm.psychometric_function(x, bias=bias, sigma=sigma, gamma=gamma, lambda_=lam)
    trials = trials_from_arrays(choice=(rng.uniform(size=x.size) < p).astype(int), conditions={"stimulus": x})
    fit = tm.psychometric_curve(trials, n_boot=300, seed=1)
    est = fit["estimate"].to_series()
    se = dict(
        zip(
            ("bias", "sigma", "gamma", "lambda"),
            fisher_stderr(LEVELS, per_level, bias, sigma, gamma, lam),
            strict=True,
        )
    )
    print(
        {
            k: (round(est[k], 4), t, round(se[k], 4))
            for k, t in zip(se, (bias, sigma, gamma, lam), strict=True)
        }
    )
    # Sampling error alone puts the estimates within 4 standard errors (odds ~1e-4 against per parameter).
    for name, truth in (("bias", bias), ("sigma", sigma), ("gamma", gamma), ("lambda", lam)):
        assert abs(est[name] - truth) < 4 * se[name], (name, est[name], truth, se[name])
    assert est["slope"] == pytest.approx(1 / est["sigma"])
    # The bootstrap intervals have the width sampling error gives them (95 %: about 2 x 1.96 SE).
    for name in ("bias", "sigma"):
        width = float(fit["estimate_high"].sel(parameter=name) - fit["estimate_low"].sel(parameter=name))
        assert 0.6 < width / (2 * 1.96 * se[name]) < 1.6, (name, width, se[name])
    assert fit.attrs["n_boot_failed"] == 0 and fit["n_trials"].values.tolist() == [per_level] * LEVELS.size
    inside = (fit["p_low"] <= fit["p_choice"]) & (fit["p_choice"] <= fit["p_high"])
    assert bool(inside.all())


def test_probit_without_lapses_and_refusals(rng):
    bias, sigma, per_level = -0.2, 0.3, 300
    x = np.repeat(LEVELS, per_level)
    p = tm.psychometric_function(x, bias=bias, sigma=sigma, model="probit")
    trials = trials_from_arrays(choice=(rng.uniform(size=x.size) < p).astype(int), conditions={"stimulus": x})
    fit = tm.psychometric_curve(trials, model="probit", lapses=False, n_boot=100)
    se = fisher_stderr(LEVELS, per_level, bias, sigma, 0.0, 0.0, model="probit")  # lapses fixed: upper bound
    est = fit["estimate"].to_series()
    assert abs(est["bias"] - bias) < 4 * se[0] and abs(est["sigma"] - sigma) < 4 * se[1], est
    assert est["gamma"] == 0 and est["lambda"] == 0
    assert fit.attrs["at_bound"] == ""
    # A step (every choice flips between two neighbouring levels) has no finite width: said so.
    step_x = np.repeat([-1.0, -0.5, 0.5, 1.0], 20)
    step = tm.psychometric_curve(
        trials_from_arrays(choice=(step_x > 0).astype(int), conditions={"stimulus": step_x}),
        lapses=False,
        n_boot=0,
    )
    assert step.attrs["at_bound"] == "sigma" and np.isnan(step["estimate_low"]).all()
    two = trials_from_arrays(choice=[0, 1, 1, 0], conditions={"stimulus": [-1.0, 1.0, 1.0, -1.0]})
    with pytest.raises(ValueError, match="lapses=False"):
        tm.psychometric_curve(two)
    with pytest.raises(ValueError, match="pass stimulus="):
        tm.psychometric_curve(two, stimulus="coherence")
    with pytest.raises(ValueError, match="options 0 and 1"):
        tm.psychometric_curve(
            trials_from_arrays(choice=[0, 2], conditions={"stimulus": [0.0, 1.0]}), fit=False
        )


@pytest.mark.parametrize(("drift", "boundary"), [(0.0, 1.5), (1.2, 1.5), (-2.0, 0.8), (3.0, 2.5)])
def test_ddm_density_integrates_to_the_closed_forms(drift, boundary):
    def density(t, upper):
        return float(ddm.ddm_density(np.array([t]), drift=drift, boundary=boundary, upper=upper)[0])

    up = quad(density, 0, np.inf, args=(True,), limit=200)[0]
    low = quad(density, 0, np.inf, args=(False,), limit=200)[0]
    mean = quad(lambda t: t * (density(t, True) + density(t, False)), 0, np.inf, limit=200)[0]
    assert up + low == pytest.approx(1.0, abs=1e-8)
    assert up == pytest.approx(1 / (1 + np.exp(-boundary * drift)), abs=1e-8)
    expected = boundary**2 / 4 if drift == 0 else boundary / (2 * drift) * np.tanh(boundary * drift / 2)
    assert mean == pytest.approx(expected, rel=1e-6)
    assert float(ddm.ddm_mean_decision_time(drift, boundary)) == pytest.approx(expected, rel=1e-9)


def simulate_ddm(rng, drift, boundary, t0, dt=5e-4):
    """Choices (1: upper boundary) and RTs of the pure DDM (unit noise, start midway): exact Gaussian
    increments, and a Brownian-bridge test for crossings between samples, so the only error is the time
    grid (crossing times are put mid-step, within dt / 2 of the truth)."""
    n = drift.size
    x, rt, upper = np.full(n, boundary / 2), np.zeros(n), np.zeros(n, bool)
    active, step = np.arange(n), 0
    while active.size:
        step += 1
        x0 = x[active]
        x1 = x0 + drift[active] * dt + np.sqrt(dt) * rng.standard_normal(active.size)
        with np.errstate(over="ignore"):
            p_up = np.where(x1 < boundary, np.exp(-2 * (boundary - x0) * (boundary - x1) / dt), 1.0)
            p_low = np.where(x1 > 0, np.exp(-2 * x0 * x1 / dt), 1.0)
        hit_up = rng.uniform(size=active.size) < p_up
        hit = hit_up | (rng.uniform(size=active.size) < p_low)
        rt[active[hit]] = t0 + (step - 0.5) * dt
        upper[active[hit & hit_up]] = True
        x[active] = x1
        active = active[~hit]
    return upper.astype(int), rt


DDM = {"drift_gain": 8.0, "boundary": 1.5, "non_decision_time": 0.3}
DDM_LEVELS = np.array([-0.4, -0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2, 0.4])


@pytest.fixture(scope="module")
def ddm_trials():
    rng = np.random.default_rng(7)
    s = np.repeat(DDM_LEVELS, 300)
    choice, rt = simulate_ddm(rng, DDM["drift_gain"] * s, DDM["boundary"], DDM["non_decision_time"])
    correct = np.where(s == 0, np.nan, (choice == (s > 0)).astype(float))
    return trials_from_arrays(choice=choice, reaction_time=rt, correct=correct, conditions={"stimulus": s})


def test_fit_ddm_recovers_the_simulated_parameters(ddm_trials):
    fit = ddm.fit_ddm(ddm_trials)
    est, se = fit["estimate"].to_series(), fit["stderr"].to_series()
    print({k: (round(est[k], 4), v, round(se[k], 4)) for k, v in DDM.items()})
    for name, truth in DDM.items():
        assert abs(est[name] - truth) < 4 * se[name], (name, est[name], truth, se[name])
        assert 0 < se[name] < 0.1 * truth
    # The fitted closed forms match what the trials show (binomial error of each level's choices).
    p, n = fit["predicted_p_choice"].values, fit["n_trials"].values
    assert np.all(np.abs(fit["p_choice"].values - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-3)


def test_chronometric_mean_rt_is_the_ddm_mean_decision_time(ddm_trials):
    curve = tm.chronometric_curve(ddm_trials, statistic="mean", n_boot=200)
    assert curve["level"].values.tolist() == [0.0, 0.05, 0.1, 0.2, 0.4]  # |stimulus|
    rt = ddm_trials["reaction_time"].values
    s = np.abs(ddm_trials["stimulus"].values)
    expected = DDM["non_decision_time"] + ddm.ddm_mean_decision_time(
        DDM["drift_gain"] * curve["level"], DDM["boundary"]
    )
    for outcome in ("all", "correct", "error"):  # the pure DDM: errors as slow as correct choices
        for i, level in enumerate(curve["level"].values):
            n = int(curve["n_trials"].sel(outcome=outcome)[i])
            if n < 20:
                continue
            cell = (
                rt[s == level]
                if outcome == "all"
                else rt[(s == level) & (ddm_trials["correct"].values == (outcome == "correct"))]
            )
            got = float(curve["rt"].sel(outcome=outcome)[i])
            assert got == pytest.approx(cell.mean()) and n == cell.size
            assert abs(got - float(expected[i])) < 4 * cell.std() / np.sqrt(n), (
                outcome,
                level,
                got,
                expected[i],
            )
            assert (
                float(curve["rt_low"].sel(outcome=outcome)[i])
                < got
                < float(curve["rt_high"].sel(outcome=outcome)[i])
            )
    assert int(curve["n_trials"].sel(outcome="correct")[0]) == 0  # stimulus 0: neither correct nor error
    median = tm.chronometric_curve(ddm_trials, absolute=False, n_boot=0)
    assert median["level"].size == DDM_LEVELS.size and np.isnan(median["rt_low"]).all()
    with pytest.raises(ValueError, match="no trial has a reaction time"):
        tm.chronometric_curve(trials_from_arrays(choice=[0, 1], conditions={"stimulus": [-1.0, 1.0]}))


def test_learning_curve_by_session_and_by_trial(rng):
    accuracy = {"2024-03-09": 0.85, "2024-03-02": 0.55, "2024-03-05": 0.7}  # rows out of date order
    n = 300
    sessions = np.repeat(list(accuracy), n)
    correct = (rng.uniform(size=sessions.size) < np.repeat(list(accuracy.values()), n)).astype(float)
    choice = rng.integers(0, 2, sessions.size)
    choice[::50] = -1
    correct[::50] = np.nan
    trials = trials_from_arrays(choice=choice, correct=correct, subject="m1", session=sessions)
    curve = tm.learning_curve(trials, by="session")
    assert curve["session"].values[0].tolist() == ["2024-03-02", "2024-03-05", "2024-03-09"]  # by date
    for j, label in enumerate(curve["session"].values[0]):
        got, scored = float(curve["accuracy"][0, j]), int(curve["n_trials"][0, j])
        assert scored == n - 6 and int(curve["n_omissions"][0, j]) == 6
        truth = accuracy[label]
        assert abs(got - truth) < 4 * np.sqrt(truth * (1 - truth) / scored)
        assert float(curve["accuracy_low"][0, j]) < got < float(curve["accuracy_high"][0, j])
    blocks = tm.learning_curve(trials, window=200)
    assert blocks["first_trial"].values[0].tolist() == [0, 200, 400, 600, 800]
    assert blocks["n_trials"].values[0].tolist() == [196, 196, 196, 196, 98]  # the last block is shorter
    with pytest.raises(ValueError, match="by must be"):
        tm.learning_curve(trials, by="day")


def test_win_stay_lose_shift_and_session_boundaries(rng):
    n = 200
    rewarded = rng.uniform(size=n) < 0.5
    choice = np.zeros(n, int)
    for t in range(1, n):
        choice[t] = choice[t - 1] if rewarded[t - 1] else 1 - choice[t - 1]
    trials = trials_from_arrays(choice=choice, rewarded=rewarded, session=np.repeat(["a", "b"], n // 2))
    pairs = tm.consecutive_pairs(trials)
    assert pairs.sum() == n - 2 and not pairs[n // 2 - 1]  # no pair across the sessions
    w = tm.win_stay_lose_shift(trials)
    assert (
        float(w["win_stay"]) == 1 and float(w["lose_shift"]) == 1 and int(w["n_win"] + w["n_lose"]) == n - 2
    )
    with pytest.raises(ValueError, match="compute_trials"):
        tm.win_stay_lose_shift(xr.Dataset(coords={"time": [0.0, 0.1]}))


def test_compute_trials_keeps_episodes_apart_and_reads_conditions(make_recording):
    # Two episodes of two trials, three samples (1 s apart) per trial; the stimulus is set on the first.
    nan = np.nan
    columns = {
        "episode": [0] * 6 + [1] * 6,
        "trial": [0, 0, 0, 1, 1, 1] * 2,
        "choice": [-1, 1, -1, -1, -1, -1, 0, -1, -1, -1, 1, -1],
        "reward": [0, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0],
        "stimulus": [0.5, nan, nan, -0.2, nan, nan, -0.5, nan, nan, 0.1, nan, nan],
    }
    variables = {k: (("time", "individual"), np.asarray(v, float)[:, None]) for k, v in columns.items()}
    rec = make_recording(np.zeros((12, 2)), fps=1.0, variables=variables, individual_names=["agent"])
    trials = compute_trials(rec)
    assert trials["choice"].values.tolist() == [1, -1, 0, 1]
    assert trials["session"].values.tolist() == ["0", "0", "1", "1"]
    assert trials["trial_number"].values.tolist() == [0, 1, 0, 1]
    assert trials["subject"].values.tolist() == ["agent"] * 4
    np.testing.assert_array_equal(trials["stimulus"].values, [0.5, -0.2, -0.5, 0.1])
    np.testing.assert_array_equal(trials["reward"].values, [1, 0, 2, 0])
    np.testing.assert_array_equal(trials["time"].values, [1, nan, 6, 10])
    assert trials["rewarded"].values.tolist() == [True, False, True, False]
    assert not tm.consecutive_pairs(trials)[1]  # episode 0's last trial and episode 1's first
    columns["stimulus"][1] = 0.4
    variables["stimulus"] = (("time", "individual"), np.asarray(columns["stimulus"])[:, None])
    changing = make_recording(np.zeros((12, 2)), fps=1.0, variables=variables)
    with pytest.raises(ValueError, match="'stimulus' .* changes within 1 trials"):
        compute_trials(changing)
    assert "stimulus" not in compute_trials(changing, conditions=[])


@pytest.fixture(scope="module")
def t_maze_recording():
    """Three 20-trial blocks (episodes) of the cued T-maze for a cue follower and a random chooser."""
    env, params = ne.make("neuroethology/TMaze-v0", n_trials=20)
    policies = [ne.policies.CueFollower(), ne.policies.RandomChooser()]
    return run_episodes(env, params, policies, episodes=3, key=jax.random.key(0), names=["cue", "random"])


def test_t_maze_agents_go_through_the_same_curves(t_maze_recording, tmp_path):
    follower = compute_trials(t_maze_recording, individual="cue")
    assert follower.sizes["trial"] == 60 and set(follower["session"].values) == {"0", "1", "2"}
    assert follower["trial_number"].values.tolist() == list(range(20)) * 3  # the blocks kept apart
    assert set(follower["subject"].values) == {"cue"}
    made = follower["choice"].values >= 0
    # Every trial has its choice, the block's last one too (the block ends after its outcome period, so the
    # Recording holds the state after the last choice).
    assert made.all()
    assert (follower["choice"].values[made] == follower["cue"].values[made]).all()
    assert (follower["correct"].values[made] == 1).all()
    follower["stimulus"] = 2.0 * follower["cue"] - 1  # cue left / right as evidence -1 / +1
    curve = tm.psychometric_curve(follower, fit=False)
    assert curve["p_choice"].values.tolist() == [0.0, 1.0] and int(curve["n_trials"].sum()) == made.sum()
    assert tm.learning_curve(follower, by="session")["accuracy"].values.tolist() == [[1.0, 1.0, 1.0]]
    random = compute_trials(t_maze_recording, individual="random")
    c, number = random["choice"].values, random["trial_number"].values
    pairs = [i for i in range(59) if number[i + 1] == number[i] + 1 and c[i] >= 0 and c[i + 1] >= 0]
    w = tm.win_stay_lose_shift(random)
    assert int(w["n_win"] + w["n_lose"]) == len(pairs) >= 54  # none across blocks
    acc = tm.learning_curve(random, window=60)
    assert abs(float(acc["accuracy"][0, 0]) - 0.5) < 4 * np.sqrt(0.25 / 57)
    # Written as a table and read back like an animal's: the same curves.
    follower.to_dataframe().reset_index().to_csv(tmp_path / "agent.csv", index=False)
    back = load_trials(tmp_path / "agent.csv")
    again = tm.psychometric_curve(back, fit=False)
    np.testing.assert_array_equal(again["p_choice"].values, curve["p_choice"].values)
    assert tm.win_stay_lose_shift(back).equals(tm.win_stay_lose_shift(follower))


def test_unknown_outcomes_are_not_losses():
    """A table whose rewarded column is empty for some trials: those trials start no win-stay/lose-shift pair."""
    from neuroethology.analysis import win_stay_lose_shift
    from neuroethology.data import trials_from_arrays

    trials = trials_from_arrays(
        choice=[0, 0, 1, 1, 0, 0], rewarded=[1.0, np.nan, np.nan, np.nan, 1.0, 1.0], trial_number=range(6)
    )
    assert trials["outcome_known"].values.tolist() == [True, False, False, False, True, True]
    result = win_stay_lose_shift(trials)
    assert int(result["n_lose"]) == 0 and int(result["n_win"]) == 2
    assert float(result["win_stay"]) == 1.0  # pairs (0, 1) and (4, 5): both won and stayed
