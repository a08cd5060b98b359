"""Animal priors for "task plus data" training: a network fitted to a recorded animal (``neuroethology fit``)
loaded as the policy whose log-likelihood PPO adds to the reward (``TrainConfig.prior``).

It sits above training and fitting (it imports both), so that training needs no fitting code: the command
(or a script) builds the prior and passes it in::

    prior = load_animal_prior(config)       # None when config.prior.weight == 0
    train_run(config, "runs/cov-rat", prior=prior)
"""

from __future__ import annotations

from typing import Any

import jax

from .fitting import load_fitted
from .training.config import TrainConfig, resolve_env_params

__all__ = ["load_animal_prior"]


def _shapes(space: Any) -> Any:
    return jax.tree.map(lambda s: s.shape, space.spaces if hasattr(space, "spaces") else space)


def load_animal_prior(config: TrainConfig) -> Any | None:
    """The fitted network of ``config.prior.run`` as an animal prior for ``config.env`` (an
    :class:`~neuroethology.training.AnimalPrior`), or ``None`` when ``config.prior.weight`` is 0.

    For a run fitted to several animals, ``config.prior.animal`` names whose twin. A ``ValueError`` if the run
    holds no fitted network (the OU baseline), if the animal is missing or unknown, or if the network sees
    other observations, or at another time step, than the environment gives.
    """
    if not config.prior.weight > 0:
        return None
    where = f"prior.run {config.prior.run}"
    model = load_fitted(config.prior.run, animal=config.prior.animal, option="prior.animal=")
    if model.kind == "ou":
        raise ValueError(
            f"{where}: the prior needs a fitted network (gru, lstm or rnn), this run holds the baseline"
        )
    if config.env.id != "neuroethology/OpenField-v0":
        raise ValueError(f"{where}: fitted animal priors act in OpenField, not {config.env.id}")
    env, env_params = resolve_env_params(config.env)
    ours, theirs = env.observation_space(env_params), env.observation_space(model.env_params)
    if _shapes(ours) != _shapes(theirs) or abs(float(env_params.dt) - float(model.env_params.dt)) > 1e-9:
        raise ValueError(
            f"{where}: the fitted network sees {theirs} at dt={float(model.env_params.dt)} s, the environment "
            f"gives {ours} at dt={float(env_params.dt)} s; set env.params (e.g. n_rays, dt) as in the fit"
        )
    return model.policy()
