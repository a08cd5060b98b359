"""Single-unit tuning measures against cells with known tuning, analytic cases and a plain NumPy reference.

Synthetic cells fire Poisson spikes from known rate functions along a seeded random walk in a 1 x 1 m box
(50 Hz, 20 min: about 0.75 s per 2.5-cm bin, the coverage of a real open-field session).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.optimize import curve_fit
from scipy.signal import lfilter
from scipy.special import i0e, i1e

from neuroethology.analysis.neural import tuning as tu
from neuroethology.analysis.neural import tuning_time as tt

BOX = (0.0, 1.0, 0.0, 1.0)
DT = 0.02  # s, 50 Hz
N = 60_000  # 20 min


def box_walk(rng, n=N, dt=DT, mean_speed=0.15):
    """A random walk in the 1 x 1 m box: Ornstein-Uhlenbeck forward speed (tau 0.7 s, sd 0.1 m/s) and turning
    rate (tau 0.3 s, sd 2 rad/s), RatInABox-like, reflected at the walls. Returns xy (n, 2) m, the direction of
    motion (n,) rad and the speed (n,) m/s."""
    a_v, a_w = np.exp(-dt / 0.7), np.exp(-dt / 0.3)
    noise = rng.standard_normal((n, 2))
    v = np.abs(mean_speed + lfilter([0.1 * np.sqrt(1 - a_v**2)], [1, -a_v], noise[:, 0]))
    w = lfilter([2.0 * np.sqrt(1 - a_w**2)], [1, -a_w], noise[:, 1])
    theta = rng.uniform(0, 2 * np.pi) + np.cumsum(w) * dt
    free = rng.uniform(0.2, 0.8, 2) + np.cumsum(
        v[:, None] * dt * np.column_stack([np.cos(theta), np.sin(theta)]), 0
    )
    folded = np.mod(free, 2.0)
    xy = np.where(folded <= 1.0, folded, 2.0 - folded)  # reflection at x, y = 0 and 1
    step = np.diff(xy, axis=0, append=xy[-1:] + (xy[-1:] - xy[-2:-1]))
    return xy, np.arctan2(step[:, 1], step[:, 0]), v


def place_rate(xy, centre, width, peak=15.0, base=0.0):
    return base + peak * np.exp(-np.sum((xy - np.asarray(centre)) ** 2, axis=1) / (2 * width**2))


@pytest.fixture(scope="module")
def session():
    """One trajectory for the module; each test draws its spikes with its own seed (order-independent)."""
    return box_walk(np.random.default_rng(12))


def spikes(rng, rates, durations):
    return rng.poisson(np.asarray(rates) * np.asarray(durations)[:, None]).astype(float)


# ------------------------------------------------------------------------------------------------ rate maps


@pytest.mark.parametrize("kind", ["counts", "rate"])
def test_rate_maps_match_numpy_reference_step_by_step(kind):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1, (20_000, 2))
    xy[::97] = np.nan  # untracked samples count for nothing
    d = rng.choice([0.01, 0.02, 0.05], 20_000)  # irregular sampling
    d[::89] = 0.0
    act = (
        rng.poisson(0.3, (20_000, 3)).astype(float) if kind == "counts" else rng.gamma(2.0, 3.0, (20_000, 3))
    )
    ok = np.isfinite(xy).all(axis=1) & (d > 0)
    bins, rng2 = 40, ((0, 1), (0, 1))
    occ = np.histogram2d(xy[ok, 0], xy[ok, 1], bins=bins, range=rng2, weights=d[ok])[0].T
    w = act[ok] if kind == "counts" else act[ok] * d[ok, None]
    num = np.stack(
        [np.histogram2d(xy[ok, 0], xy[ok, 1], bins=bins, range=rng2, weights=w[:, u])[0].T for u in range(3)]
    )
    raw = tu.compute_rate_maps(
        xy, act, d, extent=BOX, bin_size=0.025, sigma=0.0, min_occupancy=0.05, kind=kind
    )
    np.testing.assert_allclose(raw.occupancy, occ, rtol=1e-12)
    visited = occ >= 0.05
    np.testing.assert_array_equal(np.isfinite(raw.maps), np.broadcast_to(visited, raw.maps.shape))
    np.testing.assert_allclose(raw.maps[:, visited], (num / np.where(occ > 0, occ, 1))[:, visited], rtol=2e-5)
    smooth = tu.compute_rate_maps(
        xy, act, d, extent=BOX, bin_size=0.025, sigma=0.0375, min_occupancy=0.05, kind=kind
    )
    ref = np.stack([gaussian_filter(n, 1.5, mode="constant") for n in num]) / gaussian_filter(
        occ, 1.5, mode="constant"
    )
    np.testing.assert_allclose(smooth.maps[:, visited], ref[:, visited], rtol=1e-4)
    np.testing.assert_allclose(smooth.x_edges, np.linspace(0, 1, 41))
    assert smooth.maps.shape == (3, 40, 40) and smooth.bin_size == 0.025 and smooth.extent == BOX


def test_rate_map_grid_layout_rows_are_y():
    xy = np.array([[0.9, 0.1]] * 10 + [[0.1, 0.9]] * 10)
    act = np.r_[np.ones(10), np.zeros(10)][:, None]
    maps = tu.compute_rate_maps(xy, act, np.full(20, 0.5), extent=(0, 1, 0, 2), bin_size=0.5, sigma=0.0)
    assert maps.maps.shape == (1, 4, 2)
    assert maps.maps[0, 0, 1] == pytest.approx(2.0)  # y bin 0, x bin 1: 1 spike per 0.5 s
    assert maps.maps[0, 1, 0] == 0.0 and np.isnan(maps.maps[0, 3, 1])


def test_place_field_location_and_width_recovered(session):
    xy, _, _ = session
    rng = np.random.default_rng(20)
    centre, width = np.array([0.35, 0.62]), 0.08
    d = np.full(N, DT)
    maps = tu.compute_rate_maps(xy, spikes(rng, place_rate(xy, centre, width)[:, None], d), d, extent=BOX)
    m = maps.maps[0]
    iy, ix = np.unravel_index(np.nanargmax(m), m.shape)
    xc, yc = (maps.x_edges[:-1] + maps.x_edges[1:]) / 2, (maps.y_edges[:-1] + maps.y_edges[1:]) / 2
    # The peak bin holds the centre within one bin diagonal.
    assert math.hypot(xc[ix] - centre[0], yc[iy] - centre[1]) <= 0.025 * math.sqrt(2)
    gx, gy = np.meshgrid(xc, yc)
    ok = np.isfinite(m)

    def gauss(p, a, x0, y0, s):
        return a * np.exp(-((p[0] - x0) ** 2 + (p[1] - y0) ** 2) / (2 * s**2))

    (a, x0, y0, s), _ = curve_fit(gauss, (gx[ok], gy[ok]), m[ok], p0=(10, 0.5, 0.5, 0.1))
    # The map is the field convolved with the smoothing Gaussian: widths add in quadrature.
    true_width = math.sqrt(max(s**2 - maps.sigma**2, 0.0))
    peak = a * s**2 / true_width**2  # the smoothing spreads the field: its peak drops by sigma^2 / s^2
    print(
        f"place field centre {x0:.4f}, {y0:.4f} (true {centre}); width {true_width:.4f} (true {width}); "
        f"peak {peak:.2f} Hz (true 15)"
    )
    assert math.hypot(x0 - centre[0], y0 - centre[1]) < 0.01  # 0.4 bin
    assert abs(true_width - width) / width < 0.1
    assert abs(peak - 15.0) < 1.5


def test_irregular_sampling_gives_the_regular_map_because_durations_count(session):
    """The same cell sampled at 10 ms in the right half of the box and 40 ms in the left half (a tracker dropping
    frames in one place) gives the map of 10-ms sampling everywhere; counting samples instead of seconds does not."""
    xy_fine, _, _ = box_walk(np.random.default_rng(5), n=120_000, dt=0.01)
    rate = place_rate(xy_fine, (0.5, 0.5), 0.15, base=2.0)[:, None]
    regular = tu.compute_rate_maps(xy_fine, rate * 0.01, np.full(len(rate), 0.01), extent=BOX, bin_size=0.05)
    keep, i = [], 0
    while i < len(rate):
        keep.append(i)
        i += 4 if xy_fine[i, 0] < 0.5 else 1
    keep = np.asarray(keep)
    dur = np.diff(np.r_[keep, len(rate)]) * 0.01
    expected_counts = np.add.reduceat(rate[:, 0] * 0.01, keep)[:, None]  # spikes expected over each interval
    irregular = tu.compute_rate_maps(xy_fine[keep], expected_counts, dur, extent=BOX, bin_size=0.05)
    both = np.isfinite(regular.maps) & np.isfinite(irregular.maps)
    err = np.max(np.abs(irregular.maps - regular.maps)[both]) / np.nanmax(regular.maps)
    naive = tu.compute_rate_maps(
        xy_fine[keep], expected_counts, np.full(len(keep), 0.01), extent=BOX, bin_size=0.05
    )
    both &= np.isfinite(naive.maps)
    naive_err = np.max(np.abs(naive.maps - regular.maps)[both]) / np.nanmax(regular.maps)
    print(f"irregular vs regular map: max error {err:.4f} of the peak; ignoring durations: {naive_err:.3f}")
    assert err < 0.03  # positions move < 1 cm within a 40-ms sample: a 5-cm map barely changes
    assert naive_err > 0.5  # the left half reads 4x too high


def test_rate_map_input_errors():
    xy = np.random.default_rng(1).uniform(0, 1, (2000, 2))
    act, d = np.ones((2000, 1)), np.full(2000, 0.02)
    with pytest.raises(ValueError, match="outside the extent"):
        tu.compute_rate_maps(xy + [0.1, 0.0], act, d, extent=BOX)
    xy2 = xy.copy()
    xy2[0] = [1.01, 0.5]  # one sample of 2000: 0.05% of the time
    with pytest.warns(UserWarning, match="left out 1 samples"):
        maps = tu.compute_rate_maps(xy2, act, d, extent=BOX)
    assert maps.outside_seconds == pytest.approx(0.02)
    with pytest.raises(ValueError, match="whole number"):
        tu.compute_rate_maps(xy, act, d, extent=BOX, bin_size=0.03)
    bad = act.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="not finite at 1 samples"):
        tu.compute_rate_maps(xy, bad, d, extent=BOX)
    with pytest.raises(ValueError, match="durations must have shape"):
        tu.compute_rate_maps(xy, act, d[:-1], extent=BOX)
    with pytest.raises(ValueError, match="kind must be one of"):
        tu.compute_rate_maps(xy, act, d, extent=BOX, kind="spikes")
    with pytest.raises(ValueError, match="counts >= 0"):
        tu.compute_rate_maps(xy, -act, d, extent=BOX)
    with pytest.raises(ValueError, match="like the trajectory"):
        tu.make_rate_map_fn(xy, d, extent=BOX).apply(act[:-1])


# ------------------------------------------------------------------------------------------ map measures


def test_skaggs_information_and_sparsity_analytic_two_bins():
    maps = np.array([[[0.0, 2.0]], [[4.0, 0.0]], [[3.0, 3.0]]])
    info = tu.compute_spatial_information(maps[:2], np.array([[1.0, 1.0]]))
    # p = (1/2, 1/2), rates (0, 2): mean 1, I = 1/2 * 2 * log2(2) = 1 bit/spike = 1 bit/s.
    assert info.bits_per_spike[0] == pytest.approx(1.0, abs=1e-6) and info.bits_per_second[
        0
    ] == pytest.approx(1.0)
    info = tu.compute_spatial_information(maps, np.array([[1.0, 3.0]]))
    # p = (1/4, 3/4). Rates (0, 2): mean 1.5, I = 3/4 * (2/1.5) log2(2/1.5) = log2(4/3). Rates (4, 0): mean 1,
    # I = 1/4 * 4 * log2(4) = 2 bits/spike = 2 bits/s. Uniform: 0.
    np.testing.assert_allclose(info.bits_per_spike, [math.log2(4 / 3), 2.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(info.bits_per_second, [1.5 * math.log2(4 / 3), 2.0, 0.0], atol=1e-6)
    # Sparsity <l>^2 / <l^2>: 1.5^2 / (3/4 * 4) = 0.75; 1 / (1/4 * 16) = 0.25; uniform 1.
    np.testing.assert_allclose(
        tu.compute_sparsity(maps, np.array([[1.0, 3.0]])), [0.75, 0.25, 1.0], rtol=1e-6
    )
    assert np.isnan(tu.compute_spatial_information(np.zeros((1, 1, 2)), np.ones((1, 2))).bits_per_spike[0])
    with pytest.raises(ValueError, match="rates >= 0"):
        tu.compute_spatial_information(-maps, np.ones((1, 2)))


def test_information_sparsity_coherence_of_place_and_uniform_cells(session):
    xy, _, _ = session
    rng = np.random.default_rng(21)
    d = np.full(N, DT)
    rates = np.column_stack([place_rate(xy, (0.6, 0.4), 0.08), np.full(N, 5.0)])
    counts = spikes(rng, rates, d)
    maps = tu.compute_rate_maps(xy, counts, d, extent=BOX)
    info = tu.compute_spatial_information(maps.maps, maps.occupancy)
    sparsity = tu.compute_sparsity(maps.maps, maps.occupancy)
    raw = tu.compute_rate_maps(xy, counts, d, extent=BOX, sigma=0.0)
    z = tu.compute_spatial_coherence(raw)
    print(
        f"bits/spike place {info.bits_per_spike[0]:.3f}, uniform {info.bits_per_spike[1]:.4f}; sparsity "
        f"{sparsity}; coherence z {z}"
    )
    # Field of 2 pi sigma^2 = 0.04 m^2 in a 1 m^2 box: about log2(1 / 0.04) - 1/(2 ln 2) = 3.9 bits/spike.
    assert info.bits_per_spike[0] > 2.5 and info.bits_per_spike[1] < 0.05
    assert sparsity[0] < 0.15 and sparsity[1] > 0.95
    assert z[0] > 1.0 and abs(z[1]) < 0.25
    with pytest.raises(ValueError, match="unsmoothed"):
        tu.compute_spatial_coherence(maps)


def test_coherence_analytic_checkerboard_and_gradient():
    ny = nx = 8
    checker = (np.add.outer(np.arange(ny), np.arange(nx)) % 2).astype(float)[None]
    gradient = np.tile(np.arange(nx, dtype=float), (ny, 1))[None]
    z = tu.compute_spatial_coherence(np.concatenate([checker, gradient]))
    assert z[0] < -0.5 and z[1] > 2.0  # neighbours disagree on a checkerboard, agree on a ramp
    np.testing.assert_allclose(tu.compute_spatial_coherence(-gradient), z[1:], rtol=1e-6)  # dF/F may be < 0


# ------------------------------------------------------------------------------------------- border score


def test_border_cell_scores_high_and_central_place_cell_low(session):
    xy, _, _ = session
    rng = np.random.default_rng(22)
    d = np.full(N, DT)
    border = 15.0 * np.exp(-(xy[:, 0] ** 2) / (2 * 0.04**2))  # a field along the wall x = 0
    rates = np.column_stack([border, place_rate(xy, (0.5, 0.5), 0.08), np.full(N, 5.0)])
    maps = tu.compute_rate_maps(xy, spikes(rng, rates, d), d, extent=BOX)
    b = tu.compute_border_score(maps.maps, extent=BOX, arena={"shape": "box", "width": 1.0, "height": 1.0})
    print(f"border scores: border cell {b[0]:.3f}, central place cell {b[1]:.3f}, uniform {b[2]:.3f}")
    assert b[0] > 0.5 and b[1] < 0
    assert b[1] == pytest.approx(-1.0)  # a field touching no wall: CM = 0


def test_border_fields_are_8_connected_components_as_scipy_labels_them():
    """The field labelling against scipy.ndimage.label with the 3 x 3 structure (8 neighbours) on random maps."""
    from scipy.ndimage import label

    rng = np.random.default_rng(5)
    for p in (0.3, 0.5, 0.6):
        above = rng.random((17, 23)) < p
        ours = np.asarray(tu._label(above))
        ref, _ = label(above, structure=np.ones((3, 3)))
        assert np.array_equal(ours >= 0, ref > 0)
        pairs = {(a, b) for a, b in zip(ours[above], ref[above], strict=True)}  # one-to-one: same partition
        assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})


def test_border_score_of_a_wall_strip_joined_only_across_corners():
    """A one-bin strip along the wall x = 0 whose bin in row 20 steps into the second column: one field of 40 bins
    (250 cm^2 > 200 cm^2 at 2.5 cm bins) joined across two corners. Analytic: CM = 39 / 40 of the wall's bins;
    DM = mean distance to the wall over half the side = (39 x 0.0125 + 0.0375) / 40 / 0.5; b = (CM - DM) /
    (CM + DM). With 4-connectivity it would split into strips of 20, 1 and 19 bins, all under 200 cm^2: NaN."""
    m = np.zeros((1, 40, 40))
    m[0, :, 0] = 10.0
    m[0, 20, 0], m[0, 20, 1] = 0.0, 10.0
    cm, dm = 39 / 40, (39 * 0.0125 + 0.0375) / 40 / 0.5
    b = tu.compute_border_score(m, extent=BOX)
    assert b[0] == pytest.approx((cm - dm) / (cm + dm), abs=1e-6)


def test_border_score_refuses_other_arenas_and_extents():
    maps = np.ones((1, 10, 10))
    for arena in ("circle", {"shape": "circle", "radius": 0.5}, {"boundary": [[0, 0], [1, 0], [0.5, 1]]}):
        with pytest.raises(ValueError, match="walls of a rectangular box"):
            tu.compute_border_score(maps, extent=BOX, arena=arena)
    tu.compute_border_score(maps, extent=BOX, arena={"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]})
    maps[:, :, 0] = np.nan  # one wall never visited (a short session): scored, no field can cover that wall
    assert np.isfinite(tu.compute_border_score(maps, extent=BOX)).all()
    ring = np.ones((1, 10, 10))
    # No wall visited at all: the extent is wider than the box.
    ring[:, [0, -1], :] = ring[:, :, [0, -1]] = np.nan
    with pytest.raises(ValueError, match="x_min"):
        tu.compute_border_score(ring, extent=BOX)
    with pytest.raises(ValueError, match="x_max > x_min"):
        tu.compute_border_score(np.ones((1, 10, 10)), extent=(1, 0, 0, 1))


# ---------------------------------------------------------------------------------------- head direction


def test_head_direction_cell_preferred_direction_and_mvl(session):
    _, heading, _ = session
    rng = np.random.default_rng(23)
    d = np.full(N, DT)
    pref, kappa, peak, base = 2.0, 4.0, 20.0, 1.0
    rates = np.column_stack([base + peak * np.exp(kappa * (np.cos(heading - pref) - 1)), np.full(N, 5.0)])
    tuning = tt.compute_head_direction_tuning(heading, spikes(rng, rates, d), d)
    err = math.degrees(abs(math.remainder(tuning.preferred_direction[0] - pref, 2 * math.pi)))
    # MVL of the true curve: peak e^-k I1(k) / (base + peak e^-k I0(k)), shrunk by the circular smoothing
    # (exp(-sigma^2/2)) and by 6-degree binning (sinc of half a bin).
    w = 2 * math.pi / 60
    expected = peak * i1e(kappa) / (base + peak * i0e(kappa)) * math.exp(-((math.radians(6)) ** 2) / 2)
    expected *= math.sin(w / 2) / (w / 2)
    print(f"HD: preferred error {err:.2f} deg, MVL {tuning.mean_vector_length} (expected {expected:.3f})")
    assert err < 3.0
    assert tuning.mean_vector_length[0] == pytest.approx(expected, rel=0.05)
    assert tuning.mean_vector_length[1] < 0.05
    assert tuning.curves.shape == (2, 60) and tuning.occupancy.sum() == pytest.approx(N * DT)


# ------------------------------------------------------------------------------------------------- speed


def test_speed_cell_score_and_slope_recovered(session):
    _, _, speed = session
    rng = np.random.default_rng(24)
    d, t = np.full(N, DT), np.arange(N) * DT
    rates = np.column_stack([2.0 + 40.0 * speed, np.full(N, 5.0)])
    res = tt.compute_speed_score(speed, spikes(rng, rates, d), d, t)
    print(
        f"speed: score {res.score}, slope {res.slope[0]:.2f} Hz/(m/s) (true 40), intercept {res.intercept[0]:.2f}"
    )
    assert res.score[0] > 0.6 and abs(res.score[1]) < 0.1
    assert res.slope[0] == pytest.approx(40.0, rel=0.1)
    assert res.intercept[0] == pytest.approx(2.0, abs=1.0)
    # Without Poisson noise (expected counts) the fit is exact: the rate and the speed share one kernel.
    exact = tt.compute_speed_score(speed, rates[:, :1] * DT, d, t)
    assert exact.slope[0] == pytest.approx(40.0, rel=1e-3) and exact.intercept[0] == pytest.approx(
        2.0, rel=1e-3
    )


def test_speed_score_smooths_in_seconds_over_irregular_timestamps():
    """A dense NumPy reference (every pair of samples) of the duration-weighted Gaussian in seconds."""
    rng = np.random.default_rng(3)
    n = 1500
    d = rng.choice([0.01, 0.03, 0.08], n)
    t = np.cumsum(d) - d
    speed = np.abs(0.15 + 0.1 * np.sin(t / 2.0) + 0.02 * rng.standard_normal(n))
    counts = rng.poisson((3 + 30 * speed) * d)[:, None].astype(float)
    res = tt.compute_speed_score(speed, counts, d, t, smoothing=0.25)
    g = np.exp(-0.5 * ((t[:, None] - t[None]) / 0.25) ** 2) * (np.abs(t[:, None] - t[None]) <= 1.0)
    rate, s = g @ counts[:, 0] / (g @ d), g @ (speed * d) / (g @ d)
    use = (speed >= 0.02) & (speed <= 0.5)
    ref = np.cov(s[use], rate[use], aweights=d[use])
    assert res.score[0] == pytest.approx(ref[0, 1] / np.sqrt(ref[0, 0] * ref[1, 1]), abs=1e-4)
    assert res.slope[0] == pytest.approx(ref[0, 1] / ref[0, 0], rel=1e-3)
    assert res.n_samples == int(use.sum())
    with pytest.raises(ValueError, match="non-decreasing"):
        tt.compute_speed_score(speed, counts, d, t[::-1])


def test_border_cell_of_an_animal_that_keeps_its_body_off_the_wall():
    """An agent with a body radius never enters the bins at the very edge: its walls are the visited bins
    nearest them, and a field along them is a border field."""
    maps = np.full((1, 40, 40), 0.5)
    maps[0, :, 2:4] = 10.0  # a strip along x_min, two bins (5 cm) in from the wall
    maps[:, :2, :] = maps[:, -2:, :] = maps[:, :, :2] = maps[:, :, -2:] = np.nan
    score = tu.compute_border_score(maps, extent=BOX)
    assert score[0] > 0.5
    centre = np.full((1, 40, 40), 0.5)
    centre[0, 15:25, 15:25] = 10.0
    centre[:, :2, :] = centre[:, -2:, :] = centre[:, :, :2] = centre[:, :, -2:] = np.nan
    assert tu.compute_border_score(centre, extent=BOX)[0] < 0
