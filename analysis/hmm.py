"""Movement-ecology states: a hidden Markov model of step length and turning angle.

The model is moveHMM's (Michelot, Langrock & Patterson 2016, Methods Ecol Evol 7:1308; Langrock et al.
2012, Ecology 93:2336): ``N`` behavioural states follow a first-order Markov chain from step to step; in
state ``k`` a step's length is gamma-distributed (mean ``step_mean[k]``, sd ``step_sd[k]``, with a point
mass ``zero_mass[k]`` at exactly 0 m when the data hold zero steps, as moveHMM's zero-mass parameter) and
its turning angle von Mises (mean ``angle_mean[k]``, concentration ``angle_concentration[k]``), independent
of the step length given the state. A missing turning angle (the first step of a run, or next to a zero
step) is a missing emission: it contributes nothing to the likelihood. Each contiguous run (and each
Recording) is its own sequence, started from the initial distribution.

Fitting is maximum likelihood by EM (Baum-Welch) from several random starts, the best kept: forward-
backward in the E-step; in the M-step the transition matrix and initial distribution in closed form, the
gamma shape by Newton's method on the weighted sufficient statistics from Minka's (2002, "Estimating a
gamma distribution") starting value, the von Mises mean in closed form and its concentration from
Banerjee et al.'s (2005, JMLR 6:1345) approximation refined by Newton steps (Sra 2012, Comput Stat 27:177).
States are then put in a canonical order, increasing mean step length, so fits compare across animals,
agents and restarts. moveHMM maximises the same likelihood by direct numerical optimisation.

Inference (forward-backward, Viterbi) is our own, in :mod:`neuroethology.analysis.hmm_inference`: log-space
recursions in ``jax.lax.scan``, run on all sequences at once as one array of steps in which a flag marks
each sequence's first step (the state there is drawn from the initial distribution, so the likelihood
factorises exactly into the sequences'), padded to a bucketed length with one-step sequences of zero log
emission (which change neither the likelihood, the posteriors nor the Viterbi path of the real steps), so
fits of similar sizes share one compilation; the EM restarts are vmapped.

dynamax (the JAX state-space library) was evaluated first and dropped (November 2026, Python 3.11, JAX
0.10): ``pip install dynamax`` resolved 1.0.3 without changing any installed package and its HMM inference
agreed numerically with a float64 NumPy forward algorithm and Viterbi, but it requires ``tfp-nightly``
with no version pin (an unpinned nightly build in our dependency tree; 0.26.0.dev20261027 resolved), pulls
24 packages including, through ``fastprogress``, a web framework (python-fasthtml, starlette, uvicorn,
websockets), raises a DeprecationWarning on import under JAX 0.10 (TFP reads
``jax.core.pytype_aval_mappings``), and its import sets JAX's process-wide ``jax_default_matmul_precision``.
The recursions here fit in one short module, use no matrix products (so GPUs' reduced-precision matmul default
cannot touch them) and are tested against brute-force enumeration and a float64 NumPy reference
(tests/unit/analysis/test_hmm.py).

The chain is in steps, not seconds: the model assumes one sampling interval, as moveHMM does, so
:func:`fit_movement_hmm` refuses steps whose ``dt`` differs from the median by more than ``dt_tolerance``
unless told otherwise. Computation is float32 (JAX's default); ``tol`` is therefore per step, and the
reported log-likelihood is the float64 sum of the float32 per-step terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.scipy.special import digamma, gammaln, i0e, i1e, polygamma

from ..envs.geometry import wrap_angle
from ..problems import ProblemsError
from .fixes import compute_fix_steps
from .hmm_inference import forward_backward, forward_filter, viterbi

__all__ = [
    "MovementHMM",
    "MovementStates",
    "fit_movement_hmm",
    "decode_states",
    "state_probabilities",
    "state_statistics",
    "steps_log_likelihood",
    "movement_states",
]

_PAD = 512  # sequences are padded to a multiple of this many steps (one compilation per bucket)
_TINY = 1e-12


class MovementHMM(NamedTuple):
    """A fitted movement HMM; states in canonical order (increasing ``step_mean``). Arrays are ``(n_states,)``
    unless stated."""

    step_mean: np.ndarray  # m, gamma mean of the non-zero step lengths
    step_sd: np.ndarray  # m, gamma sd
    zero_mass: np.ndarray  # probability of a step of exactly 0 m (all 0 when the data have none)
    angle_mean: np.ndarray  # rad in (-pi, pi], von Mises mean of the turning angle
    angle_concentration: np.ndarray  # von Mises kappa (0: uniform)
    transition: np.ndarray  # (n_states, n_states): P(state j at step t+1 | state i at step t), rows sum to 1
    initial: np.ndarray  # P(state at the first step of a run)
    log_likelihood: float  # nats, of the steps given these parameters
    n_parameters: int
    n_steps: int
    aic: float  # -2 log L + 2 n_parameters
    bic: float  # -2 log L + n_parameters log n_steps
    n_iter: int  # EM iterations of the best restart
    converged: bool  # the best restart met tol before max_iter
    restart_log_likelihoods: np.ndarray  # (n_restarts,) final log L of every restart (a spread: local optima)

    @property
    def n_states(self) -> int:
        return int(self.step_mean.size)


class MovementStates(NamedTuple):
    """What :func:`movement_states` returns for one track."""

    model: MovementHMM
    steps: (
        xr.Dataset
    )  # compute_fix_steps' Dataset plus `state` (Viterbi) and `state_probability` (step, state)
    statistics: xr.Dataset  # state_statistics


# -- the model in JAX -----------------------------------------------------------------------------------


class _Params(NamedTuple):
    shape: jax.Array  # (K,) gamma shape
    rate: jax.Array  # (K,) gamma rate, 1/m
    zero: jax.Array  # (K,) zero mass
    mu: jax.Array  # (K,) von Mises mean
    kappa: jax.Array  # (K,) von Mises concentration
    A: jax.Array  # (K, K)
    pi0: jax.Array  # (K,)


class _Data(NamedTuple):
    x: jax.Array  # (T,) step length, 1 where zero or padding
    is_zero: jax.Array  # (T,) step of exactly 0 m
    angle: jax.Array  # (T,) turning angle, 0 where missing
    has_angle: jax.Array  # (T,)
    first: jax.Array  # (T,) first step of a sequence
    real: jax.Array  # (T,) False on padding


def _log_emissions(p: _Params, d: _Data) -> jax.Array:
    """``(T, K)`` log p(step length, turning angle | state); 0 for missing parts and padding."""
    x = d.x[:, None]
    log_gamma = p.shape * jnp.log(p.rate) - gammaln(p.shape) + (p.shape - 1) * jnp.log(x) - p.rate * x
    step = jnp.where(d.is_zero[:, None], jnp.log(p.zero), jnp.log1p(-p.zero) + log_gamma)
    log_vm = (
        p.kappa * jnp.cos(d.angle[:, None] - p.mu) - math.log(2 * math.pi) - jnp.log(i0e(p.kappa)) - p.kappa
    )
    turn = jnp.where(d.has_angle[:, None], log_vm, 0.0)
    return jnp.where(d.real[:, None], step + turn, 0.0)


def _log_model(p: _Params) -> tuple[jax.Array, jax.Array]:
    """Log initial distribution and log transition matrix (-inf where a probability is 0)."""
    return jnp.log(p.pi0), jnp.log(p.A)


def _gamma_shape(s: jax.Array) -> jax.Array:
    """Gamma shape ``a`` solving ``log a - digamma(a) = s`` (s = log mean - mean log > 0): Minka's start, then
    Newton."""
    s = jnp.clip(s, 1e-6, 50.0)
    a = (3 - s + jnp.sqrt((s - 3) ** 2 + 24 * s)) / (12 * s)
    for _ in range(6):
        f = jnp.log(a) - digamma(a) - s
        a = jnp.maximum(a - f / (1 / a - polygamma(1, a)), 1e-3)
    return a


def _vm_kappa(r: jax.Array) -> jax.Array:
    """von Mises concentration with ``I1(k) / I0(k) = r``: Banerjee's approximation, then Newton (Sra)."""
    r = jnp.clip(r, 1e-6, 1 - 1e-6)
    k = r * (2 - r**2) / (1 - r**2)
    for _ in range(4):
        ak = i1e(k) / i0e(k)
        k = jnp.clip(k - (ak - r) / (1 - ak**2 - ak / k), 1e-6, 1e5)
    return k


def _m_emissions(w: jax.Array, d: _Data, has_zeros: jax.Array) -> tuple[jax.Array, ...]:
    """Weighted maximum-likelihood emission parameters from state weights ``w (T, K)``."""
    total = jnp.maximum(w.sum(0), _TINY)
    zero = jnp.where(has_zeros, (w * d.is_zero[:, None]).sum(0) / total, 0.0)
    zero = jnp.clip(zero, 0.0, 1 - 1e-6)
    wp = w * (~d.is_zero)[:, None]
    wsum = jnp.maximum(wp.sum(0), _TINY)
    mean = jnp.maximum((wp * d.x[:, None]).sum(0) / wsum, _TINY)
    mean_log = (wp * jnp.log(d.x)[:, None]).sum(0) / wsum
    shape = _gamma_shape(jnp.log(mean) - mean_log)
    wa = w * d.has_angle[:, None]
    c = (wa * jnp.cos(d.angle)[:, None]).sum(0)
    s = (wa * jnp.sin(d.angle)[:, None]).sum(0)
    kappa = _vm_kappa(jnp.hypot(c, s) / jnp.maximum(wa.sum(0), _TINY))
    return shape, shape / mean, zero, jnp.arctan2(s, c), kappa


def _em_step(p: _Params, d: _Data, has_zeros: jax.Array) -> tuple[_Params, jax.Array]:
    """One EM iteration: the new parameters and the log-likelihood of the old ones."""
    post = forward_backward(*_log_model(p), _log_emissions(p, d), d.first)
    w = jnp.where(d.real[:, None], post.smoothed, 0.0)
    counts = post.transition_counts + _TINY  # pairs within sequences only (padding steps are starts)
    starts = (w * d.first[:, None]).sum(0) + _TINY
    new = _Params(
        *_m_emissions(w, d, has_zeros), counts / counts.sum(1, keepdims=True), starts / starts.sum()
    )
    return new, post.log_likelihood


def _fit_one(p0: _Params, d: _Data, has_zeros, max_iter, tol):
    """EM from ``p0`` until the log-likelihood gains less than ``tol`` per real step, or ``max_iter``.
    Returns the parameters, their per-step log normalisers (summing to the log-likelihood), the
    iterations and whether ``tol`` was met."""
    n = d.real.sum()

    def more(c):
        _, ll_old, ll, it = c
        return (it < max_iter) & ~(jnp.abs(ll - ll_old) < tol * n)

    def body(c):
        p, _, ll, it = c
        new, ll_p = _em_step(p, d, has_zeros)  # ll_p: of p, the parameters before this M-step
        return new, ll, ll_p, it + 1

    init = (p0, jnp.array(jnp.inf), jnp.array(-jnp.inf), jnp.array(0))
    p, ll_old, ll, it = jax.lax.while_loop(more, body, init)
    final = forward_filter(*_log_model(p), _log_emissions(p, d), d.first)
    return p, final.log_normalisers, it, jnp.abs(ll - ll_old) < tol * n


def _init_params(key: jax.Array, d: _Data, k: int, has_zeros, spread: jax.Array) -> _Params:
    """Start values: steps split into ``k`` classes of length at random quantile cuts (evenly spaced when
    ``spread`` is 0), the classes' emission estimates, sticky transitions, uniform initial distribution."""
    ok = d.real & ~d.is_zero
    levels = (jnp.arange(1, k) / k) * (1 - spread) + spread * jnp.sort(jax.random.uniform(key, (k - 1,)))
    sorted_x = jnp.sort(jnp.where(ok, d.x, jnp.inf))
    n = ok.sum()
    cuts = sorted_x[jnp.clip((levels * n).astype(jnp.int32), 0, d.x.size - 1)]
    label = jnp.where(d.is_zero, 0, jnp.searchsorted(cuts, d.x))  # zero steps: the shortest class
    w = jax.nn.one_hot(label, k) * d.real[:, None]
    stay = 0.9 if k > 1 else 1.0
    A = jnp.full((k, k), (1 - stay) / max(k - 1, 1)) + (stay - (1 - stay) / max(k - 1, 1)) * jnp.eye(k)
    shape, rate, zero, mu, kappa = _m_emissions(w, d, has_zeros)
    # A zero mass of exactly 0 would stay 0 under EM (that state could never explain a zero step): start
    # every state with some.
    zero = jnp.where(has_zeros, jnp.maximum(zero, 1e-2), 0.0)
    return _Params(shape, rate, zero, mu, kappa, A, jnp.full((k,), 1.0 / k))


@partial(jax.jit, static_argnames=("k",))
def _fit_restarts(keys, spreads, d: _Data, has_zeros, max_iter, tol, k: int):
    """Every restart's EM, vmapped: start ``r`` cuts the step lengths at quantiles spread ``spreads[r]``."""
    starts = jax.vmap(lambda key, s: _init_params(key, d, k, has_zeros, s))(keys, spreads)
    return jax.vmap(lambda p0: _fit_one(p0, d, has_zeros, max_iter, tol))(starts)


# -- steps in, results out ------------------------------------------------------------------------------


def _as_list(steps, caller: str) -> list[xr.Dataset]:
    """The steps Datasets given (one or a sequence), validated: every problem in one error."""
    items = [steps] if isinstance(steps, xr.Dataset) else list(steps) if isinstance(steps, Sequence) else None
    if not items:
        raise ValueError(
            f"{caller}: give compute_fix_steps' Dataset or a non-empty sequence of them, got {steps!r}"
        )
    problems = []
    for i, ds in enumerate(items):
        name = f"steps[{i}]" if len(items) > 1 else "steps"
        if not isinstance(ds, xr.Dataset):
            problems.append(
                f"{name} must be an xarray.Dataset from compute_fix_steps, got {type(ds).__name__}"
            )
            continue
        missing = [v for v in ("step_length", "turning_angle", "dt", "run") if v not in ds.variables]
        if missing or ds.sizes.get("step") is None:
            problems.append(f"{name} lacks {missing or 'the step dim'} (compute_fix_steps makes them)")
            continue
        x = np.asarray(ds["step_length"].values, float)
        bad = ~np.isfinite(x) | (x < 0)
        if bad.any():
            problems.append(f"{name}: {int(bad.sum())} step lengths are NaN, infinite or negative")
        a = np.asarray(ds["turning_angle"].values, float)
        if (np.isfinite(a) & (np.abs(a) > np.pi + 1e-9)).any() or np.isinf(a).any():
            problems.append(f"{name}: turning angles must be radians in (-pi, pi] or NaN (missing)")
    if problems:
        raise ProblemsError(caller, problems, what="got steps it cannot use")
    return items


def _pack(items: list[xr.Dataset]) -> tuple[_Data, int]:
    """All sequences as one padded chain (see the module docstring) and the number of real steps."""
    x = np.concatenate([np.asarray(ds["step_length"].values, float) for ds in items])
    angle = np.concatenate([np.asarray(ds["turning_angle"].values, float) for ds in items])
    first = np.concatenate([_run_starts(ds) for ds in items])
    n = x.size
    size = max(_PAD, -(-n // _PAD) * _PAD)
    pad = lambda v, fill: np.concatenate([v, np.full(size - n, fill, dtype=v.dtype)])  # noqa: E731
    data = _Data(
        x=jnp.asarray(pad(np.where(x > 0, x, 1.0), 1.0), jnp.float32),
        is_zero=jnp.asarray(pad(x == 0, False)),
        angle=jnp.asarray(pad(np.nan_to_num(angle), 0.0), jnp.float32),
        has_angle=jnp.asarray(pad(np.isfinite(angle), False)),
        first=jnp.asarray(pad(first, True)),
        real=jnp.asarray(pad(np.ones(n, bool), False)),
    )
    return data, n


def _run_starts(ds: xr.Dataset) -> np.ndarray:
    run = np.asarray(ds["run"].values)
    first = np.ones(run.shape, bool)
    first[1:] = run[1:] != run[:-1]
    return first


def _check_dt(items: list[xr.Dataset], dt_tolerance: float | None, caller: str) -> None:
    """Refuse steps of different durations: the chain counts steps, not seconds."""
    if dt_tolerance is None:
        return
    dt = np.concatenate([np.asarray(ds["dt"].values, float) for ds in items])
    if dt.size == 0:
        return
    med = float(np.median(dt))
    off = np.abs(dt / med - 1) > dt_tolerance
    if off.any():
        raise ValueError(
            f"{caller}: {int(off.sum())} of {dt.size} steps last more than {dt_tolerance:.0%} longer or shorter "
            f"than the median interval {med:g} s (range {dt.min():g}-{dt.max():g} s); the HMM's states are per "
            "step and assume one sampling interval (as moveHMM does). Fit steps of one interval (select them "
            "by dt), or pass dt_tolerance=None to fit anyway"
        )


def _n_parameters(k: int, has_zeros: bool) -> int:
    """Gamma mean and sd, von Mises mean and kappa (and the zero mass) per state, A's free entries, pi0's."""
    return k * (4 + int(has_zeros)) + k * (k - 1) + (k - 1)


def _canonical(p: _Params) -> _Params:
    """The parameters (as NumPy) with states sorted by increasing mean step length."""
    order = np.argsort(np.asarray(p.shape / p.rate), kind="stable")
    per = [np.asarray(v)[order] for v in (p.shape, p.rate, p.zero, p.mu, p.kappa)]
    return _Params(*per, np.asarray(p.A)[np.ix_(order, order)], np.asarray(p.pi0)[order])


def _to_params(model: MovementHMM) -> _Params:
    shape = (np.asarray(model.step_mean, float) / np.asarray(model.step_sd, float)) ** 2
    m = model
    values = (
        shape,
        shape / m.step_mean,
        m.zero_mass,
        m.angle_mean,
        m.angle_concentration,
        m.transition,
        m.initial,
    )
    return _Params(*(jnp.asarray(v, jnp.float32) for v in values))


def fit_movement_hmm(
    steps: xr.Dataset | Sequence[xr.Dataset],
    *,
    n_states: int = 2,
    n_restarts: int = 8,
    seed: int = 0,
    max_iter: int = 500,
    tol: float = 1e-6,
    dt_tolerance: float | None = 0.1,
) -> MovementHMM:
    """Fit a gamma / von Mises hidden Markov model of step length and turning angle (moveHMM's model).

    Args:
        steps: :func:`~neuroethology.analysis.compute_fix_steps` of one track, or a sequence of them (several
            animals, agents or sessions, fitted as one population; each run of each is its own sequence).
        n_states: number of behavioural states.
        n_restarts: EM starts (the first from evenly spaced step-length quantiles, the others from random
            ones); the best log-likelihood is kept and all are reported in ``restart_log_likelihoods``.
        seed: of the random starts.
        max_iter: EM iterations at most per start.
        tol: stop when the log-likelihood changes by less than this per step (nats; float32 arithmetic).
        dt_tolerance: refuse steps whose interval differs from the median by more than this fraction
            (``None``: accept any).

    Returns:
        :class:`MovementHMM`, states in order of increasing mean step length. Zero step lengths are
        modelled by a zero mass per state (as moveHMM's ``zeroInflation``) only when some are present.
    """
    caller = "fit_movement_hmm"
    if not (isinstance(n_states, int | np.integer) and n_states >= 1):
        raise ValueError(f"{caller}: n_states must be an integer >= 1, got {n_states!r}")
    if not (isinstance(n_restarts, int | np.integer) and n_restarts >= 1 and max_iter >= 1 and tol > 0):
        raise ValueError(
            f"{caller}: n_restarts and max_iter must be >= 1 and tol > 0, got {n_restarts}, {max_iter}, {tol}"
        )
    items = _as_list(steps, caller)
    _check_dt(items, dt_tolerance, caller)
    data, n = _pack(items)
    has_zeros = bool(np.asarray(data.is_zero).any())
    k = int(n_states)
    n_par = _n_parameters(k, has_zeros)
    n_positive = int(np.asarray(data.real & ~data.is_zero).sum())
    if n <= n_par or n_positive < 2 * k:
        raise ValueError(
            f"{caller}: {n} steps ({n_positive} of non-zero length) are too few for {k} states "
            f"({n_par} parameters); need more steps than parameters and 2 non-zero steps per state"
        )
    keys = jax.random.split(jax.random.key(seed), n_restarts)
    spreads = jnp.asarray([0.0] + [1.0] * (n_restarts - 1), jnp.float32)
    p, log_norms, it, conv = _fit_restarts(keys, spreads, data, has_zeros, int(max_iter), float(tol), k=k)
    ll = np.asarray(log_norms, np.float64).sum(axis=1)  # float64 sum of float32 terms (padding adds 0)
    if not np.isfinite(ll).any():
        raise ValueError(f"{caller}: every EM start ended with a non-finite likelihood ({n} steps)")
    best = int(np.nanargmax(np.where(np.isfinite(ll), ll, -np.inf)))
    q = _canonical(jax.tree.map(lambda v: v[best], p))
    mean = q.shape / q.rate
    return MovementHMM(
        step_mean=mean.astype(float),
        step_sd=(np.sqrt(q.shape) / q.rate).astype(float),
        zero_mass=q.zero.astype(float),
        angle_mean=wrap_angle(q.mu.astype(float), closed="above"),
        angle_concentration=q.kappa.astype(float),
        transition=q.A.astype(float),
        initial=q.pi0.astype(float),
        log_likelihood=float(ll[best]),
        n_parameters=n_par,
        n_steps=n,
        aic=-2 * float(ll[best]) + 2 * n_par,
        bic=-2 * float(ll[best]) + n_par * math.log(n),
        n_iter=int(np.asarray(it)[best]),
        converged=bool(np.asarray(conv)[best]),
        restart_log_likelihoods=ll,
    )


def _inputs(model, steps, caller: str) -> tuple[list[xr.Dataset], _Data, int, _Params]:
    """Validated steps Datasets, packed, and the model's parameters in JAX."""
    if not isinstance(model, MovementHMM):
        raise ValueError(
            f"{caller}: model must be a MovementHMM from fit_movement_hmm, got {type(model).__name__}"
        )
    items = _as_list(steps, caller)
    data, n = _pack(items)
    return items, data, n, _to_params(model)


def _per_dataset(values: np.ndarray, items: list[xr.Dataset], steps, dims: tuple[str, ...], **kw):
    """One DataArray per steps Dataset (with its coords) from values over the concatenated steps; a single
    one when ``steps`` was a single Dataset."""
    bounds = np.cumsum([0] + [ds.sizes["step"] for ds in items])
    extra = {"state": np.arange(values.shape[1])} if "state" in dims else {}
    out = [
        xr.DataArray(
            values[a:b],
            dims=dims,
            coords={**{k: c for k, c in ds.coords.items() if "step" in c.dims or c.ndim == 0}, **extra},
            **kw,
        )
        for a, b, ds in zip(bounds[:-1], bounds[1:], items, strict=True)
    ]
    return out[0] if isinstance(steps, xr.Dataset) else out


@jax.jit
def _decode(p: _Params, d: _Data) -> jax.Array:
    return viterbi(*_log_model(p), _log_emissions(p, d), d.first)


@jax.jit
def _smoothed(p: _Params, d: _Data) -> jax.Array:
    return forward_backward(*_log_model(p), _log_emissions(p, d), d.first).smoothed


def _viterbi(data: _Data, n: int, p: _Params) -> np.ndarray:
    return np.asarray(_decode(p, data))[:n].astype(np.int64)


def decode_states(model: MovementHMM, steps: xr.Dataset | Sequence[xr.Dataset]):
    """The most likely state of every step (Viterbi), each run decoded as its own sequence.

    Returns:
        ``DataArray (step,)`` named ``viterbi_state`` of state indices (0 = shortest mean step), with the
        steps' coords; a list of them for a sequence of steps Datasets.
    """
    items, data, n, p = _inputs(model, steps, "decode_states")
    attrs = {"long_name": "Viterbi state"}
    return _per_dataset(_viterbi(data, n, p), items, steps, ("step",), name="viterbi_state", attrs=attrs)


def state_probabilities(model: MovementHMM, steps: xr.Dataset | Sequence[xr.Dataset]):
    """Posterior probability of each state at each step (forward-backward).

    Returns:
        ``DataArray (step, state)`` (rows sum to 1), with the steps' coords; a list for a sequence.
    """
    items, data, n, p = _inputs(model, steps, "state_probabilities")
    probs = np.asarray(_smoothed(p, data), float)[:n]
    attrs = {"long_name": "posterior state probability"}
    return _per_dataset(probs, items, steps, ("step", "state"), name="state_probability", attrs=attrs)


@jax.jit
def _log_norms(p: _Params, d: _Data) -> jax.Array:
    return forward_filter(*_log_model(p), _log_emissions(p, d), d.first).log_normalisers


def steps_log_likelihood(model: MovementHMM, steps: xr.Dataset | Sequence[xr.Dataset]) -> float:
    """The log-likelihood (nats) of fix steps under a fitted model, each run its own sequence: the quantity
    EM maximised, here for any steps (e.g. an agent's under the animal's model)."""
    _, data, n, p = _inputs(model, steps, "steps_log_likelihood")
    return float(np.asarray(_log_norms(p, data), np.float64)[:n].sum())


def _bouts(state: np.ndarray, first: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal stretches of one state within a run: (state, length in steps, duration in s) of each."""
    start = first | np.r_[True, state[1:] != state[:-1]]
    idx = np.flatnonzero(start)
    lengths = np.diff(np.r_[idx, state.size])
    return state[idx], lengths, np.add.reduceat(dt, idx) if idx.size else np.zeros(0)


def state_statistics(model: MovementHMM, steps: xr.Dataset | Sequence[xr.Dataset]) -> xr.Dataset:
    """Per-state summary of the Viterbi states of ``steps`` (several Datasets pooled).

    Returns:
        ``Dataset (state,)``: ``fraction_of_steps``; ``fraction_of_time`` (weighted by each step's ``dt``);
        ``mean_step_length`` (m, of the steps decoded in the state); ``mean_dwell_steps`` and
        ``mean_dwell_time`` (s): the mean bout, a bout being a maximal stretch of one state within a run
        (bouts cut by the end of a run count at their observed length, a lower bound); ``n_bouts``; and the
        model's ``expected_dwell_steps`` ``1 / (1 - transition[k, k])`` (geometric dwell).
    """
    items, data, n, p = _inputs(model, steps, "state_statistics")
    state = _viterbi(data, n, p)
    x = np.concatenate([np.asarray(ds["step_length"].values, float) for ds in items])
    dt = np.concatenate([np.asarray(ds["dt"].values, float) for ds in items])
    first = np.concatenate([_run_starts(ds) for ds in items])
    b_state, b_len, b_time = _bouts(state, first, dt)
    k = np.arange(model.n_states)
    per = lambda v, w: np.array([v[w == i].mean() if (w == i).any() else np.nan for i in k])  # noqa: E731
    count = np.array([(state == i).sum() for i in k])
    with np.errstate(divide="ignore"):
        expected = 1.0 / (1.0 - np.diag(model.transition))
    variables = {
        "fraction_of_steps": (count / max(state.size, 1), "1", "fraction of steps"),
        "fraction_of_time": (np.array([dt[state == i].sum() for i in k]) / dt.sum(), "1", "fraction of time"),
        "mean_step_length": (per(x, state), "m", "mean step length"),
        "mean_dwell_steps": (per(b_len.astype(float), b_state), "steps", "mean bout length"),
        "mean_dwell_time": (per(b_time, b_state), "s", "mean bout duration"),
        "n_bouts": (np.array([(b_state == i).sum() for i in k]), "1", "number of bouts"),
        "expected_dwell_steps": (expected, "steps", "model's expected bout length 1 / (1 - p_kk)"),
    }
    return xr.Dataset(
        {name: ("state", v, {"units": u, "long_name": ln}) for name, (v, u, ln) in variables.items()},
        coords={"state": k},
    )


def movement_states(
    rec: xr.Dataset,
    *,
    n_states: int = 2,
    individual=None,
    keypoint=None,
    n_restarts: int = 8,
    seed: int = 0,
    max_iter: int = 500,
    tol: float = 1e-6,
    dt_tolerance: float | None = 0.1,
) -> MovementStates:
    """Behavioural states of one track in one call: :func:`compute_fix_steps`, :func:`fit_movement_hmm`,
    :func:`decode_states`, :func:`state_probabilities` and :func:`state_statistics`. Runs alike on a
    recorded animal and a simulated agent, so their states (e.g. encamped / exploratory, searching /
    travelling) compare parameter by parameter.

    Returns:
        :class:`MovementStates` ``(model, steps, statistics)``; ``steps`` is the fix-step Dataset with the
        ``viterbi_state (step)`` and the posterior ``state_probability (step, state)`` added (``state``, the
        dim of the probabilities and of ``statistics``, is the state index 0, 1, ...).
    """
    steps = compute_fix_steps(rec, individual=individual, keypoint=keypoint)
    model = fit_movement_hmm(
        steps,
        n_states=n_states,
        n_restarts=n_restarts,
        seed=seed,
        max_iter=max_iter,
        tol=tol,
        dt_tolerance=dt_tolerance,
    )
    labelled = steps.assign(
        viterbi_state=decode_states(model, steps), state_probability=state_probabilities(model, steps)
    )
    return MovementStates(model, labelled, state_statistics(model, labelled))
