"""Exact inference in a discrete hidden Markov model: forward filtering, forward-backward smoothing and
Viterbi decoding, in log space with ``jax.lax.scan``.

Many independent sequences are given as one array of steps with a flag ``first`` that marks each
sequence's first step: there the state is drawn from the initial distribution whatever came before, so the
likelihood, posteriors and most likely path factorise exactly into the sequences'. This keeps every call
one scan over a fixed length: callers pad to a bucketed length with one-step sequences (``first`` True)
whose log emissions are 0, which add nothing to the log-likelihood (log sum of the initial distribution
= 0) and leave the real steps untouched, so inputs of similar sizes share one compilation. A missing
observation is a log emission of 0 (probability 1) in every state. Everything is vmappable (e.g. over EM
restarts) and jitted.

The recursions are the textbook ones (Rabiner 1989, Proc IEEE 77:257, with the scaled forward variables
kept as log probabilities; Murphy 2012, "Machine Learning", ch. 17.4): the forward pass carries the
filtered distribution ``log p(z_t | x_s..t)`` and the one-step log normalisers ``log p(x_t | x_s..t-1)``
(their sum is the log-likelihood), the backward pass carries the scaled backward messages, and every sum
of probabilities is a ``logsumexp``, so nothing underflows however long the sequence. Viterbi is
max-product with back-pointers, its scores shifted by their maximum at each step (the path is unchanged)
to keep float32 precision over long sequences.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.nn import logsumexp
from jax.typing import ArrayLike

__all__ = ["Filtered", "Posterior", "forward_filter", "forward_backward", "viterbi"]


class Filtered(NamedTuple):
    """What :func:`forward_filter` returns."""

    log_filtered: jax.Array  # (T, K) log p(z_t | x from the sequence's start to t)
    log_normalisers: jax.Array  # (T,) log p(x_t | x from the sequence's start to t-1), nats
    log_likelihood: jax.Array  # () sum of the normalisers: every sequence's log p(x), nats


class Posterior(NamedTuple):
    """What :func:`forward_backward` returns."""

    filtered: jax.Array  # (T, K) p(z_t | x from the sequence's start to t)
    smoothed: jax.Array  # (T, K) p(z_t | x of the whole sequence); rows sum to 1
    transition_counts: jax.Array  # (K, K) sum over t of p(z_t = i, z_t+1 = j | x), within sequences only
    log_normalisers: jax.Array  # (T,) as in Filtered
    log_likelihood: jax.Array  # () as in Filtered


def _first_flags(first: ArrayLike, n_steps: int) -> jax.Array:
    """``first`` as booleans, with step 0 always a sequence start."""
    first = jnp.asarray(first, bool)
    if first.shape != (n_steps,):
        raise ValueError(f"first must have shape ({n_steps},) like log_emissions' steps, got {first.shape}")
    return first.at[0].set(True)


def _check(log_initial, log_transition, log_emissions) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The model as float arrays, shapes checked: ``(K,)``, ``(K, K)``, ``(T, K)`` with ``T >= 1``."""
    log_initial, log_transition, log_emissions = (
        jnp.asarray(v, jnp.result_type(float)) for v in (log_initial, log_transition, log_emissions)
    )
    k = log_initial.shape[-1] if log_initial.ndim == 1 else -1
    if log_initial.ndim != 1 or log_transition.shape != (k, k) or log_emissions.ndim != 2:
        raise ValueError(
            "expected log_initial (K,), log_transition (K, K) and log_emissions (T, K), got shapes "
            f"{log_initial.shape}, {log_transition.shape} and {log_emissions.shape}"
        )
    if log_emissions.shape[1] != k or log_emissions.shape[0] < 1:
        raise ValueError(f"log_emissions must be (T >= 1, {k}), got {log_emissions.shape}")
    return log_initial, log_transition, log_emissions


@jax.jit
def forward_filter(
    log_initial: ArrayLike, log_transition: ArrayLike, log_emissions: ArrayLike, first: ArrayLike
) -> Filtered:
    """Forward pass: filtered state distributions and the log-likelihood.

    Args:
        log_initial: ``(K,)`` log p(z at a sequence's first step).
        log_transition: ``(K, K)`` log p(z_t+1 = j | z_t = i) in row ``i``, column ``j``.
        log_emissions: ``(T, K)`` log p(x_t | z_t = k); 0 for a missing observation.
        first: ``(T,)`` True where a sequence starts (step 0 always does).

    Returns:
        :class:`Filtered`.
    """
    log_initial, log_transition, log_emissions = _check(log_initial, log_transition, log_emissions)
    first = _first_flags(first, log_emissions.shape[0])

    def step(log_filtered, inputs):
        log_e, is_first = inputs
        log_predicted = jnp.where(
            is_first, log_initial, logsumexp(log_filtered[:, None] + log_transition, axis=0)
        )
        log_joint = log_predicted + log_e
        log_norm = logsumexp(log_joint)
        return log_joint - log_norm, (log_joint - log_norm, log_norm)

    init = jnp.zeros_like(log_emissions[0]) + log_initial  # batched whenever an input is (vmap)
    _, (log_filtered, log_norms) = jax.lax.scan(step, init, (log_emissions, first))
    return Filtered(log_filtered, log_norms, log_norms.sum())


@jax.jit
def forward_backward(
    log_initial: ArrayLike, log_transition: ArrayLike, log_emissions: ArrayLike, first: ArrayLike
) -> Posterior:
    """Smoothed state posteriors and expected transition counts (the E-step of Baum-Welch).

    Args: as :func:`forward_filter`.

    Returns:
        :class:`Posterior`. ``transition_counts[i, j]`` sums ``p(z_t = i, z_t+1 = j | x)`` over the pairs of
        consecutive steps of one sequence (none across a sequence start).
    """
    log_initial, log_transition, log_emissions = _check(log_initial, log_transition, log_emissions)
    first = _first_flags(first, log_emissions.shape[0])
    fwd = forward_filter(log_initial, log_transition, log_emissions, first)

    def step(carry, inputs):
        # Scaled backward message of step t+1 in, of step t out: log p(x_t+1.. | z_t) minus the normalisers
        # from t+1 to the sequence's end. At a sequence start (t+1 first) the future is independent of z_t: 0.
        log_beta_next, counts = carry
        log_filtered, log_e_next, log_norm_next, next_is_first = inputs
        future = log_e_next + log_beta_next - log_norm_next  # (K,) over z_t+1
        log_pair = log_filtered[:, None] + log_transition + future[None, :]  # (K, K): log p(z_t, z_t+1 | x)
        log_beta = jnp.where(next_is_first, 0.0, logsumexp(log_transition + future[None, :], axis=1))
        counts = counts + jnp.where(next_is_first, 0.0, jnp.exp(log_pair))
        return (log_beta, counts), log_beta

    last = jnp.zeros_like(log_emissions[0] + log_initial)
    counts0 = jnp.zeros_like(log_transition + last[None, :])
    inputs = (fwd.log_filtered[:-1], log_emissions[1:], fwd.log_normalisers[1:], first[1:])
    (_, counts), log_betas = jax.lax.scan(step, (last, counts0), inputs, reverse=True)
    log_smoothed = fwd.log_filtered + jnp.concatenate([log_betas, last[None, :]])
    # Exactly normalised in exact arithmetic; renormalised so float32 rounding cannot drift the rows.
    log_smoothed = log_smoothed - logsumexp(log_smoothed, axis=1, keepdims=True)
    return Posterior(
        filtered=jnp.exp(fwd.log_filtered),
        smoothed=jnp.exp(log_smoothed),
        transition_counts=counts,
        log_normalisers=fwd.log_normalisers,
        log_likelihood=fwd.log_likelihood,
    )


@jax.jit
def viterbi(
    log_initial: ArrayLike, log_transition: ArrayLike, log_emissions: ArrayLike, first: ArrayLike
) -> jax.Array:
    """The most likely state sequence (max-product with back-pointers), each sequence decoded on its own.

    Args: as :func:`forward_filter`.

    Returns:
        ``(T,)`` int32 state indices; of equally likely states the lowest index is taken (as ``argmax``).
    """
    log_initial, log_transition, log_emissions = _check(log_initial, log_transition, log_emissions)
    first = _first_flags(first, log_emissions.shape[0])

    def forward(delta, inputs):
        log_e, is_first = inputs
        scores = delta[:, None] + log_transition  # (K from, K to)
        best = jnp.where(is_first, log_initial, scores.max(axis=0)) + log_e
        top = best.max()
        best = best - jnp.where(jnp.isfinite(top), top, 0.0)  # same path, bounded scores
        return best, (best, scores.argmax(axis=0))

    init = jnp.zeros_like(log_emissions[0]) + log_initial
    _, (deltas, pointers) = jax.lax.scan(forward, init, (log_emissions, first))

    def backward(state_next, inputs):
        delta, pointer_next, next_is_first = inputs
        state = jnp.where(next_is_first, delta.argmax(), pointer_next[state_next])
        return state, state

    last = deltas[-1].argmax()
    _, states = jax.lax.scan(backward, last, (deltas[:-1], pointers[1:], first[1:]), reverse=True)
    return jnp.concatenate([states, last[None]]).astype(jnp.int32)
