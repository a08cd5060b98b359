"""Arenas of any shape: what a lab's maze is, checked, and turned into the arrays the environments step in.

An arena is a mapping in metres (x right, y up)::

    {"boundary": [[x, y], ...],                      # the outer wall, a simple polygon (required)
     "holes":    [[[x, y], ...], ...],               # floor cut out: polygons the animal cannot enter
     "walls":    [[[x0, y0], [x1, y1]], ...],        # thin internal walls (the floor on both sides)
     "regions":  {"open arm north": [[x, y], ...]}}  # named polygons on the floor, for analysis by region

Box and circle stay shorthands: ``{"shape": "box", "width": W, "height": H}`` (``[0, W] x [0, H]``) and
``{"shape": "circle", "radius": R}`` (centred at ``(R, R)``) resolve with their ``boundary`` added (the circle
as its inscribed 128-gon: at R = 1 m rays from the centre are 0.3 mm short, 99% of rays from points over the
disc within 0.8 mm), and may carry holes, walls and regions too.

Entry points:

``resolve_arena(spec) -> dict``
    ``spec``: a preset name (:mod:`.arena_presets`), a YAML/JSON file or its text, a mapping, a movement
    ``PolygonOfInterest`` (exterior: boundary, interiors: holes; regions may be ROIs), or a camera view
    ``{"pixels": [[u, v] x 4], "size_m": [W, H]}``: the pixels of the maze corners at ``(0, 0), (W, 0),
    (W, H), (0, H)`` m, with any shapes in pixels too, mapped by the corners' projective transform (the map of
    ``neuroethology.data.load(arena_corners=..., arena_size=...)``). The result is canonical: every key, the
    boundary and regions anticlockwise, holes clockwise, floats. Pure NumPy; every problem in one
    :class:`ArenaError` naming the file, the field (``holes[1][3]``) and what was expected.
    ``arena_of(params)``: an environment's arena in this form.

``arena_geometry(spec) -> geometry.ArenaGeometry``
    The static-shaped JAX data: padded segments (boundary and hole edges, walls), the floor as trapezoids
    for uniform sampling, a safe point; methods ``inside``, ``ray_distances``, ``distance_to_wall``,
    ``sweep`` (the collision step), ``project`` and ``pose``. Cached per arena.

Environments whose params have ``arena_shape`` ("box", "circle" or "polygon"), ``width``, ``height``,
``radius`` and ``arena`` (the canonical mapping's JSON; static) list :class:`ArenaMixin` first among their
bases and get ``make(..., arena=ARENA)``, ``arena``/``with_arena``, ``collide`` (for ``body.move``), floor,
wall distance, rays, start poses and pictures; a box or circle without holes or walls keeps its analytic
physics, bit for bit (with regions too: :func:`is_analytic`; the params then keep its mapping in ``arena``).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import yaml

from neuroethology.problems import ProblemsError, did_you_mean

from . import geometry as geo
from .arena_presets import CIRCLE_SIDES, circle_polygon, preset, preset_names
from .body import view_directions
from .core import env_of, resolve_params, uniform21
from .rendering import Canvas, polygon_canvas

__all__ = [
    "ArenaError",
    "ArenaMixin",
    "arena_geometry",
    "arena_of",
    "arena_json",
    "floor_cells",
    "is_analytic",
    "is_shorthand",
    "resolve_arena",
]

SHAPES = ("box", "circle")
_SIZES = {"box": ("width", "height"), "circle": ("radius",)}
_KEYS = ("shape", "width", "height", "radius", "boundary", "holes", "walls", "regions", "pixels", "size_m")
_MAX_PER_RING = 5  # crossing problems reported per polygon (a badly traced polygon can have hundreds)


class ArenaError(ProblemsError):
    """An arena that cannot be used: every problem found, naming the ``arena=`` value (or its file)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(source, problems, what="is not a valid arena")


# ---------------------------------------------------------------------------------------------------------
# Spec -> canonical mapping
# ---------------------------------------------------------------------------------------------------------


def resolve_arena(spec: Any) -> dict[str, Any]:
    """The canonical arena mapping of ``spec`` (see the module docstring for the forms it takes)."""
    raw, source = _load(spec)
    return _canonical(raw, source)


def _load(spec: Any) -> tuple[Any, str]:
    """``(mapping, source)``: the raw mapping ``spec`` names and how errors name it."""
    if isinstance(spec, Path | str):
        text = str(spec).strip()
        if isinstance(spec, str) and text.startswith("{"):
            try:
                return json.loads(text), "arena= (JSON text)"
            except json.JSONDecodeError as err:
                raise ArenaError("arena= (JSON text)", [f"not valid JSON: {err}"]) from None
        if isinstance(spec, str) and text in preset_names():
            return preset(text), f"arena={text!r}"
        path = Path(text).expanduser()
        source = f"arena={text!r} ({path})"
        if not path.is_file():
            hint = did_you_mean(text, preset_names())
            raise ArenaError(
                f"arena={text!r}",
                [
                    f"neither a preset{hint} nor an existing YAML/JSON file; presets: {', '.join(preset_names())}"
                ],
            )
        try:
            raw = yaml.safe_load(path.read_text())  # JSON is YAML
        except (OSError, yaml.YAMLError) as err:
            raise ArenaError(source, [f"cannot be read as YAML or JSON: {err}"]) from None
        return raw, source
    if _polygon_of(spec) is not None:
        name = getattr(spec, "name", None)
        exterior, holes = _polygon_of(spec)
        return {"boundary": exterior, "holes": holes}, f"arena={type(spec).__name__}({name!r})"
    return spec, "arena= (a mapping)"


def _polygon_of(obj: Any) -> tuple[list, list] | None:
    """(exterior, holes) coordinates of a movement ``PolygonOfInterest`` (its ``.region``) or a shapely
    ``Polygon``; ``None`` for anything else (duck-typed: no import of either)."""
    poly = getattr(obj, "region", obj)
    if hasattr(poly, "exterior") and hasattr(poly, "interiors"):
        return [list(p) for p in poly.exterior.coords], [[list(p) for p in i.coords] for i in poly.interiors]
    return None


def _canonical(raw: Any, source: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ArenaError(source, [f"expected a mapping with a 'boundary' (or a 'shape'), got {raw!r}"])
    problems = [
        f"unknown key {key!r}{did_you_mean(str(key), _KEYS)}; valid keys: {', '.join(_KEYS)}"
        for key in raw
        if key not in _KEYS
    ]
    raw = dict(raw)
    if "pixels" in raw or "size_m" in raw:
        raw = _from_pixels(raw, problems)
        if not raw:
            raise ArenaError(source, problems)
    out: dict[str, Any] = {}
    generated = _shape(raw, out, problems)
    if generated is not None:
        boundary = _ring(generated, "boundary", problems)
        if "boundary" in raw and _ring(raw["boundary"], "boundary", []) != boundary:
            problems.append(
                f"boundary: a {out['shape']}'s boundary follows from its size; give one or the other"
            )
    elif "boundary" in raw:
        boundary = _ring(raw["boundary"], "boundary", problems)
    else:  # a shorthand whose shape or size is wrong needs no boundary: that problem is named already
        boundary = None
        if "shape" not in raw:
            problems.append(
                "boundary: missing; expected [[x, y], ...] (m), at least 3 vertices, or a 'shape'"
            )
    holes = [_ring(h, f"holes[{i}]", problems) for i, h in enumerate(_listed(raw, "holes", problems))]
    walls = [_wall(w, f"walls[{i}]", problems) for i, w in enumerate(_listed(raw, "walls", problems))]
    regions = _regions(raw.get("regions") or {}, problems)
    if boundary is not None:  # the layout of the parts that parsed, so one error lists everything
        _check_layout(boundary, holes, walls, regions, problems)
    if problems:
        raise ArenaError(source, problems)
    out["boundary"] = _wound(boundary, anticlockwise=True)
    out["holes"] = [_wound(h, anticlockwise=False) for h in holes]
    out["walls"] = walls
    out["regions"] = {name: _wound(r, anticlockwise=True) for name, r in regions.items()}
    return out


def _shape(raw: dict, out: dict, problems: list[str]) -> list | None:
    """For a ``shape`` shorthand: its checked sizes into ``out`` and its boundary; else ``None`` (and a
    problem for sizes given without a shape)."""
    shape = raw.get("shape")
    if shape is None:
        stray = [k for k in ("width", "height", "radius") if k in raw]
        if stray:
            problems.append(f"{', '.join(stray)}: only used with 'shape' ('box' or 'circle')")
        return None
    if shape not in SHAPES:
        problems.append(f"shape: expected one of {SHAPES}, got {shape!r}")
        return None
    out["shape"] = shape
    sized = True
    for key in _SIZES[shape]:  # every size at fault is named
        value = raw.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.number)
            or not (math.isfinite(value) and value > 0)
        ):
            problems.append(f"{key}: expected a positive number of metres for a {shape}, got {value!r}")
            sized = False
        else:
            out[key] = float(value)
    extra = [k for k in ("width", "height", "radius") if k in raw and k not in _SIZES[shape]]
    if extra:
        problems.append(f"{', '.join(extra)}: not used by a {shape} (expected {list(_SIZES[shape])})")
    if not sized:
        return None
    if shape == "box":
        w, h = out["width"], out["height"]
        return [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]
    r = out["radius"]
    return circle_polygon((r, r), r, CIRCLE_SIDES)


def _listed(raw: dict, key: str, problems: list[str]) -> list:
    value = raw.get(key) or []
    if not isinstance(value, list | tuple):
        problems.append(f"{key}: expected a list, got {value!r}")
        return []
    return list(value)


def _point(value: Any, where: str, problems: list[str]) -> list[float] | None:
    try:
        p = [float(v) for v in value]
        ok = len(p) == 2 and all(math.isfinite(v) for v in p) and not isinstance(value, str)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        problems.append(f"{where}: expected a point [x, y] of two finite numbers (m), got {value!r}")
        return None
    return p


def _ring(value: Any, where: str, problems: list[str]) -> list[list[float]] | None:
    """A polygon's vertices: points, at least 3, none repeating the one before (a last vertex repeating the
    first closes the ring, as shapely and GeoJSON write it, and is dropped), enclosing a positive area."""
    exterior = _polygon_of(value)
    if exterior is not None:
        if exterior[1]:
            problems.append(f"{where}: a region or hole must be a polygon without holes of its own")
        value = exterior[0]
    if not isinstance(value, list | tuple | np.ndarray):
        problems.append(f"{where}: expected a list of points [[x, y], ...] (m), got {value!r}")
        return None
    points = [_point(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
    if any(p is None for p in points):
        return None
    if len(points) > 1 and points[-1] == points[0]:
        points = points[:-1]
    if len(points) < 3:
        problems.append(f"{where}: expected at least 3 vertices, got {len(points)}")
        return None
    for i in range(1, len(points)):
        if points[i] == points[i - 1]:
            problems.append(f"{where}[{i}]: repeats the vertex before it ({points[i]})")
            return None
    return points


def _wall(value: Any, where: str, problems: list[str]) -> list[list[float]] | None:
    if not isinstance(value, list | tuple | np.ndarray) or len(value) != 2:
        problems.append(f"{where}: expected a segment [[x0, y0], [x1, y1]] (m), got {value!r}")
        return None
    a, b = _point(value[0], f"{where}[0]", problems), _point(value[1], f"{where}[1]", problems)
    if a is not None and a == b:
        problems.append(f"{where}: has zero length (both ends at {a})")
    return [a, b] if a is not None and b is not None and a != b else None


def _regions(value: Any, problems: list[str]) -> dict[str, list]:
    if not isinstance(value, Mapping):
        problems.append(f"regions: expected a mapping {{name: [[x, y], ...]}}, got {value!r}")
        return {}
    out = {}
    for name, ring in value.items():
        if not isinstance(name, str) or not name.strip():
            problems.append(f"regions: names must be non-empty strings, got {name!r}")
            continue
        out[name] = _ring(ring, f"regions[{name!r}]", problems)
    return out


def _from_pixels(raw: dict, problems: list[str]) -> dict:
    """``raw`` with every coordinate mapped from pixels to metres (see the module docstring)."""
    corners = np.asarray(raw.pop("pixels", None), dtype=object)
    size = raw.pop("size_m", None)
    size = [size, size] if isinstance(size, int | float) and not isinstance(size, bool) else size
    try:
        corners = np.asarray(corners, dtype=np.float64)
        w, h = (float(v) for v in size)
        ok = corners.shape == (4, 2) and np.isfinite(corners).all() and w > 0 and h > 0
    except (TypeError, ValueError):
        ok = False
    if not ok or "shape" in raw:
        problems.append(
            "pixels: expected the 4 pixel corners [[u, v], ...] that are (0, 0), (W, 0), (W, H), (0, H) m, "
            "with size_m: [W, H] (m) and no 'shape'"
        )
        return {}
    target = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    rows = []
    for (x, y), (u, v) in zip(corners, target, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y, -u], [0, 0, 0, x, y, 1, -v * x, -v * y, -v]]
    _, s, vt = np.linalg.svd(np.asarray(rows))  # direct linear transform (Hartley & Zisserman, alg. 4.1)
    if s[-2] < 1e-10 * s[0]:
        problems.append("pixels: the corners are degenerate (three on a line, or repeated)")
        return {}
    hom = vt[-1].reshape(3, 3) / vt[-1][-1]

    def to_m(pts: Any) -> Any:
        try:
            p = np.asarray(pts, dtype=np.float64)
        except (TypeError, ValueError):
            return pts  # left for the field's own check to name
        if p.ndim == 0 or p.shape[-1] != 2:
            return pts
        q = np.concatenate([p, np.ones(p.shape[:-1] + (1,))], -1) @ hom.T
        return (q[..., :2] / q[..., 2:]).tolist()

    out = {k: v for k, v in raw.items() if k not in ("boundary", "holes", "walls", "regions")}
    if "boundary" in raw:
        out["boundary"] = to_m(raw["boundary"])
    else:
        out.update(shape="box", width=w, height=h)
    out["holes"] = [to_m(x) for x in raw.get("holes") or []]
    out["walls"] = [to_m(x) for x in raw.get("walls") or []]
    regions = raw.get("regions") or {}
    out["regions"] = {k: to_m(v) for k, v in regions.items()} if isinstance(regions, Mapping) else regions
    return out


def _crossings(ring: list, where: str, problems: list[str]) -> None:
    """Name the edges of ``ring`` that cross or touch another (a polygon must be simple)."""
    e = geo.ring_edges(ring)
    n = len(e)
    i, j = np.triu_indices(n, 1)
    far = (j - i > 1) & ~((i == 0) & (j == n - 1))
    hits = np.flatnonzero(far & geo.segments_meet(e[i], e[j]))
    # Neighbouring edges meet only at their shared vertex: one folding back over the other is a spike.
    v = e[:, 1] - e[:, 0]
    fold = np.flatnonzero(
        (geo.orientation(e[:, 0], e[:, 1], np.roll(e[:, 1], -1, 0)) == 0)
        & (np.sum(v * np.roll(v, -1, 0), -1) < 0)
    )
    for k in hits[:_MAX_PER_RING]:
        problems.append(
            f"{where}: edges {where}[{i[k]}]-[{(i[k] + 1) % n}] and {where}[{j[k]}]-[{(j[k] + 1) % n}] cross or "
            "touch; expected a simple polygon (no self-intersection)"
        )
    for k in fold[:_MAX_PER_RING]:
        problems.append(
            f"{where}[{(k + 1) % n}]: the outline folds back on itself there (a zero-width spike)"
        )


def _wound(points: list, *, anticlockwise: bool) -> list:
    return points if (geo.signed_area(points) > 0) == anticlockwise else points[::-1]


def _check_layout(boundary: list, holes: list, walls: list, regions: dict, problems: list[str]) -> None:
    """Each polygon simple; holes strictly inside the boundary and apart; walls and regions on the floor."""
    _crossings(boundary, "boundary", problems)
    outer = geo.ring_edges(boundary)
    scale = float(np.ptp(np.asarray(boundary), axis=0).max())
    tol = 1e-12 * scale**2  # orientations this small are rounding: vertices placed on an edge by arithmetic

    def on_floor(pts: Any) -> np.ndarray:  # inside or on the boundary (within 1e-9 of the arena's size)
        return geo.inside_ring(pts, boundary) | (geo.distance_to_segments(pts, outer) <= 1e-9 * scale)

    rings = []
    for i, hole in enumerate(holes):
        if hole is None:  # already named
            continue
        where = f"holes[{i}]"
        _crossings(hole, where, problems)
        edges = geo.ring_edges(hole)
        if np.any(geo.segments_meet(edges[:, None], outer[None])) or not np.all(
            geo.inside_ring(hole, boundary)
        ):
            problems.append(f"{where}: expected a hole strictly inside the boundary")
        for j, (other, other_edges) in enumerate(rings):
            apart = not np.any(geo.segments_meet(edges[:, None], other_edges[None]))
            if not apart or geo.inside_ring(hole[0], other) or geo.inside_ring(other[0], hole):
                problems.append(f"{where}: overlaps or touches holes[{j}]; holes must be apart")
        rings.append((hole, edges))
    for i, wall in enumerate(walls):
        if wall is None:
            continue
        seg = np.asarray(wall, dtype=np.float64)
        in_hole = any(bool(np.any(geo.inside_ring(seg, h))) for h in holes if h is not None)
        if (
            not np.all(on_floor(seg))
            or np.any(geo.segments_meet(seg[None], outer, proper=True, tol=tol))
            or in_hole
        ):
            problems.append(
                f"walls[{i}]: expected a segment on the floor (inside the boundary, not in a hole)"
            )
    for name, region in regions.items():
        if region is None:
            continue
        where = f"regions[{name!r}]"
        _crossings(region, where, problems)
        if not np.all(on_floor(region)) or np.any(
            geo.segments_meet(geo.ring_edges(region)[:, None], outer[None], proper=True, tol=tol)
        ):
            problems.append(f"{where}: expected a region on the floor (inside the boundary)")


# ---------------------------------------------------------------------------------------------------------
# Canonical mapping -> ArenaGeometry
# ---------------------------------------------------------------------------------------------------------


def arena_of(params: Any) -> dict[str, Any] | None:
    """``params``' arena as :func:`resolve_arena`'s mapping (None without one; :meth:`NeuroEnv.arena`: as stored)."""
    stored = env_of(params).arena(params)
    return None if stored is None else resolve_arena(stored)


def arena_json(arena: Any) -> str:
    """``arena``'s canonical mapping as compact JSON (what params keep in their ``arena`` field)."""
    return json.dumps(resolve_arena(arena), separators=(",", ":"))


def is_shorthand(arena: Mapping[str, Any]) -> bool:
    """Whether a canonical mapping is a bare box or circle (no holes, walls or regions): the arenas whose
    whole description is their shape and size."""
    return is_analytic(arena) and not arena["regions"]


def is_analytic(arena: Mapping[str, Any]) -> bool:
    """Whether a canonical mapping is a box or circle without holes or walls (regions allowed: they name
    parts of the floor for analysis and do not change the physics): the arenas that the environments step
    with analytic formulas."""
    return arena.get("shape") in SHAPES and not (arena["holes"] or arena["walls"])


def arena_geometry(
    arena: Any, *, max_segments: int | None = None, max_trapezoids: int | None = None
) -> geo.ArenaGeometry:
    """The :class:`geometry.ArenaGeometry` of ``arena`` (any form :func:`resolve_arena` takes), its segment
    and trapezoid arrays padded to ``max_segments`` and ``max_trapezoids`` rows (default: the next power of
    two, at least 4). Arenas padded alike share one compiled function. Cached per arena."""
    return _geometry(arena_json(arena), max_segments, max_trapezoids)


@functools.lru_cache(maxsize=64)
def _geometry(text: str, max_segments: int | None, max_trapezoids: int | None) -> geo.ArenaGeometry:
    return geo.build_arena_geometry(json.loads(text), max_segments, max_trapezoids)


def floor_cells(arena: Any, bins: tuple[int, int]) -> np.ndarray:
    """Which cells of a ``bins = (nx, ny)`` grid over the floor's bounding box hold floor (a part of positive
    area; walls ignored): bool ``(ny, nx)``, row ``iy``, column ``ix``."""
    return _floor_cells(arena_json(arena), tuple(int(b) for b in bins))


@functools.lru_cache(maxsize=64)
def _floor_cells(text: str, bins: tuple[int, int]) -> np.ndarray:
    return geo.floor_cells_of(json.loads(text), bins)


# ---------------------------------------------------------------------------------------------------------
# Environments in any arena
# ---------------------------------------------------------------------------------------------------------


def params_geometry(params: Any) -> geo.ArenaGeometry:
    """The geometry of params whose ``arena_shape`` is ``"polygon"`` (from their canonical ``arena`` JSON)."""
    return _geometry(params.arena, None, None)


def is_polygon(params: Any) -> bool:
    """Whether ``params`` step in a polygon arena (else a box or circle, with analytic formulas)."""
    return getattr(params, "arena_shape", None) == "polygon"


def arena_bounds(params: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """Lower-left and upper-right corners (m) of the bounding box of ``params``' floor (concrete params)."""
    if is_polygon(params):
        g = params_geometry(params)
        return tuple(float(v) for v in g.lower), tuple(float(v) for v in g.upper)
    if params.arena_shape == "circle":
        return (0.0, 0.0), (2 * float(params.radius), 2 * float(params.radius))
    return (0.0, 0.0), (float(params.width), float(params.height))


class ArenaMixin:
    """The arena side of a spatial environment whose params have ``arena_shape`` ("box", "circle" or
    "polygon"), ``width``, ``height``, ``radius`` (m) and ``arena`` (the canonical mapping's JSON for a
    polygon, else ``""``; static). List it first among the bases (``class OpenField(ArenaMixin, BodyEnv,
    NeuroEnv[...])``). Boxes and circles keep their analytic formulas; polygons use
    :class:`geometry.ArenaGeometry`."""

    def make_params(self, **overrides: Any) -> Any:
        """Default params with ``overrides``; ``arena=`` (any form :func:`resolve_arena` takes) places them in
        that arena first."""
        arena = overrides.pop("arena", None)
        if arena is None or arena == "":
            return super().make_params(**overrides)  # type: ignore[misc]
        return resolve_params(self, self.with_arena(self.default_params, arena), overrides)

    def validate_params(self, params: Any) -> list[str]:
        problems = super().validate_params(params)  # type: ignore[misc]
        if is_polygon(params) and not params.arena:
            problems.append("arena_shape='polygon' needs arena= (a preset, a YAML/JSON file or a mapping)")
        elif params.arena and not is_polygon(params):
            stored, shorthand = json.loads(params.arena), geo.box_or_circle(params)
            size = {k: v for k, v in stored.items() if k in ("shape", "width", "height", "radius")}
            if not is_analytic(stored):
                problems.append(f"arena= gives a polygon arena, but arena_shape is {params.arena_shape!r}")
            elif size != shorthand:
                problems.append(
                    f"arena= gives the {size}, but the params' arena is the {shorthand}: size it in arena="
                )
        return problems

    def arena(self, params: Any) -> dict[str, Any]:
        """The arena mapping: the canonical mapping where the params keep one (a polygon, or a box or circle
        with regions), else the box's or circle's shorthand (``{"shape": "box", "width": W, "height": H}``,
        as Recordings store it)."""
        return json.loads(params.arena) if params.arena else geo.box_or_circle(params)

    def with_arena(self, params: Any, arena: Any) -> Any:
        """``params`` in ``arena`` (any form :func:`resolve_arena` takes): a box or circle without holes or
        walls sets the analytic fields (keeping its canonical mapping where it has regions), anything else
        the polygon."""
        mapping = resolve_arena(arena)
        if is_analytic(mapping):
            kept = "" if is_shorthand(mapping) else json.dumps(mapping, separators=(",", ":"))
            return geo.with_box_or_circle(params, mapping, where=self.env_id()).replace(arena=kept)  # type: ignore[attr-defined]
        return params.replace(arena_shape="polygon", arena=json.dumps(mapping, separators=(",", ":")))

    @staticmethod
    def collide(old: jax.Array, new: jax.Array, params: Any) -> jax.Array:
        """Where a step from ``old`` toward ``new`` ends: the nearest floor point to ``new`` in a box or
        circle (a step into a wall slides along it), the segment sweep in a polygon."""
        if is_polygon(params):
            return params_geometry(params).sweep(old, new)
        return geo.project_into_box_or_circle(new, params)

    @staticmethod
    def project(position: jax.Array, params: Any) -> jax.Array:
        """The nearest floor point to ``position`` (for recorded positions a little off the floor)."""
        if is_polygon(params):
            return params_geometry(params).project(position)
        return geo.project_into_box_or_circle(position, params)

    @staticmethod
    def inside(xy: jax.Array, params: Any) -> jax.Array:
        """Whether points ``(..., 2)`` lie on the floor."""
        return (
            params_geometry(params).inside(xy) if is_polygon(params) else geo.inside_box_or_circle(xy, params)
        )

    @staticmethod
    def visible_floor(world: jax.Array, params: Any) -> jax.Array:
        """The egocentric image's floor: in a polygon, thin walls show as lines a pixel wide
        (``image_extent / image_size``) across it."""
        if not is_polygon(params):
            return geo.inside_box_or_circle(world, params)
        g = params_geometry(params)
        pixel = params.image_extent / params.image_size
        return g.inside(world) & (g.distance_to_wall(world, walls_only=True) > 0.5 * pixel)

    @staticmethod
    def wall_distance(position: jax.Array, params: Any) -> jax.Array:
        """Shortest distance (m) from ``position`` to a wall (any segment in a polygon)."""
        if is_polygon(params):
            return params_geometry(params).distance_to_wall(position)
        return geo.distance_to_wall_box_or_circle(position, params)

    @staticmethod
    def ray_distances(position: jax.Array, heading: jax.Array, params: Any) -> jax.Array:
        """Distances (m) to the walls along the ``n_rays`` view directions about ``heading``."""
        directions = view_directions(heading, params)
        if is_polygon(params):
            return params_geometry(params).ray_distances(position, directions)
        return geo.ray_distances_box_or_circle(position, directions, params)

    @staticmethod
    def sample_pose(key: jax.Array, params: Any) -> tuple[jax.Array, jax.Array]:
        """A position uniform over the floor and a uniform heading (from three 21-bit uniforms)."""
        u = uniform21(key, 3)
        return params_geometry(params).pose(u) if is_polygon(params) else geo.pose_in_box_or_circle(u, params)

    @staticmethod
    def arena_canvas(params: Any, size: int) -> tuple[Canvas, float]:
        """A canvas with the floor, holes, walls and (lightly) regions of a polygon arena, and the wall
        thickness drawn (m)."""
        return polygon_canvas(json.loads(params.arena), size)
