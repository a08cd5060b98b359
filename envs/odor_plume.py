"""OdorPlume-v0: tracking a turbulent odour plume to its source (and, in a second mode, chemotaxis in a
static gradient).

The paradigm: a flying insect (moth, fly) or an artificial agent released downwind of an odour source must
reach it while the odour arrives as intermittent whiffs carried by a wind whose direction may change. The
plume and the task follow the simulated plumes on which Singh, van Breugel, Rao & Brunton (2023, Nature
Machine Intelligence 5:58, "Emergent behaviour and neural dynamics in artificial agents tracking odour
plumes"; code: github.com/BruntonUWBio/plumetracknets) trained their recurrent agents: puffs released at a
Poisson rate, carried by a 0.5 m/s wind, random-walking across it and growing as they age; a wind that is
constant, switches once by 45 degrees, or switches direction many times; success within 0.2 m of the source.

Plume (``mode="plume"``; one step of ``dt`` seconds, wind direction ``theta`` and speed ``U``)::

    puff i:  x_i' = x_i + U dt (cos theta, sin theta) + sqrt(2 D dt) z_i (-sin theta, cos theta)
             z_i ~ N(0, 1);  age_i' = age_i + dt;  radius r_i = r0 + g age_i
             active_i' = active_i and x_i' in the arena and age_i' <= puff_lifetime
    births:  k ~ Poisson(puff_rate dt) new puffs at the source (age 0, active) overwrite the k oldest slots
             of a fixed circular buffer of ``n_puffs`` puffs (static shape: nothing is ever allocated)
    C(p)   = sum_i active_i (r0 / r_i)^3 exp(-|p - x_i|^2 / (2 r_i^2))

The amplitude ``(r0/r)^3`` is Singh et al.'s (a puff's odour diluted over its volume); their puffs are
boxes of half-width ``r``, ours Gaussians of s.d. ``r``, so that the field and its gradient are smooth.
``puff_lifetime`` (a property) is the age at which a puff's peak falls below ``odour_threshold``.
The episode begins inside a developed plume: at reset the buffer holds the steady state of the wind blowing
then (puffs at ages ``(n - phase) / puff_rate``, each displaced across the wind by
``N(0, 2 D age)``), as Singh et al. begin their episodes 60 s into a pre-computed plume.

Wind regimes (``wind_regime``, static): ``"constant"`` (direction ``wind_direction``); ``"switch"``
(``wind_direction`` until ``switch_time``, rounded to the nearest step, then ``wind_direction +
switch_angle``: Singh et al.'s "switch-once"); ``"noisy"`` (at Poisson times of mean interval
``switch_interval`` the direction jumps to ``wind_direction + clip(N(0, wind_angle_std^2),
+-wind_angle_max)``, from the first step: Singh et al.'s "switch-many"). Puffs already released move with the
current wind, so a switch bends the plume.

Static gradient (``mode="gradient"``): no wind and no puffs; ``C(p) = exp(-|p - source|^2 / (2 L^2))``, the
profile of attractant diffusing from a point, as in the radial gradients of C. elegans chemotaxis assays
(Ward 1973; Pierce-Shimomura, Morse & Lockery 1999, J. Neurosci. 19:9557) and the odour gradients of
Drosophila larva chemotaxis (Louis et al. 2008, Nat. Neurosci. 11:187; Gomez-Marin, Stephens & Louis 2011,
Nat. Commun. 2:441). The field is scale-free: set the arena, ``gradient_scale``, speeds and
``sensor_offset`` to the animal's scale.

Agent (both modes)::

    v, w     = clip(action)             # forward speed (m/s) in [0, max_speed], turn rate (rad/s)
    heading' = wrap(heading + w dt)     # turn, then move along the new heading
    x'       = project(x + (v (cos h', sin h') + wind_drift U (cos theta, sin theta)) dt)   # walls: slide

``wind_drift = 1`` makes the agent a flyer carried by the air (as Singh et al.'s agents are); ``0`` a walker.

Arena: always the box ``[0, width] x [0, height]``, set by ``width``/``height`` or by ``make(...,
arena=...)`` with a box (a preset, file or mapping; :mod:`neuroethology.envs.arena`). Its walls bound the
simulated air, not a maze: puffs drift with a uniform wind that no wall deflects, so a polygon, a hole or a
thin wall would let the plume pass through solid walls (a plume in a maze needs a flow field, which this
model does not have); any other arena is refused.

Observation (``Box``, float32)::

    [odour_left, odour_right,  cos(theta - h), sin(theta - h),  v (m/s),  w (rad/s)]

The two odour sensors sit ``sensor_offset`` metres to the left and right of the body (bilateral antennae or
head sensors). Each reads ``C (1 + sensor_noise N(0, 1))``, clipped to ``[0, odour_max]``, and reads 0 below
``odour_threshold`` (Singh et al.'s detection threshold and clip). The wind entries are the egocentric
direction the wind blows towards (``cos = -1`` when facing straight upwind); they are 0 in the gradient mode.

Action (``Box``, float32): ``[forward speed (m/s) in [0, max_speed], turn rate (rad/s) in +-max_turn_rate]``.
The JAX core replaces NaN by 0 and +-inf by the bound and clips into the box; the Gymnasium adapter instead
rejects actions outside the space with a ``ValueError``.

Reward and episode end: ``success_reward`` on the step that brings the agent within ``success_radius`` of the
source, which terminates the episode; otherwise 0, and truncation after ``episode_duration`` seconds.
``info`` carries what analyses need: time, position, heading, speed, the source position, the wind
direction, the true (noise-free) concentration at both sensors (``odour``) and whether the source was reached
(``success``); the state carries the wind direction and the whole plume. The concentration is computed once
per step, for the observation (``info["odour"]`` costs a second evaluation, which ``jit`` drops when the
info is unused, as in rollouts and training).

Randomness is drawn first and applied second: :meth:`OdorPlume.draw_step_noise` and
:meth:`OdorPlume.draw_initial_noise` return every random number a step or a reset uses (one ``threefry``
call each), and :meth:`OdorPlume.advance` and :meth:`OdorPlume.initial_from_noise` are deterministic
functions of them, which the tests hold against a plain NumPy implementation.

Length: one environment per file (STYLE.md): the puff plume's physics (release, advection by a
switching wind, growth, crosswind diffusion, the concentration field), the gradient mode, the agent's
sensors and the rendering are one task; the physics is checked step by step against NumPy as a whole.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnasium import spaces
from jax.scipy.special import ndtr

from . import geometry as geo
from .arena import is_shorthand, resolve_arena
from .body import pose_info, resting_pose
from .core import EnvState, NeuroEnv, register, resolve_params, uniform21
from .rendering import COLOURS, Canvas, draw_trail, trail_render_state

__all__ = [
    "OdorPlume",
    "OdorPlumeParams",
    "OdorPlumeState",
    "StepNoise",
    "InitialNoise",
    "MAX_BIRTHS_PER_STEP",
]

MODES = ("plume", "gradient")
WIND_REGIMES = ("constant", "switch", "noisy")
MAX_BIRTHS_PER_STEP = 32  # the Poisson birth count is drawn by inverse CDF over 0..31 (see validate_params)


@struct.dataclass
class OdorPlumeParams:
    """Parameters of OdorPlume-v0, SI units. Fields marked static change array shapes or code paths
    (changing them recompiles); the others may be traced and vmapped over. "Singh et al." is Singh, van
    Breugel, Rao & Brunton 2023 (Nat. Mach. Intell. 5:58) and its code (BruntonUWBio/plumetracknets)."""

    # Task and plume model (static).
    mode: str = struct.field(pytree_node=False, default="plume")  # "plume" or "gradient"
    wind_regime: str = struct.field(pytree_node=False, default="constant")  # "constant", "switch", "noisy"
    n_puffs: int = struct.field(pytree_node=False, default=256)  # puff buffer size: holds 25.6 s of puffs
    # at puff_rate, more than puff_lifetime (20.5 s); its cost per step is linear in it
    # Arena: a box [0, width] x [0, height] with the source inside.
    width: float = 12.0  # m: Singh et al. keep puffs from 2 m upwind to 10 m downwind of the source
    height: float = 10.0  # m: Singh et al.'s arena spans +-5 m across the wind (config arena_bounds)
    source_x: float = 2.0  # m: 2 m from the upwind wall (Singh et al.'s puff domain starts 2 m upwind)
    source_y: float = 5.0  # m: mid-arena
    success_radius: float = 0.2  # m: Singh et al.'s homed_radius
    # Time.
    dt: float = 0.04  # s: Singh et al.'s env_dt (25 Hz)
    episode_duration: float = 12.0  # s: Singh et al.'s 300-step episodes at 25 Hz
    # Start: a point start_distance downwind of the source (along wind_direction), start_lateral across it.
    start_distance_min: float = 4.0  # m: nearest of Singh et al.'s evaluation starts (4, 6, 8 m downwind)
    start_distance_max: float = 8.0  # m: farthest of them
    start_lateral: float = 0.5  # m: half-width of the start band across the wind (Singh et al. start up to
    # 0.5 m beyond the plume's edge)
    # Body and action bounds.
    max_speed: float = 2.0  # m/s: Singh et al.'s move_capacity
    max_turn_rate: float = 3.125 * np.pi  # rad/s: Singh et al.'s turn_capacity 6.25 pi spans -+3.125 pi
    wind_drift: float = 1.0  # fraction of the wind added to the agent's ground velocity: 1 for a flyer,
    # as Singh et al.'s agents are carried by the wind; 0 for a walker
    # Senses.
    sensor_offset: float = 0.01  # m: each sensor's distance from the midline (2 cm apart, of the order of a
    # large moth's antennal span; Singh et al.'s agents had one sensor)
    sensor_noise: float = 0.0  # multiplicative Gaussian noise s.d. on each sensor (Singh et al.'s obs_noise
    # default 0)
    odour_threshold: float = 1e-4  # concentration read as 0 below this (Singh et al.'s odor_threshold)
    odour_max: float = 1.0  # sensed concentration saturates here (Singh et al. clip odour to [0, 1])
    # Wind.
    wind_speed: float = 0.5  # m/s: Singh et al.'s plumes "x5" (wind_magnitude 0.5)
    wind_direction: float = 0.0  # rad: direction the wind blows towards (Singh et al.: along +x)
    switch_time: float = 2.0  # s ("switch"): Singh et al. switch half-way through their 121 s wind record
    # (60.5 s) and start evaluation episodes at 58 or 59 s, so the switch comes 1.5-2.5 s in
    switch_angle: float = np.pi / 4  # rad ("switch"): Singh et al.'s switch45
    switch_interval: float = 3.0  # s ("noisy"): mean time between switches (Singh et al.'s noisy3: every
    # 300 steps of 10 ms, jittered)
    wind_angle_std: float = np.pi / 6  # rad ("noisy"): s.d. of the direction offset (Singh et al.: 30 deg)
    wind_angle_max: float = np.pi / 3  # rad ("noisy"): offsets are clipped to +-60 deg (Singh et al.)
    # Puffs.
    puff_rate: float = 10.0  # puffs/s. Singh et al. release 100/s (Poisson mean 1 per 10 ms step), which
    # needs 2,000 live puffs; 10/s keeps the buffer at 256 and the plume intermittent near the source
    puff_radius: float = 0.01  # m: radius at release (Singh et al.'s min_radius)
    puff_growth: float = 0.01  # m/s: radius growth rate (Singh et al.'s rdot)
    puff_diffusivity: float = 1.25e-3  # m^2/s across the wind: Singh et al. add N(0, 0.5 m/s) dt to each
    # puff every 10 ms step, i.e. 2 D = (0.5 m/s)^2 x 0.01 s
    # Static gradient.
    gradient_scale: float = 3.0  # m: s.d. of the Gaussian field; 3 m keeps it above odour_threshold over
    # the default arena (scale it with the arena for worm or larva assays)
    # Reward.
    success_reward: float = 1.0  # paid on reaching the source (Singh et al. pay 101 plus shaping terms;
    # a sparse 1 makes the return the success rate)

    @property
    def max_steps(self) -> jax.Array:
        """Steps per episode: ``episode_duration / dt``, rounded."""
        return jnp.round(jnp.asarray(self.episode_duration) / self.dt).astype(jnp.int32)

    @property
    def source(self) -> jax.Array:
        """``(2,)`` source position, m."""
        return jnp.stack([jnp.asarray(self.source_x, jnp.float32), jnp.asarray(self.source_y, jnp.float32)])

    @property
    def puff_lifetime(self) -> jax.Array:
        """Age (s) at which a puff's peak ``(r0 / r)^3`` falls below ``odour_threshold``; older puffs are
        inactive (infinite without a threshold or without growth)."""
        threshold = jnp.asarray(self.odour_threshold, jnp.float32)
        radius = self.puff_radius * jnp.where(threshold > 0, threshold, 1.0) ** (-1.0 / 3.0)
        growth = jnp.asarray(self.puff_growth, jnp.float32)
        age = (radius - self.puff_radius) / jnp.where(growth > 0, growth, 1.0)
        return jnp.where((threshold > 0) & (growth > 0), age, jnp.inf)

    @property
    def births_per_step(self) -> jax.Array:
        """Mean number of puffs released per step, ``puff_rate dt``."""
        return jnp.asarray(self.puff_rate * self.dt, jnp.float32)


@struct.dataclass(kw_only=True)
class OdorPlumeState(EnvState):
    position: jax.Array  # (2,) m
    heading: jax.Array  # () rad, in [-pi, pi)
    speed: jax.Array  # () m/s, forward (air) speed executed in the last step
    angular_velocity: jax.Array  # () rad/s, turn rate executed in the last step
    wind_direction: jax.Array  # () rad, direction the wind blows towards now
    puff_x: jax.Array  # (n,) m, puff centres; n = n_puffs in the plume mode, 0 in the gradient mode
    puff_y: jax.Array  # (n,) m (x and y apart: XLA's CPU loops are much slower over a minor axis of 2)
    puff_age: jax.Array  # (n,) s since release
    puff_active: jax.Array  # (n,) bool: released, still in the arena and younger than puff_lifetime
    puff_head: jax.Array  # () int32, the buffer slot the next puff is written to (the oldest puff)

    @property
    def puff_position(self) -> jax.Array:
        """``(n, 2)`` puff centres, m."""
        return jnp.stack([self.puff_x, self.puff_y], axis=-1)


class StepNoise(NamedTuple):
    """Every random number one step uses (from a single ``jax.random.normal`` call)."""

    crosswind: jax.Array  # (n,) standard normals: each puff's crosswind displacement
    birth: jax.Array  # () uniform on (0, 1): the number of births, by inverse Poisson CDF
    switch: jax.Array  # () uniform: whether the wind switches this step ("noisy")
    wind: jax.Array  # () standard normal: the new wind offset if it does


class InitialNoise(NamedTuple):
    """Every random number a reset uses (from a single ``jax.random.normal`` call)."""

    start: jax.Array  # (3,) uniforms: start distance, lateral offset, heading
    phase: jax.Array  # () uniform: phase of the puff train
    wind: jax.Array  # () standard normal: initial wind offset ("noisy")
    crosswind: jax.Array  # (n,) standard normals: each puff's accumulated crosswind displacement


def _n(params: OdorPlumeParams) -> int:
    """Puff buffer size: ``n_puffs`` for the plume, 0 for the static gradient."""
    return params.n_puffs if params.mode == "plume" else 0


def _poisson_cdf(mean: jax.Array, k: int) -> jax.Array:
    """``P(X <= j)`` for ``j = 0..k-1``, ``X ~ Poisson(mean)``, by recursion: ``p_j = p_{j-1} mean / j``."""
    ratios = jnp.concatenate([jnp.ones(1), mean / jnp.arange(1, k, dtype=jnp.float32)])
    return jnp.cumsum(jnp.exp(-mean) * jnp.cumprod(ratios))


def _poisson_tail(mean: float, k: int) -> float:
    """``P(X >= k)`` for ``X ~ Poisson(mean)`` (float64, for validation)."""
    if mean <= 0:
        return 0.0
    return max(0.0, 1.0 - sum(math.exp(-mean + j * math.log(mean) - math.lgamma(j + 1)) for j in range(k)))


@register
class OdorPlume(NeuroEnv[OdorPlumeState, OdorPlumeParams]):
    """Odour plume tracking and gradient chemotaxis (the module docstring has physics, spaces, reward)."""

    name = "OdorPlume"
    params_type = OdorPlumeParams

    # -- parameters ---------------------------------------------------------------------------------------
    def validate_params(self, params: OdorPlumeParams) -> list[str]:
        positive = (
            "width",
            "height",
            "dt",
            "episode_duration",
            "max_speed",
            "max_turn_rate",
            "success_radius",
            "puff_radius",
            "switch_interval",
            "gradient_scale",
            "odour_max",
        )
        non_negative = (
            "wind_speed",
            "wind_drift",
            "sensor_offset",
            "sensor_noise",
            "odour_threshold",
            "puff_rate",
            "puff_growth",
            "puff_diffusivity",
            "start_lateral",
            "wind_angle_std",
            "wind_angle_max",
            "switch_time",
            "start_distance_min",
        )
        problems = super().validate_params(params) + self.check_fields(
            params,
            choices={"mode": MODES, "wind_regime": WIND_REGIMES},
            positive=positive,
            non_negative=non_negative,
            at_least_one=("n_puffs",),
        )
        sx, sy, w, h = (
            float(params.source_x),
            float(params.source_y),
            float(params.width),
            float(params.height),
        )
        if not (0 <= sx <= w and 0 <= sy <= h):
            problems.append(f"the source ({sx}, {sy}) must lie in the arena [0, {w}] x [0, {h}]")
        if not float(params.start_distance_max) >= float(params.start_distance_min):
            problems.append(
                f"start_distance_max ({params.start_distance_max}) must be >= start_distance_min "
                f"({params.start_distance_min})"
            )
        if not float(params.start_distance_min) > float(params.success_radius):
            problems.append(
                f"start_distance_min ({params.start_distance_min} m) must exceed success_radius "
                f"({params.success_radius} m), or episodes would start at the source"
            )
        if params.mode == "plume" and not problems:
            mean = float(params.births_per_step)
            if _poisson_tail(mean, MAX_BIRTHS_PER_STEP) > 1e-6:
                problems.append(
                    f"puff_rate * dt = {mean:g} puffs per step is too many: at most "
                    f"{MAX_BIRTHS_PER_STEP - 1} "
                    "are released per step; lower puff_rate or dt"
                )
            horizon = float(params.puff_lifetime)
            if float(params.wind_speed) > 0:
                horizon = min(horizon, float(np.hypot(w, h)) / float(params.wind_speed))
            needed = float(params.puff_rate) * horizon
            if np.isfinite(horizon) and int(params.n_puffs) < needed:
                problems.append(
                    f"n_puffs={params.n_puffs} holds "
                    f"{params.n_puffs / max(float(params.puff_rate), 1e-12):.3g} s "
                    f"of puffs at puff_rate={params.puff_rate}/s, less than the {horizon:.3g} s a puff stays "
                    f"detectable and in the arena: raise n_puffs to at least {math.ceil(needed)}"
                )
        return problems

    # -- randomness ---------------------------------------------------------------------------------------
    def draw_step_noise(self, key: jax.Array, params: OdorPlumeParams) -> StepNoise:
        """The random numbers of one step, from one ``jax.random.normal`` call (uniforms are ``Phi(z)``)."""
        n = _n(params)
        z = jax.random.normal(key, (n + 3,), jnp.float32)
        return StepNoise(crosswind=z[:n], birth=ndtr(z[n]), switch=ndtr(z[n + 1]), wind=z[n + 2])

    def draw_initial_noise(self, key: jax.Array, params: OdorPlumeParams) -> InitialNoise:
        """The random numbers of one reset, from one ``jax.random.normal`` call."""
        n = _n(params)
        z = jax.random.normal(key, (n + 5,), jnp.float32)
        return InitialNoise(start=ndtr(z[:3]), phase=ndtr(z[3]), wind=z[4], crosswind=z[5:])

    @staticmethod
    def draw_sensor_noise(key: jax.Array) -> jax.Array:
        """Two standard normals for the sensors, by Box-Muller from :func:`uniform21` (no ``threefry``)."""
        u = uniform21(key, 3)
        radius = jnp.sqrt(-2.0 * jnp.log1p(-u[0]))  # 1 - u in (0, 1]
        angle = 2.0 * jnp.pi * u[1]
        return jnp.stack([radius * jnp.cos(angle), radius * jnp.sin(angle)])

    # -- odour field --------------------------------------------------------------------------------------
    @staticmethod
    def sensor_positions(position: jax.Array, heading: jax.Array, params: OdorPlumeParams) -> jax.Array:
        """``(2, 2)``: the left then the right sensor, ``sensor_offset`` m either side of the body."""
        left = params.sensor_offset * jnp.stack([-jnp.sin(heading), jnp.cos(heading)])
        return jnp.stack([position + left, position - left])

    @staticmethod
    def puff_concentration(
        points: jax.Array,
        puff_x: jax.Array,
        puff_y: jax.Array,
        puff_age: jax.Array,
        puff_active: jax.Array,
        params,
    ) -> jax.Array:
        """Concentration ``(P,)`` at ``points`` ``(P, 2)`` of puffs centred at ``(puff_x, puff_y)`` (each
        ``(n,)``) with ages ``(n,)``: the sum of Gaussian puffs of s.d. ``r = r0 + g age`` and peak
        ``(r0 / r)^3`` (inactive puffs contribute 0)."""
        radius = params.puff_radius + params.puff_growth * puff_age
        ratio = params.puff_radius / radius
        amplitude = jnp.where(puff_active, ratio * ratio * ratio, 0.0)
        scale = -0.5 / (radius * radius)

        def at(point: jax.Array) -> jax.Array:
            dx, dy = point[0] - puff_x, point[1] - puff_y
            return jnp.sum(amplitude * jnp.exp((dx * dx + dy * dy) * scale))

        # A few points (the sensors) one at a time on flat (n,) arrays: XLA's CPU backend is several times
        # slower on a broadcast (P, n) or (P, n, 2) intermediate. Many points (a map of the field): vmap.
        if points.shape[0] <= 4:
            return jnp.stack([at(points[i]) for i in range(points.shape[0])])
        return jax.vmap(at)(points)

    @staticmethod
    def gradient_concentration(points: jax.Array, params: OdorPlumeParams) -> jax.Array:
        """Concentration ``(P,)`` of the static Gaussian field at ``points`` ``(P, 2)``."""
        delta = points - params.source
        d2 = delta[..., 0] ** 2 + delta[..., 1] ** 2
        return jnp.exp(-d2 / (2.0 * params.gradient_scale**2))

    def concentration(self, state: OdorPlumeState, points: jax.Array, params: OdorPlumeParams | None = None):
        """True concentration ``(P,)`` at world points ``(P, 2)`` in ``state`` (for analysis and pictures)."""
        points = jnp.asarray(points, jnp.float32).reshape(-1, 2)
        if params.mode == "gradient":
            return self.gradient_concentration(points, params)
        return self.puff_concentration(
            points, state.puff_x, state.puff_y, state.puff_age, state.puff_active, params
        )

    # -- wind ---------------------------------------------------------------------------------------------
    @staticmethod
    def _noisy_offset(z: jax.Array, params: OdorPlumeParams) -> jax.Array:
        return jnp.clip(params.wind_angle_std * z, -params.wind_angle_max, params.wind_angle_max)

    def next_wind_direction(
        self, wind_direction: jax.Array, time: jax.Array, noise: StepNoise, params: OdorPlumeParams
    ) -> jax.Array:
        """Wind direction (rad) at ``time`` (s since reset), given the direction one step earlier."""
        base = jnp.asarray(params.wind_direction, jnp.float32)
        if params.wind_regime == "switch":  # at the step nearest switch_time (robust to rounding)
            return base + jnp.where(time >= params.switch_time - 0.5 * params.dt, params.switch_angle, 0.0)
        if params.wind_regime == "noisy":
            p_switch = -jnp.expm1(-params.dt / params.switch_interval)
            return jnp.where(
                noise.switch < p_switch, base + self._noisy_offset(noise.wind, params), wind_direction
            )
        return jnp.broadcast_to(base, jnp.shape(wind_direction))

    @staticmethod
    def inside(x: jax.Array, y: jax.Array, params: OdorPlumeParams) -> jax.Array:
        """Whether points ``(x, y)`` (arrays of one shape) lie in the arena."""
        return (x >= 0) & (x <= params.width) & (y >= 0) & (y <= params.height)

    # -- FuncEnv pieces -----------------------------------------------------------------------------------
    def initial_from_noise(self, noise: InitialNoise, params: OdorPlumeParams) -> OdorPlumeState:
        """The initial state for given random numbers: start pose, wind, and the steady plume of that wind."""
        base = jnp.asarray(params.wind_direction, jnp.float32)
        wind = base + self._noisy_offset(noise.wind, params) if params.wind_regime == "noisy" else base
        if params.wind_regime == "switch":
            wind = wind + jnp.where(params.switch_time <= 0.5 * params.dt, params.switch_angle, 0.0)
        along, across = geo.unit(base), geo.unit(base + jnp.pi / 2)
        distance = params.start_distance_min + noise.start[0] * (
            params.start_distance_max - params.start_distance_min
        )
        lateral = (2.0 * noise.start[1] - 1.0) * params.start_lateral
        position = geo.project_into_box(
            params.source + distance * along + lateral * across, params.width, params.height
        )
        heading = (2.0 * noise.start[2] - 1.0) * jnp.pi
        n = _n(params)
        # Slot k holds the puff released (n - 1 - k + phase) / puff_rate seconds ago; slot 0 is the oldest.
        age = (jnp.arange(n, 0, -1, dtype=jnp.float32) - 1.0 + noise.phase) / jnp.maximum(
            params.puff_rate, 1e-12
        )
        spread = jnp.sqrt(2.0 * params.puff_diffusivity * age) * noise.crosswind
        drift = params.wind_speed * age
        c, s = jnp.cos(wind), jnp.sin(wind)
        puff_x = params.source_x + drift * c - spread * s
        puff_y = params.source_y + drift * s + spread * c
        active = (age <= params.puff_lifetime) & self.inside(puff_x, puff_y, params) & (params.puff_rate > 0)
        return OdorPlumeState(
            **resting_pose(position, heading),
            wind_direction=wind,
            puff_x=puff_x,
            puff_y=puff_y,
            puff_age=age,
            puff_active=active,
            puff_head=jnp.zeros((), jnp.int32),
        )

    def initial(self, rng: jax.Array, params: OdorPlumeParams | None = None) -> OdorPlumeState:
        return self.initial_from_noise(self.draw_initial_noise(rng, params), params)

    def clip_action(self, action: jax.Array, params: OdorPlumeParams) -> jax.Array:
        """Documented handling of any action: NaN -> 0, +-inf -> bound, then clip into the action box."""
        action = jnp.nan_to_num(jnp.asarray(action, jnp.float32), nan=0.0, posinf=1e30, neginf=-1e30)
        speed = jnp.clip(action[0], 0.0, params.max_speed)
        turn = jnp.clip(action[1], -params.max_turn_rate, params.max_turn_rate)
        return jnp.stack([speed, turn])

    def advance(
        self, state: OdorPlumeState, action: jax.Array, noise: StepNoise, params: OdorPlumeParams
    ) -> OdorPlumeState:
        """One step for given random numbers (deterministic): wind, puffs, births, agent."""
        dt = params.dt
        speed, turn = self.clip_action(action, params)
        theta = state.wind_direction  # the wind blowing during this step
        still = params.mode == "gradient"  # no wind in the static gradient
        c, s = jnp.cos(theta), jnp.sin(theta)
        wind_velocity = jnp.zeros(2) if still else params.wind_speed * jnp.stack([c, s])
        # Puffs: advect, random-walk across the wind, age; retire those that left or faded.
        n = _n(params)
        puff_x, puff_y, puff_age, puff_active, head = (
            state.puff_x,
            state.puff_y,
            state.puff_age,
            state.puff_active,
            state.puff_head,
        )
        if n:
            kick = jnp.sqrt(2.0 * params.puff_diffusivity * dt) * noise.crosswind
            puff_x = puff_x + wind_velocity[0] * dt - kick * s
            puff_y = puff_y + wind_velocity[1] * dt + kick * c
            puff_age = puff_age + dt
            puff_active = (
                puff_active & self.inside(puff_x, puff_y, params) & (puff_age <= params.puff_lifetime)
            )
            # Births: the k oldest slots (head, head + 1, ...) take new puffs at the source.
            births = jnp.sum(noise.birth >= _poisson_cdf(params.births_per_step, MAX_BIRTHS_PER_STEP)).astype(
                jnp.int32
            )
            born = jnp.mod(jnp.arange(n, dtype=jnp.int32) - head, n) < births
            puff_x = jnp.where(born, params.source_x, puff_x)
            puff_y = jnp.where(born, params.source_y, puff_y)
            puff_age = jnp.where(born, 0.0, puff_age)
            puff_active = puff_active | born
            head = jnp.mod(head + births, n).astype(jnp.int32)
        # Agent: turn, then move along the new heading, carried by the wind; walls stop it.
        heading = geo.wrap_angle(state.heading + turn * dt)
        ground_velocity = speed * geo.unit(heading) + params.wind_drift * wind_velocity
        position = geo.project_into_box(state.position + ground_velocity * dt, params.width, params.height)
        wind = self.next_wind_direction(theta, (state.step + 1) * dt, noise, params)
        return state.replace(
            position=position,
            heading=heading,
            speed=speed,
            angular_velocity=turn,
            wind_direction=wind,
            puff_x=puff_x,
            puff_y=puff_y,
            puff_age=puff_age,
            puff_active=puff_active,
            puff_head=head,
        )

    def transition(
        self, state: OdorPlumeState, action: jax.Array, rng: jax.Array, params: OdorPlumeParams | None = None
    ) -> OdorPlumeState:
        return self.advance(state, action, self.draw_step_noise(rng, params), params)

    def true_odour(self, state: OdorPlumeState, params: OdorPlumeParams) -> jax.Array:
        """``(2,)`` noise-free concentration at the left and right sensors."""
        return self.concentration(state, self.sensor_positions(state.position, state.heading, params), params)

    def sense(self, odour: jax.Array, noise: jax.Array, params: OdorPlumeParams) -> jax.Array:
        """What the sensors read ``(2,)`` from true concentrations ``(2,)`` and two standard normals."""
        reading = jnp.clip(odour * (1.0 + params.sensor_noise * noise), 0.0, params.odour_max)
        return jnp.where(reading >= params.odour_threshold, reading, 0.0)

    def observation(
        self, state: OdorPlumeState, rng: jax.Array, params: OdorPlumeParams | None = None
    ) -> jax.Array:
        odour = self.sense(self.true_odour(state, params), self.draw_sensor_noise(rng), params)
        if params.mode == "gradient":
            wind = jnp.zeros(2)
        else:
            relative = state.wind_direction - state.heading
            wind = jnp.stack([jnp.cos(relative), jnp.sin(relative)])
        return jnp.concatenate([odour, wind, jnp.stack([state.speed, state.angular_velocity])]).astype(
            jnp.float32
        )

    def at_source(self, state: OdorPlumeState, params: OdorPlumeParams) -> jax.Array:
        """Whether the agent is within ``success_radius`` of the source."""
        delta = state.position - params.source
        return delta[0] ** 2 + delta[1] ** 2 <= params.success_radius**2

    def reward(
        self,
        state: OdorPlumeState,
        action: jax.Array,
        next_state: OdorPlumeState,
        rng: jax.Array,
        params: OdorPlumeParams | None = None,
    ) -> jax.Array:
        return jnp.where(self.at_source(next_state, params), params.success_reward, 0.0).astype(jnp.float32)

    def terminal(
        self, state: OdorPlumeState, rng: jax.Array, params: OdorPlumeParams | None = None
    ) -> jax.Array:
        return self.at_source(state, params)

    def state_info(self, state: OdorPlumeState, params: OdorPlumeParams | None = None) -> dict:
        return {
            **pose_info(state, state.step * params.dt),
            "source": params.source,
            "wind_direction": state.wind_direction,
            "odour": self.true_odour(state, params),
            "success": self.at_source(state, params),
        }

    # -- spaces -------------------------------------------------------------------------------------------
    def observation_space(self, params: OdorPlumeParams | None = None) -> spaces.Box:
        high = np.array(
            [params.odour_max, params.odour_max, 1.0, 1.0, params.max_speed, params.max_turn_rate], np.float32
        )
        low = np.array([0.0, 0.0, -1.0, -1.0, 0.0, -params.max_turn_rate], np.float32)
        return spaces.Box(low, high, dtype=np.float32)

    # -- what the environment says about itself ----------------------------------------------------------
    def arena(self, params: OdorPlumeParams) -> dict[str, Any]:
        return {"shape": "box", "width": float(params.width), "height": float(params.height)}

    def with_arena(self, params: OdorPlumeParams, arena: Any) -> OdorPlumeParams:
        """``params`` in the box ``arena`` (any form ``envs.arena.resolve_arena`` takes); anything but a bare
        box is refused (see the module docstring)."""
        mapping = resolve_arena(arena)
        if not (is_shorthand(mapping) and mapping["shape"] == "box"):
            raise ValueError(
                f"{self.env_id()}: the wind tunnel is a box (puffs drift through any wall but its own); got "
                f"the arena {arena!r}"
            )
        return params.replace(width=mapping["width"], height=mapping["height"])

    def make_params(self, **overrides: Any) -> OdorPlumeParams:
        """Default params with ``overrides``; ``arena=`` (a box) sets ``width`` and ``height`` first."""
        arena = overrides.pop("arena", None)
        base = (
            self.default_params
            if arena is None or arena == ""
            else self.with_arena(self.default_params, arena)
        )
        return resolve_params(self, base, overrides)

    def action_names(self, params: OdorPlumeParams | None = None) -> list[str]:
        """Names of the action dimensions (a Recording's ``action_dim`` coordinate)."""
        return ["speed", "turn_rate"]

    def recording_attrs(self, params: OdorPlumeParams) -> dict[str, Any]:
        return {"success_radius": float(params.success_radius), "mode": params.mode}

    def action_space(self, params: OdorPlumeParams | None = None) -> spaces.Box:
        low = np.array([0.0, -params.max_turn_rate], np.float32)
        high = np.array([params.max_speed, params.max_turn_rate], np.float32)
        return spaces.Box(low, high, dtype=np.float32)

    # -- rendering ----------------------------------------------------------------------------------------
    def render_init(self, params: OdorPlumeParams | None = None, trail_seconds: float = 6.0, size: int = 360):
        return trail_render_state(params, trail_seconds, size)

    def render_image(self, state: OdorPlumeState, render_state: Any, params: OdorPlumeParams | None = None):
        """Top view: odour concentration (log scale, down to ``odour_threshold``), source and success radius,
        wind arrow, the agent's recent trail and the agent with its two sensors."""
        render_state = render_state or self.render_init(params)
        w, h = float(params.width), float(params.height)
        pad = 0.03 * max(w, h)
        canvas = Canvas(
            (-pad, w + pad), (-pad, h + pad), size=render_state["size"], background=COLOURS["outside"]
        )
        canvas.fill_rect(0, 0, w, h, COLOURS["floor"])
        # Concentration at every pixel centre (NumPy: rendering is off the hot path).
        cols = canvas.x0 + (np.arange(canvas.width) + 0.5) / canvas.scale
        rows = canvas.y0 + (canvas.height - (np.arange(canvas.height) + 0.5)) / canvas.scale
        xx, yy = np.meshgrid(cols, rows)
        field = self._numpy_field(state, xx, yy, params)
        floor = max(float(params.odour_threshold), 1e-6)
        level = np.clip(np.log10(np.maximum(field, 1e-30) / floor) / np.log10(1.0 / floor), 0.0, 1.0)
        level *= (xx >= 0) & (xx <= w) & (yy >= 0) & (yy <= h)
        alpha = (0.15 + 0.85 * level)[..., None] * (level > 0)[..., None]
        canvas.image[:] = np.clip(
            (1 - alpha) * canvas.image + alpha * np.asarray(COLOURS["odour"], float), 0, 255
        )
        wall = 0.006 * max(w, h)
        canvas.rect_outline(-wall / 2, -wall / 2, w + wall / 2, h + wall / 2, wall, COLOURS["wall"])
        source = np.array([float(params.source_x), float(params.source_y)])
        canvas.ring(source, float(params.success_radius), wall / 2, COLOURS["reward"])
        canvas.fill_circle(source, 0.4 * float(params.success_radius), COLOURS["reward"])
        if params.mode == "plume":  # wind arrow in the top-left corner
            direction = np.array([np.cos(float(state.wind_direction)), np.sin(float(state.wind_direction))])
            tail = np.array([0.07 * w, 0.9 * h])
            tip = tail + 0.06 * max(w, h) * direction
            canvas.line(tail, tip, wall, COLOURS["wall"])
            for side in (1, -1):
                back = tip - 0.02 * max(w, h) * (
                    direction * np.cos(0.5) + side * np.array([-direction[1], direction[0]]) * np.sin(0.5)
                )
                canvas.line(tip, back, wall, COLOURS["wall"])
        position = np.asarray(state.position, float)
        heading = float(state.heading)
        draw_trail(canvas, render_state, position, wall)
        canvas.agent(position, heading, radius=0.012 * max(w, h))
        for sensor in np.asarray(self.sensor_positions(state.position, state.heading, params)):
            canvas.fill_circle(sensor, 0.004 * max(w, h), COLOURS["heading"])
        return render_state, canvas.image

    def _numpy_field(
        self, state: OdorPlumeState, x: np.ndarray, y: np.ndarray, params: OdorPlumeParams
    ) -> np.ndarray:
        """The concentration on a NumPy grid (the same formula as :meth:`concentration`), puff by puff."""
        if params.mode == "gradient":
            d2 = (x - float(params.source_x)) ** 2 + (y - float(params.source_y)) ** 2
            return np.exp(-d2 / (2 * float(params.gradient_scale) ** 2))
        out = np.zeros_like(x)
        positions = np.stack([np.asarray(state.puff_x, float), np.asarray(state.puff_y, float)], axis=-1)
        radii = float(params.puff_radius) + float(params.puff_growth) * np.asarray(state.puff_age, float)
        for (px, py), r, active in zip(positions, radii, np.asarray(state.puff_active), strict=True):
            if not active:
                continue
            reach = 4 * r  # beyond 4 s.d. a puff adds < 4e-4 of its peak
            sel = np.abs(x[0] - px) <= reach
            rows = np.abs(y[:, 0] - py) <= reach
            if not sel.any() or not rows.any():
                continue
            sub = np.ix_(rows, sel)
            d2 = (x[sub] - px) ** 2 + (y[sub] - py) ** 2
            out[sub] += (float(params.puff_radius) / r) ** 3 * np.exp(-d2 / (2 * r * r))
        return out
