"""compare_groups trial by trial: animals' trial tables against agents' choice-task Recordings, with the
same statistics (means with bootstrap intervals, KS, permutation tests over subjects or blocks of trials)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neuroethology.analysis as na
from neuroethology.cli import main
from neuroethology.data import from_arrays, save, trials_from_arrays


def chooser(rng, n, *, win_stay, lose_shift, p_reward=0.5, subject="m1", rt_mean=None):
    """Two-option choices with known win-stay and lose-shift probabilities; rewards independent of the
    choice with probability ``p_reward`` (so every trial's outcome is a coin flip)."""
    choices = np.zeros(n, int)
    rewarded = rng.uniform(size=n) < p_reward
    for t in range(1, n):
        p_same = win_stay if rewarded[t - 1] else 1 - lose_shift
        choices[t] = choices[t - 1] if rng.uniform() < p_same else 1 - choices[t - 1]
    rt = None if rt_mean is None else rng.gamma(4.0, rt_mean / 4.0, size=n)
    return choices, rewarded, rt


def table(rng, subjects, n, **kw):
    parts = [chooser(rng, n, subject=s, **kw) for s in subjects]
    choice = np.concatenate([c for c, _, _ in parts])
    rewarded = np.concatenate([r for _, r, _ in parts])
    rt = None if parts[0][2] is None else np.concatenate([t for _, _, t in parts])
    return trials_from_arrays(
        choice=choice,
        correct=rewarded.astype(float),
        reward=rewarded.astype(float),
        reaction_time=rt,
        subject=np.repeat(subjects, n),
        session="s1",
    )


def choice_recording(choices, rewarded, name="agent"):
    """An agent's choice task as a simulation writes it: two samples per trial, the choice on the first,
    the reward on the second."""
    n = len(choices)
    trial = np.repeat(np.arange(n), 2)
    choice = np.full(2 * n, -1)
    choice[::2] = choices
    reward = np.zeros(2 * n)
    reward[1::2] = rewarded
    correct = np.full(2 * n, -1.0)
    correct[::2] = rewarded
    variables = {"trial": trial, "choice": choice, "reward": reward, "correct": correct}
    return from_arrays(
        np.full((2 * n, 2), 0.5),  # where it chooses does not matter here
        fps=10.0,
        arena={"shape": "box", "width": 1.0, "height": 1.0},
        individual_names=[name],
        variables={k: (("time", "individual"), v[:, None]) for k, v in variables.items()},
    )


def test_trial_tables_recover_and_tell_apart_win_stay_lose_shift(rng):
    subjects = [f"m{i}" for i in range(6)]
    wsls = table(rng, subjects, 300, win_stay=0.9, lose_shift=0.8)
    random = table(rng, [f"r{i}" for i in range(6)], 300, win_stay=0.5, lose_shift=0.5)
    report = na.compare_groups(random, wsls, labels=("random", "wsls"), n_permutations=199, n_bootstrap=300)
    assert report.per_trial
    assert report.names == ["accuracy", "win_stay", "lose_shift"]  # no reaction times in these tables
    assert "reaction_time" in report.skipped
    assert report.resampling.startswith("individual")  # six subjects each: units are subjects
    ws, ls = report["win_stay"], report["lose_shift"]
    # Each group's mean recovers its generating probability (about 900 win pairs per group: s.e. ~0.015).
    assert ws.groups[1].mean == pytest.approx(0.9, abs=0.04) and ws.groups[0].mean == pytest.approx(
        0.5, abs=0.05
    )
    assert ls.groups[1].mean == pytest.approx(0.8, abs=0.04) and ls.groups[0].mean == pytest.approx(
        0.5, abs=0.05
    )
    lo, hi = ws.difference_ci
    assert lo < -0.4 + 0.07 and hi > -0.4 - 0.07  # the true difference is inside its interval
    assert ws.permutation_pvalue < 0.05 and ls.permutation_pvalue < 0.05  # 6 vs 6 subjects: p >= 2/924
    assert report["accuracy"].permutation_pvalue > 0.05  # both are rewarded half the time
    md = report.to_markdown()
    assert "6 subject(s), 1800 trials (0 omissions)" in md


def test_an_agents_recording_is_compared_with_its_own_trial_table_as_equal(rng):
    choices, rewarded, _ = chooser(rng, 400, win_stay=0.8, lose_shift=0.7)
    rec = choice_recording(choices, rewarded)
    animal = na.compute_trials(rec)  # the same trials, now as a trial table
    report = na.compare_groups(rec, animal, labels=("agent", "animal"), n_permutations=99, n_bootstrap=200)
    assert report.per_trial and report.resampling.startswith("blocks of 40 consecutive trials")
    for name in ("accuracy", "win_stay", "lose_shift"):
        m = report[name]
        assert m.ks_statistic == 0.0 and m.groups[0].mean == m.groups[1].mean, name
        assert m.groups[0].n == m.groups[1].n > 100
    assert "no trial has a known reaction_time" in report.skipped["reaction_time"]


def test_track_metrics_asked_of_trials_are_skipped_with_the_reason(rng):
    a = table(rng, ["a"], 100, win_stay=0.7, lose_shift=0.6, rt_mean=0.4)
    b = table(rng, ["b"], 100, win_stay=0.7, lose_shift=0.6, rt_mean=0.6)
    report = na.compare_groups(a, b, metrics=["speed", "reaction_time"], n_permutations=99, n_bootstrap=100)
    assert "trial dataset has no track" in report.skipped["speed"]
    rt = report["reaction_time"]
    assert rt.groups[0].mean == pytest.approx(0.4, rel=0.1) and rt.groups[1].mean == pytest.approx(
        0.6, rel=0.1
    )
    with pytest.raises(ValueError, match="spatial"):
        na.compare_groups(a, b, settings={"bin_size": 0.05})


def test_compare_command_trial_by_trial(tmp_path, rng):
    choices, rewarded, _ = chooser(rng, 300, win_stay=0.6, lose_shift=0.6)
    save(choice_recording(choices, rewarded), tmp_path / "agent.nc")
    mice = table(rng, ["m1", "m2"], 200, win_stay=0.9, lose_shift=0.9)
    mice.to_dataframe().reset_index()[["subject", "session", "choice", "correct", "reward"]].to_csv(
        tmp_path / "mice.csv", index=False
    )
    out = tmp_path / "cmp"
    args = ["compare", str(tmp_path / "agent.nc"), str(tmp_path / "mice.csv"), "--trials", "--out", str(out)]
    assert main([*args, "--labels", "agent", "mice", "--permutations", "99", "--bootstrap", "100"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert [m["name"] for m in report["metrics"]] == ["accuracy", "win_stay", "lose_shift"]
    assert report["units"]["mice"][1]["n_trials"] == 200
    ws = {m["name"]: m for m in report["metrics"]}["win_stay"]["groups"]
    assert ws["mice"]["mean"] > 0.8 and abs(ws["agent"]["mean"] - 0.6) < 0.1
    assert (out / "distributions.png").exists() and not (out / "trajectories.png").exists()
    assert "2 subject(s), 400 trials" in (out / "report.md").read_text()


def test_an_empty_group_is_named_by_its_label(rng):
    with pytest.raises(ValueError, match="group 'agent'"):
        na.compare_groups([], table(rng, ["m"], 50, win_stay=0.5, lose_shift=0.5), labels=("agent", "mice"))
