"""compare_groups measures every recording in its own arena (issue 14): a recording without an arena gets
the metrics that need none and a "skipped: no arena" for the others, never the reference group's box; the
same animal gets the same value whatever it is compared with; never-tracked identity fragments are left out
with a note and tracked time is counted per animal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ou_track

from neuroethology import analysis as na
from neuroethology.data import arena_of

FAST = dict(n_permutations=49, n_bootstrap=50, resample_by="block")
METRICS = ["speed", "wall_distance", "thigmotaxis", "coverage"]


def boxed(xy, side):
    """Reflect a free path into a ``side`` x ``side`` box."""
    m = np.mod(xy, 2.0 * side)
    return np.where(m > side, 2.0 * side - m, m)


def animal(make_recording, rng, side, arena=True, n=3000):
    xy = boxed(ou_track(rng, n, start=(side / 2, side / 2)), side)
    box = {"shape": "box", "width": side, "height": side} if arena else None
    return make_recording(xy, fps=50.0, arena=box)


def test_a_recording_without_an_arena_is_never_measured_in_the_reference_box(make_recording, rng):
    mouse = animal(make_recording, rng, 0.6, arena=False)  # in a 0.6 m box it does not state
    rat = animal(make_recording, rng, 1.0)
    report = na.compare_groups(mouse, rat, metrics=METRICS, **FAST)
    assert report.names == ["speed"]
    for name in ("wall_distance", "thigmotaxis", "coverage"):
        assert "skipped: no arena" in report.skipped[name]
    shifted = animal(make_recording, rng, 0.6, arena=False)
    shifted["position"] = shifted["position"] + 0.7  # partly outside the rat's box: nothing goes negative
    report = na.compare_groups(rat, shifted, metrics=["wall_distance"], **FAST)
    assert "wall_distance" in report.skipped


def test_the_same_animal_gets_the_same_value_against_any_reference(make_recording, rng):
    mouse = animal(make_recording, rng, 0.6)
    rat = animal(make_recording, rng, 1.0)
    model = animal(make_recording, rng, 2.0)
    against_rat = na.compare_groups(mouse, rat, metrics=METRICS, **FAST)
    against_model = na.compare_groups(mouse, model, metrics=METRICS, **FAST)
    for name in ("thigmotaxis", "wall_distance"):
        a, b = against_rat[name].groups[0], against_model[name].groups[0]
        assert a.mean == pytest.approx(b.mean), name
    walls = against_rat["wall_distance"].samples[0]
    assert walls.min() >= 0 and walls.max() <= 0.3 + 1e-9  # the mouse's own 0.6 m box
    alone = float(na.compute_thigmotaxis(mouse))  # a tenth of its own box
    assert against_rat["thigmotaxis"].groups[0].mean == pytest.approx(alone)


def test_empty_identity_fragments_are_left_out_and_time_is_tracked_per_animal(make_recording, rng):
    """A tracker's output: two flies, one tracked for half the video, and three empty fragments."""
    n = 2000
    xy = np.full((n, 2, 1, 5), np.nan)
    xy[:, :, 0, 0] = boxed(ou_track(rng, n, start=(0.5, 0.5)), 1.0)
    xy[: n // 2, :, 0, 1] = boxed(ou_track(rng, n // 2, start=(0.5, 0.5)), 1.0)
    flies = make_recording(xy, fps=50.0, arena={"shape": "box", "width": 1.0, "height": 1.0})
    other = animal(make_recording, rng, 1.0)
    report = na.compare_groups(flies, other, metrics=["speed"], labels=("flies", "ref"), **FAST)
    units = report.units["flies"]
    assert [u["individual"] for u in units] == ["id_0", "id_1"]
    assert [u["duration"] for u in units] == pytest.approx([n / 50.0, n / 2 / 50.0])
    assert "3 individual(s) never tracked" in report.notes[0]
    text = report.to_markdown()
    assert "60.0 s tracked" in text and "## Left out" in text and "body point" in text


def test_coverage_is_a_fraction_of_each_recordings_own_arena(make_recording, rng):
    """A 2 m box whose animal explores only its upper quarter, held against a 1 m box: coverage is measured
    on the 2 m box's own grid (about a quarter), and the occupancy maps, which need one grid, are skipped."""
    rat = animal(make_recording, rng, 1.0)
    m = np.mod(ou_track(rng, 3000, start=(0.5, 0.5)), 2.0)
    corner = 1.0 + np.where(m > 1.0, 2.0 - m, m)  # in [1, 2] x [1, 2]
    big = make_recording(corner, fps=50.0, arena={"shape": "box", "width": 2.0, "height": 2.0})
    report = na.compare_groups(big, rat, metrics=["coverage", "occupancy"], **{**FAST, "resample_by": "unit"})
    own = float(na.compute_coverage(big, bin_size=0.1, extent=(0, 2, 0, 2), arena=arena_of(big)))
    assert report["coverage"].groups[0].mean == pytest.approx(own) and 0.1 < own <= 0.25
    assert "arenas differ" in report.skipped["occupancy"]


def test_time_blocks_cut_clock_time_evenly(make_recording, rng):
    """An animal tracked every other second: blocks are laid out over its clock time, so each holds about the
    same number of tracked samples."""
    xy = boxed(ou_track(rng, 1000, start=(0.5, 0.5)), 1.0)
    xy[(np.arange(1000) // 10) % 2 == 1] = np.nan  # 1 s tracked, 1 s lost, at 10 Hz
    gappy = make_recording(xy, fps=10.0, arena={"shape": "box", "width": 1.0, "height": 1.0})
    other = animal(make_recording, rng, 1.0, n=1000)
    report = na.compare_groups(gappy, other, metrics=["speed"], block_duration=20.0, **FAST)
    assert report.units["sim"][0]["duration"] == pytest.approx(50.0)  # tracked time, per animal
    assert report["speed"].groups[0].n_units == 5  # 100 s of clock time in 20 s blocks
