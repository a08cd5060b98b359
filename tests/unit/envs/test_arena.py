"""Arena specs and geometry: point-in-polygon, rays and wall distances against analytic cases (square,
L-shape, ring, plus maze), the circle polygon's ray error, every preset, every spec form and its errors."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

import neuroethology.envs as ne
from neuroethology.envs import arena as A
from neuroethology.envs import geometry as geo
from neuroethology.envs.arena_presets import preset_names

# ---------------------------------------------------------------------------------------------------------
# Analytic arenas: a rectangle less axis-aligned rectangles (floor = outer, not in any removed one)
# ---------------------------------------------------------------------------------------------------------

# name: (outer (x0, y0, x1, y1), removed rectangles, arena mapping)
RECT_ARENAS = {
    "square": ((0, 0, 1, 1), [], {"boundary": [[0, 0], [1, 0], [1, 1], [0, 1]]}),
    "L": (
        (0, 0, 1, 1),
        [(0.6, 0.6, 1, 1)],
        {"boundary": [[0, 0], [1, 0], [1, 0.6], [0.6, 0.6], [0.6, 1], [0, 1]]},
    ),
    "ring": (
        (0, 0, 1, 1),
        [(0.3, 0.4, 0.7, 0.6)],
        {
            "boundary": [[0, 0], [1, 0], [1, 1], [0, 1]],
            "holes": [[[0.3, 0.4], [0.7, 0.4], [0.7, 0.6], [0.3, 0.6]]],
        },
    ),
    "plus_maze": (
        (0, 0, 0.65, 0.65),
        [(0, 0, 0.3, 0.3), (0.35, 0, 0.65, 0.3), (0, 0.35, 0.3, 0.65), (0.35, 0.35, 0.65, 0.65)],
        "plus_maze",
    ),
}


def analytic_inside(xy, outer, removed):
    x, y = xy[..., 0], xy[..., 1]
    ok = (x > outer[0]) & (x < outer[2]) & (y > outer[1]) & (y < outer[3])
    for x0, y0, x1, y1 in removed:
        ok &= ~((x > x0) & (x < x1) & (y > y0) & (y < y1))
    return ok


def slab(p, d, rect):
    """Entry and exit distances of the ray p + t d through an axis-aligned rectangle (Kay & Kajiya slabs)."""
    lo, hi = np.array(rect[:2], float), np.array(rect[2:], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - p) / d, (hi - p) / d
    t1 = np.where(d == 0, np.where((p > lo) & (p < hi), -np.inf, np.inf), t1)
    t2 = np.where(d == 0, np.where((p > lo) & (p < hi), np.inf, -np.inf), t2)
    return np.max(np.minimum(t1, t2)), np.min(np.maximum(t1, t2))


def analytic_ray(p, d, outer, removed):
    """The ray leaves the floor where it leaves the outer rectangle or enters a removed one."""
    best = slab(p, d, outer)[1]
    for rect in removed:
        t_in, t_out = slab(p, d, rect)
        if t_in <= t_out and t_out > 0:
            best = min(best, max(t_in, 0.0))
    return best


def analytic_wall_distance(p, outer, removed):
    x0, y0, x1, y1 = outer
    best = min(p[0] - x0, x1 - p[0], p[1] - y0, y1 - p[1])
    for rx0, ry0, rx1, ry1 in removed:
        dx, dy = max(rx0 - p[0], 0, p[0] - rx1), max(ry0 - p[1], 0, p[1] - ry1)
        best = min(best, np.hypot(dx, dy))
    return best


def floor_points(name, n, seed):
    """``n`` points on the analytic floor of ``name``, at least 1 mm from every wall."""
    outer, removed, _ = RECT_ARENAS[name]
    rng = np.random.default_rng(seed)
    pts = rng.uniform(outer[:2], outer[2:], (20 * n, 2))
    keep = [
        p
        for p in pts
        if analytic_inside(p, outer, removed) and analytic_wall_distance(p, outer, removed) > 1e-3
    ]
    return np.array(keep[:n])


@pytest.mark.parametrize("name", list(RECT_ARENAS))
def test_point_in_polygon_matches_the_analytic_floor(name):
    outer, removed, spec = RECT_ARENAS[name]
    g = A.arena_geometry(spec)
    # A grid offset from every edge coordinate (no point lies on an edge), reaching beyond the arena.
    xs = np.linspace(outer[0] - 0.1, outer[2] + 0.1, 97) + 1.234e-4
    grid = np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)
    got = np.asarray(g.inside(jnp.asarray(grid, jnp.float32)))
    np.testing.assert_array_equal(got, analytic_inside(grid, outer, removed))
    assert 0.05 < got.mean() < 0.95


@pytest.mark.parametrize("name", list(RECT_ARENAS))
def test_rays_and_wall_distances_match_the_analytic_floor(name):
    outer, removed, spec = RECT_ARENAS[name]
    g = A.arena_geometry(spec)
    rng = np.random.default_rng(1)
    pts = floor_points(name, 200, seed=2)
    angles = rng.uniform(-np.pi, np.pi, (len(pts), 16))
    dirs = np.stack([np.cos(angles), np.sin(angles)], -1)
    got = np.asarray(jax.vmap(g.ray_distances)(jnp.asarray(pts, jnp.float32), jnp.asarray(dirs, jnp.float32)))
    want = np.array(
        [[analytic_ray(p, d, outer, removed) for d in ds] for p, ds in zip(pts, dirs, strict=True)]
    )
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    walls = np.asarray(jax.vmap(g.distance_to_wall)(jnp.asarray(pts, jnp.float32)))
    want = [analytic_wall_distance(p, outer, removed) for p in pts]
    np.testing.assert_allclose(walls, want, rtol=1e-5, atol=1e-6)


def test_rays_see_thin_walls_from_both_sides():
    g = A.arena_geometry("hafting_barrier")  # barrier from (0.25, 0.5) to (0.75, 0.5)
    up, down = jnp.array([[0.0, 1.0]]), jnp.array([[0.0, -1.0]])
    np.testing.assert_allclose(np.asarray(g.ray_distances(jnp.array([0.5, 0.2]), up)), [0.3], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g.ray_distances(jnp.array([0.5, 0.9]), down)), [0.4], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g.ray_distances(jnp.array([0.1, 0.2]), up)), [0.8], rtol=1e-6)
    assert float(g.distance_to_wall(jnp.array([0.8, 0.5]))) == pytest.approx(0.05, abs=1e-6)


def test_circle_polygon_rays_stay_within_a_millimetre_of_the_circle():
    """The circle shorthand's boundary (a 128-gon inscribed in it) against the analytic circle, R = 1 m."""
    mapping = A.resolve_arena({"shape": "circle", "radius": 1.0})
    assert len(mapping["boundary"]) == 128
    g = A.arena_geometry({"boundary": mapping["boundary"]})
    angles = np.linspace(-np.pi, np.pi, 2001)
    dirs = jnp.asarray(np.stack([np.cos(angles), np.sin(angles)], -1), jnp.float32)
    centre = np.asarray(g.ray_distances(jnp.array([1.0, 1.0]), dirs), float)
    radial = np.max(np.abs(centre - 1.0))
    # From points spread over the disc (uniform over the area), in every direction.
    rng = np.random.default_rng(0)
    r, phi = np.sqrt(rng.uniform(0, 1, 2000)) * 0.999, rng.uniform(-np.pi, np.pi, 2000)
    pts = 1.0 + np.stack([r * np.cos(phi), r * np.sin(phi)], -1)
    ang = rng.uniform(-np.pi, np.pi, (2000, 8))
    dd = np.stack([np.cos(ang), np.sin(ang)], -1)
    poly = np.asarray(jax.vmap(g.ray_distances)(jnp.asarray(pts, jnp.float32), jnp.asarray(dd, jnp.float32)))
    exact = np.asarray(jax.vmap(lambda p, d: geo.ray_distances_circle(p, d, 1.0))(pts, dd))
    err = np.abs(poly - exact)
    print(
        f"\ncircle as 128-gon, R = 1 m: ray error from the centre max {radial * 1e3:.3f} mm; from uniform points "
        f"median {np.median(err) * 1e3:.3f} mm, 99th percentile {np.percentile(err, 99) * 1e3:.3f} mm, "
        f"max {err.max() * 1e3:.2f} mm (grazing rays near the wall)"
    )
    assert radial < 1e-3 and radial == pytest.approx(1 - np.cos(np.pi / 128), rel=1e-3)
    assert np.percentile(err, 99) < 1e-3


# ---------------------------------------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_resolves_canonically_with_its_regions_on_the_floor(name):
    arena = A.resolve_arena(name)
    assert set(arena) >= {"boundary", "holes", "walls", "regions"}
    assert A.resolve_arena(arena) == arena  # canonical: resolving again changes nothing
    assert json.loads(A.arena_json(arena)) == arena
    assert geo.signed_area(arena["boundary"]) > 0 and all(geo.signed_area(h) < 0 for h in arena["holes"])
    b = np.asarray(arena["boundary"])
    np.testing.assert_allclose(b.min(axis=0), [0.0, 0.0], atol=1e-12)  # bounding box from (0, 0)
    floor = A.arena_geometry(arena)
    for region_name, region in arena["regions"].items():
        assert region_name == region_name.strip() and region_name[0].islower()
        # Points spread over the region (its own uniform sampler) are all on the floor.
        sub = A.arena_geometry({"boundary": region})
        u = jax.random.uniform(jax.random.key(0), (500, 3))
        pts = jax.vmap(sub.pose)(u)[0]
        assert bool(jnp.all(floor.inside(pts))), region_name
    for wall in arena["walls"]:
        mid = jnp.asarray(np.mean(wall, axis=0), jnp.float32)
        assert float(floor.distance_to_wall(mid)) < 1e-6


def test_plus_maze_has_the_protocol_dimensions():
    arena = A.resolve_arena("plus_maze")
    regions = arena["regions"]
    assert set(regions) == {
        "open arm north",
        "open arm south",
        "closed arm east",
        "closed arm west",
        "centre",
    }
    for name in regions:
        area = geo.signed_area(regions[name])
        assert area == pytest.approx(0.0025 if name == "centre" else 0.30 * 0.05)
    assert geo.signed_area(arena["boundary"]) == pytest.approx(4 * 0.30 * 0.05 + 0.0025)
    assert len(arena["walls"]) == 6  # the closed arms' sides and ends
    assert A.arena_geometry(arena).solid.sum() == 12  # walls along the floor's edge add no segment


def test_radial_and_y_maze_regions_tile_the_floor():
    for name, n_arms in (("radial_arm_8", 8), ("y_maze", 3)):
        arena = A.resolve_arena(name)
        assert len(arena["regions"]) == n_arms + 1
        total = sum(geo.signed_area(r) for r in arena["regions"].values())
        assert total == pytest.approx(geo.signed_area(arena["boundary"]), rel=1e-9)


# ---------------------------------------------------------------------------------------------------------
# Spec forms
# ---------------------------------------------------------------------------------------------------------


def test_windings_are_normalised_and_closing_vertices_dropped():
    cw = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]  # clockwise, closed as shapely writes it
    ccw_hole = [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]
    arena = A.resolve_arena({"boundary": cw, "holes": [ccw_hole]})
    assert len(arena["boundary"]) == 4 and geo.signed_area(arena["boundary"]) == pytest.approx(1.0)
    assert geo.signed_area(arena["holes"][0]) == pytest.approx(-0.04)
    assert arena["walls"] == [] and arena["regions"] == {}


def test_box_and_circle_shorthands_carry_their_boundary():
    box = A.resolve_arena({"shape": "box", "width": 2, "height": 0.5})
    assert box["shape"] == "box" and box["width"] == 2.0 and box["height"] == 0.5
    assert box["boundary"] == [[0.0, 0.0], [2.0, 0.0], [2.0, 0.5], [0.0, 0.5]]
    assert A.is_shorthand(box) and not A.is_shorthand(A.resolve_arena("hafting_barrier"))
    circle = A.resolve_arena({"shape": "circle", "radius": 0.3})
    d = np.hypot(*(np.asarray(circle["boundary"]) - 0.3).T)
    np.testing.assert_allclose(d, 0.3, rtol=1e-12)


def test_yaml_and_json_files_resolve_and_name_themselves_in_errors(tmp_path):
    arena = A.resolve_arena("t_maze")
    path = tmp_path / "maze.yaml"
    path.write_text(yaml.safe_dump(arena))
    assert A.resolve_arena(str(path)) == arena
    (tmp_path / "maze.json").write_text(json.dumps(arena))
    assert A.resolve_arena(tmp_path / "maze.json") == arena
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"boundary": [[0, 0], [1, 0]], "walls": [[[0.2, 0.2], [0.2, 0.2]]]}))
    with pytest.raises(ValueError) as err:
        A.resolve_arena(str(bad))
    msg = str(err.value)
    assert "arena=" in msg and "bad.yaml" in msg and "boundary: expected at least 3" in msg
    assert "walls[0]: has zero length" in msg


def test_every_problem_is_named_in_one_error():
    with pytest.raises(A.ArenaError) as err:
        A.resolve_arena(
            {
                "boundary": [[0, 0], [1, 0], [1, 1], [0, 1]],
                "holes": [
                    [[0.1, 0.1], [0.3, 0.1], [0.3, 0.3], [0.1, float("nan")]],
                    [[0.5, 0.5], [1.5, 0.5], [0.5, 0.7]],
                ],
                "walls": [[[0.5, 0.2], [1.5, 0.2]], [[0.2, 0.9], [0.2, 0.9]]],
                "regions": {
                    "outside": [[1.1, 0.1], [1.5, 0.1], [1.5, 0.5]],
                    "bow tie": [[0, 0], [1, 1], [1, 0], [0, 1]],
                },
                "widht": 2,
            }
        )
    msg, problems = str(err.value), err.value.problems
    assert msg.startswith("arena= (a mapping) is not a valid arena")
    for expected in (
        "holes[0][3]: expected a point",
        "holes[1]: expected a hole strictly inside the boundary",
        "walls[0]: expected a segment on the floor",
        "walls[1]: has zero length",
        "regions['outside']: expected a region on the floor",
        "regions['bow tie']: edges",
        "unknown key 'widht' (did you mean 'width'?)",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_self_intersecting_boundary_and_unknown_preset_are_refused():
    with pytest.raises(
        ValueError, match=r"boundary: edges boundary\[0\]-\[1\] and boundary\[2\]-\[3\] cross"
    ):
        A.resolve_arena({"boundary": [[0, 0], [1, 1], [1, 0], [0, 1]]})
    with pytest.raises(ValueError, match=r"(?s)arena='plus_maz'.*did you mean 'plus_maze'"):
        A.resolve_arena("plus_maz")
    with pytest.raises(ValueError, match="spike"):
        A.resolve_arena({"boundary": [[0, 0], [2, 0], [1, 0], [1, 1]]})


def test_pixel_corners_map_a_filmed_maze_to_metres():
    """A camera tilted over a 0.65 m plus maze: its pixel outline and regions recover the maze in metres."""
    truth = A.resolve_arena("plus_maze")
    w = 0.65
    # A projective camera model (tilt and perspective): metres -> pixels.
    cam = np.array([[820.0, 35.0, 100.0], [-20.0, -790.0, 600.0], [0.05, 0.12, 1.0]])

    def to_px(points):
        p = np.asarray(points, float)
        q = np.concatenate([p, np.ones(p.shape[:-1] + (1,))], -1) @ cam.T
        return (q[..., :2] / q[..., 2:]).tolist()

    spec = {
        "pixels": to_px([[0, 0], [w, 0], [w, w], [0, w]]),
        "size_m": [w, w],
        "boundary": to_px(truth["boundary"]),
        "regions": {k: to_px(v) for k, v in truth["regions"].items()},
    }
    got = A.resolve_arena(spec)
    np.testing.assert_allclose(got["boundary"], truth["boundary"], atol=1e-9)
    for k, v in truth["regions"].items():
        np.testing.assert_allclose(got["regions"][k], v, atol=1e-9)
    # Corners alone: the W x H box.
    box = A.resolve_arena({"pixels": spec["pixels"], "size_m": [w, 0.4]})
    assert box["shape"] == "box" and box["width"] == w and box["height"] == 0.4
    with pytest.raises(ValueError, match="pixels: the corners are degenerate"):
        A.resolve_arena({"pixels": [[0, 0], [1, 1], [2, 2], [3, 3]], "size_m": 1.0})


def test_a_movement_polygon_of_interest_is_an_arena_and_regions_may_be_rois():
    from movement.roi import PolygonOfInterest

    roi = PolygonOfInterest(
        [(0, 0), (1, 0), (1, 1), (0, 1)], holes=[[(0.4, 0.4), (0.6, 0.4), (0.6, 0.6)]], name="box"
    )
    arena = A.resolve_arena(roi)
    assert len(arena["boundary"]) == 4 and len(arena["holes"]) == 1 and len(arena["holes"][0]) == 3
    zone = PolygonOfInterest([(0, 0), (0.2, 0), (0.2, 0.2), (0, 0.2)], name="corner")
    arena = A.resolve_arena({"shape": "box", "width": 1, "height": 1, "regions": {"corner": zone}})
    assert geo.signed_area(arena["regions"]["corner"]) == pytest.approx(0.04)


def test_floor_cells_hold_floor():
    cells = A.floor_cells("plus_maze", (13, 13))  # 5 cm cells: the arms are one cell wide
    expected = np.zeros((13, 13), bool)
    expected[6, :] = expected[:, 6] = True
    np.testing.assert_array_equal(cells, expected)
    assert A.floor_cells({"shape": "box", "width": 1, "height": 2}, (4, 3)).all()
    ring = A.floor_cells(RECT_ARENAS["ring"][2], (10, 10))  # hole [0.3, 0.7] x [0.4, 0.6]: 2 x 4 cells
    assert ring.sum() == 100 - 8 and not ring[4:6, 3:7].any()


def test_geometries_padded_alike_share_one_compiled_function():
    @jax.jit
    def rays(g, p):
        return g.ray_distances(p, jnp.array([[1.0, 0.0], [0.0, 1.0]]))

    square = A.arena_geometry(RECT_ARENAS["square"][2], max_segments=16, max_trapezoids=8)
    ell = A.arena_geometry(RECT_ARENAS["L"][2], max_segments=16, max_trapezoids=8)
    np.testing.assert_allclose(np.asarray(rays(square, jnp.array([0.7, 0.7]))), [0.3, 0.3], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(rays(ell, jnp.array([0.7, 0.3]))), [0.3, 0.3], rtol=1e-6)
    assert rays._cache_size() == 1
    with pytest.raises(ValueError, match="max_segments=2 is fewer than the arena's 4"):
        A.arena_geometry("box", max_segments=2)


# ---------------------------------------------------------------------------------------------------------
# OpenField's arena= and arena_of
# ---------------------------------------------------------------------------------------------------------


def env_circle_arena(params):
    return ne.OpenField().arena(params)  # what a Recording stores


def test_openfield_takes_any_arena_and_reports_it():
    _, default = ne.make("neuroethology/OpenField-v0")
    assert ne.make("neuroethology/OpenField-v0", arena="box")[1] == default
    _, circle = ne.make("neuroethology/OpenField-v0", arena={"shape": "circle", "radius": 0.4})
    assert circle == ne.make("neuroethology/OpenField-v0", arena_shape="circle", radius=0.4)[1]
    assert env_circle_arena(circle) == {"shape": "circle", "radius": 0.4}
    assert ne.arena_of(circle) == A.resolve_arena({"shape": "circle", "radius": 0.4})
    assert len(ne.arena_of(circle)["boundary"]) == A.CIRCLE_SIDES
    env, p = ne.make("neuroethology/OpenField-v0", arena="plus_maze", n_rays=5)
    assert p.arena_shape == "polygon" and p.n_rays == 5
    assert ne.arena_of(p) == A.resolve_arena("plus_maze")
    assert env.with_arena(default, ne.arena_of(p)) == p.replace(n_rays=12)
    assert env.with_arena(p, {"shape": "box", "width": 1.0, "height": 1.0}) == default.replace(n_rays=5)
    # A run's params_dict makes the same params again (the polygon travels as its JSON).
    assert ne.make("neuroethology/OpenField-v0", **env.params_dict(p))[1] == p
    assert ne.make("neuroethology/OpenField-v0", **env.params_dict(default))[1] == default


def test_openfield_arena_errors_name_the_arena():
    with pytest.raises(ValueError, match=r"arena='plus_maz'"):
        ne.make("neuroethology/OpenField-v0", arena="plus_maz")
    with pytest.raises(ValueError, match="arena_shape='polygon' needs arena="):
        ne.make("neuroethology/OpenField-v0", arena_shape="polygon")
    with pytest.raises(ValueError, match="arena= gives a polygon arena, but arena_shape is 'box'"):
        ne.make("neuroethology/OpenField-v0", arena="plus_maze", arena_shape="box")


def test_rendering_draws_the_polygon_floor_and_regions():
    env, p = ne.make("neuroethology/OpenField-v0", arena="plus_maze")
    _, state = env.reset(jax.random.key(0), p)
    _, image = env.render_image(state.replace(position=jnp.array([0.325, 0.6])), None, p)
    h, w, _ = image.shape
    canvas, _ = env.draw_arena(p, w)
    at = lambda x, y: image[tuple(int(v) for v in canvas.to_pixels((x, y)))[::-1]]  # noqa: E731
    assert tuple(at(0.1, 0.1)) == (215, 215, 215)  # outside the plus
    centre = at(0.325, 0.05)  # open arm south: floor tinted by its region
    assert centre.min() > 200 and tuple(centre) != (255, 255, 255)
    assert tuple(at(0.6, 0.29)) == (40, 40, 40) or tuple(at(0.6, 0.3)) == (40, 40, 40)  # closed arm's wall


def test_the_egocentric_image_shows_thin_walls():
    env, p = ne.make("neuroethology/OpenField-v0", arena="hafting_barrier", observe_image=True, image_size=30)
    state = env.initial(jax.random.key(0), p).replace(
        position=jnp.array([0.5, 0.3]), heading=jnp.float32(np.pi / 2)
    )
    image = np.asarray(env.observation(state, jax.random.key(0), p)["image"])[..., 0]
    forward = 0.3 - (np.arange(30) + 0.5) / 30 * 0.6  # metres ahead of each row (row 0 furthest ahead)
    wall_row = np.argmin(np.abs(forward - 0.2))  # the barrier at y = 0.5, 0.2 m ahead, x in [0.25, 0.75]
    middle = slice(5, 25)  # columns within 0.2 m to either side
    assert np.all(image[wall_row, middle] == 0)
    assert np.all(image[wall_row - 2, middle] == 1) and np.all(image[wall_row + 2, middle] == 1)
    _, box = ne.make("neuroethology/OpenField-v0", observe_image=True, image_size=30)
    plain = np.asarray(env.observation(state, jax.random.key(0), box)["image"])[..., 0]
    assert np.all(plain[wall_row, middle] == 1)  # the same view without the barrier


def rollout_positions(env_id, p, steps=60):
    """Positions ``(steps, 8, 2)`` of 8 environments under seeded random actions (one compiled scan)."""
    env = ne.make(env_id)[0]
    keys = jax.random.split(jax.random.key(3), 8)
    _, state = jax.vmap(env.reset, in_axes=(0, None))(keys, p)
    actions = jax.random.uniform(jax.random.key(4), (steps, 8, 2), minval=-1.0, maxval=1.0)
    actions = actions * jnp.array([p.max_acceleration, p.max_angular_velocity])

    def step(state, xs):
        k, a = xs
        _, state, *_ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(jax.random.split(k, 8), state, a, p)
        return state, state.position

    return np.asarray(jax.lax.scan(step, state, (jax.random.split(jax.random.key(5), steps), actions))[1])


def test_regions_do_not_change_the_physics_of_a_box_or_circle():
    """A box or circle with regions steps with the analytic formulas, bit for bit as the bare one, and keeps
    its regions (arena_of); holes or walls still make it a polygon."""
    quadrants = A.resolve_arena("water_maze")["regions"]
    zone = {"corner": [[0, 0], [0.3, 0], [0.3, 0.3], [0, 0.3]]}
    cases = [
        ({"shape": "circle", "radius": 1.0, "regions": quadrants}, {"shape": "circle", "radius": 1.0}),
        ({"shape": "box", "width": 1.0, "height": 1.0, "regions": zone}, "box"),
    ]
    for with_regions, bare in cases:
        _, p = ne.make("neuroethology/OpenField-v0", arena=with_regions)
        _, q = ne.make("neuroethology/OpenField-v0", arena=bare)
        assert p.arena_shape == q.arena_shape == with_regions["shape"]
        np.testing.assert_array_equal(
            rollout_positions("neuroethology/OpenField-v0", p),
            rollout_positions("neuroethology/OpenField-v0", q),
        )
        assert ne.arena_of(p)["regions"] == A.resolve_arena(with_regions)["regions"]
        assert ne.arena_of(q)["regions"] == {}
    walled = {
        "shape": "box",
        "width": 1.0,
        "height": 1.0,
        "walls": [[[0.2, 0.5], [0.8, 0.5]]],
        "regions": zone,
    }
    assert ne.make("neuroethology/OpenField-v0", arena=walled)[1].arena_shape == "polygon"
    with pytest.raises(ValueError, match="size it in arena="):
        ne.make("neuroethology/OpenField-v0", arena=cases[1][0], width=2.0)


def test_the_water_maze_preset_steps_as_the_circle_of_its_radius():
    _, p = ne.make("neuroethology/WaterMaze-v0", arena="water_maze")
    _, q = ne.make("neuroethology/WaterMaze-v0", arena={"shape": "circle", "radius": 1.0})
    assert p.arena_shape == "circle" and set(ne.arena_of(p)["regions"]) == set(
        A.resolve_arena("water_maze")["regions"]
    )
    np.testing.assert_array_equal(
        rollout_positions("neuroethology/WaterMaze-v0", p), rollout_positions("neuroethology/WaterMaze-v0", q)
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"shape": "box"}, ["width: expected a positive", "height: expected a positive"]),
        (
            {"shape": "box", "width": 1.0, "height": -2},
            ["height: expected a positive number of metres for a box, got -2"],
        ),
        (
            {"shape": "circle", "radius": "a"},
            ["radius: expected a positive number of metres for a circle, got 'a'"],
        ),
        ({"shape": "hexagon"}, ["shape: expected one of ('box', 'circle'), got 'hexagon'"]),
        ({"width": 1.0}, ["width: only used with 'shape'", "boundary: missing"]),
    ],
)
def test_a_shorthand_with_a_bad_size_names_only_the_size(spec, expected):
    """A box or circle needs no boundary: only a mapping without a shape is missing one."""
    with pytest.raises(A.ArenaError) as err:
        A.resolve_arena(spec)
    assert len(err.value.problems) == len(expected), err.value.problems
    for problem, start in zip(err.value.problems, expected, strict=True):
        assert problem.startswith(start), (problem, start)
