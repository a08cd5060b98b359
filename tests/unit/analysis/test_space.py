"""Occupancy, coverage, spatial entropy, wall distance and thigmotaxis on constructed paths."""

from __future__ import annotations

import numpy as np
import pytest

from neuroethology import analysis as na

BOX = {"shape": "box", "width": 1.0, "height": 1.0}


def grid_walk(n_per_bin: int = 3, bins: int = 10) -> np.ndarray:
    """A boustrophedon walk through the centres of a bins x bins grid on [0, 1]^2, n_per_bin samples in
    each bin: a perfectly uniform use of the arena."""
    centres = (np.arange(bins) + 0.5) / bins
    rows = []
    for j, y in enumerate(centres):
        xs = centres if j % 2 == 0 else centres[::-1]
        for x in xs:
            rows += [[x, y]] * n_per_bin
    return np.asarray(rows)


def test_uniform_grid_walk(make_recording):
    rec = make_recording(grid_walk(), fps=10.0, arena=BOX)
    occ = na.compute_occupancy(rec, bin_size=0.1)
    assert occ.dims == ("y", "x") and occ.shape == (10, 10) and occ.attrs["units"] == "s"
    np.testing.assert_allclose(occ.values, 0.3)  # 3 samples at 10 Hz in every bin
    np.testing.assert_allclose(na.compute_occupancy(rec, bin_size=0.1, normalize=True).values, 0.01)
    assert float(na.compute_coverage(rec, bin_size=0.1)) == 1.0
    assert float(na.compute_spatial_entropy(rec, bin_size=0.1)) == pytest.approx(1.0)
    assert float(na.compute_spatial_entropy(rec, bin_size=0.1, normalize=False)) == pytest.approx(
        np.log2(100)
    )
    # At 5 cm bins the walk visits one bin in four; entropy log2(100) of log2(400) possible.
    assert float(na.compute_coverage(occ := na.compute_occupancy(rec, bin_size=0.05))) == pytest.approx(0.25)
    assert float(na.compute_spatial_entropy(occ)) == pytest.approx(np.log2(100) / np.log2(400))


def test_single_bin_has_zero_entropy_and_circle_counts_arena_bins_only(make_recording):
    rec = make_recording(np.full((50, 2), 0.52), fps=10.0, arena={"shape": "circle", "radius": 0.5})
    occ = na.compute_occupancy(rec, bin_size=0.1)
    assert occ.values.sum() == pytest.approx(5.0)
    inside = occ["in_arena"].values
    assert inside.sum() < 100 and inside[5, 5] and not inside[0, 0]
    assert float(na.compute_coverage(occ)) == pytest.approx(1 / inside.sum())
    assert float(na.compute_spatial_entropy(occ)) == 0.0


def test_occupancy_needs_an_extent(make_recording):
    rec = make_recording(np.zeros((10, 2)), fps=10.0)
    with pytest.raises(ValueError, match="no arena geometry"):
        na.compute_occupancy(rec)
    assert na.compute_occupancy(rec, extent=(0, 1, 0, 1), bin_size=0.5).shape == (2, 2)


def test_thigmotaxis_of_a_path_along_the_wall(make_recording):
    s = np.linspace(0, 4, 400, endpoint=False)  # perimeter walk 2 cm inside a 1-m box
    side, u = np.floor(s).astype(int), s % 1
    x = np.select([side == 0, side == 1, side == 2, side == 3], [u, 1 + 0 * u, 1 - u, 0 * u])
    y = np.select([side == 0, side == 1, side == 2, side == 3], [0 * u, u, 1 + 0 * u, 1 - u])
    xy = 0.02 + 0.96 * np.column_stack([x, y])
    rec = make_recording(xy, fps=50.0, arena=BOX)
    np.testing.assert_allclose(na.compute_wall_distance(rec).values, 0.02, atol=1e-12)
    assert float(na.compute_thigmotaxis(rec)) == 1.0  # default zone: 10 cm in a 1-m box
    assert na.compute_thigmotaxis(rec).attrs["distance"] == pytest.approx(0.1)
    assert float(na.compute_thigmotaxis(rec, distance=0.01)) == 0.0
    centre = make_recording(np.full((100, 2), 0.5), fps=50.0, arena=BOX)
    assert float(na.compute_thigmotaxis(centre)) == 0.0
    half = make_recording(np.r_[xy[:100], np.full((100, 2), 0.5)], fps=50.0, arena=BOX)
    assert float(na.compute_thigmotaxis(half)) == 0.5


def test_wall_distance_in_a_circle_and_missing_arena(make_recording):
    rec = make_recording(
        np.array([[0.5, 0.5], [0.5, 0.9], [0.5, 1.1]]), fps=1.0, arena={"shape": "circle", "radius": 0.5}
    )
    np.testing.assert_allclose(na.compute_wall_distance(rec).values, [0.5, 0.1, -0.1], atol=1e-12)
    with pytest.raises(ValueError, match="no arena geometry"):
        na.compute_thigmotaxis(make_recording(np.zeros((3, 2)), fps=1.0))
