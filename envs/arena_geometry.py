"""Polygon arenas as static-shaped JAX data: :class:`ArenaGeometry` (an outer polygon, holes and thin walls
as padded segment arrays, with the floor test, rays, wall distance, the collision sweep, projection and
uniform start poses as methods) and the float64 NumPy that builds it from a canonical arena mapping
(:func:`build_arena_geometry`; :mod:`neuroethology.envs.arena` validates specs and caches geometries).

Conventions as :mod:`neuroethology.envs.geometry` (metres, radians anticlockwise from +x), which re-exports
everything here; methods work on single points (vmap for batches) unless they say otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.typing import ArrayLike

__all__ = [
    "SKIN",
    "ArenaGeometry",
    "build_arena_geometry",
    "distance_to_segments",
    "floor_cells_of",
    "inside_ring",
    "orientation",
    "ring_edges",
    "segments_meet",
    "signed_area",
    "trapezoids",
]

_TINY = 1e-12

SKIN = 1e-5  # m: how close a step into a segment stops before it (10 um; float32 resolves 1 um at 10 m)
_NEAR = 1e-6  # m: a body closer than this to a segment's line (float32 noise could put it on either side)
# touches it. An edge's floor is on its left, so a body touching an edge may leave it onto the floor; a thin
# wall has floor on both sides, so a body touching one may only slide along it (rounding never carries it
# across). Steps keep SKIN / 2 from a segment's line at least, so a body is this close only where placed.
_END_SLACK = 0.5 * SKIN  # m: a segment counts as hit this far beyond an end where the floor's corner is
# convex or straight, and beyond a wall's ends, so that no step slips through a vertex on float rounding
# (less than SKIN: a body sliding past an end SKIN off its neighbour never meets the stretch). At a reflex
# vertex (a corner of the floor over 180 degrees) the stretch would stick out into the floor, as a post a
# body pressed against a wall could catch on; there it is only _REFLEX_SLACK.
_REFLEX_SLACK = 0.5 * _NEAR  # m: enough for a path through a reflex vertex to count as a contact (it slides)
# rather than as a crossing, which the final guarantee would refuse (float32 rounds a position of 4 m to
# 0.5 um: in larger arenas a step exactly through a reflex vertex may be refused, the body staying put), and
# short enough that a body 1 um off both walls at the vertex passes it.


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
    end: jax.Array  # (S, 2) m, second end (as given, not start + vector: a point on a line of vertices at one
    # height is on the same side of every one of them)
    normal: jax.Array  # (S, 2) unit normal on the segment's left (the floor side of a polygon edge)
    inv_length2: jax.Array  # (S,) 1 / |vector|^2 (0 for padding)
    length2: jax.Array  # (S,) |vector|^2 (m^2; 0 for padding)
    x_per_y: jax.Array  # (S,) vector x / vector y (0 where level): the floor test multiplies, not divides
    u_low: jax.Array  # (S,) a step meets the segment from this fraction along it (-_END_SLACK / length,
    # or -_REFLEX_SLACK / length at a reflex vertex)
    u_high: jax.Array  # (S,) up to this fraction (1 + the same at the second end)
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
        ax, ay, _, _, _, _ = self._columns()
        by = jnp.asarray(self.end)[:, 1]
        xy = jnp.asarray(xy)
        x, y = xy[..., 0, None], xy[..., 1, None]
        spans = (ay > y) != (by > y)
        x_cross = ax + (y - ay) * jnp.asarray(self.x_per_y)
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
        directions = jnp.asarray(directions)
        # Pairs laid out with the longer of the two axes minor (the CPU vectorises along it): (S, n) and
        # reduced over the segments when there are fewer segments than rays, else (n, S).
        few = self.start.shape[0] <= directions.shape[0]
        seg = lambda v: v[:, None] if few else v[None, :]  # noqa: E731
        ray = lambda v: v[None, :] if few else v[:, None]  # noqa: E731
        ax, ay, ex, ey = (seg(v) for v in self._columns()[:4])
        dx, dy = ray(directions[:, 0]), ray(directions[:, 1])
        wx, wy = ax - position[0], ay - position[1]
        # Along the ray t = c / denom (c per segment, whatever the ray), along the segment u = un / denom;
        # a hit has t >= 0 and 0 <= u <= 1, tested on signs and sizes: one division per pair.
        c = wx * ey - wy * ex
        denom = dx * ey - dy * ex
        un = wx * dy - wy * dx
        hit = seg(jnp.asarray(self.solid)) & (c * denom >= 0) & (un * denom >= 0)
        hit &= (jnp.abs(un) <= jnp.abs(denom)) & (jnp.abs(denom) > _TINY)
        t = c / jnp.where(hit, denom, 1.0)
        diagonal = jnp.sqrt(jnp.sum((jnp.asarray(self.upper) - jnp.asarray(self.lower)) ** 2))
        return jnp.minimum(jnp.min(jnp.where(hit, t, jnp.inf), axis=0 if few else 1), diagonal)

    # -- motion -------------------------------------------------------------------------------------------
    def _contact(self, cur: jax.Array, d: jax.Array, side: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The first segment that the step ``cur -> cur + d`` runs into: the step fraction at which the body
        is ``SKIN`` from its line (0 if it is nearer already; inf for no contact, else below 1) and the
        segment's unit tangent ``(2,)``. ``side``: :meth:`_sides` of ``cur``.

        A step runs into a segment when it approaches the segment's line from the side ``cur`` is on (an
        edge only from its floor side, the left; touching: see ``_NEAR``), would end within ``SKIN / 2`` of
        that line or beyond it, and meets the line (extended past the step's end) within the segment's span
        (``u_low`` .. ``u_high``). Contacts are ordered by when the body comes ``SKIN`` from the line, so a
        stopped body keeps ``SKIN / 2`` at least from every segment it ran into: it never creeps closer
        (bodies that crept within ``_NEAR`` of a wall could only slide along it, and stuck at a reflex
        vertex on the next wall's end). A body sliding ``SKIN`` off a wall does not run into it again on
        float rounding (the ``SKIN / 2`` band): that would spend the sweep's contacts."""
        g = self._jnp()
        ax, ay, ex, ey, nx, ny = self._columns()
        rate = d[0] * nx + d[1] * ny  # its change over the whole step
        touching = jnp.abs(side) < _NEAR
        toward = jnp.where(g.edge, (rate < 0) & (side > -_NEAR), (side * rate < 0) | (touching & (rate != 0)))
        h, speed = jnp.abs(side), jnp.abs(rate)
        heading = g.solid & toward & (h - speed < 0.5 * SKIN)  # would end within SKIN / 2 of the line
        per_rate = 1.0 / jnp.where(heading, speed, 1.0)  # the one division per segment
        t_line = jnp.where(side * rate < 0, h * per_rate, 0.0)  # when it meets the line (touching: now)
        u = ((cur[0] + t_line * d[0] - ax) * ex + (cur[1] + t_line * d[1] - ay) * ey) * g.inv_length2
        t = jnp.where(
            heading & (u >= g.u_low) & (u <= g.u_high), jnp.maximum(h - SKIN, 0.0) * per_rate, jnp.inf
        )
        first = jnp.arange(t.shape[0]) == jnp.argmin(t)  # one-hot: a select, not a gather
        pick = lambda v: jnp.sum(jnp.where(first, v, 0.0))  # noqa: E731
        # The tangent is the normal turned clockwise: (ny, -nx) points along the segment's vector.
        return jnp.min(t), jnp.stack([pick(ny), pick(-nx)])

    def _sides(self, point: jax.Array) -> jax.Array:
        """Signed distance (m) from ``point`` (2,) to each segment's line ``(S,)``, positive on its left."""
        ax, ay, _, _, nx, ny = self._columns()
        return (point[0] - ax) * nx + (point[1] - ay) * ny

    def crosses(self, old: ArrayLike, new: ArrayLike) -> jax.Array:
        """Whether the straight step ``old -> new`` crosses (or ends on) any segment. Leaving a segment
        that ``old`` lies exactly on is not a crossing."""
        old, new = jnp.asarray(old), jnp.asarray(new)
        return self._crosses(old, new, self._sides(old), self._sides(new))

    def _crosses(self, old: jax.Array, new: jax.Array, s_old: jax.Array, s_new: jax.Array) -> jax.Array:
        """:meth:`crosses` given :meth:`_sides` of both ends, without a division: the crossing's place along
        a segment, ``u = w / (den |e|^2)`` with ``den = s_old - s_new``, is tested as ``w sign(den)`` within
        ``[0, |den| |e|^2]``."""
        ax, ay, ex, ey, _, _ = self._columns()
        strict = jnp.asarray(self.solid) & ((s_old * s_new < 0) | ((s_new == 0) & (s_old != 0)))
        den = s_old - s_new
        w = ((old[0] - ax) * ex + (old[1] - ay) * ey) * den + s_old * (
            (new[0] - old[0]) * ex + (new[1] - old[1]) * ey
        )
        w = jnp.where(den < 0, -w, w)
        return jnp.any(strict & (w >= 0) & (w <= jnp.abs(den) * jnp.asarray(self.length2)))

    def sweep(self, old: ArrayLike, new: ArrayLike, *, iterations: int = 3) -> jax.Array:
        """The collision step: the body moves from ``old`` (on the floor) toward ``new``; at the first segment
        it runs into (:meth:`_contact`) it stops ``SKIN`` before that segment's line and slides along the
        segment for the rest of the step (the remaining displacement projected on it), for ``iterations``
        contacts; what is left after the last contact is dropped. So a step whose path keeps ``SKIN / 2``
        from every segment ends where it was aimed, one into a wall moves by its component along the wall
        (until a convex corner or another wall stops it), and a body beside a reflex vertex leaves it along
        any direction that does not cross a wall. Guarantee: the result is on the floor and the straight
        step from ``old`` to it crosses no segment, else the body stops at its first contact (where a slide
        round a reflex corner made that straight step cut the corner) or the step is refused (the result is
        ``old``, or the arena's ``safe_point`` if ``old`` itself is off the floor), so the animal can never
        leave the arena, enter a hole or pass through a wall, and stays finite whatever ``new`` is."""
        old = jnp.asarray(old)
        cur, target = old, jnp.asarray(new)
        side_old = side = self._sides(old)
        first, side_first = old, side_old
        for i in range(iterations):
            d = target - cur
            t_stop, tangent = self._contact(cur, d, side)
            hit = jnp.isfinite(t_stop)
            t_stop = jnp.where(hit, jnp.minimum(t_stop, 1.0), 1.0)
            stop = cur + t_stop * d
            slide = (1.0 - t_stop) * (d[0] * tangent[0] + d[1] * tangent[1]) * tangent
            cur, target = jnp.where(hit, stop, target), jnp.where(hit, stop + slide, target)
            side = self._sides(cur)  # for the next contact and the guarantee
            if i == 0:
                first, side_first = cur, side  # the first contact (or the end)
        # The straight step from old to a slide's end can cut a reflex corner the path went round: then the
        # body stops at its first contact (a straight step), sliding on from there at the next step.
        on_floor = self.inside(jnp.stack([cur, first, old]))
        ok_end = jnp.all(jnp.isfinite(cur)) & on_floor[0] & ~self._crosses(old, cur, side_old, side)
        ok_first = (
            jnp.all(jnp.isfinite(first)) & on_floor[1] & ~self._crosses(old, first, side_old, side_first)
        )
        fallback = jnp.where(on_floor[2], old, jnp.asarray(self.safe_point))
        return jnp.where(ok_end, cur, jnp.where(ok_first, first, fallback))

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
        dist2 = (qx - uc * ex) ** 2 + (qy - uc * ey) ** 2  # squared: no square roots
        clear = g.inside(point) & (jnp.min(jnp.where(g.solid, dist2, jnp.inf)) >= SKIN**2)
        # Every segment's pushed point (elementwise, (S,) per component), then the nearest one's.
        side = jnp.where(g.edge | (qx * nx + qy * ny >= 0), 1.0, -1.0)  # an edge's floor is on its left
        mid_x, mid_y = side * SKIN * nx, side * SKIN * ny
        off_x = jnp.where(
            g.edge & (u <= 0), g.start_offset[:, 0], jnp.where(g.edge & (u >= 1), g.end_offset[:, 0], mid_x)
        )
        off_y = jnp.where(
            g.edge & (u <= 0), g.start_offset[:, 1], jnp.where(g.edge & (u >= 1), g.end_offset[:, 1], mid_y)
        )
        first = jnp.arange(dist2.shape[0]) == jnp.argmin(jnp.where(among, dist2, jnp.inf))
        pick = lambda v: jnp.sum(jnp.where(first, v, 0.0))  # noqa: E731
        pushed = jnp.stack([pick(ax + uc * ex + 2.0 * off_x), pick(ay + uc * ey + 2.0 * off_y)])
        px, py = pushed[0] - ax, pushed[1] - ay
        pu = jnp.clip((px * ex + py * ey) * g.inv_length2, 0.0, 1.0)
        pushed_dist2 = jnp.where(g.solid, (px - pu * ex) ** 2 + (py - pu * ey) ** 2, jnp.inf)
        pushed_ok = g.inside(pushed) & (jnp.min(pushed_dist2) >= SKIN**2)
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
        # The trapezoid: the count of cumulative shares at or below u[0] (searchsorted, side="right"),
        # picked by one-hot selects (no gathers, no search loop).
        k = jnp.minimum(jnp.sum(cdf <= u[0]), cdf.shape[0] - 1)
        index = jnp.arange(cdf.shape[0])
        pick = lambda v, i: jnp.sum(jnp.where(index == i, v, 0.0))  # noqa: E731
        low = pick(cdf, k - 1)  # 0 for the first trapezoid
        r = jnp.clip((u[0] - low) / jnp.maximum(pick(cdf, k) - low, _TINY), 1e-6, 1 - 1e-6)
        y0, h, xl0, xl1, w0, w1 = (pick(g.trapezoids[:, j], k) for j in range(6))
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


def _reflex_ends(rings: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For each edge of ``rings`` (floor on the left), whether its first and its second end is a reflex
    vertex of the floor (the edges turn right there: the floor's angle exceeds 180 degrees)."""
    starts = []
    for r in rings:
        v = np.roll(r, -1, axis=0) - r  # edge i runs from vertex i to vertex i + 1
        prev = np.roll(v, 1, axis=0)
        starts.append(prev[:, 0] * v[:, 1] - prev[:, 1] * v[:, 0] < 0)
    return np.concatenate(starts), np.concatenate([np.roll(s, -1) for s in starts])


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
    reflex_start, reflex_end = np.zeros(n, bool), np.zeros(n, bool)
    reflex_start[edge], reflex_end[edge] = _reflex_ends(rings)
    slack_start = np.where(reflex_start, _REFLEX_SLACK, _END_SLACK) / length
    slack_end = np.where(reflex_end, _REFLEX_SLACK, _END_SLACK) / length
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
        end=f32(pad(segments[:, 1], s_pad)),
        normal=f32(pad(normal, s_pad)),
        inv_length2=f32(pad(1.0 / length**2, s_pad)),
        length2=f32(pad(length**2, s_pad)),
        x_per_y=f32(
            pad(np.divide(vector[:, 0], vector[:, 1], out=np.zeros(n), where=vector[:, 1] != 0), s_pad)
        ),
        u_low=f32(pad(-slack_start, s_pad)),
        u_high=f32(pad(1.0 + slack_end, s_pad)),
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


def floor_cells_of(arena: Mapping[str, Any], bins: tuple[int, int]) -> np.ndarray:
    """Which cells of a ``bins = (nx, ny)`` grid over the bounding box of a canonical arena mapping's floor
    hold floor (a part of positive area; walls ignored): bool ``(ny, nx)``, row ``iy``, column ``ix``
    (``neuroethology.envs.arena.floor_cells`` caches it per arena)."""
    rings = [np.asarray(arena["boundary"])] + [np.asarray(h) for h in arena["holes"]]
    traps = trapezoids(rings)[:, None, :]  # (T, 1, 6) against (1, C) cells
    lower, upper = rings[0].min(axis=0), rings[0].max(axis=0)
    nx, ny = bins
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    size = (upper - lower) / np.array([nx, ny])
    cx0, cy0 = (lower[0] + ix.ravel() * size[0])[None], (lower[1] + iy.ravel() * size[1])[None]
    cx1, cy1 = cx0 + size[0], cy0 + size[1]
    y0, h, xl0, xl1, w0, w1 = (traps[..., j] for j in range(6))
    ya, yb = np.maximum(y0, cy0), np.minimum(y0 + h, cy1)
    left = lambda y: xl0 + (y - y0) / h * (xl1 - xl0)  # noqa: E731
    right = lambda y: left(y) + w0 + (y - y0) / h * (w1 - w0)  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):  # the overlap in x is concave in y: try its kinks
        kinks = [
            ya,
            yb,
            y0 + (cx0 - xl0) / (xl1 - xl0) * h,
            y0 + (cx1 - xl0 - w0) / (xl1 - xl0 + w1 - w0) * h,
        ]
    best = np.full(ya.shape, -np.inf)
    for y in kinks:
        y = np.clip(np.nan_to_num(y, nan=ya), ya, yb)
        best = np.maximum(best, np.minimum(right(y), cx1) - np.maximum(left(y), cx0))
    scale = float(np.max(upper - lower))
    hit = (yb - ya > 1e-9 * scale) & (best > 1e-9 * scale)
    return np.any(hit, axis=0).reshape(ny, nx)
