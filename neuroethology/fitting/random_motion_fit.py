"""The random-motion baseline fitted to a recording by maximum likelihood.

RatInABox's motion model (:class:`neuroethology.envs.policies.RandomMotion`) has an exact likelihood for a
tracked path, because every latent variable it carries is a deterministic function of the positions once its
parameters are fixed. For a step from ``x_k`` with displacement ``D_k``::

    V_k   = D_k / dt - belt(x_k)                 intended velocity (the wall "conveyor belt" shift removed)
    U_k   = V_k - spring(x_k) dt                 velocity before the wall spring acted
    w_k   = wrap(angle(U_k) - angle(V_{k-1})) / dt          the OU rotational velocity
    z_k   = Phi^-1(F_Rayleigh(|U_k|; speed_mean)),  z'_k = Phi^-1(F_Rayleigh(|V_{k-1}|))   the OU speed variable

and the model says ``w_k ~ N(w_{k-1} (1 - dt/tau_w), 2 s_w^2 dt/tau_w)`` and
``z_k ~ N(z'_k (1 - dt/tau_v), 2 dt/tau_v)``. With the Jacobians of ``D -> V -> U -> (|U|, angle)`` and
``|U| -> z``::

    log p(D_k | past) = log N(w_k) - log dt + log N(z_k) + log |dz/dr|(|U_k|) - log |U_k| - 2 log dt

(on a segment's first step ``w_{k-1}`` is unknown and ``w_k`` gets its stationary density ``N(0, s_w^2)``).
A small outlier component (``outlier_fraction``, an isotropic Gaussian of s.d. ``max_speed dt``) absorbs
wall bounces and tracking glitches, which the smooth model cannot produce. Parameters are found by L-BFGS
on this exact log-likelihood (float64), in unconstrained coordinates (logs and a logit for thigmotaxis).

The density of the environment's *action* (acceleration, angular velocity) follows by one more change of
variables, ``D = dt * s' (cos theta', sin theta')`` with ``s' = v + a dt`` and ``theta' = h + w dt``:
``log p(a) = log p(D) + log(dt^4 s')``. That is what :func:`action_log_likelihood` returns, so the baseline
and the fitted networks are compared on the same footing.

Held headings. The reconstruction (:func:`~neuroethology.fitting.reconstruct.reconstruct_path`) holds the
heading through steps slower than ``min_speed`` (``|D| < min_speed dt``): there its angular velocity is 0 by
construction, whatever direction the animal jittered in. The action it reports is then a mixed random
variable: ``(a, omega)`` with a density in 2-D on the steps at or above ``min_speed``, and ``a`` alone on the
held steps (``omega = 0`` carries no information). A model's density of that variable is ``p(a, omega)`` on
the former and the marginal ``p(a) = integral p(a, omega) d omega`` on the latter; it integrates to 1 over
both parts together. Scoring the held steps with the 2-D density at the direction the animal jittered in (or
at ``omega = 0``) scores a different variable from the one the networks and the null model are given. For
this model ``p(a) = dt^2 p_r(|D|)``, with ``p_r(r) = r * integral p(r (cos phi, sin phi)) d phi`` the density
of the step length, integrated over the direction ``phi`` by the trapezoidal rule on a periodic grid fine
enough for the model's turning noise (exact to rounding for a smooth periodic integrand; Trefethen and
Weideman 2014, SIAM Review 56:385).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from jax.scipy.special import ndtri
from jax.scipy.stats import norm

from ..envs.geometry import wrap_angle
from ..envs.open_field import OpenFieldParams
from ..envs.policies.random_motion import RandomMotionParams, wall_normals
from .padding import bucket, pad_rows

__all__ = [
    "RandomMotionFit",
    "FITTED_FIELDS",
    "random_motion_log_likelihood",
    "action_log_likelihood",
    "fit_random_motion",
    "heading_held",
    "step_length_log_density",
]

# Fitted parameters and their transforms to unconstrained coordinates.
FITTED_FIELDS = (
    "speed_mean",
    "speed_coherence_time",
    "rotational_velocity_std",
    "rotational_velocity_coherence_time",
    "thigmotaxis",
    "wall_repel_distance",
    "wall_repel_strength",
)


def _to_unconstrained(p: RandomMotionParams) -> np.ndarray:
    v = [float(getattr(p, f)) for f in FITTED_FIELDS]
    theta = np.log(v)
    t = min(max(v[4], 1e-4), 1 - 1e-4)
    theta[4] = np.log(t / (1 - t))
    return theta


def _from_unconstrained(theta: jax.Array) -> dict[str, jax.Array]:
    values = jnp.exp(theta)
    values = values.at[4].set(jax.nn.sigmoid(theta[4]))
    return dict(zip(FITTED_FIELDS, values, strict=True))


def _walls(x: jax.Array, env: OpenFieldParams) -> tuple[jax.Array, jax.Array]:
    """Distances ``(N, W)`` and unit normals ``(N, W, 2)`` from each wall to points ``(N, 2)``: the policy's
    own :func:`~neuroethology.envs.policies.random_motion.wall_normals`, mapped over the points (any arena;
    in a polygon every segment is a wall, padding rows at distance inf, which never repel)."""
    return jax.vmap(lambda point: wall_normals(point, env))(x)


def _wall_terms(x: jax.Array, p: dict, env: OpenFieldParams) -> tuple[jax.Array, jax.Array]:
    """RatInABox's wall spring (velocity change per second) and conveyor-belt velocity at positions ``x``."""
    distance, normals = _walls(x, env)
    d = p["wall_repel_distance"]
    strength = p["wall_repel_strength"] * p["speed_mean"]
    near = distance <= d
    gap = jnp.clip(d - distance, 0.0, None)
    spring = jnp.where(near, (strength**2 / d**2) * gap, 0.0)
    # (the floor inside the square root keeps its gradient finite for an animal touching the wall)
    belt = jnp.where(near, strength * (1.0 - jnp.sqrt(jnp.clip(1.0 - gap**2 / d**2, 1e-12, 1.0))), 0.0)
    spring_vec = 3.0 * (1.0 - p["thigmotaxis"]) ** 2 * jnp.sum(spring[..., None] * normals, axis=1)
    belt_vec = 6.0 * p["thigmotaxis"] ** 2 * jnp.sum(belt[..., None] * normals, axis=1)
    return spring_vec, belt_vec


def _rayleigh_z(r: jax.Array, sigma: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``z = Phi^-1(F(r))`` for a Rayleigh(``sigma``) speed ``r`` and ``log |dz/dr|``, accurate in both tails."""
    a = r**2 / (2.0 * sigma**2)
    survival = jnp.exp(-a)
    cdf = -jnp.expm1(-a)
    # Each branch is clipped to the half it is used on, so neither produces inf (nor a NaN gradient).
    z = jnp.where(survival < 0.5, -ndtri(jnp.clip(survival, 1e-300, 0.5)), ndtri(jnp.clip(cdf, 1e-300, 0.5)))
    log_dz = jnp.log(jnp.maximum(r, 1e-300)) - 2.0 * jnp.log(sigma) - a - norm.logpdf(z)
    return z, log_dz


def _norm(v: jax.Array) -> jax.Array:
    """Euclidean norm over the last axis with a finite gradient at 0."""
    return jnp.sqrt(jnp.sum(v**2, axis=-1) + 1e-30)


def _angle(v: jax.Array) -> jax.Array:
    """Direction of ``v``; a zero vector points along +x (with a finite gradient)."""
    zero = (v[..., 0] == 0) & (v[..., 1] == 0)
    return jnp.arctan2(v[..., 1], jnp.where(zero, 1.0, v[..., 0]))


def _log_likelihood_terms(
    p: dict, windows: jax.Array, env: OpenFieldParams, outlier_fraction: float
) -> jax.Array:
    """Per-step ``log p(D_k | past)`` for windows ``(N, 4, 2)`` = ``x_{k-2}, x_{k-1}, x_k, x_{k+1}``."""
    dt = env.dt
    x2, x1, x0, xn = windows[:, 0], windows[:, 1], windows[:, 2], windows[:, 3]
    first = ~jnp.all(jnp.isfinite(x2), axis=1)  # segment's first row: w_{k-1} unknown
    x2 = jnp.where(first[:, None], 2 * x1 - x0, x2)  # a stand-in, never used: keeps gradients finite

    def intended(a, b):  # V and U of the step a -> b
        spring, belt = _wall_terms(a, p, env)
        v = (b - a) / dt - belt
        return v, v - spring * dt

    v_prev2, _ = intended(x2, x1)  # V_{k-2}
    v_prev, u_prev = intended(x1, x0)  # V_{k-1}, U_{k-1}
    _, u = intended(x0, xn)  # U_k
    w_prev = wrap_angle(_angle(u_prev) - _angle(v_prev2)) / dt
    w = wrap_angle(_angle(u) - _angle(v_prev)) / dt
    tau_w, s_w = p["rotational_velocity_coherence_time"], p["rotational_velocity_std"]
    mean_w = jnp.where(first, 0.0, w_prev * (1.0 - dt / tau_w))
    sd_w = jnp.where(first, s_w, jnp.sqrt(2.0 * s_w**2 * dt / tau_w))
    speed = _norm(u)
    z, log_dz = _rayleigh_z(speed, p["speed_mean"])
    z_prev, _ = _rayleigh_z(_norm(v_prev), p["speed_mean"])
    tau_v = p["speed_coherence_time"]
    model = (
        norm.logpdf(w, mean_w, sd_w)
        - jnp.log(dt)
        + norm.logpdf(z, z_prev * (1.0 - dt / tau_v), jnp.sqrt(2.0 * dt / tau_v))
        + log_dz
        - jnp.log(jnp.maximum(speed, 1e-300))
        - 2.0 * jnp.log(dt)
    )
    step = xn - x0
    scale = env.max_speed * dt
    outlier = -jnp.log(2 * jnp.pi * scale**2) - jnp.sum(step**2, axis=1) / (2 * scale**2)
    return jnp.logaddexp(jnp.log1p(-outlier_fraction) + model, jnp.log(outlier_fraction) + outlier)


def random_motion_log_likelihood(
    params: RandomMotionParams,
    windows: np.ndarray,
    env_params: OpenFieldParams,
    *,
    outlier_fraction: float = 1e-3,
) -> np.ndarray:
    """Per-step log density (nats) of each displacement ``x_{k+1} - x_k`` (in m^-2) under the model.

    ``windows``: ``(N, 4, 2)`` from :func:`neuroethology.fitting.reconstruct.path_windows`.
    """
    with jax.enable_x64(True):
        p = {f: jnp.asarray(float(getattr(params, f)), jnp.float64) for f in FITTED_FIELDS}
        out = jax.jit(_log_likelihood_terms)(
            p, jnp.asarray(windows, jnp.float64), env_params, outlier_fraction
        )
        return np.asarray(out)


def heading_held(windows: np.ndarray, dt: float, min_speed: float) -> np.ndarray:
    """``(N,)`` bool: the steps ``x_k -> x_{k+1}`` of ``windows`` slower than ``min_speed`` (m/s), whose heading
    :func:`~neuroethology.fitting.reconstruct.reconstruct_path` holds (it is given ``min_step = min_speed *
    dt`` and compares the step length with it in the same float64 arithmetic)."""
    step = np.asarray(windows, float)[:, 3] - np.asarray(windows, float)[:, 2]
    return np.hypot(step[:, 0], step[:, 1]) < min_speed * dt


def _direction_nodes(params: RandomMotionParams, dt: float) -> int:
    """Trapezoidal nodes on the circle for the step-length density: a spacing of at most half the model's
    per-step s.d. of direction (its conditional one, ``s_w dt sqrt(2 dt / tau_w)``, or the stationary
    ``s_w dt`` if smaller), so the periodic rule's error ``~exp(-2 pi^2 (sd / spacing)^2)`` is below 1e-30;
    at least 256, at most 65,536 (a direction s.d. down to 2e-4 rad)."""
    s_w, tau_w = float(params.rotational_velocity_std), float(params.rotational_velocity_coherence_time)
    sd = s_w * dt * min(1.0, np.sqrt(2.0 * dt / tau_w))
    return int(min(max(256, 64 * np.ceil(4 * np.pi / max(sd, 1e-12) / 64)), 65_536))


@jax.jit
def _ring_log_density(p: dict, windows: jax.Array, radius: jax.Array, unit: jax.Array, env, outlier_fraction):
    """``log sum_j p(D_j | past)`` over the steps ``D_j = radius * unit_j`` from ``x_k`` of each window."""
    n, k = windows.shape[0], unit.shape[0]
    ring = jnp.broadcast_to(windows[:, None], (n, k, 4, 2))
    ring = ring.at[:, :, 3].set(windows[:, None, 2] + radius[:, None, None] * unit[None])
    terms = _log_likelihood_terms(p, ring.reshape(n * k, 4, 2), env, outlier_fraction)
    return jax.scipy.special.logsumexp(terms.reshape(n, k), axis=1)


def step_length_log_density(
    params: RandomMotionParams,
    windows: np.ndarray,
    env_params: OpenFieldParams,
    *,
    outlier_fraction: float = 1e-3,
) -> np.ndarray:
    """Per-step log density (nats, in m^-1) of the step length ``|x_{k+1} - x_k|`` under the model: the
    displacement density integrated over the step's direction (see the module docstring)."""
    windows = np.asarray(windows, float)
    r = np.hypot(*(windows[:, 3] - windows[:, 2]).T)
    nodes = _direction_nodes(params, float(env_params.dt))
    phi = 2 * np.pi * np.arange(nodes) / nodes
    unit = np.stack([np.cos(phi), np.sin(phi)], axis=-1)
    # Batches of a fixed power-of-two size (padded with the last window), so that few shapes compile.
    chunk = min(max(1, 2**19 // nodes), 1 << max(0, len(windows) - 1).bit_length())
    out = []
    with jax.enable_x64(True):
        p = {f: jnp.asarray(float(getattr(params, f)), jnp.float64) for f in FITTED_FIELDS}
        for i in range(0, len(windows), chunk):
            idx = np.minimum(np.arange(i, i + chunk), len(windows) - 1)
            logp = _ring_log_density(
                p,
                jnp.asarray(windows[idx]),
                jnp.asarray(r[idx]),
                jnp.asarray(unit),
                env_params,
                outlier_fraction,
            )
            out.append(np.asarray(logp)[: len(windows) - i])
    logp = np.concatenate(out) if out else np.zeros(0)
    return logp + np.log(np.maximum(r, 1e-300)) + np.log(2 * np.pi / nodes)


def action_log_likelihood(
    params: RandomMotionParams,
    windows: np.ndarray,
    env_params: OpenFieldParams,
    *,
    min_speed: float = 0.0,
    outlier_fraction: float = 1e-3,
) -> np.ndarray:
    """Per-step log density (nats) of the environment action that the reconstruction infers for each step.

    On a step at or above ``min_speed`` (m/s) that is the density of (acceleration, angular velocity),
    ``log p(D) + log(dt^4 s')``; on a slower step, whose heading the reconstruction holds (``omega = 0`` by
    construction), the density of the acceleration alone, ``log p_r(|D|) + 2 log dt`` (the module docstring
    derives both). Give the ``min_speed`` the demonstration was reconstructed with
    (:attr:`~neuroethology.fitting.FitConfig.min_speed`); 0 scores every step in 2-D.
    """
    dt = float(env_params.dt)
    step = np.asarray(windows)[:, 3] - np.asarray(windows)[:, 2]
    speed_after = np.maximum(np.hypot(step[:, 0], step[:, 1]) / dt, 1e-300)
    logp = random_motion_log_likelihood(params, windows, env_params, outlier_fraction=outlier_fraction)
    out = logp + 4 * np.log(dt) + np.log(speed_after)
    held = heading_held(windows, dt, min_speed)
    if held.any():
        out[held] = step_length_log_density(
            params, np.asarray(windows)[held], env_params, outlier_fraction=outlier_fraction
        ) + 2 * np.log(dt)
    return out


class RandomMotionFit(NamedTuple):
    """Result of :func:`fit_random_motion`."""

    params: RandomMotionParams
    log_likelihood: float  # total over the steps, nats (displacement density)
    n_steps: int
    converged: bool
    message: str

    @property
    def per_step(self) -> float:
        return self.log_likelihood / max(self.n_steps, 1)


@functools.partial(jax.jit, static_argnums=5)
def _objective_value_and_grad(theta, data, weight, count, env_params, outlier_fraction):
    """The fit's objective, minus the mean log-likelihood per step of the ``weight``-ed windows, and its
    gradient in the unconstrained coordinates ``theta``. Compiled once per arena kind, outlier fraction and
    (bucketed) number of windows: the windows and the arena are arguments, not constants in the program."""

    def objective(theta):
        ll = _log_likelihood_terms(_from_unconstrained(theta), data, env_params, outlier_fraction)
        return -jnp.sum(jnp.where(weight, ll, 0.0)) / count

    return jax.value_and_grad(objective)(theta)


def fit_random_motion(
    windows: np.ndarray,
    env_params: OpenFieldParams,
    *,
    init: RandomMotionParams | None = None,
    outlier_fraction: float = 1e-3,
    max_iterations: int = 500,
) -> RandomMotionFit:
    """Maximum-likelihood RatInABox motion parameters for a tracked path.

    Args:
        windows: ``(N, 4, 2)`` position windows (:func:`~neuroethology.fitting.reconstruct.path_windows`).
        env_params: the arena (any: box, circle or polygon) and ``dt`` the path lives in (walls enter through
            the repulsion terms).
        init: starting point (RatInABox's defaults if omitted).
        outlier_fraction: weight of the broad outlier component.

    Returns:
        :class:`RandomMotionFit` with the fitted :class:`RandomMotionParams`.
    """
    windows = np.asarray(windows, float)
    if windows.ndim != 3 or windows.shape[1:] != (4, 2) or windows.shape[0] < 10:
        raise ValueError(f"fit_random_motion: need (N >= 10, 4, 2) position windows, got {windows.shape}")
    init = init or RandomMotionParams()
    n = windows.shape[0]
    with jax.enable_x64(True):
        # the windows padded to a bucketed length (weight 0): recordings of nearby lengths share one program
        data = jnp.asarray(pad_rows(windows, bucket(n)), jnp.float64)
        weight = jnp.asarray(np.arange(len(data)) < n)
        count = jnp.asarray(n, jnp.float64)

        def fun(theta):
            v, g = _objective_value_and_grad(
                jnp.asarray(theta), data, weight, count, env_params, outlier_fraction
            )
            v, g = float(v), np.asarray(g, float)
            if not np.isfinite(v):
                return 1e10, np.zeros_like(g)
            return v, g

        theta0 = _to_unconstrained(init)
        # Bounds keep the optimiser in a physically sensible box (times 5 ms..60 s, speeds 1 mm/s..2 m/s, ...).
        bounds = [
            (np.log(1e-3), np.log(2.0)),
            (np.log(5e-3), np.log(60.0)),
            (np.log(1e-2), np.log(50.0)),
            (np.log(5e-3), np.log(60.0)),
            (-9.0, 9.0),
            (np.log(1e-3), np.log(1.0)),
            (np.log(1e-3), np.log(20.0)),
        ]
        result = scipy.optimize.minimize(
            fun, theta0, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": max_iterations}
        )
        fitted = {k: float(v) for k, v in _from_unconstrained(jnp.asarray(result.x)).items()}
        total = -float(result.fun) * n
    params = init.replace(**fitted)
    return RandomMotionFit(params, total, int(n), bool(result.success), str(result.message))
