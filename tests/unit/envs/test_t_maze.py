"""TMaze-v0 and SpatialTMaze-v0 (the T-maze task as timed phases and as corridors in metres): the trial logic
and the corridor physics against NumPy re-implementations, the reference choosers' accuracies, and the old
``mode=`` usage of TMaze-v0."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import (
    any_actions,
    assert_vmap_equals_single_steps,
    jit_scan_steps,
    render_frames,
    run_with_info,
    scan_steps,
    state_as_numpy,
    wrap_angle_np,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import neuroethology.envs as ne
from neuroethology.envs.policies import Alternator, CueFollower, RandomChooser
from neuroethology.envs.spatial_t_maze import walkable
from neuroethology.envs.t_maze import CHOICE, CUE, DELAY, OUTCOME

ENV_ID = "neuroethology/TMaze-v0"
SPATIAL_ID = "neuroethology/SpatialTMaze-v0"
IDS = {"discrete": ENV_ID, "spatial": SPATIAL_ID}
SI_ACTIONS = "ignore:.*symmetric and normalized space.*"
VARIANTS = {
    "spatial-alternation": (SPATIAL_ID, dict(task="alternation", n_trials=4)),
    "discrete-alternation": (ENV_ID, dict(task="alternation", delay_duration=0.0)),
}


# ---------------------------------------------------------------------------------------------------------
# Contract checks on the non-default tasks (the defaults are covered by test_contract.py)
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.filterwarnings(SI_ACTIONS)
def test_check_env_and_rendering_in_every_mode(variant):
    env_id, overrides = VARIANTS[variant]
    env = gymnasium.make(env_id, render_mode="rgb_array", **overrides)
    check_env(env.unwrapped)
    frames = render_frames(env, seed=1)
    assert all(f.dtype == np.uint8 and f.shape[2] == 3 and f.std() > 0 for f in frames)
    env.close()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_vmap_equals_single_steps_in_every_mode(variant):
    env_id, overrides = VARIANTS[variant]
    env, params = ne.make(env_id, **overrides)
    assert_vmap_equals_single_steps(env, params, step_seed=50)


def test_invalid_params_are_reported_together():
    with pytest.raises(ValueError) as err:
        ne.make(ENV_ID, task="delayed", corridor_width=-0.1, cue_length=1.0)
    message = str(err.value)
    for fragment in ("TMaze-v0", "task", "corridor_width", "cue_length"):
        assert fragment in message
    # An unknown mode names the environment and the modes (envs.core.env_for_mode refuses it first).
    with pytest.raises(ValueError) as err:
        ne.make(ENV_ID, mode="maze", task="delayed", corridor_width=-0.1, cue_length=1.0)
    assert "TMaze-v0" in str(err.value) and "mode" in str(err.value)
    with pytest.raises(ValueError, match="cue period"):
        ne.make(ENV_ID, cue_duration=0.0)
    with pytest.raises(ValueError, match="iti_duration"):
        ne.make(ENV_ID, iti_duration=0.0)


def test_old_mode_usage_builds_the_task_environments():
    """TMaze-v0 had modes: ``mode=`` (in make, gymnasium.make, make_vec and configs) picks TMaze or
    SpatialTMaze, and a run's resolved parameters of either mode (every field of every mode) still load."""
    env, p = ne.make(ENV_ID, mode="spatial", task="alternation", n_rays=8)
    assert type(env) is ne.SpatialTMaze and p == ne.make(SPATIAL_ID, task="alternation", n_rays=8)[1]
    assert p.mode == "spatial" and env.recording_attrs(p) == {"task": "alternation", "mode": "spatial"}
    env, p = ne.make(ENV_ID, mode="discrete", cue_duration=0.5)
    assert type(env) is ne.TMaze and p == ne.make(ENV_ID, cue_duration=0.5)[1] and p.mode == "discrete"
    every_field = dict(cue_duration=0.5, delay_duration=1.0, response_window=1.5, body_radius=0.02, n_rays=6)
    env, p = ne.make(ENV_ID, mode="spatial", **every_field)
    assert type(env) is ne.SpatialTMaze and (p.body_radius, p.n_rays) == (0.02, 6)
    env, p = ne.make(ENV_ID, mode="discrete", **every_field)
    assert type(env) is ne.TMaze and (p.cue_duration, p.delay_duration, p.response_window) == (0.5, 1.0, 1.5)
    gym_env = gymnasium.make(ENV_ID, mode="spatial", n_rays=5)
    assert type(gym_env.unwrapped.env) is ne.SpatialTMaze and gym_env.observation_space.shape == (10,)
    vec = gymnasium.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", mode="spatial")
    assert type(vec.unwrapped.env) is ne.SpatialTMaze and vec.single_action_space.shape == (2,)
    with pytest.raises(ValueError, match="cue_duration needs mode='discrete'"):
        ne.make(SPATIAL_ID, cue_duration=1.0)  # the new id takes only its own parameters


# ---------------------------------------------------------------------------------------------------------
# NumPy reference: the trial logic (both modes) and the corridor physics (spatial mode)
# ---------------------------------------------------------------------------------------------------------


def _judge(choice, cue, prev, p):
    if choice < 0:
        return False
    if p.task == "cued":
        return choice == cue
    return prev < 0 or choice != prev


def _steps(seconds, p):
    return round(seconds / p.dt)


def _next_trial(out, s):
    out.update(
        trial=int(s["trial"]) + 1,
        choice=-1,
        correct=False,
        prev_choice=int(s["choice"]) if s["choice"] >= 0 else int(s["prev_choice"]),
    )


def ref_discrete(s, a, p):
    """One step of the discrete mode, written from the module docstring."""
    a = int(a) if 0 <= a <= 2 else 0
    cue_n, delay_n, resp_n, iti_n = (
        _steps(x, p) for x in (p.cue_duration, p.delay_duration, p.response_window, p.iti_duration)
    )
    first = CUE if cue_n > 0 else DELAY if delay_n > 0 else CHOICE
    out = dict(s, step=int(s["step"]) + 1, trial_done=False)
    phase, ps = int(s["phase"]), int(s["phase_step"]) + 1
    cue = int(s["cues"][int(s["trial"])])
    out["phase_step"] = ps
    if phase == CUE and ps >= cue_n:
        out.update(phase=DELAY if delay_n > 0 else CHOICE, phase_step=0)
    elif phase == DELAY and ps >= delay_n:
        out.update(phase=CHOICE, phase_step=0)
    elif phase == CHOICE and (a > 0 or ps >= resp_n):
        choice = a - 1 if a > 0 else -1
        out.update(
            phase=OUTCOME,
            phase_step=0,
            choice=choice,
            trial_done=True,
            correct=_judge(choice, cue, int(s["prev_choice"]), p),
        )
    elif phase == OUTCOME and ps >= iti_n:
        _next_trial(out, s)
        out.update(phase=first, phase_step=0)
    return out


def _in_t(x, y, p):
    """The closed T (walls included)."""
    a, w, length = p.arm_length, p.corridor_width, p.stem_length
    stem = (x >= a) & (x <= a + w) & (y >= 0) & (y <= length)
    bar = (x >= 0) & (x <= 2 * a + w) & (y >= length) & (y <= length + w)
    return stem | bar


def ref_rays(pos, heading, p):
    """Wall distances: every crossing of the ray with the lines of the T's eight walls, in order; the answer
    is the first crossing just beyond which the ray is outside the T (a point-in-T test, not wall normals)."""
    a, w, length = p.arm_length, p.corridor_width, p.stem_length
    xs, ys = [0.0, a, a + w, 2 * a + w], [0.0, length, length + w]
    n = p.n_rays
    out = []
    for off in p.field_of_view * ((np.arange(n) + 0.5) / n - 0.5):
        d = np.array([np.cos(heading + off), np.sin(heading + off)])
        ts = [(x - pos[0]) / d[0] for x in xs if d[0] != 0] + [(y - pos[1]) / d[1] for y in ys if d[1] != 0]
        for t in sorted(t for t in ts if t >= 0):
            beyond = pos + (t + 1e-9) * d
            if not _in_t(beyond[0], beyond[1], p):
                out.append(t)
                break
    return np.array(out)


def ref_spatial(s, action, p):
    """One step of the spatial mode, written from the module docstring."""
    b, a_len, w = p.body_radius, p.arm_length, p.corridor_width
    width, height, length = 2 * a_len + w, p.stem_length + w, p.stem_length
    out = dict(s, step=int(s["step"]) + 1, trial_done=False)
    ps = int(s["phase_step"]) + 1
    if int(s["phase"]) == OUTCOME:
        out.update(speed=0.0, angular_velocity=0.0, phase_step=ps)
        if ps >= _steps(p.iti_duration, p):
            _next_trial(out, s)
            out.update(
                position=np.array([a_len + w / 2, w / 2]),
                heading=np.pi / 2,
                phase_step=0,
                phase=CUE if w / 2 < p.cue_length else DELAY,
            )
        return out
    act = np.nan_to_num(np.asarray(action, np.float64), nan=0.0, posinf=1e30, neginf=-1e30)
    accel = np.clip(act[0], -p.max_acceleration, p.max_acceleration)
    omega = np.clip(act[1], -p.max_angular_velocity, p.max_angular_velocity)
    v = np.clip(float(s["speed"]) + accel * p.dt, 0.0, p.max_speed)
    heading = wrap_angle_np(float(s["heading"]) + omega * p.dt)
    proposed = s["position"] + v * p.dt * np.array([np.cos(heading), np.sin(heading)])
    # Nearest point at least body_radius from every wall: of the stem (run up to the top) or of the bar.
    candidates = [
        np.clip(proposed, [a_len + b, b], [a_len + w - b, height - b]),
        np.clip(proposed, [b, length + b], [width - b, height - b]),
    ]
    new = min(candidates, key=lambda c: np.sum((c - proposed) ** 2))
    achieved = min(np.hypot(*(new - s["position"])) / p.dt, v)
    arm = -1
    if new[1] >= length:
        arm = 0 if new[0] <= p.goal_length else 1 if new[0] >= width - p.goal_length else -1
    phase = CHOICE if new[1] >= length else CUE if new[1] < p.cue_length else DELAY
    out.update(position=new, heading=heading, speed=achieved, angular_velocity=omega)
    if arm >= 0:
        cue = int(s["cues"][int(s["trial"])])
        out.update(
            choice=arm,
            trial_done=True,
            phase=OUTCOME,
            phase_step=0,
            correct=_judge(arm, cue, int(s["prev_choice"]), p),
        )
    else:
        out.update(phase=phase, phase_step=ps if phase == int(s["phase"]) else 0)
    return out


def ref_observation(s, p):
    cue = int(s["cues"][min(int(s["trial"]), len(s["cues"]) - 1)])
    phase = int(s["phase"])
    cue_l, cue_r = float(phase == CUE and cue == 0), float(phase == CUE and cue == 1)
    rewarded = float(phase == OUTCOME and bool(s["correct"]) and p.task != "spontaneous_alternation")
    if p.mode == "discrete":
        return np.array(
            [
                cue_l,
                cue_r,
                float(phase == CHOICE),
                float(phase == OUTCOME and s["choice"] == 0),
                float(phase == OUTCOME and s["choice"] == 1),
                rewarded,
            ]
        )
    rays = ref_rays(s["position"], float(s["heading"]), p)
    return np.concatenate([[cue_l, cue_r, rewarded], rays, [s["speed"], s["angular_velocity"]]])


def _compare(got, expected, p, t):
    for k in ("trial", "phase", "phase_step", "choice", "prev_choice", "correct", "trial_done", "step"):
        assert got[k] == expected[k], (t, k, got[k], expected[k])
    if p.mode == "spatial":
        np.testing.assert_allclose(got["position"], expected["position"], atol=1e-6)
        assert abs(wrap_angle_np(got["heading"] - expected["heading"])) < 2e-6
        np.testing.assert_allclose(got["speed"], expected["speed"], atol=2e-5)
        np.testing.assert_allclose(got["angular_velocity"], expected["angular_velocity"], rtol=1e-6)


@pytest.mark.parametrize(
    "overrides",
    [
        dict(n_trials=4),
        dict(task="alternation", n_trials=5, delay_duration=0.0, response_window=0.5, iti_duration=0.3),
        dict(mode="spatial", n_trials=3, iti_duration=0.3),
        dict(mode="spatial", task="spontaneous_alternation", n_trials=4, iti_duration=0.2, cue_length=0.3),
    ],
)
def test_steps_match_the_numpy_reference(overrides):
    overrides = dict(overrides)
    env, p = ne.make(IDS[overrides.pop("mode", "discrete")], **overrides)
    navigators = [CueFollower(), RandomChooser()]
    step, reset = jax.jit(env.step_env), jax.jit(env.reset)
    acts = [jax.jit(nav.act) for nav in navigators]
    rng = np.random.default_rng(0)
    obs, state = reset(jax.random.key(0), p)
    carries = [nav.init(jax.random.key(0), state, p) for nav in navigators]
    counts = {"done": 0, "correct": 0, "terminated": 0}
    for t in range(600):  # blocks end after the last outcome period: 600 steps hold two or more
        policy_actions = []
        for i, act in enumerate(acts):
            a, carries[i] = act(jax.random.key(t), carries[i], obs, state, p)
            policy_actions.append(np.asarray(a))
        u = rng.random()
        if p.mode == "discrete":
            action = policy_actions[0] if u < 0.5 else rng.integers(0, 3)
        elif u < 0.8:  # a cue follower on even trials, a random chooser on odd ones
            action = policy_actions[int(state.trial) % 2]
        elif u < 0.92:
            action = rng.uniform(-1.3, 1.3, 2) * [p.max_acceleration, p.max_angular_velocity]
        else:
            action = rng.choice([np.nan, np.inf, -np.inf, 1e9], size=2)
        s = state_as_numpy(state)
        expected = (ref_discrete if p.mode == "discrete" else ref_spatial)(s, action, p)
        obs, state, reward, term, trunc, info = step(jax.random.key(t), state, jnp.asarray(action), p)
        got = state_as_numpy(state)
        _compare(got, expected, p, t)
        rewarding = p.task != "spontaneous_alternation"
        assert float(reward) == (
            p.reward_correct if expected["trial_done"] and expected["correct"] and rewarding else 0.0
        )
        # The block ends when its last trial's outcome period is over (the trial counter passes the block).
        assert bool(term) == (expected["trial"] >= p.n_trials) and not bool(trunc)
        np.testing.assert_allclose(np.asarray(obs), ref_observation(got, p), atol=2e-6, rtol=1e-5)
        assert int(info["cue"]) == int(s["cues"][min(int(got["trial"]), p.n_trials - 1)])
        counts["done"] += int(expected["trial_done"])
        counts["correct"] += int(expected["trial_done"] and expected["correct"])
        counts["terminated"] += int(term)
        if term:
            obs, state = reset(jax.random.key(1000 + t), p)
            carries = [nav.init(jax.random.key(t), state, p) for nav in navigators]
    # The run went through whole blocks, with correct and incorrect choices.
    assert counts["terminated"] >= 2 and counts["done"] > counts["correct"] > 0, counts


# ---------------------------------------------------------------------------------------------------------
# Timeline and observations
# ---------------------------------------------------------------------------------------------------------


def test_discrete_timeline_cue_delay_go_and_omission():
    env, p = ne.make(ENV_ID, cue_duration=0.3, delay_duration=0.5, response_window=0.4, iti_duration=0.2)
    obs, state = env.reset(jax.random.key(7), p)
    step = jax.jit(env.step)
    cue = int(state.cue)
    seen = [np.asarray(obs)]
    for t in range(14):
        # Choosing during the cue and the delay is ignored; then wait through the choice period.
        action = 1 + cue if t < 8 else 0
        obs, state, reward, term, trunc, info = step(jax.random.key(t), state, jnp.asarray(action), p)
        seen.append(np.asarray(obs))
        assert float(reward) == 0.0
        if t == 11:  # the fourth step of the 0.4 s choice period: an omission
            assert bool(info["trial_done"]) and int(info["choice"]) == -1 and not bool(info["correct"])
    seen = np.stack(seen)
    cue_col = seen[:, cue]
    np.testing.assert_array_equal(cue_col[:3], 1)  # three cue steps (0.3 s)
    assert seen[3:14, :2].sum() == 0  # no cue outside the cue period
    np.testing.assert_array_equal(seen[3:8, :].sum(axis=1), 0)  # five silent delay steps (0.5 s)
    np.testing.assert_array_equal(seen[8:12, 2], 1)  # four go steps (0.4 s)
    np.testing.assert_array_equal(seen[12:14, 2:].sum(axis=1), 0)  # outcome without arm or reward
    assert int(state.trial) == 1 and int(state.phase) == CUE  # then the next trial's cue


def test_spatial_cue_is_seen_only_in_the_cue_segment():
    env, p = ne.make(SPATIAL_ID, cue_length=0.12)
    obs, state = env.reset(jax.random.key(3), p)
    cue = int(state.cue)
    step = jax.jit(env.step)
    seen, ys = [], []
    for t in range(12):  # run straight up the stem at 0.05 m per step
        action = jnp.asarray([0.5 / p.dt if t == 0 else 0.0, 0.0])
        seen.append(np.asarray(obs)[:2])
        ys.append(float(state.position[1]))
        obs, state, *_ = step(jax.random.key(t), state, action, p)
    seen, ys = np.array(seen), np.array(ys)
    np.testing.assert_array_equal(seen[:, cue], (ys < 0.12).astype(float))
    assert seen[:, 1 - cue].sum() == 0 and (ys < 0.12).any() and (ys >= 0.12).any()


def test_cues_are_fair_coins_and_alternation_shows_none():
    env, p = ne.make(ENV_ID, n_trials=40)
    cues = np.asarray(
        jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(jax.random.key(0), 200), p)[1].cues
    )
    assert set(np.unique(cues).tolist()) == {0, 1}
    assert abs(cues.mean() - 0.5) < 0.02  # 8000 flips: s.d. 0.0056
    assert abs(np.mean(cues[:, 1:] == cues[:, :-1]) - 0.5) < 0.03  # no serial dependence
    assert abs(cues[:, 5].mean() - 0.5) < 0.15 and abs(cues[:, 30].mean() - 0.5) < 0.15
    env, p = ne.make(ENV_ID, task="alternation")
    assert np.all(np.asarray(env.reset(jax.random.key(0), p)[1].cues) == -1)


# ---------------------------------------------------------------------------------------------------------
# Any action keeps the animal in the corridors
# ---------------------------------------------------------------------------------------------------------

_SPATIAL_ENV, _SPATIAL_PARAMS = ne.make(SPATIAL_ID, n_trials=2, iti_duration=0.2)


def _walked(state, obs, new, reward, term, trunc):
    moved = jnp.sqrt(jnp.sum((new.position - state.position) ** 2))
    return new.position, moved, term | trunc, obs, reward


_run_spatial = jit_scan_steps(_SPATIAL_ENV, _SPATIAL_PARAMS, _walked)


@settings(max_examples=40, deadline=None)
@given(actions=any_actions(60), seed=st.integers(0, 2**16))
def test_any_action_keeps_the_animal_in_the_corridors(actions, seed):
    p = _SPATIAL_PARAMS
    positions, moved, done, obs, rewards = (
        np.asarray(x) for x in _run_spatial(jax.random.key(seed), jnp.asarray(actions, jnp.float32))
    )
    assert np.all(np.isfinite(positions)) and np.all(np.isfinite(obs)) and np.all(np.isfinite(rewards))
    assert np.all(np.asarray(walkable(jnp.asarray(positions), p)))  # never in or through a wall
    start = np.asarray(p.start_position)
    # No jumps: a step moves at most twice its length (sliding round the inner corners), except the return
    # to the start between trials.
    teleport = np.isclose(positions, start, atol=1e-7).all(axis=1)
    assert np.all((moved <= 2 * p.max_speed * p.dt + 1e-6) | teleport)
    space = _SPATIAL_ENV.observation_space(p)
    assert all(space.contains(o) for o in obs)


@settings(max_examples=30, deadline=None)
@given(actions=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=60, max_size=60))
def test_any_integer_action_is_a_valid_discrete_step(actions):
    env, p = _DISCRETE
    obs, states = _run_discrete(jnp.asarray(actions, jnp.int32))
    obs = np.asarray(obs)
    assert np.all((obs == 0) | (obs == 1))
    phases, trials = np.asarray(states.phase), np.asarray(states.trial)
    assert np.all((phases >= 0) & (phases <= 3)) and np.all((trials >= 0) & (trials < p.n_trials))
    # Out-of-range actions count as "wait": they never make a choice.
    bad = (np.asarray(actions) < 0) | (np.asarray(actions) > 2)
    assert not np.any(np.asarray(states.trial_done) & bad & (np.asarray(states.choice) >= 0))


_DISCRETE = ne.make(
    ENV_ID, cue_duration=0.1, delay_duration=0.1, response_window=0.3, iti_duration=0.1, n_trials=3
)


@jax.jit
def _run_discrete(actions):
    env, p = _DISCRETE
    return scan_steps(
        env, p, jax.random.key(0), jax.random.key(1), actions, lambda s, obs, new, *_: (obs, new)
    )


# ---------------------------------------------------------------------------------------------------------
# Reference choosers: known accuracy
# ---------------------------------------------------------------------------------------------------------


def _accuracy(infos, skip_first=False):
    done = infos["trial_done"]
    if skip_first:
        done = done & (infos["trial"] > 0)
    return infos["correct"][done].mean(), int(done.sum())


STEPS = 520  # a 10-trial block takes 490 discrete steps (51 per trial) and about 450 spatial ones


@pytest.mark.parametrize("mode", ["discrete", "spatial"])
def test_cue_follower_is_always_right(mode):
    env, p = ne.make(IDS[mode])
    infos, rewards, term, _ = run_with_info(env, CueFollower(), p, jax.random.key(0), 16, STEPS)
    accuracy, n = _accuracy(infos)
    assert accuracy == 1.0 and n >= 16 * p.n_trials
    assert term.sum() >= 16  # every block finished
    assert rewards.sum() == pytest.approx(n * p.reward_correct)
    done = infos["trial_done"]
    assert np.all(infos["choice"][done] == infos["cue"][done])
    assert set(np.unique(infos["cue"][done]).tolist()) == {0, 1}


@pytest.mark.parametrize("mode", ["discrete", "spatial"])
def test_alternator_is_always_right_in_alternation(mode):
    env, p = ne.make(IDS[mode], task="alternation")
    infos, rewards, term, _ = run_with_info(env, Alternator(), p, jax.random.key(2), 16, STEPS)
    accuracy, n = _accuracy(infos, skip_first=True)
    assert accuracy == 1.0 and n >= 16 * (p.n_trials - 1)
    assert _accuracy(infos)[0] == 1.0  # the first trial of a block is correct whatever the arm
    assert rewards.sum() == pytest.approx(_accuracy(infos)[1] * p.reward_correct)
    assert np.all(infos["cue"] == -1)
    chosen = infos["choice"][infos["trial_done"]]
    assert set(np.unique(chosen).tolist()) == {0, 1}


def test_spontaneous_alternation_pays_nothing():
    env, p = ne.make(ENV_ID, task="spontaneous_alternation")
    infos, rewards, _, _ = run_with_info(env, Alternator(), p, jax.random.key(5), 4, STEPS)
    assert rewards.sum() == 0 and not infos["rewarded"].any()
    assert _accuracy(infos, skip_first=True)[0] == 1.0  # correct, unrewarded


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["discrete", "spatial"])
def test_choosers_that_ignore_the_task_are_at_chance(mode):
    """Monte Carlo, binomial tolerance of four standard errors: a random chooser is right half the time in
    the cued task and in alternation (after the block's free first trial); an alternator is right half the
    time in the cued task (the cue is a fair coin, independent of its last arm)."""
    cases = [
        ("cued", RandomChooser(), False),
        ("alternation", RandomChooser(), True),
        ("cued", Alternator(), False),
    ]
    for i, (task, policy, skip_first) in enumerate(cases):
        env, p = ne.make(IDS[mode], task=task)
        infos, rewards, _, _ = run_with_info(env, policy, p, jax.random.key(10 + i), 64, STEPS)
        accuracy, n = _accuracy(infos, skip_first=skip_first)
        assert n >= 64 * (p.n_trials - 1)
        assert abs(accuracy - 0.5) < 4 * 0.5 / np.sqrt(n), (task, type(policy).__name__, accuracy, n)
        done = infos["trial_done"]
        assert rewards.sum() == pytest.approx(infos["correct"][done].sum() * p.reward_correct)
        if task == "alternation":
            assert infos["correct"][done & (infos["trial"] == 0)].all()  # the block's first choice is free


def test_bare_kernel_does_the_env_arithmetic():
    # In alternation nothing is random but the actions, which the kernel draws exactly as env_kernel does, so
    # the checksums (every step's six observation flags and reward, over resets) agree exactly.
    from neuroethology.benchmarking import BARE_KERNELS, env_kernel

    env, p = ne.make(ENV_ID, task="alternation", n_trials=3)  # blocks end within the run
    key = jax.random.key(0)
    kernel = float(BARE_KERNELS[ENV_ID](p, 64, 400)(key))
    assert kernel > 0 and kernel == float(env_kernel(env, p, 64, 400)(key))
