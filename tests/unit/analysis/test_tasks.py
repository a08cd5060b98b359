"""Task measures on scripted paths and choice sequences: water maze, odour plume, patches, choices."""

from __future__ import annotations

import numpy as np
import pytest

from neuroethology import analysis as na
from neuroethology.analysis.plume import CASTING_SURGING

POOL = {"shape": "circle", "radius": 1.0}  # a 2-m pool centred at (1, 1)
PLATFORM = {"platform_x": 1.5, "platform_y": 1.0, "platform_radius": 0.1, "pool_radius": 1.0}
FPS = 50.0


def test_straight_swim_to_the_platform(make_recording):
    v = 0.2  # m/s, from (0.2, 1.0) straight east to the platform centre at (1.5, 1.0)
    t = np.arange(0, 10.0, 1 / FPS)
    x = np.minimum(0.2 + v * t, 1.5)
    rec = make_recording(np.column_stack([x, np.ones_like(x)]), fps=FPS, arena=POOL, attrs=PLATFORM)
    escape = (1.5 - 0.1 - 0.2) / v  # reaches the platform edge after 6 s
    latency = na.compute_escape_latency(rec)
    assert latency.dims == ("episode",) and bool(latency["found"][0])
    assert float(latency[0]) == pytest.approx(escape, abs=1 / FPS)
    assert float(na.compute_escape_path_length(rec)[0]) == pytest.approx(1.2, abs=v / FPS)
    prox = na.compute_gallagher_proximity(rec)
    # Mean distance over the swim from 1.3 m down to 0.1 m: their average 0.7 m.
    assert float(prox["mean_proximity"][0]) == pytest.approx(0.7, abs=0.01)
    assert abs(float(prox["cumulative_search_error"][0])) < 0.1 * 2 / FPS  # the optimal path: no error
    # A detour adds search error.
    detour = np.column_stack([x, 1.0 + 0.3 * np.sin(np.pi * np.clip(t / escape, 0, 1))])
    rec2 = make_recording(detour, fps=FPS, arena=POOL, attrs=PLATFORM)
    assert float(na.compute_gallagher_proximity(rec2)["cumulative_search_error"][0]) > 0.5
    q = na.compute_quadrant_occupancy(rec)
    assert list(q["quadrant"].values) == ["target", "adjacent_ccw", "opposite", "adjacent_cw"]
    # West of the centre (x < 1) is the opposite quadrant, east the target: 4 s west, 6 s east.
    assert float(q.sel(quadrant="opposite")[0]) == pytest.approx(0.4, abs=0.01)
    assert float(q.sel(quadrant="target")[0]) == pytest.approx(0.6, abs=0.01)


def test_missed_platform_is_censored_at_trial_length(make_recording):
    t = np.arange(0, 60.0, 1 / FPS)
    xy = np.column_stack([1 + 0.8 * np.cos(0.3 * t + np.pi), 1 + 0.8 * np.sin(0.3 * t + np.pi)])
    xy[:, 0] = np.minimum(xy[:, 0], 1.3)  # never within 0.1 m of (1.5, 1)
    latency = na.compute_escape_latency(make_recording(xy, fps=FPS, arena=POOL, attrs=PLATFORM))
    assert not bool(latency["found"][0]) and float(latency[0]) == pytest.approx(60.0)


@pytest.mark.parametrize("k", [0, 1, 3])
def test_probe_trial_with_k_platform_crossings(make_recording, k):
    # Back and forth along y = 1 through the platform location k times (and once nearby, missing it).
    legs = [np.linspace(1.1, 1.9, 100), np.linspace(1.9, 1.1, 100)]
    path = np.concatenate([legs[i % 2] for i in range(k)]) if k else np.full(50, 1.1)
    path = np.r_[path, np.full(50, path[-1])]  # rests where the last leg ended
    xy = np.column_stack([path, np.ones_like(path)])
    xy = np.vstack([xy, np.column_stack([np.linspace(1.3, 1.7, 50), np.full(50, 1.25)])])  # passes 15 cm away
    rec = make_recording(xy, fps=FPS, arena=POOL, attrs=PLATFORM)
    assert int(na.compute_platform_crossings(rec)[0]) == k


def test_crossings_between_samples_and_per_episode(make_recording):
    # Coarse sampling jumps over the 20-cm platform: the step through it still counts.
    xy = np.array([[1.2, 1.0], [1.8, 1.0], [1.2, 1.0], [1.0, 1.0]])
    episode = np.array([0, 0, 1, 1])[:, None]
    rec = make_recording(
        xy, fps=1.0, arena=POOL, attrs=PLATFORM, variables={"episode": (("time", "individual"), episode)}
    )
    crossings = na.compute_platform_crossings(rec)
    assert list(crossings["episode"].values) == [0, 1] and list(crossings.values) == [1, 0]


def test_platform_from_arguments_and_missing_platform(make_recording):
    rec = make_recording(np.column_stack([np.linspace(0.2, 1.5, 66), np.ones(66)]), fps=FPS, arena=POOL)
    with pytest.raises(ValueError, match="platform"):
        na.compute_escape_latency(rec)
    assert bool(na.compute_escape_latency(rec, platform=(1.5, 1.0, 0.1))["found"][0])


def test_plume_success_course_and_casting_surging(make_recording):
    # Wind blows towards -x (pi): upwind is +x. Surge upwind for 2 s, cast crosswind for 2 s, reach source.
    t = np.arange(0, 6.0, 1 / FPS)
    x = np.where(t < 2, 0.1 * t, 0.2)
    y = np.where(t < 2, 0.5, np.where(t < 4, 0.5 + 0.1 * (t - 2), 0.7))
    x = np.where(t >= 4, 0.2 + 0.1 * (t - 4), x)
    wind = np.full((t.size, 1), np.pi)
    rec = make_recording(
        np.column_stack([x, y]),
        fps=FPS,
        attrs={"source_x": 0.4, "source_y": 0.7, "success_radius": 0.05},
        variables={"wind_direction": (("time", "individual"), wind)},
    )
    arrival = na.compute_source_arrival(rec)
    assert bool(arrival["success"][0])
    assert float(arrival["time_to_source"][0]) == pytest.approx(5.5, abs=1 / FPS)
    course = na.compute_course_direction(rec).values
    np.testing.assert_allclose(course[5:95], 0.0, atol=1e-9)  # upwind
    np.testing.assert_allclose(course[105:195], np.pi / 2, atol=1e-9)  # crosswind, to the left of upwind
    label = na.classify_casting_surging(rec)
    assert (label.values[5:95] == CASTING_SURGING["surging"]).all()
    assert (label.values[105:195] == CASTING_SURGING["casting"]).all()
    assert label.attrs["flag_meanings"] == "stopped surging casting other"
    # Constant wind as an argument; failure gives NaN time.
    far = make_recording(
        np.column_stack([x, y]) * 0 + 0.1,
        fps=FPS,
        attrs={"source_x": 0.4, "source_y": 0.7, "success_radius": 0.05},
    )
    a = na.compute_source_arrival(far)
    assert not bool(a["success"][0]) and np.isnan(float(a["time_to_source"][0]))
    assert (na.classify_casting_surging(far, wind_direction=np.pi).values == CASTING_SURGING["stopped"]).all()
    with pytest.raises(ValueError, match="wind_direction"):
        na.compute_course_direction(far)


def test_patch_residence_against_mvt(make_recording):
    # 20 s in patch 0, 5 s travel, 30 s in patch 1, 5 s travel, 25 s in patch 0, 5 s travel (10 Hz).
    fps = 10.0
    seq = [(0, 20), (-1, 5), (1, 30), (-1, 5), (0, 25), (-1, 5)]
    patch = np.concatenate([np.full(int(d * fps), k) for k, d in seq])[:, None]
    rec = make_recording(
        np.full((patch.shape[0], 2), 0.5), fps=fps, variables={"patch": (("time", "individual"), patch)}
    )
    visits = na.compute_patch_visits(rec)
    np.testing.assert_allclose(visits["residence"].values, [20, 30, 25])
    assert list(visits["patch"].values) == [0, 1, 0]
    assert list(visits["censored"].values) == [True, False, False]  # the first starts with the recording
    np.testing.assert_allclose(visits["travel_before"].values[1:], [5.1, 5.1])  # first-to-first sample gap
    mvt = na.compare_residence_to_mvt(rec, optimum=20.0)
    assert int(mvt["n_visits"]) == 2
    assert float(mvt["mean_residence"]) == 27.5 and float(mvt["mean_difference"]) == 7.5
    assert float(mvt["fraction_longer"]) == 1.0 and float(mvt["ratio"]) == pytest.approx(27.5 / 20)
    per_patch = na.compare_residence_to_mvt(rec, optimum=[22.5, 30.0], include_censored=True)
    assert float(per_patch["mean_difference"]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="optimum"):
        na.compare_residence_to_mvt(rec, optimum=-1)


def test_patches_from_positions(make_recording):
    x = np.r_[np.full(10, 0.2), np.linspace(0.2, 0.8, 10), np.full(10, 0.8), np.full(5, 0.5)]
    rec = make_recording(np.column_stack([x, np.full_like(x, 0.5)]), fps=1.0)
    visits = na.compute_patch_visits(rec, patches=[[0.2, 0.5, 0.05], [0.8, 0.5, 0.05]])
    assert list(visits["patch"].values) == [0, 1]
    np.testing.assert_allclose(visits["residence"].values, [11.0, 11.0])


def choice_recording(make_recording, choices, rewards, correct=None):
    """Two samples per trial: the choice is made on the first."""
    n = len(choices)
    trial = np.repeat(np.arange(n), 2)
    choice = np.full(2 * n, -1)
    choice[::2] = choices
    reward = np.zeros(2 * n)
    reward[1::2] = rewards
    variables = {"trial": trial, "choice": choice, "reward": reward}
    if correct is not None:
        c = np.full(2 * n, -1.0)
        c[::2] = correct
        variables["correct"] = c
    return make_recording(
        np.full((2 * n, 2), np.nan),
        fps=1.0,
        variables={k: (("time", "individual"), v[:, None]) for k, v in variables.items()},
    )


def test_pure_win_stay_lose_shift_agent(make_recording, rng):
    n = 400
    rewards = rng.uniform(size=n) < 0.5
    choices = np.zeros(n, int)
    for t in range(1, n):
        choices[t] = choices[t - 1] if rewards[t - 1] else 1 - choices[t - 1]
    rec = choice_recording(make_recording, choices, rewards.astype(float), correct=rewards.astype(float))
    wsls = na.compute_win_stay_lose_shift(rec)
    assert float(wsls["win_stay"]) == 1.0 and float(wsls["lose_shift"]) == 1.0
    assert int(wsls["n_win"]) + int(wsls["n_lose"]) == n - 1
    assert float(na.compute_choice_accuracy(rec)) == pytest.approx(rewards.mean())
    trials = na.compute_trials(rec)
    assert trials.sizes["trial"] == n and (trials["choice"].values == choices).all()
    # A random chooser is near 0.5 / 0.5.
    rnd = choice_recording(make_recording, rng.integers(0, 2, n), rewards.astype(float))
    w = na.compute_win_stay_lose_shift(rnd)
    assert abs(float(w["win_stay"]) - 0.5) < 0.1 and abs(float(w["lose_shift"]) - 0.5) < 0.1


def test_history_regression_recovers_weights(make_recording, rng):
    # A logistic agent with known history weights (Lau & Glimcher 2005 form).
    beta_c, beta_r, b0 = np.array([0.8, 0.3]), np.array([1.5, 0.5]), 0.2
    n = 6000
    s = np.zeros(n)
    r = np.zeros(n)
    s[:2] = [1, -1]
    for t in range(2, n):
        z = b0 + beta_c @ s[t - 2 : t][::-1] + beta_r @ (r[t - 2 : t][::-1] * s[t - 2 : t][::-1])
        s[t] = 1.0 if rng.uniform() < 1 / (1 + np.exp(-z)) else -1.0
        r[t] = float(rng.uniform() < 0.5)
    rec = choice_recording(make_recording, (s > 0).astype(int), r)
    fit = na.fit_choice_history(rec, n_back=2, l2=0.0)
    assert np.all(np.abs(fit["choice_weights"].values - beta_c) < 4 * fit["choice_weights_stderr"].values), (
        fit
    )
    assert np.all(np.abs(fit["reward_weights"].values - beta_r) < 4 * fit["reward_weights_stderr"].values), (
        fit
    )
    assert float(fit["intercept"]) == pytest.approx(b0, abs=4 * float(fit["intercept_stderr"]))
    assert int(fit["n_trials"]) == n - 2
    with pytest.raises(ValueError, match="exactly two options"):
        na.fit_choice_history(choice_recording(make_recording, np.arange(30) % 3, np.ones(30)))
    with pytest.raises(ValueError, match="'correct'"):
        na.compute_choice_accuracy(rec)
