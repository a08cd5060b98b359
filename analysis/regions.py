"""Analysis by region: time in each named region of an arena, entries, latency to the first entry and the
transitions between regions, per individual on its own clock (e.g. the elevated plus maze's open and closed
arms, a water maze's target quadrant, a reward zone).

Regions are polygons in metres: a mapping ``{name: [[x, y], ...]}``, the whole arena mapping (its
``"regions"``), movement ``PolygonOfInterest`` objects, or ``None`` for the regions stored with the
recording's arena. Points are placed with movement's ROI geometry (the ``shapely`` polygon of each
``PolygonOfInterest``, its ``contains_point(include_boundary=True)`` test evaluated on all samples at once).

The rules, one place for all the measures:

- **States.** Every tracked sample is in exactly one state: a region or ``"outside"`` (outside every region).
  Regions are closed (a point on a region's edge is in the region); on an edge that two regions share, the
  point belongs to the one given first (the order of ``regions`` is the priority). Regions that overlap in
  area are refused: a sample would be in two of them, and a partition is what the transition matrix
  needs. Untracked samples (NaN positions, ``segment`` -1) are in no state.
- **Time.** A tracked sample stands for the seconds :func:`neuroethology.data.schema.sample_durations`
  gives it (a frame, or, for time as recorded, the interval to the next fix of the same run), and its
  state holds for all of it: the one weighting of time that :func:`compute_occupancy` and
  :func:`compute_thigmotaxis` use. Untracked samples and gaps count as time nowhere.
- **Entries and transitions.** A transition is a change of state between consecutive tracked samples; an
  entry into a region is a transition into it. The first tracked sample is where the animal was placed,
  never an entry. A gap (untracked samples, a new ``segment``) interrupts the visit; with
  ``across_gaps="bridge"`` (default) the state after the gap is compared with the last state before it:
  a change counts (the animal must have made it during the gap: the count is the fewest consistent with
  the samples, and ``bridged_changes`` says how many were counted so), the same state continues the visit
  (a lost frame inside an arm is not a new entry). With ``across_gaps="break"`` the first sample after a
  gap is like the first of the recording: no entry, no transition. A new ``episode`` (a simulation's
  reset moves the agent) is never bridged.
- **Latency.** Seconds from the individual's first tracked sample to its first tracked sample in the
  region: 0 when it starts there (see ``initial_region``), NaN with ``entered`` False when never there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
import xarray as xr
from movement.roi import PolygonOfInterest

from neuroethology.data import from_arrays
from neuroethology.data.model import as_recording
from neuroethology.data.schema import AS_RECORDED, PLURAL_DIMS, POSITION_DIMS, SINGULAR_DIMS
from neuroethology.problems import ProblemsError

from ._recording import Track, arena_of, episodes, select_track, source_of

__all__ = [
    "OUTSIDE",
    "as_regions",
    "compute_region_occupancy",
    "compute_open_arm_measures",
    "region_states",
]

#: The state of a tracked sample in no region (a reserved region name).
OUTSIDE = "outside"
#: Two regions overlap when they share more than this fraction of the smaller one's area (float slivers
#: from vertices computed in floating point stay below it).
_OVERLAP_TOLERANCE = 1e-9
_GAP_RULES = ("bridge", "break")


# ---------------------------------------------------------------------------------------------- regions


def _region_items(regions: Any, caller: str) -> list[tuple[Any, Any]]:
    """``(name, vertices or PolygonOfInterest)`` pairs of any accepted form of ``regions``."""
    if isinstance(regions, PolygonOfInterest):
        regions = [regions]
    if isinstance(regions, Mapping):
        if "regions" in regions or "boundary" in regions:  # a whole arena mapping
            if not isinstance(regions.get("regions"), Mapping) or not regions.get("regions"):
                raise ValueError(f"{caller}: the arena mapping has no 'regions' {{name: [[x, y], ...]}}")
            regions = regions["regions"]
        return list(regions.items())
    if isinstance(regions, Sequence) and not isinstance(regions, str):
        if not all(isinstance(r, PolygonOfInterest) for r in regions):
            raise ValueError(
                f"{caller}: a sequence of regions must hold movement PolygonOfInterest objects; give "
                "vertices as a mapping {name: [[x, y], ...]} (metres)"
            )
        return [(r.name, r) for r in regions]
    raise ValueError(
        f"{caller}: regions must be a mapping {{name: [[x, y], ...]}} in metres, an arena mapping with "
        f"'regions', or movement PolygonOfInterest objects; got {type(regions).__name__}"
    )


def _polygon(name: str, shape: Any, problems: list[str]) -> PolygonOfInterest | None:
    if isinstance(shape, PolygonOfInterest):
        poi = shape
    else:
        xy = np.asarray(shape, dtype=float) if _numeric(shape) else None
        if xy is None or xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] < 3:
            problems.append(
                f"region {name!r}: expected at least 3 vertices [[x, y], ...] in metres, got "
                f"{_shape_text(shape)}"
            )
            return None
        if not np.isfinite(xy).all():
            problems.append(f"region {name!r}: vertices must be finite numbers (metres), got NaN or inf")
            return None
        try:
            poi = PolygonOfInterest(xy, name=name)
        except (ValueError, TypeError, shapely.errors.ShapelyError) as err:
            problems.append(f"region {name!r}: not a polygon ({err})")
            return None
    region = poi.region
    if poi.dimensions != 2 or not region.is_valid or region.area <= 0:
        why = shapely.is_valid_reason(region) if not region.is_valid else "zero area"
        problems.append(f"region {name!r}: must be a simple polygon of positive area in 2-D ({why})")
        return None
    return poi


def _numeric(shape: Any) -> bool:
    try:
        np.asarray(shape, dtype=float)
    except (TypeError, ValueError):
        return False
    return True


def _shape_text(shape: Any) -> str:
    return f"shape {np.shape(shape)}" if _numeric(shape) else repr(shape)[:60]


def as_regions(regions: Any, *, caller: str = "as_regions") -> dict[str, PolygonOfInterest]:
    """Validate regions and return them as ``{name: PolygonOfInterest}``, in priority order.

    Args:
        regions: ``{name: [[x, y], ...]}`` (metres), ``{name: PolygonOfInterest}``, an arena mapping with
            ``"regions"``, or a sequence of named ``PolygonOfInterest`` objects.

    Raises:
        ProblemsError: every problem at once: fewer than 3 vertices, NaN, a self-intersecting outline, a
        missing or repeated name, the reserved name ``"outside"``, two regions overlapping in area.
    """
    problems: list[str] = []
    out: dict[str, PolygonOfInterest] = {}
    for name, shape in _region_items(regions, caller):
        if not isinstance(name, str) or not name:
            problems.append(f"every region needs a non-empty name, got {name!r}")
            continue
        if name == OUTSIDE:
            problems.append(f"the region name {OUTSIDE!r} is reserved for samples in no region; rename it")
            continue
        if name in out:
            problems.append(f"region name {name!r} is given twice")
            continue
        poi = _polygon(name, shape, problems)
        if poi is not None:
            out[name] = poi
    names = list(out)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ra, rb = out[a].region, out[b].region
            common = ra.intersection(rb).area
            if common > _OVERLAP_TOLERANCE * min(ra.area, rb.area):
                problems.append(
                    f"regions {a!r} and {b!r} overlap ({common:.3g} m^2 in common): regions must partition "
                    "space (they may share edges); analyse nested regions in separate calls"
                )
    if not out and not problems:
        problems.append("no regions given")
    if problems:
        raise ProblemsError(f"{caller}: regions", problems)
    return out


def region_states(xy: np.ndarray, regions: Mapping[str, PolygonOfInterest]) -> np.ndarray:
    """``(n,)`` state of each point ``(n, 2)`` (metres): the index of its region in ``regions`` (the first
    one, in order, whose closed polygon covers it), ``len(regions)`` outside every region, ``-1`` for a
    NaN point. ``regions``: as returned by :func:`as_regions`."""
    xy = np.asarray(xy, dtype=float)
    ok = np.all(np.isfinite(xy), axis=1)
    state = np.full(xy.shape[0], len(regions), dtype=np.int64)
    points = shapely.points(xy[ok])
    for k, poi in reversed(list(enumerate(regions.values()))):  # earlier regions overwrite later ones
        # movement's contains_point(include_boundary=True) is region.covers(point); evaluated here on all
        # points at once instead of one Point at a time.
        hit = shapely.covers(poi.region, points)
        state[np.flatnonzero(ok)[hit]] = k
    state[~ok] = -1
    return state


# ------------------------------------------------------------------------------------------------ measures


def _track_measures(track: Track, regions: Mapping[str, PolygonOfInterest], across_gaps: str) -> dict:
    """The measures of one track: arrays over the states (regions then outside)."""
    n_states = len(regions) + 1
    state = region_states(track.xy, regions)
    state[track.run < 0] = -1
    idx = np.flatnonzero(state >= 0)
    seconds = np.bincount(state[idx], weights=track.sample_durations[idx], minlength=n_states)
    out = {
        "time": seconds,
        "tracked": float(seconds.sum()),
        "transitions": np.zeros((n_states, n_states), np.int64),
        "latency": np.full(n_states, np.nan),
        "start": np.nan,
        "initial": "untracked",
        "bridged": 0,
    }
    if idx.size == 0:
        return out
    s, t = state[idx], track.time[idx]
    out["start"], out["initial"] = float(t[0]), ([*regions, OUTSIDE])[s[0]]
    first = np.full(n_states, -1)
    for k in range(n_states):
        hits = np.flatnonzero(s == k)
        if hits.size:
            first[k] = hits[0]
    out["latency"] = np.where(first >= 0, t[np.maximum(first, 0)] - t[0], np.nan)
    ep = episodes(track)[idx]
    same_run = track.run[idx][1:] == track.run[idx][:-1]
    counted = same_run | ((across_gaps == "bridge") & (ep[1:] == ep[:-1]))
    change = counted & (s[1:] != s[:-1])
    np.add.at(out["transitions"], (s[:-1][change], s[1:][change]), 1)
    out["bridged"] = int((change & ~same_run).sum())
    return out


def _individuals(rec: xr.Dataset, individual, caller: str) -> list[str | int]:
    names = [str(v) for v in rec["individual"].values]
    if individual is None:
        return list(range(len(names)))
    chosen = [individual] if isinstance(individual, (str, int, np.integer)) else list(individual)
    if not chosen:
        raise ValueError(f"{caller}: individual= names no individual; found {names}")
    return chosen


def _position_recording(position: xr.DataArray, caller: str) -> xr.Dataset:
    """A Recording around a bare ``position`` DataArray: time as recorded (each sample stands for the
    interval to the next; on a regular grid that is one frame); the nominal rate (the last fix's duration)
    from ``attrs['fps']``, else 1 / the median interval."""
    da = position.rename({k: v for k, v in SINGULAR_DIMS.items() if k in position.dims})
    if set(da.dims) != set(POSITION_DIMS):
        raise ValueError(
            f"{caller}: a position DataArray needs dims {POSITION_DIMS} (or movement 0.15's "
            f"{tuple(PLURAL_DIMS.get(d, d) for d in POSITION_DIMS)}), got {position.dims}"
        )
    da = da.transpose(*POSITION_DIMS)
    return from_arrays(
        da.sel(space=["x", "y"]).values,
        time=da["time"].values,
        fps=da.attrs.get("fps"),
        individual_names=[str(v) for v in da["individual"].values],
        keypoint_names=[str(v) for v in da["keypoint"].values],
        attrs={"time_sampling": AS_RECORDED},
    )


def compute_region_occupancy(
    rec_or_position: xr.Dataset | xr.DataArray,
    regions: Any = None,
    *,
    individual: str | int | Sequence[str | int] | None = None,
    keypoint: str | int | None = None,
    across_gaps: str = "bridge",
) -> xr.Dataset:
    """Time in each region, entries, latency to the first entry and the transition matrix, per individual.

    The rules for states, edges, gaps and the first sample are in this module's docstring.

    Args:
        rec_or_position: a Recording, or its ``position`` DataArray ``(time, space, keypoint, individual)``
            in metres (then read as time as recorded: each sample stands for the interval to the next, the
            last for 1 / ``attrs['fps']``, else for the median interval).
        regions: ``{name: [[x, y], ...]}`` (metres), ``{name: PolygonOfInterest}``, an arena mapping (its
            ``"regions"``), a sequence of named movement ``PolygonOfInterest``; ``None``: the regions of
            the recording's arena. The order is the priority on shared edges.
        individual: a name or index, or a list of them; ``None``: every individual, each on its own clock.
        keypoint: name or index; ``None``: ``centroid``, else the only keypoint, else the keypoints' mean.
        across_gaps: ``"bridge"`` (default) or ``"break"``: whether a change of region across a tracking
            gap counts as an entry and a transition.

    Returns:
        Dataset with coords ``individual``, ``region`` (the regions in order, then ``"outside"``),
        ``from_region`` and ``to_region`` (the same labels), and variables ``time_in_region (individual,
        region)`` s; ``fraction_of_time`` (of the tracked time); ``entries`` (count); ``latency`` s (NaN if
        never entered); ``entered`` (bool: ever tracked in the region); ``transitions (individual,
        from_region, to_region)`` (counts; entries are its column sums); ``tracked_time`` s, ``start_time``
        s (first tracked sample), ``initial_region`` and ``bridged_changes`` (transitions counted across a
        gap) per individual.

    Raises:
        ValueError: a Recording that fails validation, unknown individuals, no regions to use.
        ProblemsError: invalid or overlapping regions (all problems at once).
    """
    caller = "compute_region_occupancy"
    if across_gaps not in _GAP_RULES:
        raise ValueError(f"{caller}: across_gaps must be one of {_GAP_RULES}, got {across_gaps!r}")
    if isinstance(rec_or_position, xr.DataArray):
        rec = _position_recording(rec_or_position, caller)
    else:
        rec = as_recording(rec_or_position, caller=caller)
    if regions is None:
        regions = arena_of(rec)
        if not isinstance(regions, Mapping) or not regions.get("regions"):
            raise ValueError(
                f"{caller}: {source_of(rec)} stores no arena regions; pass regions={{name: [[x, y], ...]}} "
                "in metres (or an arena mapping with 'regions', or movement PolygonOfInterest objects)"
            )
    polygons = as_regions(regions, caller=caller)
    rows, names, keypoints = [], [], []
    for which in _individuals(rec, individual, caller):
        track = select_track(rec, individual=which, keypoint=keypoint, caller=caller)
        rows.append(_track_measures(track, polygons, across_gaps))
        names.append(track.individual)
        keypoints.append(track.keypoint)
    return _as_dataset(rows, names, [*polygons, OUTSIDE], keypoints, across_gaps)


def _as_dataset(rows: list[dict], names: list[str], labels: list[str], keypoints, across_gaps) -> xr.Dataset:
    seconds = np.array([r["time"] for r in rows], float).reshape(len(rows), len(labels))
    tracked = np.array([r["tracked"] for r in rows], float)
    transitions = np.array([r["transitions"] for r in rows], np.int64).reshape(
        len(rows), len(labels), len(labels)
    )
    latency = np.array([r["latency"] for r in rows], float).reshape(seconds.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(tracked[:, None] > 0, seconds / tracked[:, None], np.nan)
    ind, reg = ("individual",), ("individual", "region")
    return xr.Dataset(
        {
            "time_in_region": (reg, seconds, {"units": "s", "long_name": "time in the region"}),
            "fraction_of_time": (reg, fraction, {"units": "1", "long_name": "fraction of tracked time"}),
            "entries": (reg, transitions.sum(axis=1), {"units": "1", "long_name": "entries"}),
            "latency": (reg, latency, {"units": "s", "long_name": "latency to the first entry"}),
            "entered": (reg, np.isfinite(latency), {"long_name": "ever tracked in the region"}),
            "transitions": (
                ("individual", "from_region", "to_region"),
                transitions,
                {"units": "1", "long_name": "transitions between states (row: from, column: to)"},
            ),
            "tracked_time": (ind, tracked, {"units": "s", "long_name": "tracked time"}),
            "start_time": (ind, [r["start"] for r in rows], {"units": "s", "long_name": "first tracked"}),
            "initial_region": (ind, np.array([r["initial"] for r in rows], dtype=str)),
            "bridged_changes": (ind, [r["bridged"] for r in rows], {"long_name": "transitions across gaps"}),
        },
        coords={
            "individual": names,
            "region": labels,
            "from_region": labels,
            "to_region": labels,
            "keypoint": ("individual", np.array(keypoints, dtype=str)),
        },
        attrs={
            "across_gaps": across_gaps,
            "edge_rule": "closed regions; a point on a shared edge belongs to the region given first",
            "entry_rule": "a change of state between consecutive tracked samples; the first sample is none",
        },
    )


# ------------------------------------------------------------------------------------------ plus maze


def _arm_names(labels: list[str], given, prefix: str, what: str, caller: str) -> list[str]:
    if given is None:
        names = [n for n in labels if n != OUTSIDE and n.startswith(prefix)]
    else:
        names = [given] if isinstance(given, str) else list(given)
    unknown = [n for n in names if n not in labels or n == OUTSIDE]
    if unknown:
        raise ValueError(f"{caller}: {what} {unknown} are not regions; regions: {labels[:-1]}")
    if not names:
        raise ValueError(
            f"{caller}: no {what}: no region name starts with {prefix!r} (regions: {labels[:-1]}); pass "
            f"{what}=[names]"
        )
    return names


def compute_open_arm_measures(
    data: xr.Dataset,
    regions: Any = None,
    *,
    open_arms: Sequence[str] | None = None,
    closed_arms: Sequence[str] | None = None,
    **occupancy_kwargs: Any,
) -> xr.Dataset:
    """The elevated plus maze's standard anxiety measures, per individual: the share of arm time spent in
    the open arms and the share of arm entries made into them (Pellow et al. 1985 J Neurosci Methods
    14:149, who validated both as % open-arm time and % open-arm entries; Walf & Frye 2007 Nat Protoc
    2:322), with closed-arm entries as the index of locomotor activity.

    Args:
        data: the Dataset of :func:`compute_region_occupancy`, or a Recording (then ``regions`` and
            ``occupancy_kwargs`` go to :func:`compute_region_occupancy`).
        open_arms, closed_arms: region names; default: the regions whose names start with ``"open arm"``
            and ``"closed arm"`` (the plus maze preset's "open arm north", ...). Time in the centre and
            outside every region counts in neither.

    Returns:
        Dataset ``(individual,)``: ``open_time``, ``closed_time`` s; ``open_entries``, ``closed_entries``;
        ``open_time_ratio`` = open / (open + closed) time and ``open_entry_ratio`` = open / (open +
        closed) entries (multiply by 100 for Pellow's percentages; NaN without arm time / arm entries).
    """
    caller = "compute_open_arm_measures"
    if not (isinstance(data, xr.Dataset) and "time_in_region" in data):
        data = compute_region_occupancy(data, regions, **occupancy_kwargs)
    elif regions is not None or occupancy_kwargs:
        raise ValueError(f"{caller}: data is already a region occupancy; regions and options do not apply")
    labels = [str(v) for v in data["region"].values]
    opened = _arm_names(labels, open_arms, "open arm", "open_arms", caller)
    closed = _arm_names(labels, closed_arms, "closed arm", "closed_arms", caller)
    both = sorted(set(opened) & set(closed))
    if both:
        raise ValueError(f"{caller}: regions {both} are given as both open and closed arms")
    t_open = data["time_in_region"].sel(region=opened).sum("region")
    t_closed = data["time_in_region"].sel(region=closed).sum("region")
    e_open = data["entries"].sel(region=opened).sum("region")
    e_closed = data["entries"].sel(region=closed).sum("region")
    arm_time, arm_entries = t_open + t_closed, e_open + e_closed
    out = xr.Dataset(
        {
            "open_time": t_open.assign_attrs(units="s", long_name="time in the open arms"),
            "closed_time": t_closed.assign_attrs(units="s", long_name="time in the closed arms"),
            "open_entries": e_open.assign_attrs(units="1", long_name="open-arm entries"),
            "closed_entries": e_closed.assign_attrs(units="1", long_name="closed-arm entries"),
            "open_time_ratio": (t_open / arm_time.where(arm_time > 0)).assign_attrs(
                units="1", long_name="open-arm time / arm time"
            ),
            "open_entry_ratio": (e_open / arm_entries.where(arm_entries > 0)).assign_attrs(
                units="1", long_name="open-arm entries / arm entries"
            ),
        },
        attrs={
            "open_arms": "; ".join(opened),
            "closed_arms": "; ".join(closed),
            "across_gaps": data.attrs.get("across_gaps", ""),
        },
    )
    return out
