"""Analysis by region against analytic cases: hand-built tracks that cross regions at known, irregular times
(exact seconds, entries, latencies, transitions), gaps, episodes, two animals on their own clocks, points on
edges, bad regions, the plus maze's open-arm measures, and a held-out check: a random walk that occupies a
plus maze uniformly in time, recorded with more fixes in one arm than the others, whose time fractions
must match the arms' area fractions (sample counts would not)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from movement.roi import PolygonOfInterest

from neuroethology import data
from neuroethology.analysis import regions as nr
from neuroethology.analysis.plots import regions as plot_regions
from neuroethology.problems import ProblemsError

AS_RECORDED = {"time_sampling": "as recorded"}
SQUARES = {  # A and B share the edge x = 1; C is never visited
    "A": [[0, 0], [1, 0], [1, 1], [0, 1]],
    "B": [[1, 0], [2, 0], [2, 1], [1, 1]],
    "C": [[0, 2], [1, 2], [1, 3], [0, 3]],
}
AT = {"out": (1.5, 1.5), "A": (0.5, 0.5), "B": (1.5, 0.5), "nan": (np.nan, np.nan)}

W, L = 0.1, 0.5  # plus maze: arm width and arm length from the centre square's edge, m
H = W / 2
PLUS = {
    "centre": [[-H, -H], [H, -H], [H, H], [-H, H]],
    "open arm north": [[-H, H], [H, H], [H, H + L], [-H, H + L]],
    "open arm south": [[-H, -H - L], [H, -H - L], [H, -H], [-H, -H]],
    "closed arm east": [[H, -H], [H + L, -H], [H + L, H], [H, H]],
    "closed arm west": [[-H - L, -H], [-H, -H], [-H, H], [-H - L, H]],
}


def track(states, **kw):
    return data.from_arrays(np.array([AT[s] for s in states], float), **kw)


def one(ds, var):
    return dict(zip(ds["region"].values, ds[var].values[0], strict=True))


def test_irregular_track_gives_the_exact_times_entries_latencies_and_transitions():
    # Each sample's state holds until the next fix; the last one for the nominal 1 / fps = 0.5 s.
    t = [0.0, 0.4, 1.5, 1.75, 3.0, 3.1, 4.6, 5.0, 6.25]
    states = ["out", "A", "A", "B", "out", "A", "B", "B", "out"]
    ds = nr.compute_region_occupancy(track(states, time=t, fps=2.0, attrs=AS_RECORDED), SQUARES)
    seconds = one(ds, "time_in_region")
    assert seconds["A"] == pytest.approx((1.5 - 0.4) + (1.75 - 1.5) + (4.6 - 3.1))
    assert seconds["B"] == pytest.approx((3.0 - 1.75) + (5.0 - 4.6) + (6.25 - 5.0))
    assert seconds["outside"] == pytest.approx((0.4 - 0.0) + (3.1 - 3.0) + 0.5)
    assert float(ds["tracked_time"][0]) == pytest.approx(6.25 + 0.5)
    assert one(ds, "fraction_of_time")["A"] == pytest.approx(2.85 / 6.75)
    assert one(ds, "entries") == {"A": 2, "B": 2, "C": 0, "outside": 2}  # start outside: no entry
    lat = one(ds, "latency")
    assert lat["A"] == pytest.approx(0.4) and lat["B"] == pytest.approx(1.75) and lat["outside"] == 0.0
    assert np.isnan(lat["C"]) and not one(ds, "entered")["C"] and one(ds, "entered")["B"]
    m = ds["transitions"].isel(individual=0)
    expected = {("outside", "A"): 2, ("A", "B"): 2, ("B", "outside"): 2}
    for a in m["from_region"].values:
        for b in m["to_region"].values:
            assert int(m.sel(from_region=a, to_region=b)) == expected.get((a, b), 0), (a, b)
    np.testing.assert_array_equal(ds["entries"].values[0], m.sum("from_region").values)
    assert ds["initial_region"].values[0] == "outside" and int(ds["bridged_changes"][0]) == 0


@pytest.mark.parametrize(
    "states, bridged, broken",
    [
        (["out", "nan", "A", "A"], 1, 0),  # outside, gap, inside: it entered during the gap
        (["A", "nan", "nan", "A"], 0, 0),  # a lost frame inside A: the same visit, no new entry
        (["B", "nan", "A"], 1, 0),  # B before the gap, A after: a B -> A transition
    ],
)
def test_gaps_count_no_time_and_an_entry_across_them_follows_the_rule(states, bridged, broken):
    rec = track(states, fps=10.0)
    for rule, n in (("bridge", bridged), ("break", broken)):
        ds = nr.compute_region_occupancy(rec, SQUARES, across_gaps=rule)
        assert one(ds, "entries")["A"] == n, rule
        assert int(ds["bridged_changes"][0]) == (n if rule == "bridge" else 0)
        tracked = sum(s != "nan" for s in states)
        assert float(ds["tracked_time"][0]) == pytest.approx(tracked * 0.1)
        assert one(ds, "time_in_region")["A"] == pytest.approx(states.count("A") * 0.1)
    with pytest.raises(ValueError, match="across_gaps"):
        nr.compute_region_occupancy(rec, SQUARES, across_gaps="guess")


def test_a_new_episode_is_never_an_entry():
    # A simulation's reset moves the agent from B to A: no B -> A transition, whatever the gap rule.
    episode = np.array([0, 0, 0, 1, 1])[:, None]
    rec = track(["A", "B", "B", "A", "A"], fps=10.0, variables={"episode": (("time", "individual"), episode)})
    ds = nr.compute_region_occupancy(rec, SQUARES)
    assert one(ds, "entries") == {"A": 0, "B": 1, "C": 0, "outside": 0}
    assert one(ds, "time_in_region")["A"] == pytest.approx(0.3)


def test_two_animals_each_on_its_own_clock():
    # One table, two clocks: "fast" fixed every 1 s, "slow" every 2.5 s from 0.5 s. Read on the shared
    # axis (NaN between its own fixes) either would have only 1-frame samples.
    fast_t, slow_t = np.arange(0.0, 10.0, 1.0), 0.5 + np.arange(0.0, 10.0, 2.5)
    fast = ["A"] * 3 + ["B"] * 6 + ["out"]  # A for 3 s, B for 6 s
    slow = ["out", "B", "B", "out"]  # outside 2.5 s, B 5 s; B entered at 3.0 s
    time = np.union1d(fast_t, slow_t)
    pos = np.full((time.size, 2, 1, 2), np.nan)
    sampled = np.zeros((time.size, 2), int)
    for i, (ts, states) in enumerate(((fast_t, fast), (slow_t, slow))):
        rows = np.searchsorted(time, ts)
        pos[rows, :, 0, i] = [AT[s] for s in states]
        sampled[rows, i] = 1
    rec = data.from_arrays(
        pos,
        time=time,
        fps=1.0,
        individual_names=["fast", "slow"],
        variables={"sampled": (("time", "individual"), sampled)},
        attrs=AS_RECORDED,
    )
    ds = nr.compute_region_occupancy(rec, SQUARES)
    t = ds["time_in_region"]
    assert float(t.sel(individual="fast", region="A")) == pytest.approx(3.0)
    assert float(t.sel(individual="fast", region="B")) == pytest.approx(6.0)
    assert float(t.sel(individual="slow", region="B")) == pytest.approx(5.0)
    assert float(t.sel(individual="slow", region="outside")) == pytest.approx(2.5 + 1.0)  # last: 1 / fps
    assert float(ds["latency"].sel(individual="slow", region="B")) == pytest.approx(2.5)
    assert float(ds["start_time"].sel(individual="slow")) == 0.5
    only = nr.compute_region_occupancy(rec, SQUARES, individual="slow")
    assert list(only["individual"].values) == ["slow"]
    xr.testing.assert_equal(only["time_in_region"], t.sel(individual=["slow"]))


def test_points_on_edges_belong_to_the_first_region_given():
    on_shared = np.array([[1.0, 0.5], [1.0, 0.0], [1.0, 1.0]])  # on the edge A | B, and its corners
    on_outer = np.array([[0.0, 0.5], [2.0, 1.0], [0.5, 0.0]])  # on A's and B's outer edges
    beyond = np.array([[2.0 + 1e-12, 0.5], [0.5, -1e-12]])
    ab = nr.as_regions({k: SQUARES[k] for k in ("A", "B")})
    ba = nr.as_regions({k: SQUARES[k] for k in ("B", "A")})
    np.testing.assert_array_equal(nr.region_states(on_shared, ab), [0, 0, 0])  # A, listed first
    np.testing.assert_array_equal(nr.region_states(on_shared, ba), [0, 0, 0])  # B, listed first
    np.testing.assert_array_equal(nr.region_states(on_outer, ab), [0, 1, 0])  # closed regions
    np.testing.assert_array_equal(nr.region_states(beyond, ab), [2, 2])  # outside
    # The same test as movement's own contains_point (boundary included), point by point.
    for p in np.concatenate([on_shared, on_outer, beyond, [[0.3, 0.7], [5.0, 5.0]]]):
        for poi in ab.values():
            assert bool(poi.contains_point(p)) == (nr.region_states(p[None], {"x": poi})[0] == 0), p


def test_bad_regions_are_refused_with_every_problem_at_once():
    bad = {
        "line": [[0, 0], [1, 0]],
        "bow tie": [[0, 0], [1, 1], [1, 0], [0, 1]],
        "nan": [[0, 0], [np.nan, 0], [1, 1]],
        "outside": [[5, 5], [6, 5], [6, 6]],
        "A": SQUARES["A"],
        "inner": [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8]],  # inside A
    }
    with pytest.raises(ProblemsError) as err:
        nr.as_regions(bad)
    text = str(err.value)
    for expected in ("'line'", "'bow tie'", "'nan'", "reserved", "'A' and 'inner' overlap"):
        assert expected in text, expected
    assert len(err.value.problems) == 5
    rec = track(["A", "B"], fps=1.0)
    with pytest.raises(ValueError, match="stores no arena regions"):
        nr.compute_region_occupancy(rec)
    with pytest.raises(ValueError, match="no 'regions'"):
        nr.compute_region_occupancy(rec, {"boundary": [[0, 0], [2, 0], [2, 2]]})


def test_every_form_of_regions_and_input_gives_the_same_answer():
    t = [0.0, 0.3, 1.0, 1.2, 2.0]
    rec = track(["out", "A", "B", "B", "A"], time=t, fps=1.0, attrs=AS_RECORDED)
    ref = nr.compute_region_occupancy(rec, SQUARES)
    pois = [PolygonOfInterest(v, name=k) for k, v in SQUARES.items()]
    arena = {"boundary": [[0, 0], [2, 0], [2, 3], [0, 3]], "regions": SQUARES}
    for regions in (arena, pois, dict(zip(SQUARES, pois, strict=True))):
        xr.testing.assert_identical(nr.compute_region_occupancy(rec, regions), ref)
    # A bare position DataArray (movement 0.15's plural dims) is read with its own intervals.
    # Its last fix lasts 1 / attrs["fps"], else the median interval (0.5 s here).
    position = rec["position"].rename(keypoint="keypoints", individual="individuals")
    bare = nr.compute_region_occupancy(position.assign_attrs(fps=1.0), SQUARES)
    xr.testing.assert_allclose(bare["time_in_region"], ref["time_in_region"])
    np.testing.assert_array_equal(bare["transitions"].values, ref["transitions"].values)
    no_fps = nr.compute_region_occupancy(position, SQUARES)
    assert one(no_fps, "time_in_region")["A"] == pytest.approx(one(ref, "time_in_region")["A"] - 1.0 + 0.5)


def test_open_arm_measures_of_a_hand_built_plus_maze_session():
    at = {
        "centre": (0.0, 0.0),
        "north": (0.0, 0.3),
        "south": (0.0, -0.3),
        "east": (0.3, 0.0),
        "west": (-0.3, 0.0),
    }
    visits = [("centre", 2.0), ("north", 3.0), ("centre", 1.0), ("east", 10.0), ("centre", 0.5),
              ("west", 20.0), ("centre", 0.5), ("south", 1.5), ("centre", 1.0)]  # fmt: skip
    ends = np.cumsum([d for _, d in visits])
    t = np.concatenate([[0.0], ends[:-1]])  # one fix per visit; the last lasts 1 / fps = 1 s
    rec = data.from_arrays(np.array([at[v] for v, _ in visits]), time=t, fps=1.0, attrs=AS_RECORDED)
    m = nr.compute_open_arm_measures(rec, PLUS)
    open_time, closed_time = 3.0 + 1.5, 10.0 + 20.0
    assert float(m["open_time"][0]) == pytest.approx(open_time)
    assert float(m["closed_time"][0]) == pytest.approx(closed_time)
    assert float(m["open_time_ratio"][0]) == pytest.approx(open_time / (open_time + closed_time))
    assert int(m["open_entries"][0]) == 2 and int(m["closed_entries"][0]) == 2
    assert float(m["open_entry_ratio"][0]) == pytest.approx(0.5)
    # Explicit names, and names that match no region.
    swapped = nr.compute_open_arm_measures(
        nr.compute_region_occupancy(rec, PLUS),
        open_arms=["closed arm east", "closed arm west"],
        closed_arms=["open arm north", "open arm south"],
    )
    assert float(swapped["open_time_ratio"][0]) == pytest.approx(closed_time / (open_time + closed_time))
    with pytest.raises(ValueError, match="no region name starts with 'open arm'"):
        nr.compute_open_arm_measures(rec, SQUARES)
    with pytest.raises(ValueError, match="not regions"):
        nr.compute_open_arm_measures(rec, PLUS, open_arms=["open arm n"])


def _in_plus(p):
    x, y = p[..., 0], p[..., 1]
    return ((np.abs(x) <= H) & (np.abs(y) <= H + L)) | ((np.abs(y) <= H) & (np.abs(x) <= H + L))


def _uniform_walks(rng, n_walkers, n_steps, sigma):
    """Metropolis walks (symmetric Gaussian proposals, a step out of the maze rejected), started from the
    uniform distribution over the maze: uniform over the maze at every step."""
    p, todo = np.zeros((n_walkers, 2)), np.ones(n_walkers, bool)
    while todo.any():
        p[todo] = rng.uniform(-H - L, H + L, (todo.sum(), 2))
        todo = ~_in_plus(p)
    path = np.empty((n_steps, n_walkers, 2))
    for i in range(n_steps):
        path[i] = p
        q = p + rng.normal(0.0, sigma, p.shape)
        p = np.where(_in_plus(q)[:, None], q, p)
    return path


def _recorded(rng, path):
    """Each step lasts U(0.5, 1.5) s; the tracker fixes the animal 4 times per step in the north arm
    (irregular times within the step), once elsewhere: sample counts over-weight that arm 4-fold."""
    north = (np.abs(path[:, 0]) <= H) & (path[:, 1] > H)
    n_fix = np.where(north, 4, 1)
    duration = rng.uniform(0.5, 1.5, len(path))
    start = np.concatenate([[0.0], np.cumsum(duration[:-1])])
    times = [
        np.concatenate([[s], s + np.sort(rng.uniform(0, d, k - 1))])
        for s, d, k in zip(start, duration, n_fix, strict=True)
    ]
    return np.concatenate(times), np.repeat(path, n_fix, axis=0)


def test_uniform_random_walk_spends_the_areas_fractions_of_its_time_in_the_regions():
    """Held out: the expected fractions are the polygons' areas (arm W x L, centre W x W), not anything the
    code computes. Tolerance 0.02 on each fraction: the spread over 8 seeds was 0.002-0.005 (sd), the
    largest error 0.010; counting samples instead of time would give the north arm 0.55, not 0.24."""
    rng = np.random.default_rng(7)
    paths = _uniform_walks(rng, n_walkers=40, n_steps=5000, sigma=0.25)
    seconds, tracked, counts = np.zeros(len(PLUS) + 1), 0.0, np.zeros(len(PLUS) + 1)
    regions = nr.as_regions(PLUS)
    for j in range(paths.shape[1]):
        t, pos = _recorded(rng, paths[:, j])
        ds = nr.compute_region_occupancy(data.from_arrays(pos, time=t, fps=1.0, attrs=AS_RECORDED), regions)
        seconds += ds["time_in_region"].values[0]
        tracked += float(ds["tracked_time"][0])
        counts += np.bincount(nr.region_states(pos, regions), minlength=len(PLUS) + 1)
    area = np.array([W * W] + [W * L] * 4 + [0.0]) / (W * W + 4 * W * L)
    np.testing.assert_allclose(seconds / tracked, area, atol=0.02)
    assert counts[1] / counts.sum() > area[1] + 0.2  # the test tells time from samples


def test_region_figure(tmp_path):
    t = np.sort(np.random.default_rng(0).uniform(0, 30, 200))
    xy = np.column_stack([np.zeros_like(t), 0.5 * np.sin(t / 3)])
    rec = data.from_arrays(xy, time=t, fps=6.0, attrs=AS_RECORDED)
    arena = {"boundary": [[-0.6, -0.6], [0.6, -0.6], [0.6, 0.6], [-0.6, 0.6]], "regions": PLUS}
    fig, (ax_map, ax_bars) = plot_regions.plot_region_occupancy(rec, arena)
    occ = nr.compute_region_occupancy(rec, PLUS)
    widths = [p.get_width() for p in ax_bars.patches]
    np.testing.assert_allclose(widths, occ["time_in_region"].values[0])
    labels = {t.get_text() for t in ax_map.texts}
    assert labels == set(PLUS) and len(ax_map.lines) == 1
    assert len(ax_map.patches) == len(PLUS) + 1  # the filled regions and the arena outline
    fig.savefig(tmp_path / "regions.png")
    assert (tmp_path / "regions.png").stat().st_size > 1000
