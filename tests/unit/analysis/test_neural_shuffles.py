"""Circular time-shift shuffles: the shifts, the shifted activity, and the null of per-unit scores.

The check that matters: with a 99th-percentile threshold, untuned units pass about 1% of the time (fewer than 5%
here) and tuned ones all pass; the score being shuffled is any jittable function of the activity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import lfilter

from neuroethology.analysis.neural import grid as gr
from neuroethology.analysis.neural import shuffles as sh
from neuroethology.analysis.neural import tuning as tu
from neuroethology.analysis.neural import tuning_time as tt

BOX = (0.0, 1.0, 0.0, 1.0)
DT = 0.02


def box_walk(rng, n, dt=DT, mean_speed=0.15):
    """A random walk in the 1 x 1 m box (OU forward speed and turning rate, reflected at the walls); (n, 2) m."""
    a_v, a_w = np.exp(-dt / 0.7), np.exp(-dt / 0.3)
    noise = rng.standard_normal((n, 2))
    v = np.abs(mean_speed + lfilter([0.1 * np.sqrt(1 - a_v**2)], [1, -a_v], noise[:, 0]))
    theta = (
        rng.uniform(0, 2 * np.pi)
        + np.cumsum(lfilter([2.0 * np.sqrt(1 - a_w**2)], [1, -a_w], noise[:, 1])) * dt
    )
    free = rng.uniform(0.2, 0.8, 2) + np.cumsum(
        v[:, None] * dt * np.column_stack([np.cos(theta), np.sin(theta)]), 0
    )
    folded = np.mod(free, 2.0)
    return np.where(folded <= 1.0, folded, 2.0 - folded)


def test_shift_activity_is_a_per_unit_roll():
    a = np.arange(30.0).reshape(10, 3)
    out = np.asarray(sh.shift_activity(jnp.asarray(a), jnp.asarray([0, 3, 9])))
    for u, k in enumerate([0, 3, 9]):
        np.testing.assert_array_equal(out[:, u], np.roll(a[:, u], k))


def test_shifts_last_at_least_min_shift_both_ways_on_an_irregular_clock():
    rng = np.random.default_rng(0)
    d = rng.choice([0.01, 0.02, 0.1], 5000)
    d[::50] = np.nan  # stands for no time
    shifts = sh.draw_shifts(jax.random.key(1), d, n_units=7, n_shuffles=200, min_shift=20.0)
    start = np.concatenate([[0.0], np.cumsum(np.nan_to_num(d))[:-1]])
    total = np.nansum(d)
    assert shifts.shape == (200, 7)
    seconds = start[shifts]
    assert seconds.min() >= 20.0 and (total - seconds).min() >= 20.0
    # Uniform in clock time: the mean shift sits mid-recording (sd of the mean of 1400 uniform draws ~ 0.4 s).
    assert abs(seconds.mean() - total / 2) < 3.0
    with pytest.raises(ValueError, match="twice that"):
        sh.draw_shifts(jax.random.key(1), np.full(100, 0.02), n_units=1, min_shift=20.0)


@pytest.fixture(scope="module")
def cells():
    """20 place cells (random centres, 8-cm fields, 15 Hz peak) and 40 untuned cells (5 Hz), 20 min at 50 Hz."""
    rng = np.random.default_rng(7)
    n = 60_000
    xy = box_walk(rng, n)
    centres = rng.uniform(0.15, 0.85, (20, 2))
    place = 15.0 * np.exp(-np.sum((xy[:, None, :] - centres[None]) ** 2, axis=2) / (2 * 0.08**2))
    rates = np.column_stack([place, np.full((n, 40), 5.0)])
    d = np.full(n, DT)
    return xy, rng.poisson(rates * DT).astype(np.float32), d


def test_spatial_information_shuffle_separates_place_from_untuned_cells(cells):
    xy, counts, d = cells
    rate_maps = tu.make_rate_map_fn(xy, d, extent=BOX)
    score = sh.make_map_score_fn(rate_maps, "bits_per_spike")
    res = sh.shuffle_null(score, counts, d, key=jax.random.key(0))
    direct = tu.compute_spatial_information(
        tu.compute_rate_maps(xy, counts, d, extent=BOX).maps, rate_maps.grid.occupancy
    )
    np.testing.assert_allclose(res.observed, direct.bits_per_spike, rtol=1e-5)
    false_pos = res.significant[20:].mean()
    print(
        f"place cells significant: {res.significant[:20].mean():.2f}; untuned: {false_pos:.3f} "
        f"(thresholds {np.median(res.threshold[20:]):.4f} bits/spike)"
    )
    assert res.null.shape == (60, 100) and res.threshold.shape == (60,)
    assert res.significant[:20].all()
    assert false_pos < 0.05


def test_any_jittable_score_plugs_in(cells):
    """A score of the activity alone (here the peak of each rate map, written inline, as a grid score would be)
    and the border score both run through the same null; the untuned units stay below 5%."""
    xy, counts, d = cells
    rate_maps = tu.make_rate_map_fn(xy, d, extent=BOX)

    def peak(maps, occupancy):
        return jnp.nanmax(maps, axis=(1, 2))

    res = sh.shuffle_null(
        sh.make_map_score_fn(rate_maps, peak), counts, d, key=jax.random.key(3), n_shuffles=50
    )
    assert res.null.shape == (60, 50) and res.significant[:20].all() and res.significant[20:].mean() < 0.05
    border = sh.make_map_score_fn(rate_maps, "border_score")
    np.testing.assert_allclose(
        np.asarray(border(counts[:, :5])),
        tu.compute_border_score(tu.compute_rate_maps(xy, counts[:, :5], d, extent=BOX).maps, extent=BOX),
        atol=1e-6,
    )


def test_shuffle_null_input_errors(cells):
    xy, counts, d = cells
    with pytest.raises(ValueError, match="one per unit"):
        sh.shuffle_null(lambda a: a.sum(), counts, d, key=jax.random.key(0))
    with pytest.raises(ValueError, match="percentile"):
        sh.shuffle_null(lambda a: a.sum(0), counts, d, key=jax.random.key(0), percentile=100)
    with pytest.raises(ValueError, match="measure must be one of"):
        sh.make_map_score_fn(tu.make_rate_map_fn(xy, d, extent=BOX), "grid")
    with pytest.raises(ValueError, match="unsmoothed"):
        sh.make_map_score_fn(tu.make_rate_map_fn(xy, d, extent=BOX), "coherence")


def test_head_direction_and_speed_scores_through_the_null():
    """Four HD cells, four speed cells and 24 untuned units over 10 min at 50 Hz: each tuned cell passes its own
    test, fewer than 5% of untuned units pass either, and the score functions equal the compute_* results."""
    rng = np.random.default_rng(11)
    n = 30_000
    heading = np.cumsum(rng.normal(0, 0.15, n))  # a random walk of heading, covering the circle many times
    a = np.exp(-DT / 0.7)
    speed = np.abs(0.15 + lfilter([0.1 * np.sqrt(1 - a**2)], [1, -a], rng.standard_normal(n)))
    hd = 1.0 + 20.0 * np.exp(4.0 * (np.cos(heading[:, None] - rng.uniform(0, 2 * np.pi, 4)) - 1))
    fast = 2.0 + 40.0 * speed[:, None] * np.ones(4)
    counts = rng.poisson(np.column_stack([hd, fast, np.full((n, 24), 5.0)]) * DT).astype(np.float32)
    d, t = np.full(n, DT), np.arange(n) * DT
    hd_fn, speed_fn = sh.make_head_direction_score_fn(heading, d), sh.make_speed_score_fn(speed, d, t)
    direct_hd = tt.compute_head_direction_tuning(heading, counts, d).mean_vector_length
    np.testing.assert_allclose(np.asarray(hd_fn(counts)), direct_hd, rtol=1e-4, atol=1e-6)
    direct_speed = tt.compute_speed_score(speed, counts, d, t).score
    np.testing.assert_allclose(np.asarray(speed_fn(counts)), direct_speed, rtol=1e-4, atol=1e-6)
    hd_null = sh.shuffle_null(hd_fn, counts, d, key=jax.random.key(5))
    speed_null = sh.shuffle_null(speed_fn, counts[:, 4:], d, key=jax.random.key(6))  # the smoothing costs
    untuned = hd_null.significant[8:] | speed_null.significant[4:]
    print(
        f"HD cells significant {hd_null.significant[:4]}, speed cells {speed_null.significant[:4]}, "
        f"untuned passing either: {untuned.mean():.3f}"
    )
    assert hd_null.significant[:4].all() and speed_null.significant[:4].all()
    assert untuned.mean() < 0.05


# ------------------------------------------------------------------------- the sparse fast path for counts


def test_sparse_shuffled_numerators_equal_the_dense_shift_exactly():
    """Shifting the path's bins against a unit's spiking samples gives the numerator of shift_activity +
    binning bit for bit (integer counts are exact in float32), on an irregular clock with untracked samples,
    samples of duration 0 and units of different spike counts (one of them silent); the maps then agree to float32
    rounding of the smoothing matmuls (XLA lays the batched products out differently)."""
    rng = np.random.default_rng(2)
    n, u = 12_000, 5
    xy = box_walk(rng, n)
    xy[rng.choice(n, 300, replace=False)] = np.nan
    d = rng.choice([0.0, 0.01, 0.02, 0.05], n)
    counts = rng.poisson(rng.uniform(0.005, 0.2, u) * np.ones((n, 1))).astype(np.float32)
    counts[:, 3] = 0.0  # a silent unit: nothing to scatter
    rmf = tu.make_rate_map_fn(xy, d, extent=BOX)
    b = rmf.binning
    unit, idx, val = sh._sparse_trains(counts)
    assert idx.shape == unit.shape == val.shape == ((counts != 0).sum(),)
    np.testing.assert_array_equal(val, counts[idx, unit])
    shifts = jnp.asarray(rng.integers(0, n, (4, u)), jnp.int32)
    n_bins = rmf.grid.occupancy.size
    scale = jnp.asarray(b.scale)
    for s in shifts:
        fast = sh._shifted_numerators(
            jnp.asarray(unit), jnp.asarray(idx), jnp.asarray(val), s, jnp.asarray(b.bins), scale, u, n_bins
        )
        moved = sh.shift_activity(jnp.asarray(counts), s)
        w = jnp.where(scale[:, None] > 0, moved * scale[:, None], 0.0)
        dense = jax.ops.segment_sum(w, jnp.asarray(b.bins), num_segments=n_bins + 1)[:n_bins].T
        np.testing.assert_array_equal(np.asarray(fast), np.asarray(dense))
        assert float(dense.sum()) > 0
    test = sh.make_map_shuffle_test(rmf, {"peak": lambda m, o: jnp.nanmax(m, axis=(1, 2))})
    res = test(counts, key=jax.random.key(4), n_shuffles=6, min_shift=5.0)["peak"]
    for k, s in enumerate(res.shifts):
        want = np.nanmax(
            np.asarray(rmf.apply(sh.shift_activity(jnp.asarray(counts), jnp.asarray(s)))), (1, 2)
        )
        np.testing.assert_allclose(res.null[:, k], want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(res.observed, np.nanmax(np.asarray(rmf.apply(counts)), (1, 2)), rtol=1e-6)


def test_one_shuffle_test_scores_several_measures_as_shuffle_null_does(cells):
    """Information, border and a grid score from one set of shuffled maps: the same shifts as shuffle_null
    with the same key, the same scores (to float32 rounding), and place cells still separate from untuned ones."""
    xy, counts, d = cells
    rmf = tu.make_rate_map_fn(xy, d, extent=BOX)
    grid_score = gr.make_grid_score_fn(rmf.grid.occupancy.shape, bin_size=rmf.grid.bin_size)
    measures = {"info": "bits_per_spike", "border": "border_score", "grid": grid_score}
    test = sh.make_map_shuffle_test(rmf, measures)
    sub = counts[:, 15:25]  # five place cells, five untuned
    fast = test(sub, key=jax.random.key(9), n_shuffles=8)
    for name, measure in measures.items():
        dense = sh.shuffle_null(
            sh.make_map_score_fn(rmf, measure), sub, d, key=jax.random.key(9), n_shuffles=8
        )
        np.testing.assert_array_equal(fast[name].shifts, dense.shifts)
        got = np.column_stack([fast[name].observed, fast[name].null])
        want = np.column_stack([dense.observed, dense.null])
        if name != "grid":
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
            continue
        # The Sargolini score is discontinuous (the annulus's outer radius is rounded to a whole bin, peaks are
        # picked by >): a last-bit difference in a map can move it. Most of the 90 scores agree to 2e-3.
        close = np.isclose(got, want, rtol=2e-3, atol=2e-3) | (np.isnan(got) & np.isnan(want))
        print(
            f"grid scores equal to 2e-3: {close.mean():.3f}; largest gap {np.nanmax(np.abs(got - want)):.3g}"
        )
        assert close.mean() >= 0.9
    full = test(counts, key=jax.random.key(0))["info"]
    assert (
        full.null.shape == (60, 100) and full.significant[:20].all() and full.significant[20:].mean() < 0.05
    )


def test_grid_score_fn_equals_compute_grid_properties():
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:40, 0:40] * 0.025
    k = 4 * np.pi / (np.sqrt(3) * 0.4)
    lattice = sum(np.cos(k * (np.cos(a) * xx + np.sin(a) * yy)) for a in np.pi / 2 + np.arange(3) * np.pi / 3)
    maps = np.stack([np.exp(lattice - 3), rng.uniform(0, 1, (40, 40))]).astype(np.float32)
    maps[:, :3, :3] = np.nan
    fn = gr.make_grid_score_fn((40, 40), bin_size=0.025)
    want = gr.compute_grid_properties(maps, bin_size=0.025).scores.score
    np.testing.assert_allclose(np.asarray(jax.jit(fn)(jnp.asarray(maps), None)), want, rtol=1e-6, atol=1e-6)
    assert want[0] > 1.0 and want[1] < 0.3  # a perfect lattice against noise
    with pytest.raises(ValueError, match="shape"):
        gr.make_grid_score_fn((40,), bin_size=0.025)


def test_shuffle_null_compiles_once_per_score_fn(cells):
    """A second call with the same score function and shapes reuses the compiled loop."""
    xy, counts, d = cells
    score = sh.make_map_score_fn(tu.make_rate_map_fn(xy, d, extent=BOX), "bits_per_spike")
    compiled = []

    def listener(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            compiled.append(duration)

    sh.shuffle_null(score, counts[:, :4], d, key=jax.random.key(0), n_shuffles=3)
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        sh.shuffle_null(score, counts[:, :4], d, key=jax.random.key(1), n_shuffles=3)
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    assert compiled == []

    class Unhashable:  # a callable object with __eq__ and no __hash__ still runs (compiled per call)
        __hash__ = None

        def __call__(self, a):
            return score(a)

    again = sh.shuffle_null(Unhashable(), counts[:, :4], d, key=jax.random.key(1), n_shuffles=3)
    direct = sh.shuffle_null(score, counts[:, :4], d, key=jax.random.key(1), n_shuffles=3)
    np.testing.assert_array_equal(again.null, direct.null)


def test_map_shuffle_test_input_errors(cells):
    xy, counts, d = cells
    rmf = tu.make_rate_map_fn(xy, d, extent=BOX)
    with pytest.raises(ValueError, match="carries the binning"):
        sh.make_map_shuffle_test(rmf._replace(binning=None), {"info": "bits_per_spike"})
    with pytest.raises(ValueError, match="at least one"):
        sh.make_map_shuffle_test(rmf, {})
    with pytest.raises(ValueError, match="measure must be one of"):
        sh.make_map_shuffle_test(rmf, {"x": "grid"})
    test = sh.make_map_shuffle_test(rmf, {"info": "bits_per_spike"})
    with pytest.raises(ValueError, match="like the path"):
        test(counts[:-1], key=jax.random.key(0))
    with pytest.raises(ValueError, match="percentile"):
        test(counts, key=jax.random.key(0), percentile=0)
