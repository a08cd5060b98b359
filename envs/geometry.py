"""Arena geometry shared by the spatial environments, as pure JAX functions.

Conventions: positions in metres; a rectangular ("box") arena spans ``[0, width] x [0, height]``; a circular
arena of radius ``R`` is centred at ``(R, R)`` so that it spans ``[0, 2R] x [0, 2R]``. Angles in radians,
anticlockwise from the +x axis. All functions work on single points (vmap for batches).

Any other arena (an outer polygon, holes, thin walls) is an :class:`ArenaGeometry`: static-shaped arrays
with the floor test, rays, wall distance, the collision sweep, projection and uniform start poses as
methods; the NumPy at the end of this module builds it from a canonical arena mapping (see
:mod:`neuroethology.envs.arena`, which validates specs and caches geometries).

Length: the box/circle formulas and ArenaGeometry are one concept (where the walls are), kept together so
the analytic and the segment versions of each query sit side by side; splitting ArenaGeometry into its own
module is the planned next step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

__all__ = [
    "wrap_angle",
    "unit",
    "ray_distances_box",
    "ray_distances_circle",
    "project_into_box",
    "project_into_circle",
    "distance_to_wall_box",
    "distance_to_wall_circle",
    "sector_offsets",
    "ray_directions",
    "box_or_circle",
    "with_box_or_circle",
    "project_into_box_or_circle",
    "inside_box_or_circle",
    "distance_to_wall_box_or_circle",
    "ray_distances_box_or_circle",
    "pose_in_box_or_circle",
    "wall_normals_box_or_circle",
    "ArenaGeometry",
    "SKIN",
    "build_arena_geometry",
    "distance_to_segments",
    "inside_ring",
    "orientation",
    "ring_edges",
    "segments_meet",
    "signed_area",
    "trapezoids",
]

_TINY = 1e-12


def wrap_angle(angle: ArrayLike, *, closed: Literal["below", "above"] = "below") -> Any:
    """Angle(s) in radians wrapped into ``[-pi, pi)`` (``closed="below"``, the environments' headings) or
    ``(-pi, pi]`` (``closed="above"``: a U-turn is ``+pi``, as the analysis reports turning angles).

    The package's one angle wrap: NumPy input gives NumPy output at its own precision (analysis and fitting
    work in float64), anything else a JAX array (jit-safe). The two conventions differ only at exactly
    ``+-pi``, and each is the other mirrored: ``wrap(a, "above") == -wrap(-a, "below")`` to the bit.
    """
    xp = np if isinstance(angle, (np.ndarray, np.generic)) else jnp
    if closed == "above":
        return -wrap_angle(-xp.asarray(angle))
    if closed != "below":
        raise ValueError(f"wrap_angle: closed must be 'below' or 'above', got {closed!r}")
    return (xp.asarray(angle) + xp.pi) % (2 * xp.pi) - xp.pi


def unit(angle: ArrayLike) -> jax.Array:
    """Unit vector(s) ``(..., 2)`` pointing along ``angle``."""
    angle = jnp.asarray(angle)
    return jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=-1)


def sector_offsets(n: int, field_of_view: ArrayLike) -> jax.Array:
    """Angles of ``n`` rays relative to the heading: ray ``i`` points at the centre of the ``i``-th of ``n``
    equal sectors of the field of view, so a 2*pi field has no duplicate ray and ``n = 1`` looks ahead."""
    i = jnp.arange(n, dtype=jnp.float32)
    return jnp.asarray(field_of_view, jnp.float32) * ((i + 0.5) / n - 0.5)


def _safe(d: jax.Array) -> jax.Array:
    return jnp.where(d >= 0, jnp.maximum(d, _TINY), jnp.minimum(d, -_TINY))


def ray_directions(heading: ArrayLike, offsets: ArrayLike) -> jax.Array:
    """Unit vectors ``(n, 2)`` at ``heading + offsets``, by angle addition: two transcendental calls per
    heading, however many rays (the offsets' sines and cosines do not depend on the heading)."""
    c, s = jnp.cos(heading), jnp.sin(heading)
    co, so = jnp.cos(offsets), jnp.sin(offsets)
    return jnp.stack([c * co - s * so, s * co + c * so], axis=-1)


def ray_distances_box(
    position: ArrayLike, directions: ArrayLike, width: ArrayLike, height: ArrayLike
) -> jax.Array:
    """Distance (m) from ``position`` (inside the box) to the first wall along each unit vector of
    ``directions`` ``(n, 2)``.

    For an axis-aligned box only one vertical and one horizontal wall can be hit along a ray, so each ray
    costs two divisions: ``min((x_wall - x) / dx, (y_wall - y) / dy)``.
    """
    position, directions = jnp.asarray(position), jnp.asarray(directions)
    dx, dy = _safe(directions[..., 0]), _safe(directions[..., 1])
    tx = (jnp.where(dx > 0, width, 0.0) - position[0]) / dx
    ty = (jnp.where(dy > 0, height, 0.0) - position[1]) / dy
    return jnp.maximum(jnp.minimum(tx, ty), 0.0)


def ray_distances_circle(position: ArrayLike, directions: ArrayLike, radius: ArrayLike) -> jax.Array:
    """Distance (m) from ``position`` (inside the circle centred at ``(radius, radius)``) to its wall along
    each unit vector of ``directions`` ``(n, 2)``: the positive root of ``t^2 + 2 b t + c = 0``, with
    ``b = q.d``, ``c = |q|^2 - R^2 <= 0`` and ``q`` relative to the centre. For rays pointing outwards
    (``b > 0``) the root is taken as ``-c / (b + sqrt(b^2 - c))``, which avoids the cancellation of
    ``sqrt(b^2 - c) - b`` for a point near the wall."""
    q = jnp.asarray(position) - radius
    directions = jnp.asarray(directions)
    b = q[0] * directions[..., 0] + q[1] * directions[..., 1]
    c = jnp.minimum(q[0] ** 2 + q[1] ** 2 - radius**2, 0.0)
    root = jnp.sqrt(jnp.maximum(b * b - c, 0.0))
    outward = -c / jnp.maximum(b + root, _TINY)
    return jnp.maximum(jnp.where(b > 0, outward, root - b), 0.0)


def project_into_box(position: ArrayLike, width: ArrayLike, height: ArrayLike) -> jax.Array:
    """The nearest point of the closed box: a step into a wall slides along it."""
    position = jnp.asarray(position)
    return jnp.stack([jnp.clip(position[0], 0.0, width), jnp.clip(position[1], 0.0, height)])


def project_into_circle(position: ArrayLike, radius: ArrayLike, skin: float = 1e-6) -> jax.Array:
    """The nearest point at most ``radius - skin`` from the centre (the skin keeps rounding from ever
    placing a point outside the wall)."""
    q = jnp.asarray(position) - radius
    r = jnp.sqrt(q[0] ** 2 + q[1] ** 2)
    limit = radius - skin
    scale = jnp.where(r > limit, limit / jnp.maximum(r, _TINY), 1.0)
    return radius + q * scale


def distance_to_wall_box(position: ArrayLike, width: ArrayLike, height: ArrayLike) -> jax.Array:
    """Shortest distance (m) from a point inside the box to any wall."""
    position = jnp.asarray(position)
    return jnp.minimum(
        jnp.minimum(position[0], width - position[0]), jnp.minimum(position[1], height - position[1])
    )


def distance_to_wall_circle(position: ArrayLike, radius: ArrayLike) -> jax.Array:
    """Shortest distance (m) from a point inside the circle to its wall."""
    q = jnp.asarray(position) - radius
    return radius - jnp.sqrt(q[0] ** 2 + q[1] ** 2)


# ---------------------------------------------------------------------------------------------------------
# Box-or-circle arenas: params with arena_shape ("box" or "circle"), width, height and radius (m)
# ---------------------------------------------------------------------------------------------------------


def project_into_box_or_circle(position: ArrayLike, params: Any) -> jax.Array:
    """The nearest point of the floor of ``params``' box or circle (see :func:`project_into_box` and
    :func:`project_into_circle`)."""
    if params.arena_shape == "circle":
        return project_into_circle(position, params.radius)
    return project_into_box(position, params.width, params.height)


def inside_box_or_circle(xy: ArrayLike, params: Any) -> jax.Array:
    """Whether points ``(..., 2)`` lie on the floor of ``params``' box or circle."""
    xy = jnp.asarray(xy)
    x, y = xy[..., 0], xy[..., 1]
    if params.arena_shape == "circle":
        return (x - params.radius) ** 2 + (y - params.radius) ** 2 <= params.radius**2
    return (x >= 0) & (x <= params.width) & (y >= 0) & (y <= params.height)


def distance_to_wall_box_or_circle(position: ArrayLike, params: Any) -> jax.Array:
    """Shortest distance (m) from a point on the floor of ``params``' box or circle to a wall."""
    if params.arena_shape == "circle":
        return distance_to_wall_circle(position, params.radius)
    return distance_to_wall_box(position, params.width, params.height)


def ray_distances_box_or_circle(position: ArrayLike, directions: ArrayLike, params: Any) -> jax.Array:
    """Distance (m) from ``position`` to the wall of ``params``' box or circle along each unit vector of
    ``directions`` ``(n, 2)``."""
    if params.arena_shape == "circle":
        return ray_distances_circle(position, directions, params.radius)
    return ray_distances_box(position, directions, params.width, params.height)


def pose_in_box_or_circle(u: jax.Array, params: Any) -> tuple[jax.Array, jax.Array]:
    """A pose from three uniform numbers ``u`` in [0, 1): a position ``(2,)`` uniform over the floor of
    ``params``' box or circle (from ``u[0]``, ``u[1]``; just inside a circle's wall at most) and a heading
    uniform in [-pi, pi) (from ``u[2]``)."""
    heading = (2.0 * u[2] - 1.0) * jnp.pi
    if params.arena_shape == "circle":
        r = params.radius * jnp.sqrt(u[0]) * (1 - 1e-6)
        return params.radius + r * unit((2.0 * u[1] - 1.0) * jnp.pi), heading
    return u[:2] * jnp.array([params.width, params.height]), heading


def wall_normals_box_or_circle(position: ArrayLike, params: Any) -> tuple[jax.Array, jax.Array]:
    """:meth:`ArenaGeometry.wall_normals` of ``params``' box (walls x = 0, x = width, y = 0, y = height) or
    circle (one wall), analytic: distances ``(W,)`` (m) and unit normals from each wall to ``position``
    ``(W, 2)`` (at the circle's centre, where every direction is the normal, a vector of length < 1)."""
    position = jnp.asarray(position)
    if params.arena_shape == "circle":
        q = position - params.radius
        r = jnp.maximum(jnp.sqrt(q[0] ** 2 + q[1] ** 2), 1e-9)
        return (params.radius - r)[None], (-q / r)[None]
    x, y = position[0], position[1]
    normals = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    return jnp.stack([x, params.width - x, y, params.height - y]), normals


def box_or_circle(params: Any) -> dict[str, Any]:
    """The arena of params with ``arena_shape``, ``width``, ``height`` and ``radius`` fields as a Recording
    stores it: ``{"shape": "box", "width": W, "height": H}`` or ``{"shape": "circle", "radius": R}`` (m)."""
    if params.arena_shape == "circle":
        return {"shape": "circle", "radius": float(params.radius)}
    return {"shape": "box", "width": float(params.width), "height": float(params.height)}


def with_box_or_circle(params: Any, arena: Mapping[str, Any], *, where: str) -> Any:
    """``params`` (fields as in :func:`box_or_circle`) moved to ``arena``; ``where`` names the caller in the
    error for an arena that is neither a box nor a circle."""
    shape = arena.get("shape", "box")
    if shape == "circle":
        return params.replace(arena_shape="circle", radius=float(arena["radius"]))
    if shape == "box":
        return params.replace(arena_shape="box", width=float(arena["width"]), height=float(arena["height"]))
    raise ValueError(f"{where}: an arena must be a box or a circle, got {dict(arena)!r}")


# ---------------------------------------------------------------------------------------------------------
# Polygon arenas: any floor bounded by segments (an outer polygon, holes, thin internal walls)
# ---------------------------------------------------------------------------------------------------------

SKIN = 1e-5  # m: how close a step into a segment stops before it (10 um; float32 resolves 1 um at 10 m)
_NEAR = 1e-6  # m: a body closer than this to a segment's line (float32 noise could put it on either side)
# touches it: it may slide along the segment but not move off it, so rounding can never carry it across
_U_SLACK = 1e-5  # a segment counts as hit this fraction beyond its ends, so no step slips through a vertex


@struct.dataclass
class ArenaGeometry:
    """An arena's segments and floor as static-shaped arrays (build it with
    :func:`neuroethology.envs.arena.arena_geometry`; units m).

    Every segment is stored padded to ``S`` rows with masks, so one compiled function serves every arena
    padded to the same ``S`` (and ``T`` trapezoids). A segment is a polygon edge (of the outer boundary,
    wound anticlockwise, or of a hole, wound clockwise: the floor is always on an edge's left) or a thin
    internal wall (floor on both sides). Polygon edges decide what is floor (even-odd rule); edges and walls
    alike stop the animal and its rays. Methods work on single points (vmap for batches) unless they say
    otherwise.
    """

    start: jax.Array  # (S, 2) m, first end of each segment
    vector: jax.Array  # (S, 2) m, second end minus first
    normal: jax.Array  # (S, 2) unit normal on the segment's left (the floor side of a polygon edge)
    inv_length2: jax.Array  # (S,) 1 / |vector|^2 (0 for padding)
    solid: jax.Array  # (S,) bool: stops motion and rays (edges and walls; False for padding)
    edge: jax.Array  # (S,) bool: a polygon edge (counts for the even-odd floor test)
    start_offset: (
        jax.Array
    )  # (S, 2) m, from an edge's first end to a floor point SKIN inside both edges there
    end_offset: jax.Array  # (S, 2) m, the same at the edge's second end
    lower: jax.Array  # (2,) m, lower-left corner of the floor's bounding box
    upper: jax.Array  # (2,) m, upper-right corner
    safe_point: jax.Array  # (2,) m, a floor point far from every segment (the fallback of every guarantee)
    trapezoids: jax.Array  # (T, 6): y0, height, left x at y0, left x at y0 + height, width at both (m)
    trapezoid_cdf: jax.Array  # (T,) cumulative floor-area fraction of the trapezoids (padding: 1)

    def _jnp(self) -> ArenaGeometry:
        """These arrays as JAX arrays (a geometry built in NumPy, and cached, holds NumPy arrays: constants
        under jit, never leaked tracers)."""
        return jax.tree.map(jnp.asarray, self)

    def _columns(self) -> tuple[jax.Array, ...]:
        """``(ax, ay, ex, ey, nx, ny)``: segment starts, vectors and normals by component, each ``(S,)``
        (component arithmetic: no reductions over a length-2 axis, which XLA runs slowly on CPU)."""
        g = self._jnp()
        return g.start[:, 0], g.start[:, 1], g.vector[:, 0], g.vector[:, 1], g.normal[:, 0], g.normal[:, 1]

    # -- the floor ------------------------------------------------------------------------------------------
    def inside(self, xy: ArrayLike) -> jax.Array:
        """Whether points ``(..., 2)`` lie on the floor (even-odd rule over the boundary and hole edges; a
        point on an edge may go either way)."""
        ax, ay, ex, ey, _, _ = self._columns()
        xy = jnp.asarray(xy)
        x, y = xy[..., 0, None], xy[..., 1, None]
        spans = (ay > y) != (ay + ey > y)
        x_cross = ax + (y - ay) * ex / jnp.where(spans, ey, 1.0)
        crossings = jnp.sum(spans & (x < x_cross) & jnp.asarray(self.edge), axis=-1)
        return crossings % 2 == 1

    def distance_to_wall(self, position: ArrayLike, *, walls_only: bool = False) -> jax.Array:
        """Shortest distance (m) from points ``position (..., 2)`` to any segment (only the thin internal
        walls with ``walls_only``; inf where there are none)."""
        ax, ay, ex, ey, _, _ = self._columns()
        position = jnp.asarray(position)
        qx, qy = position[..., 0, None] - ax, position[..., 1, None] - ay
        u = jnp.clip((qx * ex + qy * ey) * jnp.asarray(self.inv_length2), 0.0, 1.0)
        d = jnp.sqrt((qx - u * ex) ** 2 + (qy - u * ey) ** 2)
        counted = jnp.asarray(self.solid) & ~jnp.asarray(self.edge) if walls_only else jnp.asarray(self.solid)
        return jnp.min(jnp.where(counted, d, jnp.inf), axis=-1)

    def wall_normals(self, position: ArrayLike) -> tuple[jax.Array, jax.Array]:
        """Distance (m) from ``position`` (2,) to each segment ``(S,)`` and the unit vector from the segment's
        nearest point to ``position`` ``(S, 2)``, as RatInABox's wall repulsion sees walls
        (``Environment.vectors_from_walls``); padding: distance inf, normal 0. On a segment (distance 0) the
        normal is its left one (an edge's floor side)."""
        ax, ay, ex, ey, nx, ny = self._columns()
        p = jnp.asarray(position)
        qx, qy = p[0] - ax, p[1] - ay
        u = jnp.clip((qx * ex + qy * ey) * jnp.asarray(self.inv_length2), 0.0, 1.0)
        vx, vy = qx - u * ex, qy - u * ey
        d = jnp.sqrt(vx**2 + vy**2)
        safe = jnp.where(d > 0, d, 1.0)
        normal = jnp.stack([jnp.where(d > 0, vx / safe, nx), jnp.where(d > 0, vy / safe, ny)], axis=-1)
        solid = jnp.asarray(self.solid)
        return jnp.where(solid, d, jnp.inf), jnp.where(solid[:, None], normal, 0.0)

    def ray_distances(self, position: ArrayLike, directions: ArrayLike) -> jax.Array:
        """Distance (m) from ``position`` (2,) to the first segment along each unit vector of ``directions``
        ``(n, 2)``: every ray against every segment (``(n, S)`` intersections), the nearest kept. A ray
        that meets nothing (only from outside the floor) reports the diagonal of the bounding box."""
        ax, ay, ex, ey, _, _ = self._columns()
        directions = jnp.asarray(directions)
        dx, dy = directions[:, 0, None], directions[:, 1, None]
        wx, wy = ax - position[0], ay - position[1]
        # Along the ray t = c / denom (c per segment, whatever the ray), along the segment u = un / denom;
        # a hit has t >= 0 and 0 <= u <= 1, tested on signs and sizes: one division per pair.
        c = wx * ey - wy * ex
        denom = dx * ey - dy * ex
        un = wx * dy - wy * dx
        hit = jnp.asarray(self.solid) & (c * denom >= 0) & (un * denom >= 0) & (jnp.abs(un) <= jnp.abs(denom))
        hit &= jnp.abs(denom) > _TINY
        t = c / jnp.where(hit, denom, 1.0)
        diagonal = jnp.sqrt(jnp.sum((jnp.asarray(self.upper) - jnp.asarray(self.lower)) ** 2))
        return jnp.minimum(jnp.min(jnp.where(hit, t, jnp.inf), axis=-1), diagonal)

    # -- motion -------------------------------------------------------------------------------------------
    def _first_hit(self, cur: jax.Array, d: jax.Array) -> tuple[jax.Array, ...]:
        """The first segment that the step ``cur -> cur + d`` runs into (approaching it from one side): the
        step fraction at the hit (inf for none), the distance from ``cur`` to that segment's line, the
        approach rate (distance per unit step fraction) and the segment's unit tangent ``(2,)``."""
        ax, ay, ex, ey, nx, ny = self._columns()
        side = (cur[0] - ax) * nx + (cur[1] - ay) * ny  # signed distance to each segment's line
        rate = d[0] * nx + d[1] * ny
        touching = jnp.abs(side) < _NEAR
        approaching = jnp.asarray(self.solid) & ((side * rate < 0) | (touching & (rate != 0)))
        t = jnp.where(touching, 0.0, -side / jnp.where(approaching, rate, 1.0))
        u = ((cur[0] + t * d[0] - ax) * ex + (cur[1] + t * d[1] - ay) * ey) * jnp.asarray(self.inv_length2)
        t = jnp.where(approaching & (t <= 1) & (u >= -_U_SLACK) & (u <= 1 + _U_SLACK), t, jnp.inf)
        first = jnp.arange(t.shape[0]) == jnp.argmin(t)  # one-hot: a select, not a gather
        pick = lambda v: jnp.sum(jnp.where(first, v, 0.0))  # noqa: E731
        # The tangent is the normal turned clockwise: (ny, -nx) points along the segment's vector.
        return jnp.min(t), pick(jnp.abs(side)), pick(jnp.abs(rate)), jnp.stack([pick(ny), pick(-nx)])

    def crosses(self, old: ArrayLike, new: ArrayLike) -> jax.Array:
        """Whether the straight step ``old -> new`` crosses (or ends on) any segment. Leaving a segment
        that ``old`` lies exactly on is not a crossing."""
        ax, ay, ex, ey, nx, ny = self._columns()
        s_old = (old[0] - ax) * nx + (old[1] - ay) * ny
        s_new = (new[0] - ax) * nx + (new[1] - ay) * ny
        strict = jnp.asarray(self.solid) & ((s_old * s_new < 0) | ((s_new == 0) & (s_old != 0)))
        t = s_old / jnp.where(strict, s_old - s_new, 1.0)
        ux = old[0] + t * (new[0] - old[0]) - ax
        uy = old[1] + t * (new[1] - old[1]) - ay
        u = (ux * ex + uy * ey) * jnp.asarray(self.inv_length2)
        return jnp.any(strict & (u >= 0) & (u <= 1))

    def sweep(self, old: ArrayLike, new: ArrayLike, *, iterations: int = 3) -> jax.Array:
        """The collision step: the body moves from ``old`` (on the floor) toward ``new``, stops ``SKIN``
        before the first segment it would cross and slides along that segment for the rest of the step
        (the remaining displacement projected on it), for ``iterations`` contacts; what is left after the
        last contact is dropped. Guarantee: the result is on the floor and the straight step from ``old``
        to it crosses no segment, else the step is refused (the result is ``old``, or the arena's
        ``safe_point`` if ``old`` itself is off the floor), so the animal can never leave the arena, enter a
        hole or pass through a wall, and stays finite whatever ``new`` is."""
        old = jnp.asarray(old)
        cur, target = old, jnp.asarray(new)
        for _ in range(iterations):
            d = target - cur
            t_hit, h, rate, tangent = self._first_hit(cur, d)
            hit = jnp.isfinite(t_hit)
            t_stop = jnp.clip((h - SKIN) / jnp.maximum(rate, _TINY), 0.0, jnp.minimum(t_hit, 1.0))
            stop = cur + t_stop * d
            slide = (1.0 - t_stop) * (d[0] * tangent[0] + d[1] * tangent[1]) * tangent
            cur, target = jnp.where(hit, stop, target), jnp.where(hit, stop + slide, target)
        on_floor = self.inside(jnp.stack([cur, old]))
        ok = jnp.all(jnp.isfinite(cur)) & on_floor[0] & ~self.crosses(old, cur)
        return jnp.where(ok, cur, jnp.where(on_floor[1], old, jnp.asarray(self.safe_point)))

    def _clear(self, point: jax.Array, among: jax.Array) -> jax.Array:
        """``point`` itself if it is on the floor at least ``SKIN`` from every segment; else moved ``2 SKIN``
        off the nearest of the segments ``among`` (mask ``(S,)``): to the floor side of an edge (along the
        corner's bisector at its ends), to its own side of a wall; ``safe_point`` if that is not clear floor
        either. Start poses and projections keep the sweep's margin this way."""
        g = self._jnp()
        ax, ay, ex, ey, nx, ny = self._columns()
        qx, qy = point[0] - ax, point[1] - ay
        u = (qx * ex + qy * ey) * g.inv_length2
        uc = jnp.clip(u, 0.0, 1.0)
        dist = jnp.sqrt((qx - uc * ex) ** 2 + (qy - uc * ey) ** 2)
        clear = g.inside(point) & (jnp.min(jnp.where(g.solid, dist, jnp.inf)) >= SKIN)
        # Every segment's pushed point (elementwise, (S,) per component), then the nearest one's.
        side = jnp.where(g.edge | (qx * nx + qy * ny >= 0), 1.0, -1.0)  # an edge's floor is on its left
        mid_x, mid_y = side * SKIN * nx, side * SKIN * ny
        off_x = jnp.where(
            g.edge & (u <= 0), g.start_offset[:, 0], jnp.where(g.edge & (u >= 1), g.end_offset[:, 0], mid_x)
        )
        off_y = jnp.where(
            g.edge & (u <= 0), g.start_offset[:, 1], jnp.where(g.edge & (u >= 1), g.end_offset[:, 1], mid_y)
        )
        first = jnp.arange(dist.shape[0]) == jnp.argmin(jnp.where(among, dist, jnp.inf))
        pick = lambda v: jnp.sum(jnp.where(first, v, 0.0))  # noqa: E731
        pushed = jnp.stack([pick(ax + uc * ex + 2.0 * off_x), pick(ay + uc * ey + 2.0 * off_y)])
        pushed_ok = g.inside(pushed) & (g.distance_to_wall(pushed) >= SKIN)
        return jnp.where(clear, point, jnp.where(pushed_ok, pushed, g.safe_point))

    def project(self, xy: ArrayLike) -> jax.Array:
        """The nearest floor point to ``xy`` (2,), kept ``SKIN`` from every segment: ``xy`` itself on the
        floor, else its nearest point on the boundary and hole edges, moved onto the floor
        (:meth:`_clear`). For recorded positions a little off the floor; steps use :meth:`sweep`."""
        g = self._jnp()
        xy = jnp.asarray(xy)
        onto = jnp.where(g.inside(xy), xy, self._clear(xy, g.edge))
        return self._clear(onto, g.solid)

    def pose(self, u: jax.Array) -> tuple[jax.Array, jax.Array]:
        """A pose from three uniform numbers ``u`` in [0, 1): a position uniform over the floor and a
        heading uniform in [-pi, pi). ``u[0]`` picks a trapezoid of the floor by area and, rescaled within
        its share, the height in it (inverse CDF of a width that varies linearly); ``u[1]`` the place
        across; exact, no rejection. A point within ``SKIN`` of a segment (a chance of about perimeter x
        1e-5 m / area) is moved ``2 SKIN`` off it (:meth:`_clear`)."""
        g = self._jnp()
        cdf = g.trapezoid_cdf
        k = jnp.minimum(jnp.searchsorted(cdf, u[0], side="right"), cdf.shape[0] - 1)
        low = jnp.where(k > 0, cdf[jnp.maximum(k - 1, 0)], 0.0)
        r = jnp.clip((u[0] - low) / jnp.maximum(cdf[k] - low, _TINY), 1e-6, 1 - 1e-6)
        y0, h, xl0, xl1, w0, w1 = (g.trapezoids[k, j] for j in range(6))
        root = jnp.sqrt(jnp.maximum(w0 * w0 + r * (w1 * w1 - w0 * w0), 0.0))
        s = r * (w0 + w1) / jnp.maximum(w0 + root, _TINY)
        across = jnp.clip(u[1] + 2.0**-22, 1e-6, 1 - 1e-6)
        point = jnp.stack([xl0 + s * (xl1 - xl0) + across * (w0 + s * (w1 - w0)), y0 + s * h])
        heading = (2.0 * u[2] - 1.0) * jnp.pi
        return self._clear(point, g.solid), heading


# ---------------------------------------------------------------------------------------------------------
# Polygon arenas in NumPy (float64): the tests that validate a layout, and the arrays of ArenaGeometry
# ---------------------------------------------------------------------------------------------------------


def signed_area(points: Any) -> float:
    """Signed area (positive anticlockwise), shoelace formula."""
    p = np.asarray(points, dtype=np.float64)
    q = np.roll(p, -1, axis=0)
    return 0.5 * float(np.sum(p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]))


def ring_edges(points: Any) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p, np.roll(p, -1, axis=0)], axis=1)  # (n, 2, 2)


def orientation(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (b[..., 0] - a[..., 0]) * (c[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (
        c[..., 0] - a[..., 0]
    )


def segments_meet(s: np.ndarray, t: np.ndarray, *, proper: bool = False, tol: float = 0.0) -> np.ndarray:
    """Whether segments ``s (..., 2, 2)`` and ``t (..., 2, 2)`` meet (touching counts unless ``proper``:
    then only a crossing counts, with orientations within ``tol`` (m^2) taken as collinear)."""
    p, q, r, u = s[..., 0, :], s[..., 1, :], t[..., 0, :], t[..., 1, :]
    d1, d2, d3, d4 = orientation(r, u, p), orientation(r, u, q), orientation(p, q, r), orientation(p, q, u)
    if proper:
        sign = [np.where(np.abs(d) <= tol, 0.0, np.sign(d)) for d in (d1, d2, d3, d4)]
        return (sign[0] * sign[1] < 0) & (sign[2] * sign[3] < 0)
    crossing = (d1 * d2 < 0) & (d3 * d4 < 0)

    def on(a, b, c, d):  # c on segment a-b, given collinear (d == 0)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return (d == 0) & np.all((c >= lo) & (c <= hi), axis=-1)

    return crossing | on(r, u, p, d1) | on(r, u, q, d2) | on(p, q, r, d3) | on(p, q, u, d4)


def inside_ring(points: Any, ring: Any) -> np.ndarray:
    """Even-odd test of points ``(..., 2)`` against one polygon (float64)."""
    xy = np.asarray(points, dtype=np.float64)[..., None, :]
    e = ring_edges(ring)
    a, b = e[:, 0], e[:, 1]
    spans = (a[:, 1] > xy[..., 1]) != (b[:, 1] > xy[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = a[:, 0] + (xy[..., 1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return np.sum(spans & (xy[..., 0] < x), axis=-1) % 2 == 1


def distance_to_segments(points: Any, segments: np.ndarray) -> np.ndarray:
    """Distance from points ``(..., 2)`` to the nearest of ``segments (S, 2, 2)`` (float64)."""
    xy = np.asarray(points, dtype=np.float64)[..., None, :]
    a, e = segments[:, 0], segments[:, 1] - segments[:, 0]
    u = np.clip(np.sum((xy - a) * e, -1) / np.maximum(np.sum(e * e, -1), 1e-300), 0, 1)
    return np.min(np.hypot(*np.moveaxis(xy - a - u[..., None] * e, -1, 0)), axis=-1)


def _pad_size(n: int, requested: int | None, what: str) -> int:
    if requested is None:
        return max(4, 1 << (n - 1).bit_length())
    if requested < n:
        raise ValueError(f"build_arena_geometry: {what}={requested} is fewer than the arena's {n}")
    return int(requested)


def _solid_segments(arena: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(segments (n, 2, 2), is-edge flags (n,), the rings): boundary and hole edges, then the walls that do
    not lie on an edge (a wall along the floor's edge is drawn but adds no segment: the edge stops the
    animal already)."""
    rings = [np.asarray(arena["boundary"])] + [np.asarray(h) for h in arena["holes"]]
    edges = np.concatenate([ring_edges(r) for r in rings])
    walls = [np.asarray(w, dtype=np.float64) for w in arena["walls"]]
    a, e = edges[:, 0], edges[:, 1] - edges[:, 0]
    kept = []
    for w in walls:
        collinear = np.all(
            np.abs(orientation(a[:, None], edges[:, None, 1], w[None])) <= 1e-12 * np.sum(e * e, -1)[:, None],
            -1,
        )
        u = np.sum((w[None] - a[:, None]) * e[:, None], -1) / np.sum(e * e, -1)[:, None]
        if not np.any(collinear & np.all((u >= -1e-9) & (u <= 1 + 1e-9), -1)):
            kept.append(w)
    segments = np.concatenate([edges, *([np.stack(kept)] if kept else [])])
    return segments, np.arange(len(segments)) < len(edges), rings


def trapezoids(rings: list[np.ndarray]) -> np.ndarray:
    """The floor (even-odd over ``rings``) cut into trapezoids between consecutive vertex heights:
    ``(T, 6)`` rows of y0, height, left x at y0 and at y0 + height, width at both."""
    edges = np.concatenate([ring_edges(r) for r in rings])
    ys = np.unique(np.concatenate([r[:, 1] for r in rings]))
    rows = []
    for y0, y1 in zip(ys[:-1], ys[1:], strict=True):
        lo, hi = np.minimum(edges[:, 0, 1], edges[:, 1, 1]), np.maximum(edges[:, 0, 1], edges[:, 1, 1])
        e = edges[(lo <= y0) & (hi >= y1)]
        slope = (e[:, 1, 0] - e[:, 0, 0]) / (e[:, 1, 1] - e[:, 0, 1])
        x0, x1 = e[:, 0, 0] + (y0 - e[:, 0, 1]) * slope, e[:, 0, 0] + (y1 - e[:, 0, 1]) * slope
        order = np.argsort(x0 + x1)
        x0, x1 = x0[order], x1[order]
        for left, right in zip(range(0, len(order) - 1, 2), range(1, len(order), 2), strict=True):
            rows.append([y0, y1 - y0, x0[left], x1[left], x0[right] - x0[left], x1[right] - x1[left]])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 6)


def _vertex_offsets(rings: list[np.ndarray], normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each edge, the offsets from its two ends to the floor point SKIN inside both edges meeting there
    (the bisector; capped at 30 SKIN for needle-sharp corners)."""
    starts, ends, k = [], [], 0
    for r in rings:
        n = normals[k : k + len(r)]
        prev = np.roll(n, 1, axis=0)
        denom = np.maximum(1.0 + np.sum(prev * n, -1), 1.0 / 30)[:, None]
        start = SKIN * (prev + n) / denom
        starts.append(start)
        ends.append(np.roll(start, -1, axis=0))
        k += len(r)
    return np.concatenate(starts), np.concatenate(ends)


def build_arena_geometry(
    arena: Mapping[str, Any], max_segments: int | None = None, max_trapezoids: int | None = None
) -> ArenaGeometry:
    """The :class:`ArenaGeometry` of a canonical arena mapping (``neuroethology.envs.arena.resolve_arena``:
    boundary anticlockwise, holes clockwise), its segment and trapezoid rows padded to ``max_segments`` and
    ``max_trapezoids`` (default: the next power of two, at least 4)."""
    segments, edge, rings = _solid_segments(arena)
    n = len(segments)
    s_pad = _pad_size(n, max_segments, "max_segments")
    start = segments[:, 0]
    vector = segments[:, 1] - segments[:, 0]
    length = np.hypot(vector[:, 0], vector[:, 1])
    normal = np.stack([-vector[:, 1], vector[:, 0]], 1) / length[:, None]
    start_offset, end_offset = np.zeros((n, 2)), np.zeros((n, 2))
    start_offset[edge], end_offset[edge] = _vertex_offsets(rings, normal[edge])
    traps = trapezoids(rings)
    t_pad = _pad_size(len(traps), max_trapezoids, "max_trapezoids")
    areas = traps[:, 1] * (traps[:, 4] + traps[:, 5]) / 2
    cdf = np.cumsum(areas) / areas.sum()
    # The safe point: of 9 points inside each trapezoid, the one farthest from every segment (walls too).
    frac = np.array([0.25, 0.5, 0.75])
    s, across = (g.ravel()[None] for g in np.meshgrid(frac, frac))
    y0, h, xl0, xl1, w0, w1 = (traps[:, j : j + 1] for j in range(6))
    inner = np.stack([xl0 + s * (xl1 - xl0) + across * (w0 + s * (w1 - w0)), y0 + s * h], -1).reshape(-1, 2)
    safe = inner[np.argmax(distance_to_segments(inner, segments))]
    boundary = np.asarray(arena["boundary"])

    def pad(x: np.ndarray, size: int, fill: float = 0.0) -> np.ndarray:
        out = np.full((size,) + x.shape[1:], fill, dtype=x.dtype)
        out[: len(x)] = x
        return out

    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    return ArenaGeometry(
        start=f32(pad(start, s_pad)),
        vector=f32(pad(vector, s_pad)),
        normal=f32(pad(normal, s_pad)),
        inv_length2=f32(pad(1.0 / length**2, s_pad)),
        solid=pad(np.ones(n, bool), s_pad),
        edge=pad(edge, s_pad),
        start_offset=f32(pad(start_offset, s_pad)),
        end_offset=f32(pad(end_offset, s_pad)),
        lower=f32(boundary.min(axis=0)),
        upper=f32(boundary.max(axis=0)),
        safe_point=f32(safe),
        trapezoids=f32(pad(traps, t_pad)),
        trapezoid_cdf=f32(pad(cdf, t_pad, 1.0)),
    )
