"""Stage 3 of a fit: the random-motion baseline by exact maximum likelihood
(:mod:`~neuroethology.fitting.random_motion_fit`) and, unless ``model="ou"``, ``num_seeds`` recurrent agents
by maximum likelihood of the animal's actions (:mod:`~neuroethology.fitting.behaviour`), each kept at its
best validation likelihood. The model is the seed with the best validation likelihood (``select=
"likelihood"``) or, by default (``select="closed_loop"``), the seed whose free simulation best matches the
*training* data (the smallest largest KS statistic of :func:`~neuroethology.fitting.closed_loop.
closed_loop_check`; a posterior predictive check that never sees the held-out data)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
import xarray as xr

from .. import envs as ne
from ..envs.open_field import OpenFieldParams
from .behaviour import ProgressStore, fit_agent
from .closed_loop import closed_loop_check, movement_samples
from .config import FitConfig, FittedModel
from .random_motion_fit import fit_random_motion
from .reconstruct import Demonstration
from .targets import target_space, to_targets

__all__ = ["FitParts", "Fitted", "fit_models"]


class FitParts(NamedTuple):
    """What stage 2 reconstructed from the training part of a recording, once."""

    train: xr.Dataset  # the training part (closed-loop selection compares simulations with it)
    demo_train: Demonstration
    windows_train: np.ndarray  # the baseline's likelihood windows of the training part
    demo_fit: Demonstration  # the training part minus the validation block
    demo_val: Demonstration  # the validation block (early stopping)


class Fitted(NamedTuple):
    model: FittedModel
    scores: dict[str, Any]  # selection: the seed, its updates and the closed-loop checks
    curves: dict[str, np.ndarray]  # training curves of every seed


def _select(config, params, baseline, fitted, parts: FitParts, key, say) -> tuple[int, dict[str, Any]]:
    """The kept seed and, for closed-loop selection, every seed's check."""
    if config.select != "closed_loop" or config.num_seeds == 1:  # one seed: nothing to choose
        return fitted.best, {}
    say(f"selection: simulating each of the {config.num_seeds} networks freely in the arena")
    train_samples = movement_samples(parts.train)
    checks = [
        closed_loop_check(
            FittedModel(config.model, params, baseline, fitted.graphdef, fitted.seed_weights(i), config.warp),
            parts.train,
            runs=config.selection_runs,
            key=jax.random.fold_in(key, 7),
            reference_samples=train_samples,
        )
        for i in range(config.num_seeds)
    ]
    return int(np.argmin([max(c.values()) for c in checks])), {"closed_loop_check_on_training_data": checks}


def fit_models(
    parts: FitParts,
    params: OpenFieldParams,
    config: FitConfig,
    key: jax.Array,
    say: Callable[[str], None],
    progress: Callable[[int, np.ndarray, np.ndarray | None], None] | None,
    store: ProgressStore | None = None,
) -> Fitted:
    """The baseline and (unless ``model="ou"``) the selected network (see the module docstring); ``store``
    keeps the networks' fit resumable (:class:`~neuroethology.fitting.behaviour.ProgressStore`)."""
    say(
        f"baseline: fitting RatInABox's random-motion model to {parts.demo_train.num_steps} steps by maximum "
        "likelihood"
    )
    baseline = fit_random_motion(parts.windows_train, params).params
    if config.model == "ou":
        return Fitted(FittedModel("ou", params, baseline), {}, {})
    say(
        f"{config.model.upper()}: fitting {config.num_seeds} networks of {config.hidden_size} units to "
        f"{parts.demo_fit.num_steps} steps ({parts.demo_val.num_steps} for early stopping), "
        f"{config.total_steps} updates"
    )
    fitted = fit_agent(
        to_targets(parts.demo_fit, params, config.warp),
        ne.OpenField().observation_space(params),
        target_space(params, config.warp),
        agent_config=config.agent_config,
        config=config.cloning(params),
        num_updates=config.total_steps,
        key=key,
        num_seeds=config.num_seeds,
        dt=float(params.dt),
        validation=to_targets(parts.demo_val, params, config.warp),
        patience=config.patience,
        progress=progress,
        store=store,
    )
    chosen, scores = _select(config, params, baseline, fitted, parts, key, say)
    scores.update(selected_seed=int(chosen), updates_of_selected_seed=int(fitted.best_update[chosen]))
    weights = fitted.seed_weights(chosen)
    model = FittedModel(config.model, params, baseline, fitted.graphdef, weights, config.warp)
    return Fitted(model, scores, {"train_nll": fitted.train_nll, "validation_ll": fitted.validation_ll})
