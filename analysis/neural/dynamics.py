"""Fixed and slow points of a recurrent core, their linearisation, and trajectories in principal-component space.

A recurrent network run under a constant input ``x*`` is a discrete-time map ``h_{t+1} = F(h_t, x*)``. Its
fixed points (``F(h) = h``) and slow points (``|F(h) - h|`` small but not zero), with the eigenvalues of the
Jacobian of ``F`` there, open the "black box": stable points are memories, saddles route trajectories between
them, eigenvalues on the unit circle mark line or ring attractors that hold a continuous variable (Sussillo &
Barak 2013, Neural Comput. 25:626). They are found, as in that paper and in Golub & Sussillo's FixedPointFinder
(2018, JOSS 3:1003), by minimising the speed

    q(h) = 0.5 |F(h, x*) - h|^2

from many states the network visits. Here the minimisation runs under ``jax.jit`` for every start at once
(Adam, Kingma & Ba 2015), then a few damped Newton steps polish the candidates, which Adam alone leaves at a
precision of about its step size. ``analysis`` does not import the agents: the update is any jittable
``step(h, x) -> h_next`` on one flat state (an LSTM's state is the concatenation ``[h, c]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "FixedPoints",
    "TrajectoryProjection",
    "KINDS",
    "find_fixed_points",
    "sample_initial_states",
    "project_trajectories",
]

KINDS = ("stable", "unstable", "saddle", "marginal")

Step = Callable[[jax.Array, jax.Array], jax.Array]


class FixedPoints(NamedTuple):
    """Fixed and slow points of a map ``h -> step(h, x*)``, ``K`` of them after deduplication.

    Ordered fixed points first, then slow points, each by increasing ``q``.
    """

    points: np.ndarray  # (K, H) states
    q: np.ndarray  # (K,) 0.5 |step(h, x*) - h|^2 at each point (state units squared)
    grad_norm: np.ndarray  # (K,) |grad q|: ~0 at a local minimum of q (a ghost), larger on a slow manifold
    kind: np.ndarray  # (K,) str, one of KINDS: the class of the linearisation
    eigenvalues: np.ndarray  # (K, H) complex, Jacobian eigenvalues, by decreasing modulus
    jacobians: np.ndarray  # (K, H, H) d step / d h at each point
    n_converged: int  # starts that ended at (within the merge tolerance of) a fixed point
    n_unconverged: int  # starts whose runs ended at neither a fixed nor a slow point (dropped)
    is_fixed: np.ndarray  # (K,) bool: q < tol_q (a fixed point); False: a slow point (tol_q <= q < tol_slow)
    n_starts: np.ndarray  # (K,) int, starts merged into each point
    tol_slow: float  # the slow-point threshold on q that was used
    merge_distance: float  # the absolute distance (state units) under which points were merged


class TrajectoryProjection(NamedTuple):
    """Visited states and fixed points in the principal-component space of the visited states."""

    trajectories: np.ndarray  # (..., n_components), the states' leading shape kept; NaN where a state was
    fixed_points: np.ndarray  # (K, n_components); (0, n_components) when none were given
    components: np.ndarray  # (n_components, H) unit principal axes, largest-|loading| entry positive
    mean: np.ndarray  # (H,) the mean visited state that was subtracted
    explained_variance_ratio: np.ndarray  # (n_components,) fraction of the states' variance on each axis


# --------------------------------------------------------------------------------------------------- checks


def _as_states(states, caller: str, name: str) -> np.ndarray:
    arr = np.asarray(states, dtype=float)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{caller}: {name} must be a (N, H) array of states with N, H >= 1, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{caller}: {name} has {int(np.sum(~np.isfinite(arr)))} non-finite values")
    return arr


def _check_step(step: Step, n_state: int, x: jax.Array, caller: str) -> None:
    """Trace ``step`` once on abstract arrays: it must map ``(H,)`` states to ``(H,)`` floating states."""
    if not callable(step):
        raise ValueError(f"{caller}: step must be a function step(h, x) -> h_next, got {type(step).__name__}")
    h = jax.ShapeDtypeStruct((n_state,), jnp.result_type(float))
    try:
        out = jax.eval_shape(step, h, x)
    except Exception as err:  # a shape error inside the user's function: say what it was called with
        raise ValueError(
            f"{caller}: step(h, x) failed on h of shape ({n_state},) and x of shape {tuple(x.shape)}: {err}"
        ) from err
    if (
        not hasattr(out, "shape")
        or tuple(out.shape) != (n_state,)
        or not jnp.issubdtype(out.dtype, jnp.floating)
    ):
        found = (tuple(out.shape), out.dtype) if hasattr(out, "shape") else type(out).__name__
        raise ValueError(f"{caller}: step(h, x) must return a float ({n_state},) state like h, got {found}")


def _check_options(caller, tol_q, tol_unique, learning_rate, tol_marginal, n_iter, n_newton) -> None:
    for name, value in (("tol_q", tol_q), ("tol_unique", tol_unique), ("learning_rate", learning_rate)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{caller}: {name} must be > 0, got {value}")
    if not (np.isfinite(tol_marginal) and tol_marginal >= 0):
        raise ValueError(f"{caller}: tol_marginal must be >= 0, got {tol_marginal}")
    if int(n_iter) < 1 or int(n_newton) < 0:
        raise ValueError(f"{caller}: n_iter must be >= 1 and n_newton >= 0, got {n_iter} and {n_newton}")


def _state_scale(states: np.ndarray) -> float:
    """RMS distance of the states from their centroid (the size of the visited region); 1 if they coincide."""
    spread = float(np.sqrt(np.mean(np.sum((states - states.mean(axis=0)) ** 2, axis=1))))
    return spread if spread > 0 else 1.0


# ------------------------------------------------------------------------------------------- the jitted core


def _speed(step: Step, h: jax.Array, x: jax.Array) -> jax.Array:
    d = step(h, x) - h
    return 0.5 * jnp.sum(d * d)


class _Descent(NamedTuple):
    i: jax.Array
    h: jax.Array
    opt_state: optax.OptState
    frozen: jax.Array


def _minimise(step: Step, h0: jax.Array, x: jax.Array, *, n_iter: int, learning_rate: float, tol_q: float):
    """Adam on q from every start at once; a start freezes (stops moving) once its q < tol_q, and the loop
    ends when all have frozen or after ``n_iter`` steps. The rate is constant: a decaying rate was tried and
    left more runs stalled in long shallow valleys of q; precision comes from the Newton polish."""
    value_and_grad = jax.vmap(jax.value_and_grad(lambda h: _speed(step, h, x)))
    optimiser = optax.adam(learning_rate)

    def keep_going(c: _Descent) -> jax.Array:
        return (c.i < n_iter) & ~jnp.all(c.frozen)

    def descend(c: _Descent) -> _Descent:
        q, grad = value_and_grad(c.h)
        frozen = c.frozen | (q < tol_q)
        updates, opt_state = optimiser.update(grad, c.opt_state, c.h)
        h = jnp.where(frozen[:, None], c.h, optax.apply_updates(c.h, updates))
        return _Descent(c.i + 1, h, opt_state, frozen)

    start = _Descent(jnp.asarray(0), h0, optimiser.init(h0), jnp.zeros(h0.shape[0], bool))
    end = jax.lax.while_loop(keep_going, descend, start)
    return end.h, jax.vmap(lambda h: _speed(step, h, x))(end.h)


def _polish(step: Step, h: jax.Array, x: jax.Array, *, n_newton: int, max_step: float):
    """Newton refinement of every point. Each step tries a Gauss-Newton step on F(h) - h = 0,
    ``-pinv(J - I) (F(h) - h)`` (quadratic convergence to fixed points), and a Newton step on q itself,
    ``-pinv(hess q) grad q`` (which also converges to slow points, local minima of q with F(h) != h); each
    step's length is capped at ``max_step`` and the one with the lower q is kept if it lowers q. The
    pseudo-inverses ignore directions with singular values under 1e-4 (Gauss-Newton) or 1e-6 (Hessian) of
    the largest, so a point on a line of fixed points is not pushed along the line. Returns the points, q and
    |grad q| at them."""
    eye = jnp.eye(h.shape[-1], dtype=h.dtype)
    speed = jax.value_and_grad(lambda p: _speed(step, p, x))

    def capped(delta: jax.Array) -> jax.Array:
        return delta * jnp.minimum(1.0, max_step / jnp.maximum(jnp.linalg.norm(delta), 1e-30))

    def newton(hk: jax.Array, _):
        residual = step(hk, x) - hk
        q_now, grad = speed(hk)
        gauss = hk + capped(-jnp.linalg.pinv(jax.jacfwd(step)(hk, x) - eye, rtol=1e-4) @ residual)
        full = hk + capped(-jnp.linalg.pinv(jax.hessian(lambda p: _speed(step, p, x))(hk), rtol=1e-6) @ grad)
        q_gauss, q_full = _speed(step, gauss, x), _speed(step, full, x)
        q_gauss = jnp.where(jnp.isfinite(q_gauss), q_gauss, jnp.inf)
        q_full = jnp.where(jnp.isfinite(q_full), q_full, jnp.inf)
        best = jnp.where(q_gauss <= q_full, gauss, full)
        return jnp.where(jnp.minimum(q_gauss, q_full) < q_now, best, hk), None

    polished = jax.vmap(lambda p: jax.lax.scan(newton, p, None, length=n_newton)[0])(h)
    q, grad = jax.vmap(speed)(polished)
    return polished, q, jnp.linalg.norm(grad, axis=-1)


def _linearise(step: Step, points: np.ndarray, x: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """Jacobians ``(K, H, H)`` of ``step`` at the points (jacfwd, vmapped, jitted) and their eigenvalues
    ``(K, H)`` by decreasing modulus (NumPy's LAPACK eig in float64 on the host: jnp.linalg.eig is CPU-only)."""
    k, n = points.shape
    run = jax.jit(jax.vmap(jax.jacfwd(step), in_axes=(0, None)))
    jacobians = np.asarray(run(jnp.asarray(points, jnp.result_type(float)), x), float).reshape(k, n, n)
    eigenvalues = np.linalg.eigvals(jacobians) if k else np.zeros((0, n), complex)
    return jacobians, np.take_along_axis(eigenvalues, np.argsort(-np.abs(eigenvalues), axis=1), axis=1)


# ----------------------------------------------------------------------------------------- host-side steps


def _merge(points: np.ndarray, q: np.ndarray, counts: np.ndarray, tol_q: float, distance: float):
    """Greedy deduplication: fixed points before slow points, each by increasing q; every point within
    ``distance`` of a kept one is merged into it (its start count added). Returns kept indices and counts."""
    order = np.lexsort((q, q >= tol_q))
    kept: list[int] = []
    merged: list[int] = []
    taken = np.zeros(len(points), bool)
    for i in order:
        if taken[i]:
            continue
        near = ~taken & (np.linalg.norm(points - points[i], axis=1) < distance)
        taken |= near
        kept.append(int(i))
        merged.append(int(counts[near].sum()))
    return np.asarray(kept, int), np.asarray(merged, int)


def _classify(eigenvalues: np.ndarray, tol_marginal: float) -> np.ndarray:
    """Discrete-time classes from the Jacobian eigenvalues ``(K, H)``: "marginal" if any |lambda| is within
    ``tol_marginal`` of 1, else "stable" (all |lambda| < 1), "unstable" (all > 1) or "saddle" (some of each)."""
    modulus = np.abs(eigenvalues)
    kinds = np.where(
        np.all(modulus < 1, axis=1), "stable", np.where(np.all(modulus > 1, axis=1), "unstable", "saddle")
    )
    return np.where(np.any(np.abs(modulus - 1) < tol_marginal, axis=1), "marginal", kinds).astype("<U8")


# ------------------------------------------------------------------------------------------------- public


def _candidates(
    step: Step,
    starts,
    x,
    tol_slow: float,
    scale: float,
    distance: float,
    *,
    n_iter,
    learning_rate,
    tol_q,
    n_newton,
):
    """Adam from every start, merged, Newton-polished, merged again; the points below ``tol_slow``, fixed
    points first: ``(points (K, H), q, n_starts, grad_norm)``."""
    n_state = starts.shape[1]
    minimise = jax.jit(
        lambda h: _minimise(step, h, x, n_iter=n_iter, learning_rate=learning_rate, tol_q=tol_q)
    )
    ends, q_end = (np.asarray(a, float) for a in minimise(starts))
    finite = np.isfinite(q_end) & np.all(np.isfinite(ends), axis=1)
    kept, counts = _merge(ends[finite], q_end[finite], np.ones(int(finite.sum()), int), tol_q, distance)
    points, q = ends[finite][kept], q_end[finite][kept]
    if len(points):
        polish = jax.jit(lambda h: _polish(step, h, x, n_newton=n_newton, max_step=scale))
        points, q, grad_norm = (np.asarray(a, float) for a in polish(jnp.asarray(points, starts.dtype)))
        found = np.isfinite(q) & (q < tol_slow)  # fixed (q < tol_q) or slow; larger q: the run is dropped
        points, q, counts, grad_norm = points[found], q[found], counts[found], grad_norm[found]
        kept, counts = _merge(points, q, counts, tol_q, distance)  # polishing may bring points together
        points, q, grad_norm = points[kept], q[kept], grad_norm[kept]
    else:
        grad_norm = np.zeros(0)
    order = np.lexsort((q, q >= tol_q))
    return points.reshape(-1, n_state)[order], q[order], counts[order], grad_norm[order]


def find_fixed_points(
    step: Step,
    initial_states,
    *,
    inputs=None,
    n_iter: int = 5000,
    learning_rate: float = 1e-2,
    tol_q: float = 1e-8,
    tol_slow: float | None = None,
    tol_unique: float = 1e-2,
    tol_marginal: float = 1e-3,
    n_newton: int = 5,
) -> FixedPoints:
    """Fixed and slow points of ``h -> step(h, x*)`` by minimising q(h) = 0.5 |step(h, x*) - h|^2.

    Method of Sussillo & Barak (2013, Neural Comput. 25:626), with the optimiser of FixedPointFinder (Golub
    & Sussillo 2018, JOSS 3:1003): Adam from every start (vmapped, one ``jax.jit`` program), points freezing
    once q < tol_q, then ``n_newton`` damped Newton steps that polish each deduplicated candidate (kept only
    where they lower q). Points with q < ``tol_q`` are fixed points; points with ``tol_q <= q < tol_slow``
    are slow points, as Sussillo & Barak define them: places where the flow is slow, which need not be
    local minima of q (``grad_norm`` ~ 0 marks an isolated slow point such as the ghost of a saddle-node;
    a larger one a point on a slow manifold, e.g. on the way to a fixed point). Runs that end with a larger
    q are dropped and counted in ``n_unconverged``. Points closer than ``tol_unique`` times the size of the
    start cloud are merged.

    Args:
        step: jittable ``step(h, x) -> h_next``, ``h`` a flat ``(H,)`` float state (an LSTM's is ``[h, c]``),
            ``x`` an ``(I,)`` input; e.g. a trained core's noiseless update.
        initial_states: ``(N, H)`` starts, typically states visited along the agent's trajectories with a
            little noise (``sample_initial_states``). Their spread also sets the merge distance.
        inputs: the constant input ``x*`` ``(I,)`` under which the map is studied (the mean input, or zeros
            for "no input"); ``None``: ``step`` is called with an empty ``(0,)`` array (autonomous maps).
        n_iter: most Adam iterations (5000; FixedPointFinder's default ``max_iters``).
        learning_rate: Adam's (constant) rate, in state units per step (1e-2, a package choice that suits
            O(1) states such as tanh units; scale it with the states).
        tol_q: q below which a point is a fixed point (1e-8, state units squared: |F(h) - h| < 1.4e-4).
        tol_slow: q below which a non-fixed point is kept as a slow point. Default: 1% of the median q at
            the initial states, i.e. a speed |F(h) - h| under a tenth of the typical speed at the visited
            states (never below ``tol_q``).
        tol_unique: merge distance relative to the RMS distance of the starts from their centroid (1e-2).
        tol_marginal: an eigenvalue with ||lambda| - 1| below this makes the point "marginal" (1e-3: a
            direction that decays or grows by less than 0.1% per step, a line/ring-attractor direction).
        n_newton: Newton polishing steps (0 turns polishing off).

    Returns:
        ``FixedPoints``: points (K, H), q (K,), grad_norm (K,), kind (K,) in ``KINDS``, eigenvalues (K, H)
        by decreasing modulus, jacobians (K, H, H), n_converged, n_unconverged, is_fixed (K,), n_starts (K,),
        tol_slow, merge_distance. ``K`` may be 0 when no run reaches ``tol_slow``.

    Raises:
        ValueError: non-finite or mis-shaped ``initial_states`` or ``inputs``, a ``step`` that fails on
            them or does not return an ``(H,)`` float state, or a tolerance out of range.
    """
    caller = "find_fixed_points"
    h0 = _as_states(initial_states, caller, "initial_states")
    n_state = h0.shape[1]
    dtype = jnp.result_type(float)
    x = jnp.zeros((0,), dtype) if inputs is None else jnp.asarray(inputs, dtype)
    if x.ndim != 1 or not bool(jnp.all(jnp.isfinite(x))):
        raise ValueError(f"{caller}: inputs must be one finite (I,) input x*, got shape {tuple(x.shape)}")
    _check_options(caller, tol_q, tol_unique, learning_rate, tol_marginal, n_iter, n_newton)
    _check_step(step, n_state, x, caller)

    speed = jax.jit(jax.vmap(lambda h: _speed(step, h, x)))
    starts = jnp.asarray(h0, dtype)
    q_start = np.asarray(speed(starts), float)
    if tol_slow is None:
        tol_slow = max(0.01 * float(np.median(q_start)), tol_q)
    elif not (np.isfinite(tol_slow) and tol_slow >= tol_q):
        raise ValueError(f"{caller}: tol_slow must be >= tol_q ({tol_q}), got {tol_slow}")
    scale = _state_scale(h0)
    distance = float(tol_unique) * scale
    search = dict(n_iter=int(n_iter), learning_rate=float(learning_rate), tol_q=tol_q, n_newton=int(n_newton))

    points, q, counts, grad_norm = _candidates(step, starts, x, tol_slow, scale, distance, **search)
    jacobians, eigenvalues = _linearise(step, points, x)
    is_fixed = q < tol_q
    return FixedPoints(
        points=points,
        q=q,
        grad_norm=grad_norm,
        kind=_classify(eigenvalues, tol_marginal),
        eigenvalues=eigenvalues,
        jacobians=jacobians,
        n_converged=int(counts[is_fixed].sum()),
        n_unconverged=len(h0) - int(counts.sum()),
        is_fixed=is_fixed,
        n_starts=counts,
        tol_slow=float(tol_slow),
        merge_distance=distance,
    )


def sample_initial_states(
    key: jax.Array, states, *, n_samples: int = 256, noise_scale: float = 0.05
) -> np.ndarray:
    """Starts for ``find_fixed_points``: visited states drawn at random, plus Gaussian noise.

    Args:
        key: a ``jax.random`` key.
        states: visited states ``(..., H)`` (e.g. ``(T, H)`` or ``(episodes, T, H)``); non-finite rows
            (padding) are never drawn.
        n_samples: starts to draw (with replacement when there are fewer finite states).
        noise_scale: noise s.d. as a fraction of each unit's s.d. over the visited states (5%, a package
            choice: enough to leave the trajectories, not enough to leave the visited region).

    Returns:
        ``(n_samples, H)`` float array.
    """
    caller = "sample_initial_states"
    arr = np.asarray(states, dtype=float)
    if arr.ndim < 2 or arr.shape[-1] < 1:
        raise ValueError(f"{caller}: states must be (..., H) with H >= 1, got shape {arr.shape}")
    flat = arr.reshape(-1, arr.shape[-1])
    flat = flat[np.all(np.isfinite(flat), axis=1)]
    if len(flat) == 0 or int(n_samples) < 1 or not (np.isfinite(noise_scale) and noise_scale >= 0):
        raise ValueError(
            f"{caller}: need finite states, n_samples >= 1 and noise_scale >= 0; got {len(flat)} finite "
            f"states, n_samples={n_samples}, noise_scale={noise_scale}"
        )
    pick, noise = jax.random.split(key)
    rows = jax.random.choice(pick, len(flat), (int(n_samples),), replace=int(n_samples) > len(flat))
    jitter = np.asarray(jax.random.normal(noise, (int(n_samples), flat.shape[1])), float)
    return flat[np.asarray(rows)] + noise_scale * flat.std(axis=0) * jitter


@jax.jit
def _principal_axes(flat: jax.Array, finite: jax.Array):
    w = finite.astype(flat.dtype)
    data = jnp.where(finite[:, None], flat, 0.0)
    mean = (w @ data) / jnp.sum(w)
    centred = (data - mean) * w[:, None]
    variances, axes = jnp.linalg.eigh(centred.T @ centred / (jnp.sum(w) - 1.0))
    return mean, variances[::-1], axes[:, ::-1].T


def project_trajectories(states, fixed_points=None, *, n_components: int = 3) -> TrajectoryProjection:
    """Principal-component projection of visited states, with fixed points drawn in the same axes.

    The axes are the leading eigenvectors of the covariance of the visited states (the usual picture of
    a recurrent network's dynamics, Sussillo & Barak 2013, Fig. 2); fixed points are projected with the
    same mean and axes, so they sit where the trajectories that approach them go.

    Args:
        states: visited states ``(..., H)`` (e.g. ``(T, H)`` or ``(episodes, T, H)``); rows with any
            non-finite value (padding) are left out of the fit and come back as NaN.
        fixed_points: a ``FixedPoints`` result, or a ``(K, H)`` array of points, or ``None``.
        n_components: principal axes to keep (3, for a 3-D figure), ``1 <= n_components <= H``.

    Returns:
        ``TrajectoryProjection``: trajectories ``(..., n_components)``, fixed_points ``(K, n_components)``,
        components ``(n_components, H)``, mean ``(H,)``, explained_variance_ratio ``(n_components,)``.
    """
    caller = "project_trajectories"
    arr = np.asarray(states, dtype=float)
    if arr.ndim < 2 or arr.shape[-1] < 1:
        raise ValueError(f"{caller}: states must be (..., H) with H >= 1, got shape {arr.shape}")
    n_state = arr.shape[-1]
    flat = arr.reshape(-1, n_state)
    finite = np.all(np.isfinite(flat), axis=1)
    if int(finite.sum()) < 2:
        raise ValueError(
            f"{caller}: need at least 2 finite states to fit principal axes, got {int(finite.sum())}"
        )
    if not 1 <= int(n_components) <= n_state:
        raise ValueError(f"{caller}: n_components must be in 1..{n_state} (H), got {n_components}")
    points = fixed_points.points if isinstance(fixed_points, FixedPoints) else fixed_points
    points = np.zeros((0, n_state)) if points is None else np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != n_state:
        raise ValueError(f"{caller}: fixed_points must be (K, {n_state}) like the states, got {points.shape}")

    mean, variances, axes = (
        np.asarray(a, float) for a in _principal_axes(jnp.asarray(flat), jnp.asarray(finite))
    )
    variances = np.clip(variances, 0.0, None)
    axes = axes[: int(n_components)]
    axes = axes * np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])[:, None]
    total = variances.sum()
    ratio = variances[: int(n_components)] / total if total > 0 else np.zeros(int(n_components))
    projected = np.where(finite[:, None], (np.where(finite[:, None], flat, 0.0) - mean) @ axes.T, np.nan)
    return TrajectoryProjection(
        trajectories=projected.reshape(*arr.shape[:-1], int(n_components)),
        fixed_points=(points - mean) @ axes.T,
        components=axes,
        mean=mean,
        explained_variance_ratio=ratio,
    )
