"""The Marginal Value Theorem (Charnov 1976, Theor. Popul. Biol. 9:129), exactly for the discrete-time
dynamics of the patch tasks (PatchForaging-v0 and SpatialPatchForaging-v0): the optimal residence time, the
long-run reward rate of any residence, the level at which a patch is reached. NumPy on concrete params (the
functions read the params' values); see :mod:`neuroethology.envs.patch_task` for the patches.

The tasks differ in two facts, which their params supply: how many steps a travel costs on average
(``params.mean_travel_steps()``: a drawn delay, :func:`mean_drawn_travel_steps`, or a walk,
:func:`walking_travel_steps`) and the level at which patches are found (``params.arrival_level(n)``: fresh,
or the stationary level of a ring tour, :func:`ring_arrival_level`); ``params.fresh_patches`` says which."""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .rendering import COLOURS, Canvas

if TYPE_CHECKING:
    from .patch_foraging import PatchForagingParams
    from .patch_task import PatchParams
    from .spatial_patch_foraging import SpatialPatchForagingParams

__all__ = [
    "MVTOptimum",
    "STEP_TOLERANCE",
    "arrival_level",
    "draw_charnov_diagram",
    "long_run_reward_rate",
    "mean_drawn_travel_steps",
    "mean_travel_steps",
    "mvt_optimum",
    "ring_arrival_level",
    "spatial_travel_time",
    "walking_travel_steps",
]

# Travel durations are rounded up to whole steps, less this fraction of a step (float rounding of X / dt).
STEP_TOLERANCE = 1e-3
_U21 = 2**21  # the uniform draws of `uniform21` are k / 2^21, k = 0 .. 2^21 - 1


class MVTOptimum(NamedTuple):
    """The MVT optimum of a patch task (PatchForaging-v0 or SpatialPatchForaging-v0).

    ``residence_time`` (s) = ``residence_steps * dt`` harvest time per patch and ``reward_rate`` (rewards/s)
    the long-run rate it earns: the exact maximum over whole numbers of harvest steps for the discrete-time
    dynamics. ``travel_time`` (s) is the mean travel as the dynamics implement it (whole steps, the leave
    step included); ``arrival_level`` the resource level patches are found at (1 in PatchForaging-v0).
    ``continuous_residence_time`` and ``continuous_reward_rate`` are Charnov's continuous-time answer for
    fresh patches and the nominal mean travel time (the discrete optimum's limit as ``dt -> 0``).
    """

    residence_time: float
    reward_rate: float
    residence_steps: int
    travel_time: float
    arrival_level: float
    continuous_residence_time: float
    continuous_reward_rate: float


def _concrete(params: PatchParams, name: str) -> float:
    return float(np.asarray(getattr(params, name)))


def _travel_steps_np(x_seconds: np.ndarray, dt: float) -> np.ndarray:
    return np.maximum(1, np.ceil(x_seconds / dt - STEP_TOLERANCE))


def spatial_travel_time(params: SpatialPatchForagingParams) -> float:
    """Seconds to walk, at ``max_speed`` in a straight line, between the edges of neighbouring patches."""
    n = int(params.n_patches)
    if n < 2:
        raise ValueError(f"SpatialPatchForaging: travel needs at least 2 patches, got n_patches={n}")
    gap = 2 * _concrete(params, "patch_ring_radius") * math.sin(math.pi / n) - 2 * _concrete(
        params, "patch_radius"
    )
    return max(gap, 0.0) / _concrete(params, "max_speed")


def mean_travel_steps(params: PatchParams) -> float:
    """Expected number of steps one leave costs (the leave step included), exactly as the env makes it:
    ``params.mean_travel_steps()``, :func:`mean_drawn_travel_steps` (PatchForaging-v0) or
    :func:`walking_travel_steps` (SpatialPatchForaging-v0)."""
    return params.mean_travel_steps()


def mean_drawn_travel_steps(params: PatchForagingParams) -> float:
    """PatchForaging-v0: ``max(1, ceil(X / dt - 1e-3))`` averaged over the ``2^21`` equally likely uniform
    draws ``u = k / 2^21`` the env turns into the travel time ``X`` (so the mean is exact for the implemented
    sampler, not only for the continuous distribution)."""
    return _mean_discrete_travel_steps(
        params.travel_distribution,
        _concrete(params, "travel_time"),
        _concrete(params, "travel_time_range"),
        _concrete(params, "dt"),
    )


def walking_travel_steps(params: SpatialPatchForagingParams) -> float:
    """SpatialPatchForaging-v0: the straight walk between neighbouring patch edges at ``max_speed``
    (:func:`spatial_travel_time`), in whole steps."""
    return float(_travel_steps_np(np.array(spatial_travel_time(params)), _concrete(params, "dt")))


@functools.lru_cache(maxsize=64)
def _mean_discrete_travel_steps(distribution: str, mean: float, width: float, dt: float) -> float:
    if distribution == "fixed":
        return float(_travel_steps_np(np.array(mean), dt))
    u = np.arange(_U21, dtype=np.float64) / _U21
    x = -mean * np.log1p(-u) if distribution == "exponential" else mean + (u - 0.5) * width
    return float(np.mean(_travel_steps_np(x, dt)))


def _gain(params: PatchParams, steps: np.ndarray) -> np.ndarray:
    """Expected reward of ``steps`` harvest steps in a fresh patch (units)."""
    tau, dt = _concrete(params, "depletion_tau"), _concrete(params, "dt")
    return _concrete(params, "initial_rate") * tau * -np.expm1(-np.asarray(steps, float) * dt / tau)


def arrival_level(params: PatchParams, residence_steps: int | np.ndarray) -> np.ndarray:
    """Resource level at which a patch is found when every patch is harvested ``residence_steps`` steps per
    visit: ``params.arrival_level(residence_steps)``, 1 in PatchForaging-v0 (fresh patches) and
    :func:`ring_arrival_level` in SpatialPatchForaging-v0."""
    return params.arrival_level(residence_steps)


def ring_arrival_level(params: SpatialPatchForagingParams, residence_steps: int | np.ndarray) -> np.ndarray:
    """SpatialPatchForaging-v0, touring the ring of patches in order with :func:`mean_travel_steps` steps per
    walk: a patch is away ``A = n_patches (n + m) - n`` steps per tour, so the stationary level solves
    ``rho = 1 - (1 - rho d^n) c^A`` (``d = exp(-dt / depletion_tau)``, ``c = exp(-dt / replenish_tau)``):
    ``rho = (1 - c^A) / (1 - d^n c^A)``."""
    n = np.asarray(residence_steps, float)
    away = int(params.n_patches) * (n + mean_travel_steps(params)) - n
    dt = _concrete(params, "dt")
    d, c = (
        math.exp(-dt / _concrete(params, "depletion_tau")),
        math.exp(-dt / _concrete(params, "replenish_tau")),
    )
    return -np.expm1(away * np.log(c)) / (1.0 - d**n * c**away)


def long_run_reward_rate(params: PatchParams, residence_steps: int | np.ndarray) -> np.ndarray:
    """Long-run reward rate (rewards/s) of leaving every patch after ``residence_steps`` harvest steps.

    By the renewal-reward theorem it is the expected reward of one patch cycle over its expected duration,
    ``rho G(n dt) / ((n + m) dt)`` with ``m`` = :func:`mean_travel_steps` and ``rho`` = :func:`arrival_level`
    (1 in PatchForaging-v0). In SpatialPatchForaging-v0 this is the rate of the stationary ring tour (see
    :func:`mvt_optimum`).
    """
    n = np.asarray(residence_steps, float)
    if np.any(n < 0):
        raise ValueError(f"PatchForaging: residence_steps must be >= 0, got {residence_steps}")
    rate = _gain(params, n) / ((n + mean_travel_steps(params)) * _concrete(params, "dt"))
    return arrival_level(params, n) * rate


def _lambert_residence(a: float) -> float:
    """Root ``y >= 0`` of ``exp(-y) (a + y) = 1`` (the MVT condition for exponential depletion, in units of
    the depletion time constant, with ``a = 1 + travel / tau``): ``y = -W_{-1}(-exp(-a)) - a``."""
    from scipy.special import lambertw

    if a <= 1.0:
        return 0.0
    return float(np.real(-lambertw(-np.exp(-a), k=-1)) - a)


def mvt_optimum(params: PatchParams) -> MVTOptimum:
    """The Marginal Value Theorem optimum (Charnov 1976) for concrete ``params``.

    PatchForaging-v0 (fresh patches): with ``m`` = :func:`mean_travel_steps` the long-run rate of ``n``
    harvest steps per patch is ``f(n) = G(n dt) / ((n + m) dt)``, ``G(n dt) = initial_rate tau (1 - exp(-n dt
    / tau))`` (exactly the sum of the per-step expected rewards). ``f`` is unimodal in real ``n`` (a concave
    gain over an affine time), with its real maximum at ``x* = tau y / dt``, ``y = -W_{-1}(-exp(-a)) - a``,
    ``a = 1 + m dt / tau`` (Lambert W); the integer optimum is one of the whole numbers next to ``x*``,
    checked directly. Equivalently: keep harvesting while the reward expected over the next step, per second,
    is at least the optimal long-run rate (the MVT's leaving rule).

    SpatialPatchForaging-v0: patches replenish, so the patch found on arrival depends on how the others were
    used and the MVT's leaving rule is no longer exactly optimal. The optimum given is that of the ring tour:
    visit the patches in ring order, walk between neighbouring patch edges in a straight line at ``max_speed``
    (:func:`spatial_travel_time`, in whole steps), harvest ``n`` steps in each, with every patch at its
    stationary arrival level (:func:`arrival_level`); ``n`` maximises :func:`long_run_reward_rate` by direct
    search. With fast replenishment (``replenish_tau -> 0``) it is the fresh-patch MVT; acceleration and
    turning make the attainable rate slightly lower.
    """
    dt, tau = _concrete(params, "dt"), _concrete(params, "depletion_tau")
    m = mean_travel_steps(params)
    if params.fresh_patches:
        x_star = _lambert_residence(1.0 + m * dt / tau) * tau / dt
        candidates = np.arange(max(0, int(math.floor(x_star)) - 2), int(math.ceil(x_star)) + 3)
    else:
        candidates = np.arange(0, int(math.ceil(30 * tau / dt)) + 2)
    rates = long_run_reward_rate(params, candidates)
    best = int(candidates[int(np.argmax(rates))])
    y = _lambert_residence(1.0 + params.nominal_travel_time() / tau)
    return MVTOptimum(
        residence_time=round(best * dt, 12),
        reward_rate=float(np.max(rates)),
        residence_steps=best,
        travel_time=round(m * dt, 12),
        arrival_level=float(arrival_level(params, best)),
        continuous_residence_time=y * tau,
        continuous_reward_rate=_concrete(params, "initial_rate") * math.exp(-y),
    )


def draw_charnov_diagram(state: Any, render_state: dict, params: PatchForagingParams) -> np.ndarray:
    """Charnov's diagram: cumulative reward in the patch against time since leaving the last one (travel
    to the left of 0, harvest to the right), the expected gain curve, the MVT tangent from the mean
    travel time, and the animal: its actual harvest so far (disc) and the expected gain (ring)."""
    opt: MVTOptimum = render_state["optimum"]
    tau, dt = float(params.depletion_tau), float(params.dt)
    travel = max(opt.travel_time, dt)
    t_max = max(3.0 * opt.residence_time, 1.5 * tau, 5 * dt)
    g_max = float(_gain(params, t_max / dt)) * 1.15 + 1e-9
    # World box: x in [0, 1.6] covers time [-travel, t_max]; y in [0, 1] covers reward [0, g_max].
    width, pad = 1.6, 0.06
    x_of = lambda t: pad + (np.asarray(t) + travel) / (travel + t_max) * (width - 2 * pad)  # noqa: E731
    y_of = lambda g: pad + np.asarray(g) / g_max * (1 - 2 * pad)  # noqa: E731
    canvas = Canvas(
        (0.0, width), (0.0, 1.0), size=int(render_state["size"] * 1.25), background=COLOURS["floor"]
    )
    canvas.fill_rect(x_of(-travel), y_of(0), x_of(0), 1 - pad, COLOURS["outside"])  # travel band
    canvas.line((x_of(-travel), y_of(0)), (x_of(t_max), y_of(0)), 0.006, COLOURS["wall"])
    canvas.line((x_of(0), y_of(0)), (x_of(0), 1 - pad), 0.006, COLOURS["wall"])
    times = np.linspace(0, t_max, 80)
    canvas.polyline(np.stack([x_of(times), y_of(_gain(params, times / dt))], -1), 0.008, COLOURS["reward"])
    # The MVT tangent: from (-travel, 0) through the optimum, whose slope is the optimal rate.
    t_end = t_max
    canvas.line(
        (x_of(-travel + dt), y_of(0)),
        (x_of(t_end), y_of(opt.reward_rate * (t_end + travel))),
        0.004,
        COLOURS["ray"],
        0.8,
    )
    canvas.fill_circle(
        (x_of(opt.residence_time), y_of(_gain(params, opt.residence_steps))), 0.012, COLOURS["ray"]
    )
    trail = render_state["trail"]  # the harvest so far in this patch: a staircase of rewards
    if int(state.travel_left) > 0:
        trail.clear()
        t = -travel + min(int(state.travel_elapsed) * dt, travel)
        point, expected = (x_of(t), y_of(0)), None
    else:
        t = min(int(state.residence) * dt, t_max)
        point = (x_of(t), y_of(min(float(state.patch_reward), g_max)))
        expected = (x_of(t), y_of(min(float(_gain(params, state.residence)), g_max)))
        if trail and point[0] < trail[-1][0]:
            trail.clear()
        if trail:
            trail.append((point[0], trail[-1][1]))
        trail.append(point)
    if len(trail) > 1:
        canvas.polyline(np.array(trail), 0.006, COLOURS["trail"])
    if expected is not None:
        canvas.ring(expected, 0.02, 0.006, COLOURS["agent"])
    canvas.fill_circle(point, 0.018, COLOURS["agent"])
    return canvas.image
