"""Arena presets: the mazes of lab protocols as arena mappings in metres, each with its source.

Every preset is a plain mapping in the format of :mod:`neuroethology.envs.arena` (``boundary``, ``holes``,
``walls``, ``regions``; ``box`` and ``circle`` also carry their ``shape`` shorthand), laid out with its
bounding box starting at ``(0, 0)`` (x right, y up, metres), "north" meaning +y. Regions are named in plain
words ("open arm north", "centre") so analyses by region read like the paper's methods.

Sources: each builder's docstring cites the protocol its dimensions come from; where a dimension could not be
checked against the cited text when this module was written, the docstring says so (search for "not
checked").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["CIRCLE_SIDES", "PRESETS", "circle_polygon", "preset", "preset_names"]

# A circle as a regular polygon inscribed in it: 128 sides keep every vertex on the circle and the largest
# radial gap R (1 - cos(pi / 128)) = 0.30 mm at R = 1 m (tests/unit/envs/test_arena.py measures the ray
# error against the analytic circle).
CIRCLE_SIDES = 128

COMPASS = ("east", "north-east", "north", "north-west", "west", "south-west", "south", "south-east")


def circle_polygon(
    centre: tuple[float, float], radius: float, sides: int = CIRCLE_SIDES
) -> list[list[float]]:
    """Vertices (anticlockwise, the first at angle 0) of the regular ``sides``-gon inscribed in a circle."""
    a = 2 * np.pi * np.arange(sides) / sides
    return np.stack([centre[0] + radius * np.cos(a), centre[1] + radius * np.sin(a)], 1).tolist()


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _rounded(mapping: dict[str, Any]) -> dict[str, Any]:
    """Coordinates rounded to 1e-12 m, so presets built with trigonometry compare equal across platforms."""

    def r(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: r(x) for k, x in v.items()}
        if isinstance(v, list):
            return [r(x) for x in v]
        return round(float(v), 12) + 0.0 if isinstance(v, float) else v

    return r(mapping)


def _radial(arm_length: float, arm_width: float, names: list[str], first: float = 0.0) -> dict[str, Any]:
    """A regular polygon of side ``arm_width`` with one arm ``arm_length`` long and ``arm_width`` wide on each
    side: ``len(names)`` sides, the first side's outward normal at ``first`` degrees and the others
    anticlockwise from it (``names`` the arms' regions, in that order; ``"centre"`` the polygon), shifted so
    the bounding box starts at (0, 0)."""
    n = len(names)
    apothem = arm_width / (2 * math.tan(math.pi / n))
    boundary, regions, centre = [], {}, []
    for k, name in enumerate(names):
        phi = math.radians(first) + 2 * math.pi * k / n
        normal = np.array([math.cos(phi), math.sin(phi)])
        along = np.array([-normal[1], normal[0]])  # anticlockwise along the side
        right = apothem * normal - 0.5 * arm_width * along  # the side's first corner
        left = apothem * normal + 0.5 * arm_width * along  # its second: the next side's first
        tip = arm_length * normal
        boundary += [right, right + tip, left + tip]
        centre.append(right)
        regions[name] = [right, right + tip, left + tip, left]
    regions["centre"] = centre
    shift = -np.array(boundary).min(axis=0)
    move = lambda pts: (np.asarray(pts) + shift).tolist()  # noqa: E731
    return _rounded({"boundary": move(boundary), "regions": {k: move(v) for k, v in regions.items()}})


# ---------------------------------------------------------------------------------------------------------
# The presets
# ---------------------------------------------------------------------------------------------------------


def box() -> dict[str, Any]:
    """The 1 x 1 m open-field box of Sargolini et al. 2006 (Science 312:758), whose rat trajectory ships with
    ratinabox: OpenField-v0's default arena."""
    return {"shape": "box", "width": 1.0, "height": 1.0}


def circle() -> dict[str, Any]:
    """OpenField-v0's circular arena: 1 m across (radius 0.5 m), the Sargolini box's width. No single
    protocol; the 76 cm cylinder of Muller & Kubie 1987 (J. Neurosci. 7:1951) is
    ``{"shape": "circle", "radius": 0.38}``."""
    return {"shape": "circle", "radius": 0.5}


def plus_maze() -> dict[str, Any]:
    """The elevated plus maze for mice of Walf & Frye 2007 (Nat. Protoc. 2:322): four arms 30 cm long and
    5 cm wide around a 5 x 5 cm centre, the open arms north and south, the closed arms east and west. The
    closed arms' side and end walls are listed as walls (they lie on the floor's edge, so they change no
    motion; they mark which edges are walls and which are drops). Regions: the four arms and the centre."""
    arm, w = 0.30, 0.05
    a, b, c = arm, arm + w, 2 * arm + w  # 0.30, 0.35, 0.65
    boundary = [
        [a, 0],
        [b, 0],
        [b, a],
        [c, a],
        [c, b],
        [b, b],
        [b, c],
        [a, c],
        [a, b],
        [0, b],
        [0, a],
        [a, a],
    ]
    walls = [
        [[b, a], [c, a]],  # closed arm east: south side, end, north side
        [[c, a], [c, b]],
        [[c, b], [b, b]],
        [[a, b], [0, b]],  # closed arm west: north side, end, south side
        [[0, b], [0, a]],
        [[0, a], [a, a]],
    ]
    regions = {
        "open arm north": _rect(a, b, b, c),
        "open arm south": _rect(a, 0, b, a),
        "closed arm east": _rect(b, a, c, b),
        "closed arm west": _rect(0, a, a, b),
        "centre": _rect(a, a, b, b),
    }
    return {"boundary": boundary, "walls": walls, "regions": regions}


def y_maze() -> dict[str, Any]:
    """The mouse Y-maze of the MRC Harwell phenotyping platform (www.har.mrc.ac.uk, "Y Maze"): three arms
    40 x 9 cm at 120 degrees around an equilateral triangle of 9 cm sides, the arms pointing north-east,
    north-west and south. Regions: the arms and the centre."""
    return _radial(0.40, 0.09, ["arm north-east", "arm north-west", "arm south"], first=30.0)


def t_maze() -> dict[str, Any]:
    """The mouse T-maze of Deacon & Rawlins 2006 (Nat. Protoc. 1:7), as SpatialTMaze-v0 lays it out: a
    start arm (the stem) and two goal arms, each 30 cm long and 10 cm wide, the goal arms west and east of
    a 10 x 10 cm choice point. Regions: the three arms and the choice point."""
    arm, w = 0.30, 0.10
    a, b, c = arm, arm + w, 2 * arm + w  # 0.3, 0.4, 0.7
    boundary = [[a, 0], [b, 0], [b, a], [c, a], [c, b], [0, b], [0, a], [a, a]]
    regions = {
        "start arm": _rect(a, 0, b, a),
        "left arm": _rect(0, a, a, b),
        "right arm": _rect(b, a, c, b),
        "choice point": _rect(a, a, b, b),
    }
    return {"boundary": boundary, "regions": regions}


def radial_arm_8() -> dict[str, Any]:
    """The eight-arm radial maze of Olton & Samuelson 1976 (J. Exp. Psychol. Anim. Behav. Process. 2:97):
    eight arms radiating from an octagonal centre. Arms 1 m long ("about a metre" in Roberts' account of
    the apparatus; other accounts give about 4 feet) and 10 cm wide (the width, and so the 24 cm-wide
    centre, an octagon of 10 cm sides, are not checked against the paper). Regions: one per arm, named by
    compass direction ("arm north-east"), and the centre."""
    return _radial(1.0, 0.10, [f"arm {d}" for d in COMPASS])


def linear_track() -> dict[str, Any]:
    """A linear track 2 m long and 10 cm wide, along x. Rat place-cell tracks run about 1.5-3 m; this
    length is a round choice, not checked against one protocol. Regions: the two ends (the last 20 cm,
    where rewards are given) and the middle."""
    length, w, end = 2.0, 0.10, 0.20
    return {
        "boundary": _rect(0, 0, length, w),
        "regions": {
            "west end": _rect(0, 0, end, w),
            "middle": _rect(end, 0, length - end, w),
            "east end": _rect(length - end, 0, length, w),
        },
    }


def hafting_barrier() -> dict[str, Any]:
    """A 1 x 1 m box (the recording box of the Moser lab, Hafting et al. 2005, Nature 436:801; Sargolini
    et al. 2006) with a free-standing barrier 50 cm long across its middle, from (0.25, 0.5) to
    (0.75, 0.5) m. The barrier's length and place are not checked against a paper: the issue names Hafting
    et al. 2008 (Nature 453:1248), a study of phase precession, whose apparatus could not be consulted here."""
    return {"shape": "box", "width": 1.0, "height": 1.0, "walls": [[[0.25, 0.5], [0.75, 0.5]]]}


def barnes() -> dict[str, Any]:
    """The Barnes maze for mice of Sunyer et al. 2007 (Protocol Exchange, doi:10.1038/nprot.2007.390), after
    Barnes 1979 (J. Comp. Physiol. Psychol. 93:74): a circular platform 92 cm across with 20 holes 5 cm
    across, their centres 7.5 cm in from the edge (these three sizes are quoted from memory of the protocol,
    not checked against its text). The holes are regions ("hole 1" east, then anticlockwise), not holes in
    the floor: the animal walks over them."""
    radius, hole, inset = 0.46, 0.025, 0.075
    regions = {}
    for k in range(20):
        phi = 2 * math.pi * k / 20
        centre = (radius + (radius - inset) * math.cos(phi), radius + (radius - inset) * math.sin(phi))
        regions[f"hole {k + 1}"] = circle_polygon(centre, hole, 16)
    return {"shape": "circle", "radius": radius, "regions": regions}


def water_maze() -> dict[str, Any]:
    """The Morris water maze pool of WaterMaze-v0: 2 m across (radius 1 m, the pool of the model of Foster,
    Morris & Dayan 2000, Hippocampus 10:1; within the 1.5-2 m used for rats, Morris 1984, J. Neurosci.
    Methods 11:47; Vorhees & Williams 2006, Nat. Protoc. 1:848), with its four quadrants as regions
    ("north-east quadrant", ...), the standard probe-trial measure."""
    radius = 1.0
    ring = circle_polygon((radius, radius), radius)
    quarter = CIRCLE_SIDES // 4
    regions = {}
    for k, name in enumerate(("north-east", "north-west", "south-west", "south-east")):
        arc = [ring[(k * quarter + j) % CIRCLE_SIDES] for j in range(quarter + 1)]
        regions[f"{name} quadrant"] = [[radius, radius], *arc]
    return {"shape": "circle", "radius": radius, "regions": regions}


PRESETS: dict[str, Callable[[], dict[str, Any]]] = {
    "box": box,
    "circle": circle,
    "plus_maze": plus_maze,
    "y_maze": y_maze,
    "t_maze": t_maze,
    "radial_arm_8": radial_arm_8,
    "linear_track": linear_track,
    "hafting_barrier": hafting_barrier,
    "barnes": barnes,
    "water_maze": water_maze,
}


def preset_names() -> list[str]:
    """The names :func:`preset` knows."""
    return list(PRESETS)


def preset(name: str) -> dict[str, Any]:
    """A fresh copy of the preset ``name`` (a ``KeyError`` for another name; ``resolve_arena`` says which
    names exist)."""
    return PRESETS[name]()
