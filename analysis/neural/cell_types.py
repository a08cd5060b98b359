"""Cell types of the units of a Recording: place, grid, border, head-direction and speed cells.

One call reads a Recording's units (recorded spikes, traces or an agent's ``hidden`` units, through
:func:`neuroethology.data.neural.activity_of`) and its track, scores every unit with the measures of
:mod:`.tuning`, :mod:`.tuning_time` and :mod:`.grid`, tests five of them against circular time-shift shuffles
(:mod:`.shuffles`) and names each unit's type.

- :func:`classify_units`: an ``xarray.Dataset`` on the ``unit`` dim: the scores, each tested score's shuffle
  threshold and z, the conjunctive flags ``is_place``, ``is_grid``, ``is_border``, ``is_head_direction``,
  ``is_speed``, and ``type``, the primary type (:data:`CELL_TYPES`).
- :func:`units_table`: the same as a ``pandas.DataFrame`` whose first columns are the contract of
  ``neuroethology neurons``'s ``units.csv``.

The rule (documented in :func:`classify_units`): a score is significant when it exceeds its own unit's
shuffles (Solstad et al. 2008; Kropff et al. 2015). The three tests that decide whether a unit is typed at all
(spatial information, head direction, speed) hold their level together (Bonferroni: an untuned unit passes any
of them with probability under ``1 - percentile / 100``); the grid and border tests, which only choose among the
spatial types, run at ``percentile``. A spatial type needs significant spatial information; among spatial units
grid and border cells take precedence over place cells (they carry spatial information too: the place test alone
cannot tell them apart), and between grid and border the score further above its shuffles wins. Between the spatial type and a non-spatial one
(head direction, speed) the one whose score lies further above its shuffles, in shuffle standard deviations,
wins: a place cell in a box shows some directional and speed modulation through the path, and the reverse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from neuroethology.data import arena_of
from neuroethology.data.neural import activity_of

from .. import _arena_geometry
from .._recording import arena_extent, arena_size, check_arena, select_track
from ..kinematics import compute_heading, compute_speed
from . import grid as _grid
from .shuffles import draw_shifts, shift_activity, shuffle_batch
from .tuning import (
    _border_all,
    _coherence_all,
    _information_all,
    _sparsity_all,
    _wall_geometry,
    make_rate_map_fn,
)
from .tuning_time import _directions, _hd_tuning, _speed_tuning, _speeds, _time_smooth, _weighted_fit

__all__ = [
    "CELL_TYPES",
    "OPEN_FIELD_FLOOR",
    "TESTED_SCORES",
    "UnitInputs",
    "classify_units",
    "is_open_field",
    "unit_inputs",
    "units_table",
]

CELL_TYPES = ("place", "grid", "border", "head_direction", "speed", "none")
TESTED_SCORES = ("spatial_information", "grid_score", "border_score", "hd_mvl", "speed_score")
TYPING_SCORES = ("spatial_information", "hd_mvl", "speed_score")  # the tests that decide typed vs none
CONTRACT_COLUMNS = (
    "unit",
    "type",
    "grid_score",
    "spatial_information",
    "border_score",
    "hd_mvl",
    "speed_score",
)
HEADING_MIN_SPEED = 0.05  # m/s: below it the direction of motion is tracking noise (a package choice)
BORDER_MIN_SCORE = 0.5  # Solstad et al. 2008, Science 322:1865: border cells had border scores above 0.5
_BATCH_FLOATS = 2**25  # floats of shifted activity held at once per shuffle batch (128 MB in float32)


#: The least share of its bounding box an arena's floor must cover for the grid score to be measured: an open
#: field (box, circle, L-shape) passes, a maze of narrow arms (a plus maze's floor is ~15 % of its box) does not.
OPEN_FIELD_FLOOR = 0.5


def is_open_field(arena: dict[str, Any]) -> bool:
    """Whether ``arena`` (:func:`check_arena`'s form) is open enough for a grid score (:data:`OPEN_FIELD_FLOOR`)."""
    if _arena_geometry.kind(arena) in ("box", "circle"):
        return True
    x0, x1, y0, y1 = _arena_geometry.bounds(arena)
    return _arena_geometry.floor_polygon(arena).area >= OPEN_FIELD_FLOOR * (x1 - x0) * (y1 - y0)


class UnitInputs(NamedTuple):
    """What the scores read from the Recording, one individual."""

    activity: np.ndarray  # (T, U) float, 0 where a sample has no activity (it does not count)
    kind: str  # "counts" or "rate" (tuning's kinds)
    recorded_kind: str  # the Recording's kind: counts, rate, dff, model
    source: str
    labels: list[str]
    xy: np.ndarray  # (T, 2) m
    durations: np.ndarray  # (T,) s, 0 where the sample does not count
    time: np.ndarray  # (T,) s
    speed: np.ndarray  # (T,) m/s
    heading: np.ndarray  # (T,) rad, NaN where unknown
    heading_source: str
    arena: dict[str, Any]
    individual: str
    n_without_activity: int


def unit_inputs(rec: xr.Dataset, individual=None, units=None, caller: str = "unit_inputs") -> UnitInputs:
    """What every score of :func:`classify_units` reads from a Recording for one individual (see
    :class:`UnitInputs`): the one place where activity, durations, speed and heading are taken, so that figures
    and other measures read the units exactly as the classification did."""
    track = select_track(rec, individual=individual, caller=caller)
    neural = activity_of(rec, individual=track.individual, units=units)
    act = neural.activity
    t_act = np.asarray(act["time"].values, float)
    if t_act.shape != track.time.shape or not np.allclose(t_act, track.time, rtol=0, atol=1e-9):
        raise ValueError(
            f"{caller}: the activity's {t_act.size} samples are not the track's {track.time.size} samples; "
            "put the activity on the Recording's own samples (neuroethology.data.neural.add_activity)"
        )
    arena = check_arena(
        arena_of(rec), caller=caller, source=str(rec.attrs.get("source_file") or "the Recording")
    )
    values = np.asarray(act.values, float)
    durations = np.where(np.isfinite(track.sample_durations), track.sample_durations, 0.0)
    missing = ~np.isfinite(values).all(axis=1) & (durations > 0) & np.isfinite(track.xy).all(axis=1)
    durations = np.where(
        missing, 0.0, durations
    )  # a sample without activity does not count (attrs say how many)
    values = np.where(np.isfinite(values), values, 0.0)
    if neural.kind in ("model", "dff"):
        # Skaggs information and rate maps need non-negative rates; model units (tanh, GRU) and dF/F go
        # below 0. Each unit is measured from its own minimum (a constant offset: shuffles get the same one).
        values = values - np.minimum(values.min(axis=0, initial=0.0), 0.0)
    speed = compute_speed(rec, individual=track.individual).values
    if "heading" in track.recording.data_vars:
        heading = np.asarray(track.recording["heading"].transpose("time", ...).values, float).reshape(-1)
        if heading.shape != track.time.shape:
            raise ValueError(
                f"{caller}: the Recording's heading must be (time,) per individual, got {heading.shape}"
            )
        source = "the Recording's heading variable"
    else:
        heading = compute_heading(rec, min_speed=HEADING_MIN_SPEED, individual=track.individual).values
        source = f"direction of motion where speed > {HEADING_MIN_SPEED} m/s (NaN, left out, below)"
    kind = "counts" if neural.kind == "counts" else "rate"
    labels = [str(u) for u in act["unit"].values]
    return UnitInputs(
        values, kind, neural.kind, neural.source, labels, track.xy, durations, track.time, speed, heading,
        source, arena, track.individual, int(missing.sum()),
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- the scores


class _Scorer(NamedTuple):
    """The five tested scores as one jittable function of the (shifted) activity and smoothed numerator."""

    tested: Callable[[jax.Array, jax.Array], jax.Array]  # (activity (T, U), numerator (T, U)) -> (5, U)
    numerator: jax.Array  # (T, U) the speed score's time-smoothed spikes, shifted with the activity
    extra: Callable[[jax.Array], dict[str, np.ndarray]]  # the untested scores of the unshifted activity


def _scorer(inp: UnitInputs, bin_size: float, sigma: float) -> _Scorer:
    extent = arena_extent(inp.arena)
    box = inp.arena["shape"] == "box"
    open_field = is_open_field(inp.arena)
    maps_fn = make_rate_map_fn(
        inp.xy, inp.durations, extent=extent, bin_size=bin_size, sigma=sigma, kind=inp.kind
    )
    raw_fn = make_rate_map_fn(
        inp.xy, inp.durations, extent=extent, bin_size=bin_size, sigma=0.0, kind=inp.kind
    )
    grid = maps_fn.grid
    occ = jnp.asarray(grid.occupancy, jnp.float32)
    k = _grid._check_grid_options("classify_units", bin_size, "sargolini", 0.1, 0.0, 0.05)
    grid_fn = _grid._grid_fn(grid.occupancy.shape, k, "sargolini", _grid._MIN_RING_BINS, True)
    grid_args = (jnp.float32(20), jnp.float32(0.1), jnp.float32(0.0))  # compute_grid_properties' defaults
    which = 0 if inp.kind == "counts" else 1  # bits per spike for spikes, bits per second otherwise
    if box:
        visited = (grid.occupancy >= grid.min_occupancy) & (grid.occupancy > 0)
        walls, dist = _wall_geometry(visited, grid.extent, "classify_units")
        walls, dist = jnp.asarray(walls), jnp.asarray(dist, jnp.float32)
        min_bins = max(1, math.ceil(0.02 / bin_size**2 - 1e-9))  # 200 cm^2, Solstad et al. 2008
    dirs = _directions("classify_units", inp.heading, inp.durations, 60, math.radians(6.0), inp.kind)
    sp, reach = _speeds("classify_units", inp.speed, inp.durations, inp.time, 0.25, 0.02, 0.5, inp.kind)
    activity = jnp.asarray(inp.activity, jnp.float32)
    weighted = jnp.where(sp.scale[:, None] > 0, activity * sp.scale[:, None], 0.0)
    columns = jnp.concatenate([weighted, sp.durations[:, None], sp.speed_weighted], axis=1)
    smooth = jax.jit(_time_smooth, static_argnums=(2, 3))(columns, sp.time, sp.sigma, reach)
    numerator, occupancy_t = smooth[:, :-3], smooth[:, -3]
    speed_s = smooth[:, -2] / jnp.where(smooth[:, -1] > 0, smooth[:, -1], 1.0)
    speed_w = jnp.where(sp.use, sp.durations, 0.0)
    enough = jnp.sum(sp.use) >= 3

    def spatial(maps):
        si = _information_all(maps, occ)[which]
        g = grid_fn(maps, *grid_args)[1][0] if open_field else jnp.full(si.shape, jnp.nan)
        b = _border_all(maps, walls, dist, 0.3, min_bins)[0] if box else jnp.full(si.shape, jnp.nan)
        return si, g, b

    def tested(a, num):
        si, g, b = spatial(maps_fn.apply(a))
        mvl = _hd_tuning(a, dirs)[1]
        rate = num / jnp.where(occupancy_t > 0, occupancy_t, 1.0)[:, None]
        score = jax.vmap(_weighted_fit, in_axes=(1, None, None))(rate, speed_s, speed_w)[0]
        return jnp.stack([si, g, b, mvl, jnp.where(enough, score, jnp.nan)])

    def extra(a):
        maps = maps_fn.apply(a)
        props = _grid.compute_grid_properties(np.asarray(maps), bin_size=bin_size).scores
        if not open_field:
            props = props._replace(spacing=np.full_like(props.spacing, np.nan))
            props = props._replace(orientation=np.full_like(props.orientation, np.nan))
        hd = _hd_tuning(a, dirs)
        speed = _speed_tuning(a, sp, reach)
        return {
            "sparsity": np.asarray(_sparsity_all(maps, occ)),
            "coherence": np.asarray(_coherence_all(raw_fn.apply(a))),
            "grid_spacing": props.spacing,
            "grid_orientation": props.orientation,
            "hd_preferred": np.asarray(hd[2]),
            "speed_slope": np.asarray(speed[1]),
            "mean_rate": np.asarray(jnp.sum(weighted, axis=0) / jnp.sum(sp.durations)),
        }

    return _Scorer(jax.jit(tested), numerator, extra)


def _null(scorer: _Scorer, activity: jax.Array, shifts: np.ndarray) -> np.ndarray:
    """``(n_shuffles, 5, U)`` scores of the shifted activity (shifted smoothed numerator for the speed score)."""
    n, u = activity.shape
    batch = shuffle_batch(len(shifts), 2 * n * u, _BATCH_FLOATS)

    @jax.jit
    def run(acts, num, sh):
        return jax.lax.map(
            lambda s: scorer.tested(shift_activity(acts, s), shift_activity(num, s)), sh, batch_size=batch
        )

    return np.asarray(run(activity, scorer.numerator, jnp.asarray(shifts)), dtype=float)


# ------------------------------------------------------------------------------------------ classification


def _primary(flags: dict[str, np.ndarray], z: dict[str, np.ndarray]) -> np.ndarray:
    """The primary type of each unit from its flags and its tested scores' z (see :func:`classify_units`)."""
    u = len(flags["is_place"])
    grid_wins = flags["is_grid"] & ~(flags["is_border"] & (z["border_score"] > z["grid_score"]))
    spatial = np.where(grid_wins, "grid", np.where(flags["is_border"], "border", "place"))
    spatial_z = np.where(flags["is_place"], z["spatial_information"], -np.inf)
    hd_z = np.where(flags["is_head_direction"], z["hd_mvl"], -np.inf)
    speed_z = np.where(flags["is_speed"], z["speed_score"], -np.inf)
    best = np.argmax(np.stack([spatial_z, hd_z, speed_z]), axis=0)
    out = np.where(best == 0, spatial, np.where(best == 1, "head_direction", "speed")).astype(object)
    out[~(flags["is_place"] | flags["is_head_direction"] | flags["is_speed"])] = "none"
    return np.asarray(out, dtype=str).reshape(u)


def _check_options(bin_size, sigma, n_shuffles, percentile, min_shift) -> None:
    problems = []
    for name, value, zero in (
        ("bin_size", bin_size, False),
        ("sigma", sigma, True),
        ("min_shift", min_shift, False),
    ):
        if value is None and name != "min_shift":
            continue
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not (ok and math.isfinite(float(value)) and (value >= 0 if zero else value > 0)):
            problems.append(
                f"{name} must be a finite number {'>= 0' if zero else '> 0'} (metres / seconds), got {value!r}"
            )
    if not (
        isinstance(n_shuffles, (int, np.integer)) and not isinstance(n_shuffles, bool) and n_shuffles >= 1
    ):
        problems.append(f"n_shuffles must be an integer >= 1, got {n_shuffles!r}")
    if not (isinstance(percentile, (int, float)) and 0 < percentile < 100):
        problems.append(f"percentile must be in (0, 100), got {percentile!r}")
    if problems:
        raise ValueError("classify_units: " + "; ".join(problems))


def classify_units(
    rec: xr.Dataset,
    *,
    individual: str | int | None = None,
    units: Sequence[Any] | None = None,
    bin_size: float | None = None,
    sigma: float | None = None,
    n_shuffles: int = 100,
    percentile: float = 99.0,
    min_shift: float = 20.0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> xr.Dataset:
    """Score, test and type every unit of a Recording (place, grid, border, head-direction, speed cells).

    Inputs, all from ``rec``: the activity of :func:`~neuroethology.data.neural.activity_of` (spike counts on the
    Recording's own samples are scored as counts; rates, dF/F and model units as rates), the track's positions,
    sample durations (irregular sampling measured as recorded) and clock, the speed (central differences within
    tracked runs), and the heading: the Recording's ``heading`` variable where it has one, else the direction of
    motion where the speed exceeds :data:`HEADING_MIN_SPEED` (NaN below: those samples leave the head-direction
    tuning out; attrs ``heading_source`` say which). The rate maps span the arena (``arena_of``; a circle's
    bounding square); the border score needs a box (NaN otherwise, attrs ``notes`` say so). A sample where the
    activity is NaN does not count (attrs ``n_samples_without_activity``). Model units and dF/F that go below 0
    are measured from each unit's minimum, since rate maps and Skaggs information need non-negative rates
    (attrs ``notes``).

    Scores: ``spatial_information`` (Skaggs; bits/spike for counts, bits/s otherwise: attrs), ``sparsity``,
    ``coherence`` (unsmoothed maps), ``grid_score`` (Sargolini et al. 2006), ``grid_spacing`` (m),
    ``grid_orientation`` (rad), ``border_score`` (Solstad et al. 2008), ``hd_mvl``, ``hd_preferred`` (rad),
    ``speed_score`` (Kropff et al. 2015), ``speed_slope`` (Hz per m/s), ``mean_rate`` (Hz, or the mean signal);
    each computed with the defaults of :mod:`.tuning`, :mod:`.tuning_time` and :mod:`.grid`.

    Significance: each of :data:`TESTED_SCORES` against ``n_shuffles`` circular shifts of the unit's activity by
    at least ``min_shift`` seconds (:func:`~.shuffles.draw_shifts`; one set of shifts for all five scores);
    ``<score>_z`` is the score's distance above the shuffles' mean in shuffle standard deviations. A unit is typed
    (not ``none``) by any of three tests, :data:`TYPING_SCORES`; at the 99th percentile each they would let ~3% of
    untuned units through (measured with all five: 5/80 time-shifted cells typed). They are one family: each runs
    at ``alpha = (1 - percentile / 100) / 3`` (Bonferroni), so a unit with no tuning is typed with probability
    under ``1 - percentile / 100``. 100 shuffles cannot resolve the ``100 (1 - alpha)`` = 99.67th percentile
    empirically (it lies past the largest of them), so ``<score>_threshold`` is the larger of that empirical
    percentile and ``mean + (ln(1 / alpha) - 1) sd`` of the shuffles (4.7 sd at alpha = 1/300): the 1 - alpha
    quantile of an exponential tail with the shuffles' mean and spread (why not a normal tail: :func:`_assemble`).
    The grid and border tests, which do not type a unit, run at the plain ``percentile``. For the speed score the shuffles shift the time-smoothed spike
    train rather than smoothing the shifted one: the same where the clock is regular, and one smoothing instead
    of ``n_shuffles`` (the observed speed score is exact).

    Flags (conjunctive; several may hold), each at the level above: ``is_place``: spatial information
    significant. ``is_grid``: grid score
    significant. ``is_border``: border score significant and above :data:`BORDER_MIN_SCORE` (0.5, Solstad et al.
    2008: a unit whose map is flat scores about 0.5, one field covering every wall). ``is_head_direction``: mean
    vector length significant. ``is_speed``: speed score significant and positive.

    ``type``, the primary type: ``none`` unless ``is_place``, ``is_head_direction`` or ``is_speed``. A spatial
    type needs ``is_place`` (grid and border cells carry spatial information too; a grid or border score alone,
    one test among five, is not enough): ``grid`` if ``is_grid``, else ``border`` if ``is_border``, else ``place``;
    where both ``is_grid`` and ``is_border`` hold the larger z of the two scores wins (a border cell's strip makes
    a six-fold ring rarely but can, and a grid cell's fields can line a wall).
    Then the spatial type (by its spatial information's z), ``head_direction`` (its mean vector length's z) and
    ``speed`` (its speed score's z) compete and the largest z wins: a place cell in a box is modulated by
    direction and speed through the path (and a head-direction or speed cell by position), less strongly.

    Args:
        rec: a Recording with neural data (activity, spikes or hidden) and an arena.
        individual: whose units (name or index; ``None``: the only individual).
        units: labels to classify (default: all).
        bin_size: rate-map bin, metres (default: a fortieth of the arena's smaller side, 2.5 cm in a 1 m box;
            each side must be a whole number of bins).
        sigma: rate-map Gaussian, metres (default 1.5 bins: tuning's 3.75 cm at 2.5 cm bins).
        n_shuffles: 100. percentile: 99 (Solstad et al. 2008; Kropff et al. 2015): the level of the three typing
            tests together, and of the grid and border tests each. min_shift: seconds (20).
        seed: for the shifts.
        progress: called with one line per stage.

    Returns:
        ``xarray.Dataset`` on ``unit`` (the labels): the scores, ``<score>_threshold`` and ``<score>_z`` for the
        tested ones, the ``is_*`` flags and ``type`` (:data:`CELL_TYPES`).
    """
    caller = "classify_units"
    _check_options(bin_size, sigma, n_shuffles, percentile, min_shift)
    say = progress or (lambda _line: None)
    say("reading the activity and the track")
    inp = unit_inputs(rec, individual, units, caller)
    arena = inp.arena
    bin_size = float(bin_size) if bin_size is not None else arena_size(arena) / 40.0
    sigma = float(sigma) if sigma is not None else 1.5 * bin_size
    u = len(inp.labels)
    say(f"scoring {u} units ({inp.activity.shape[0]} samples, {inp.recorded_kind})")
    scorer = _scorer(inp, bin_size, sigma)
    activity = jnp.asarray(inp.activity, jnp.float32)
    observed = np.asarray(scorer.tested(activity, scorer.numerator), dtype=float)
    extra = scorer.extra(activity)
    say(f"{n_shuffles} circular shuffles (at least {min_shift:g} s)")
    shifts = draw_shifts(
        jax.random.key(seed), inp.durations, n_units=u, n_shuffles=n_shuffles, min_shift=min_shift
    )
    null = _null(scorer, activity, shifts)  # (n, 5, U)
    settings = {"bin_size_m": bin_size, "sigma_m": sigma, "n_shuffles": int(n_shuffles),
                "percentile": float(percentile), "min_shift_s": float(min_shift), "seed": int(seed)}  # fmt: skip
    say("classifying")
    return _assemble(inp, observed, extra, null, percentile=percentile, settings=settings)


def _assemble(inp: UnitInputs, observed, extra, null, *, percentile: float, settings: dict) -> xr.Dataset:
    """The result Dataset: scores, thresholds, z, flags and types (the rule of :func:`classify_units`).

    The typing tests' threshold assumes an exponential tail, not a normal one (``mean + 2.71 sd`` at alpha =
    1/300): the mean vector length's null is Rayleigh-like and spatial information's chi-square-like, both skewed
    right, and under the normal threshold 4/80 time-shifted synthetic cells were still typed (z 2.8-3.1, against
    z >= 10 for every true cell)."""
    arena = inp.arena
    alpha = (1.0 - percentile / 100.0) / len(TYPING_SCORES)  # Bonferroni over the tests that type a unit
    family = np.isin(TESTED_SCORES, TYPING_SCORES)
    with np.errstate(invalid="ignore"), _quiet():
        mean, sd = np.nanmean(null, axis=0), np.nanstd(null, axis=0)
        per_test = np.nanpercentile(null, percentile, axis=0)
        empirical = np.nanpercentile(null, 100.0 * (1.0 - alpha), axis=0)
        wise = np.fmax(
            empirical, mean + (-math.log(alpha) - 1.0) * sd
        )  # an exponential tail's 1 - alpha quantile
        threshold = np.where(family[:, None], wise, per_test)
        z = (observed - mean) / sd
    sig = np.isfinite(observed) & np.isfinite(threshold) & (observed > np.nan_to_num(threshold, nan=np.inf))
    scores = dict(zip(TESTED_SCORES, observed, strict=True))
    zs = dict(zip(TESTED_SCORES, np.where(np.isfinite(z), z, np.where(sig, np.inf, np.nan)), strict=True))
    flags = {
        "is_place": sig[0],
        "is_grid": sig[1],
        "is_border": sig[2] & (np.nan_to_num(observed[2], nan=-1.0) > BORDER_MIN_SCORE),
        "is_head_direction": sig[3],
        "is_speed": sig[4] & (np.nan_to_num(observed[4]) > 0),
    }
    kind_si = "bits/spike" if inp.kind == "counts" else "bits/s"
    data: dict[str, Any] = {name: ("unit", scores[name]) for name in TESTED_SCORES}
    data.update({k: ("unit", v) for k, v in extra.items()})
    for i, name in enumerate(TESTED_SCORES):
        data[f"{name}_threshold"] = ("unit", threshold[i])
        data[f"{name}_z"] = ("unit", zs[name])
    data.update({k: ("unit", v) for k, v in flags.items()})
    data["type"] = ("unit", _primary(flags, zs))
    notes = (
        []
        if arena["shape"] == "box"
        else [f"border_score is NaN: the arena is a {arena['shape']}, not a box"]
    )
    if not is_open_field(arena):
        notes.append(
            f"grid_score, grid_spacing and grid_orientation are NaN: the floor covers under {OPEN_FIELD_FLOOR:.0%} "
            "of the arena's bounding box (a maze's arms, not an open field: a 2-D autocorrelogram cannot show a "
            "lattice there)"
        )
    if inp.recorded_kind in ("model", "dff"):
        notes.append(f"{inp.recorded_kind} activity measured from each unit's minimum (rates must be >= 0)")
    attrs = {
        "individual": inp.individual, "activity_kind": inp.recorded_kind, "activity_source": inp.source,
        "scored_as": inp.kind, "spatial_information_units": kind_si, "heading_source": inp.heading_source,
        "arena": dict(arena), **settings,
        "typing_tests_percentile": 100.0 * (1.0 - alpha), "typing_tests": list(TYPING_SCORES),
        "n_samples_without_activity": inp.n_without_activity, "notes": notes,
        "rule": "see neuroethology.analysis.neural.cell_types.classify_units",
    }  # fmt: skip
    ds = xr.Dataset(data, coords={"unit": np.asarray(inp.labels, dtype=str)}, attrs=attrs)
    units_attr = {
        "grid_spacing": "m",
        "grid_orientation": "rad",
        "hd_preferred": "rad",
        "speed_slope": "Hz per m/s",
    }
    units_attr["spatial_information"] = kind_si
    for name, unit in units_attr.items():
        ds[name].attrs["units"] = unit
    return ds


class _quiet:
    """Silence NumPy's 'all-NaN slice' / 'degrees of freedom' warnings for units whose null is all NaN."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def units_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per unit of :func:`classify_units`'s result: first the ``units.csv`` contract columns
    (``unit, type, grid_score, spatial_information, border_score, hd_mvl, speed_score``), then the rest."""
    missing = [c for c in CONTRACT_COLUMNS[1:] if c not in ds]
    if missing or "unit" not in ds.coords:
        raise ValueError(f"units_table: expected classify_units' result; missing {missing or ['unit coord']}")
    rest = [str(v) for v in ds.data_vars if str(v) not in CONTRACT_COLUMNS]
    table = pd.DataFrame({"unit": np.asarray(ds["unit"].values, dtype=str)})
    for name in (*CONTRACT_COLUMNS[1:], *rest):
        table[name] = ds[name].values
    return table
