"""Arena geometry shared by the spatial environments, as pure JAX functions.

Conventions: positions in metres; a rectangular ("box") arena spans ``[0, width] x [0, height]``; a circular
arena of radius ``R`` is centred at ``(R, R)`` so that it spans ``[0, 2R] x [0, 2R]``. Angles in radians,
anticlockwise from the +x axis. All functions work on single points (vmap for batches).

Any other arena (an outer polygon, holes, thin walls) is an :class:`ArenaGeometry`
(:mod:`neuroethology.envs.arena_geometry`, re-exported here with its NumPy polygon helpers): static-shaped
arrays with the floor test, rays, wall distance, the collision sweep, projection and uniform start poses as
methods (see :mod:`neuroethology.envs.arena`, which validates specs and caches geometries).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .arena_geometry import (
    SKIN,
    ArenaGeometry,
    build_arena_geometry,
    distance_to_segments,
    floor_cells_of,
    inside_ring,
    orientation,
    ring_edges,
    segments_meet,
    signed_area,
    trapezoids,
)

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
    "floor_cells_of",
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
