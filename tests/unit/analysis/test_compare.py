"""compare_groups: detects a real difference, keeps the false-positive rate near nominal, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ou_track

from neuroethology import analysis as na

BOX = {"shape": "box", "width": 1.0, "height": 1.0}


def boxed(xy):
    """Reflect a free path into the unit box."""
    m = np.mod(xy, 2.0)
    return np.where(m > 1.0, 2.0 - m, m)


def walker(make_recording, rng, n=3000, **kw):
    return make_recording(boxed(ou_track(rng, n, **kw)), fps=50.0, arena=BOX)


FAST = dict(n_permutations=199, n_bootstrap=200)


def test_detects_different_ou_speed_processes(make_recording, rng):
    slow = walker(make_recording, rng, sigma_v=0.08)
    fast = walker(make_recording, rng, sigma_v=0.14)
    report = na.compare_groups(fast, slow, metrics=["speed", "wall_distance"], **FAST)
    speed = report["speed"]
    assert "time blocks of 6 s" in report.resampling
    assert speed.groups[0].n_units == speed.groups[1].n_units == 10
    assert speed.permutation_pvalue == pytest.approx(1 / 200)  # no relabelling beats the observed one
    assert speed.ks_statistic > 0.2 and speed.difference > 0
    assert speed.difference_ci[0] > 0  # the interval excludes no difference
    a, b = speed.samples
    assert speed.wasserstein == pytest.approx(abs(a.mean() - b.mean()), rel=0.3)
    assert speed.groups[0].ci[0] < a.mean() < speed.groups[0].ci[1]


def test_false_positive_rate_is_near_nominal(make_recording, rng):
    """Twenty pairs of recordings of one OU process: the block permutation test rejects at 5% about once;
    the asymptotic KS p-value, which ignores autocorrelation, rejects far more often."""
    n_repeats = 20
    perm_rejections, iid_rejections = 0, 0
    for _ in range(n_repeats):
        a, b = walker(make_recording, rng), walker(make_recording, rng)
        m = na.compare_groups(a, b, metrics=["speed"], **FAST)["speed"]
        perm_rejections += m.permutation_pvalue < 0.05
        iid_rejections += m.ks_pvalue < 0.05
    # Binomial(20, 0.05): P(X >= 5) = 0.003.
    assert perm_rejections <= 4, perm_rejections
    assert iid_rejections > perm_rejections


def test_unit_resampling_report_and_json(make_recording, rng):
    sims = [walker(make_recording, rng, n=1500, sigma_v=0.1) for _ in range(5)]
    # The real group: one recording holding five individuals.
    pos = np.stack([boxed(ou_track(rng, 1500, sigma_v=0.1)) for _ in range(5)], axis=-1)[:, :, None, :]
    real = make_recording(pos, fps=50.0, arena=BOX, individual_names=[f"rat{i}" for i in range(5)])
    report = na.compare_groups(sims, real, labels=("agent", "rat"), **FAST)
    assert report.resampling.startswith("individual")
    assert len(report.units["rat"]) == 5 and report.units["rat"][2]["individual"] == "rat2"
    expected = {
        "speed",
        "acceleration",
        "angular_velocity",
        "turning_angle",
        "wall_distance",
        "straightness",
        "step_length",
        "thigmotaxis",
        "coverage",
        "spatial_entropy",
        "msd_exponent",
        "sinuosity",
        "occupancy",
    }
    assert set(report.names) == expected
    assert "escape_latency" in report.skipped and "platform_x" in report.skipped["escape_latency"]
    occ = report["occupancy"]
    # 30 s each cover little of the box, so the maps differ (JSD is biased upwards by small samples), but
    # no more than relabelled units do.
    assert 0 < occ.jensen_shannon < 1 and occ.permutation_pvalue > 0.05
    assert report.occupancy["agent"].values.sum() == pytest.approx(1.0)
    d = json.loads(json.dumps(report.to_dict()))  # strictly JSON (NaN became null)
    assert d["labels"] == ["agent", "rat"] and d["settings"]["bin_size"] == pytest.approx(0.05)
    speed = next(m for m in d["metrics"] if m["name"] == "speed")
    assert set(speed["groups"]) == {"agent", "rat"} and "samples" not in speed
    assert speed["groups"]["agent"]["n_units"] == 5
    md = report.to_markdown()
    assert "| speed | m/s |" in md and "agent vs rat" in md and "Not compared" in md
    assert report["thigmotaxis"].permutation_statistic == "|difference of means|"
    with pytest.raises(KeyError, match="escape_latency"):
        report["escape_latency"]


def test_task_metrics_are_compared_when_both_groups_have_them(make_recording, rng):
    attrs = {"platform_x": 1.5, "platform_y": 1.0, "platform_radius": 0.1, "pool_radius": 1.0}

    def trials(speed):
        t = np.arange(0, 20.0, 0.1)
        xy = np.column_stack([np.minimum(0.2 + speed * t, 1.5), np.ones_like(t)])
        xy = np.tile(xy, (6, 1)) + rng.normal(0, 0.002, (6 * t.size, 2))
        episode = np.repeat(np.arange(6), t.size)[:, None]
        return make_recording(
            xy,
            fps=10.0,
            arena={"shape": "circle", "radius": 1.0},
            attrs=attrs,
            variables={"episode": (("time", "individual"), episode)},
        )

    report = na.compare_groups(
        trials(0.2),
        trials(0.1),
        metrics=["escape_latency", "platform_crossings"],
        resample_by="block",
        block_duration=20.0,
        **FAST,
    )
    lat = report["escape_latency"]
    assert lat.groups[0].mean == pytest.approx(6.0, abs=0.2) and lat.groups[1].mean == pytest.approx(
        12.0, abs=0.2
    )
    assert lat.groups[0].n == 6 and lat.permutation_pvalue < 0.01


def test_bad_arguments(make_recording, rng):
    rec = walker(make_recording, rng, n=500)
    with pytest.raises(ValueError, match="unknown metrics"):
        na.compare_groups(rec, rec, metrics=["speeed"])
    with pytest.raises(ValueError, match="labels"):
        na.compare_groups(rec, rec, labels=("a", "a"))
    with pytest.raises(ValueError, match="non-empty sequence"):
        na.compare_groups([], rec)
    with pytest.raises(ValueError, match="real #0"):
        na.compare_groups(rec, [rec.drop_vars("position")])
    with pytest.raises(ValueError, match="unknown settings"):
        na.compare_groups(rec, rec, settings={"bin_sise": 0.1})
