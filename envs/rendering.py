"""A small NumPy rasteriser for ``render_mode="rgb_array"``: no display, no extra dependency.

Environments draw their arena in world coordinates (metres, y up) onto a :class:`Canvas`, which maps them
to pixels (row 0 at the top). Shapes are drawn with per-pixel masks, which is plenty fast for the few
hundred by few hundred pixel frames used for videos and figures.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import geometry as geo

__all__ = [
    "Canvas",
    "COLOURS",
    "REGION_COLOURS",
    "draw_animal",
    "draw_trail",
    "polygon_canvas",
    "trail_render_state",
]

Colour = tuple[int, int, int]

# One palette for every environment so that frames look like one family.
COLOURS: dict[str, Colour] = {
    "background": (250, 250, 250),
    "outside": (215, 215, 215),
    "floor": (255, 255, 255),
    "wall": (40, 40, 40),
    "agent": (204, 51, 17),
    "heading": (20, 20, 20),
    "ray": (0, 119, 187),
    "trail": (238, 119, 51),
    "reward": (0, 153, 136),
    "odour": (51, 34, 136),
    "cue": (238, 51, 119),
    "platform": (0, 153, 136),
}


# Regions are tinted lightly over the floor, in turn (Paul Tol's "bright" scheme, colour-blind safe).
REGION_COLOURS: tuple[Colour, ...] = (
    (68, 119, 170),
    (238, 102, 119),
    (34, 136, 51),
    (204, 187, 68),
    (102, 204, 238),
    (170, 51, 119),
)


class Canvas:
    """An RGB image onto which world-coordinate shapes are drawn.

    Args:
        xlim, ylim: the world rectangle shown, in metres.
        size: width of the image in pixels; the height follows from the aspect ratio.
        background: fill colour.
    """

    def __init__(
        self,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        size: int = 256,
        background: Colour = COLOURS["background"],
    ) -> None:
        (x0, x1), (y0, y1) = xlim, ylim
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"Canvas: empty world rectangle xlim={xlim}, ylim={ylim}")
        self.x0, self.y0 = float(x0), float(y0)
        self.scale = size / (x1 - x0)  # pixels per metre
        self.width = int(size)
        self.height = max(1, int(round((y1 - y0) * self.scale)))
        self.image = np.empty((self.height, self.width, 3), np.uint8)
        self.image[:] = background
        cols = np.arange(self.width) + 0.5
        rows = np.arange(self.height) + 0.5
        # World coordinates of every pixel centre.
        self._wx = self.x0 + cols[None, :] / self.scale
        self._wy = self.y0 + (self.height - rows[:, None]) / self.scale

    def to_pixels(self, xy: Sequence[float]) -> tuple[float, float]:
        """(column, row) of a world point."""
        x, y = float(xy[0]), float(xy[1])
        return (x - self.x0) * self.scale, self.height - (y - self.y0) * self.scale

    def fill_mask(self, mask: np.ndarray, colour: Colour, alpha: float = 1.0) -> None:
        """Paint the pixels where ``mask`` is true (``mask`` has the image's height and width)."""
        if alpha >= 1.0:
            self.image[mask] = colour
        else:
            blend = (1 - alpha) * self.image[mask] + alpha * np.asarray(colour, float)
            self.image[mask] = np.clip(blend, 0, 255).astype(np.uint8)

    def fill_where(self, inside, colour: Colour, alpha: float = 1.0) -> None:
        """Paint pixels whose world coordinates satisfy ``inside(x, y) -> bool array``."""
        mask = np.broadcast_to(inside(self._wx, self._wy), (self.height, self.width))
        self.fill_mask(mask, colour, alpha)

    def fill_rect(
        self, x0: float, y0: float, x1: float, y1: float, colour: Colour, alpha: float = 1.0
    ) -> None:
        self.fill_where(lambda x, y: (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), colour, alpha)

    def fill_circle(self, centre: Sequence[float], radius: float, colour: Colour, alpha: float = 1.0) -> None:
        cx, cy = float(centre[0]), float(centre[1])
        r = max(float(radius), 0.5 / self.scale)
        self.fill_where(lambda x, y: (x - cx) ** 2 + (y - cy) ** 2 <= r * r, colour, alpha)

    def ring(self, centre: Sequence[float], radius: float, width: float, colour: Colour) -> None:
        """A circle outline ``width`` metres thick (at least one pixel)."""
        cx, cy = float(centre[0]), float(centre[1])
        half = max(width, 1.0 / self.scale) / 2
        self.fill_where(lambda x, y: np.abs(np.hypot(x - cx, y - cy) - radius) <= half, colour)

    def line(
        self, a: Sequence[float], b: Sequence[float], width: float, colour: Colour, alpha: float = 1.0
    ) -> None:
        """A segment from ``a`` to ``b``, ``width`` metres thick (at least one pixel)."""
        ax, ay, bx, by = float(a[0]), float(a[1]), float(b[0]), float(b[1])
        half = max(width, 1.0 / self.scale) / 2
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy

        def inside(x, y):
            if length2 == 0.0:
                return (x - ax) ** 2 + (y - ay) ** 2 <= half * half
            t = np.clip(((x - ax) * dx + (y - ay) * dy) / length2, 0.0, 1.0)
            return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= half * half

        self.fill_where(inside, colour, alpha)

    def polyline(self, points: np.ndarray, width: float, colour: Colour, alpha: float = 1.0) -> None:
        points = np.asarray(points, float)
        for a, b in zip(points[:-1], points[1:], strict=False):
            if np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
                self.line(a, b, width, colour, alpha)

    def fill_polygon(self, rings: Sequence[Any], colour: Colour, alpha: float = 1.0) -> None:
        """Fill the region inside ``rings`` (lists of ``[x, y]`` vertices) by the even-odd rule: a ring
        inside another cuts a hole in it."""
        inside = np.zeros((self.height, self.width), bool)
        x, y = self._wx, self._wy
        for ring in rings:
            p = np.asarray(ring, float)
            for (ax, ay), (bx, by) in zip(p, np.roll(p, -1, axis=0), strict=True):
                if ay == by:
                    continue
                spans = (ay > y) != (by > y)
                inside ^= np.broadcast_to(spans & (x < ax + (y - ay) * (bx - ax) / (by - ay)), inside.shape)
        self.fill_mask(inside, colour, alpha)

    def rect_outline(self, x0: float, y0: float, x1: float, y1: float, width: float, colour: Colour) -> None:
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        self.polyline(np.array(corners), width, colour)

    def agent(self, position: Sequence[float], heading: float, radius: float) -> None:
        """The animal: a filled disc with a short line showing its heading."""
        self.fill_circle(position, radius, COLOURS["agent"])
        tip = (position[0] + 1.6 * radius * np.cos(heading), position[1] + 1.6 * radius * np.sin(heading))
        self.line(position, tip, radius / 2.5, COLOURS["heading"])


def trail_render_state(params: Any, trail_seconds: float, size: int, **extra: Any) -> dict[str, Any]:
    """The render state of an environment that draws the animal's recent path: ``"trail"``, a deque that
    keeps the positions of the last ``trail_seconds`` (``params.dt`` apart; at least one), ``"size"``, the
    frame width in pixels, and any ``extra`` entries (e.g. ``trial=None``)."""
    return {
        "trail": collections.deque(maxlen=max(1, int(trail_seconds / float(params.dt)))),
        "size": size,
        **extra,
    }


def draw_trail(canvas: Canvas, render_state: dict, position: np.ndarray, width: float) -> None:
    """Append ``position`` to ``render_state["trail"]`` (a bounded deque) and draw the trail so far as a line
    ``width`` metres thick."""
    render_state["trail"].append(position)
    if len(render_state["trail"]) > 1:
        canvas.polyline(np.array(render_state["trail"]), width, COLOURS["trail"])


def draw_animal(
    canvas: Canvas,
    env: Any,
    state: Any,
    params: Any,
    render_state: dict,
    wall: float,
    *,
    radius: float | None = None,
) -> None:
    """The animal as the spatial environments with wall rays draw it: its recent trail (``wall / 2`` thick),
    its rays to the walls (``env.ray_distances`` along ``params``' field of view, half transparent) and the
    agent, a disc of ``radius`` metres (default ``2 * wall``) with a tick showing its heading.

    ``state`` has ``position`` and ``heading``; ``render_state`` holds the ``"trail"`` deque, extended here.
    """
    position = np.asarray(state.position, float)
    heading = float(state.heading)
    draw_trail(canvas, render_state, position, wall / 2)
    distances = np.asarray(env.ray_distances(state.position, state.heading, params))
    angles = heading + np.asarray(geo.sector_offsets(params.n_rays, params.field_of_view))
    for d, a in zip(distances, angles, strict=True):
        canvas.line(position, position + d * np.array([np.cos(a), np.sin(a)]), wall / 4, COLOURS["ray"], 0.5)
    canvas.agent(position, heading, radius=2 * wall if radius is None else radius)


def polygon_canvas(arena: Mapping[str, Any], size: int) -> tuple[Canvas, float]:
    """A canvas showing a canonical arena mapping (``neuroethology.envs.arena.resolve_arena``): the floor
    (boundary less holes), its regions tinted lightly, the boundary and hole outlines and the internal
    walls; and the wall thickness drawn (m, 1.5% of the larger side)."""
    boundary = np.asarray(arena["boundary"], float)
    (x0, y0), (x1, y1) = boundary.min(axis=0), boundary.max(axis=0)
    extent = max(x1 - x0, y1 - y0)
    pad = 0.05 * extent
    canvas = Canvas((x0 - pad, x1 + pad), (y0 - pad, y1 + pad), size=size, background=COLOURS["outside"])
    canvas.fill_polygon([boundary, *arena["holes"]], COLOURS["floor"])
    for k, region in enumerate(arena["regions"].values()):
        canvas.fill_polygon([region], REGION_COLOURS[k % len(REGION_COLOURS)], alpha=0.18)
    wall = 0.015 * extent
    for ring in [boundary, *arena["holes"]]:
        p = np.asarray(ring, float)
        canvas.polyline(np.vstack([p, p[:1]]), wall, COLOURS["wall"])
    for a, b in arena["walls"]:
        canvas.line(a, b, wall, COLOURS["wall"])
    return canvas, wall
