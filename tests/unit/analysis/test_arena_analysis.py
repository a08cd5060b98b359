"""The measures in any arena: regions read from a Recording loaded with ``arena="plus_maze"``, the distance to
the nearest wall in an L-shaped arena with a hole and a wall against hand values, the floor bins of an
occupancy map, the arena proposed from a plus-maze walk, and the arena figures."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shapely

import neuroethology.data as nd
from neuroethology.analysis import (
    compute_coverage,
    compute_occupancy,
    compute_region_occupancy,
    compute_thigmotaxis,
    compute_wall_distance,
    propose_arena,
    wall_distance,
)
from neuroethology.analysis.plots.trajectory import draw_arena, plot_arena_proposal, plot_occupancy
from neuroethology.envs.arena import resolve_arena

FPS = 10.0
PLUS = resolve_arena("plus_maze")  # arms 0.30 x 0.05 m around a 0.05 m centre (Walf & Frye 2007)
L_SHAPE = {
    "boundary": [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]],
    "holes": [[[0.4, 0.2], [0.6, 0.2], [0.6, 0.4], [0.4, 0.4]]],
    "walls": [[[0.2, 1.2], [0.2, 1.8]]],
}


def centre(name: str) -> list[float]:
    return np.mean(PLUS["regions"][name], axis=0).tolist()


def on_plus(x: float, y: float) -> bool:
    return (0.30 <= x <= 0.35 and 0 <= y <= 0.65) or (0 <= x <= 0.65 and 0.30 <= y <= 0.35)


def plus_walk(n: int, seed: int = 0, step: float = 0.004) -> np.ndarray:
    """A persistent walk on the plus maze's floor (0.2 m/s at 50 Hz): it turns a little each step and picks
    a new heading when the next step would leave the floor."""
    rng = np.random.default_rng(seed)
    turns, headings = rng.normal(0, 0.3, n), rng.uniform(0, 2 * np.pi, n)
    xy, p, h = np.empty((n, 2)), np.array([0.325, 0.325]), 0.0
    for i in range(n):
        q = p + step * np.array([math.cos(h), math.sin(h)])
        if on_plus(*q):
            p = q
        else:
            h = headings[i]
        h += turns[i]
        xy[i] = p
    return xy


# ------------------------------------------------------------------------------------------- regions


def test_regions_of_a_plus_maze_loaded_with_the_preset_give_the_analytic_times(tmp_path):
    visits = [("centre", 1.0), ("open arm north", 2.5), ("centre", 0.5), ("closed arm east", 3.0)]
    visits += [("centre", 0.4), ("open arm north", 1.2), ("centre", 0.3), ("closed arm west", 2.0)]
    xy = np.concatenate([np.repeat([centre(r)], round(s * FPS), axis=0) for r, s in visits])
    path = tmp_path / "epm.npz"
    np.savez(path, t=np.arange(len(xy)) / FPS, pos=xy)
    rec = nd.load(path, arena="plus_maze")
    occ = compute_region_occupancy(rec).isel(individual=0)
    expected = {"centre": 2.2, "open arm north": 3.7, "closed arm east": 3.0, "closed arm west": 2.0}
    for region, seconds in {**expected, "open arm south": 0.0, "outside": 0.0}.items():
        assert float(occ["time_in_region"].sel(region=region)) == pytest.approx(seconds, abs=1e-9), region
    entries = {
        "centre": 3,
        "open arm north": 2,
        "closed arm east": 1,
        "closed arm west": 1,
        "open arm south": 0,
    }
    for region, n in entries.items():
        assert int(occ["entries"].sel(region=region)) == n, region
    assert float(occ["latency"].sel(region="closed arm east")) == pytest.approx(4.0, abs=1e-9)
    assert np.isnan(float(occ["latency"].sel(region="open arm south")))


# ----------------------------------------------------------------------------------- distance to walls


def test_distance_to_the_nearest_wall_in_an_l_shape_with_a_hole_and_a_wall():
    cases = [
        ((0.15, 0.9), 0.15),  # the outer wall x = 0
        ((1.5, 0.5), 0.5),  # equidistant from three edges of the foot
        ((0.9, 1.5), 0.1),  # the inner edge x = 1 of the upright
        ((0.95, 0.95), math.hypot(0.05, 0.05)),  # the reflex corner (1, 1), not the lines through it
        ((0.25, 1.5), 0.05),  # the internal wall x = 0.2
        ((0.2, 1.95), 0.05),  # beyond the wall's end: the outer wall y = 2
        ((0.5, 0.5), 0.1),  # above the hole
        ((0.5, 0.3), -0.1),  # in the hole: off the floor
        ((1.2, 1.2), -0.2),  # in the notch of the L: off the floor
        ((3.0, 0.5), -1.0),  # far outside
    ]
    xy = np.array([p for p, _ in cases] + [[np.nan, np.nan]])
    got = wall_distance(xy, {"shape": "polygon", **L_SHAPE})
    np.testing.assert_allclose(got[:-1], [d for _, d in cases], atol=1e-12)
    assert np.isnan(got[-1])
    rec = nd.from_arrays(xy, fps=FPS, arena=L_SHAPE)
    np.testing.assert_allclose(compute_wall_distance(rec).values, got, atol=0)
    near = np.array([d for _, d in cases]) <= 0.12  # every tracked sample counts one frame
    assert float(compute_thigmotaxis(rec, distance=0.12)) == pytest.approx(near.mean())


def test_segments_agree_with_the_box_formula_and_the_plus_maze_by_hand():
    rng = np.random.default_rng(3)
    xy = rng.uniform(-0.2, 1.2, size=(2000, 2)) * [2.0, 1.0]
    box = {"shape": "box", "width": 2.0, "height": 1.0}
    as_polygon = {"shape": "polygon", "boundary": [[0, 0], [2, 0], [2, 1], [0, 1]], "holes": [], "walls": []}
    inside = (xy >= 0).all(axis=1) & (xy <= [2.0, 1.0]).all(axis=1)  # outside, the box formula's is per axis
    np.testing.assert_allclose(
        wall_distance(xy[inside], as_polygon), wall_distance(xy[inside], box), atol=1e-12
    )
    assert (wall_distance(xy[~inside], as_polygon) <= wall_distance(xy[~inside], box)).all()
    rec = nd.from_arrays([centre("centre"), centre("open arm north"), [0.1, 0.1]], fps=FPS, arena="plus_maze")
    hand = [
        math.hypot(0.025, 0.025),
        0.025,
        -0.2,
    ]  # reflex corners; an arm's sides; the south arm's side x = 0.3
    np.testing.assert_allclose(compute_wall_distance(rec).values, hand, atol=1e-12)


# ------------------------------------------------------------------------------------------- occupancy


@pytest.mark.parametrize(("bin_size", "floor_bins"), [(0.05, 13 + 13 - 1), (0.0325, 2 * 20 + 2 * 20 - 4)])
def test_occupancy_counts_only_floor_bins_in_a_plus_maze(bin_size, floor_bins):
    """Arms one bin wide on the 5 cm grid; on the 3.25 cm grid each arm straddles two bin columns."""
    xy = plus_walk(6000, seed=1)
    xy[100] = [0.1, 0.1]  # off the floor, between two arms: counted in its bin and reported
    rec = nd.from_arrays(xy, fps=50.0, arena="plus_maze")
    occ = compute_occupancy(rec, bin_size=bin_size)
    assert int(occ["in_arena"].sum()) == floor_bins
    assert occ.attrs["off_floor_seconds"] == pytest.approx(1 / 50.0)
    assert float(occ.sum()) == pytest.approx(len(xy) / 50.0)
    visited = int((occ.values > 0).sum())  # the floor bins visited and the one off-floor bin
    assert float(compute_coverage(occ)) == pytest.approx((visited - 1) / floor_bins)


# ---------------------------------------------------------------------------------------------- proposal


def test_propose_arena_recovers_a_plus_maze_from_a_walk_and_stores_nothing():
    xy = plus_walk(60_000)  # 20 minutes at 50 Hz
    rec = nd.from_arrays(xy, fps=50.0)
    proposal = propose_arena(rec)
    floor = shapely.Polygon(PLUS["boundary"])
    hull = shapely.Polygon(proposal["boundary"])
    assert abs(hull.area - floor.area) / floor.area < 0.10
    assert shapely.intersects_xy(hull, xy[:, 0], xy[:, 1]).mean() >= 0.99
    assert hull.intersection(floor).area / hull.union(floor).area > 0.95
    assert rec.attrs["arena_shape"] == "unknown"  # never stored unless passed back
    convex = shapely.Polygon(propose_arena(rec, method="convex_hull")["boundary"])
    assert convex.area > 3 * floor.area  # the convex hull fills the spaces between the arms
    back = nd.from_arrays(xy, fps=50.0, arena=proposal)
    assert nd.arena_of(back)["boundary"] == proposal["boundary"]
    with pytest.raises(ValueError, match="span no area"):
        propose_arena(nd.from_arrays(np.c_[np.linspace(0, 1, 20), np.zeros(20)], fps=FPS))
    with pytest.raises(ValueError, match="method must be one of"):
        propose_arena(rec, method="alpha_shape")


# ------------------------------------------------------------------------------------------------ figures


def test_the_arena_figures_draw_boundary_walls_holes_and_regions():
    fig, ax = plt.subplots()
    draw_arena(ax, "plus_maze")
    assert len(ax.lines) == len(PLUS["walls"])  # the closed arms' walls
    outlines = [p for p in ax.patches if not p.get_fill()]
    assert any(len(p.get_xy()) >= len(PLUS["boundary"]) for p in outlines)
    assert {t.get_text() for t in ax.texts} == set(PLUS["regions"])
    assert ax.get_xlim() == pytest.approx((-0.0195, 0.6695))
    plt.close(fig)
    fig, ax = plt.subplots()
    draw_arena(ax, L_SHAPE)
    assert len(ax.lines) == 1 and any(p.get_fill() for p in ax.patches)  # the wall; the hole filled
    plt.close(fig)
    rec = nd.from_arrays(plus_walk(3000, seed=2), fps=50.0)
    fig, ax = plot_arena_proposal(rec)
    assert "100.0 % of 3000 positions" in ax.get_title()
    plt.close(fig)
    occ = compute_occupancy(nd.from_arrays(plus_walk(3000, seed=2), fps=50.0, arena="plus_maze"))
    fig, ax = plot_occupancy(occ, arena=PLUS)
    assert np.ma.getmaskarray(ax.images[0].get_array()).sum() == occ.size - int(occ["in_arena"].sum())
    plt.close(fig)
