"""The typed training config: what ``configs/<experiment>.yaml`` holds for ``neuroethology train``.

::

    seed: 0                   # first seed; run i uses seed + i
    total_steps: 2000000      # environment steps per run
    num_seeds: 1              # runs trained side by side (vmap)
    env:
      id: neuroethology/OpenField-v0
      params: {reward_type: coverage, episode_duration: 10.0}   # environment parameter overrides
    agent:                    # neuroethology.agents.AgentConfig
      core: {kind: gru, hidden_size: 64}
      encoder: {mlp_features: [64]}
    ppo: {num_envs: 64, num_steps: 128, learning_rate: 3.0e-4}  # neuroethology.training.PPOConfig
    sweep: {param: learning_rate, values: [1.0e-4, 3.0e-4]}     # optional: one hyperparameter axis
    curriculum:               # optional: easier environment parameters early in training
      - {until: 0.3, params: {episode_duration: 2.0}}
    run: {chunk_updates: 10, checkpoint_every: 5}               # the run loop

Runs are ``len(sweep.values) x num_seeds`` (sweep-major), all trained in one compiled function.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from ..agents import AgentConfig
from ..config import load_config
from ..problems import ProblemsError

__all__ = [
    "HYPERPARAMS",
    "PPOConfig",
    "CurriculumStage",
    "PriorConfig",
    "EnvConfig",
    "SweepConfig",
    "RunConfig",
    "TrainConfig",
    "curriculum_env_params",
    "load_train_config",
    "resolve_env_params",
]


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO settings. Defaults follow the continuous-control setting of Schulman et al. 2017 (Table 3) and the
    recommendations of Andrychowicz et al. 2021 (ICLR, "What matters in on-policy RL?")."""

    num_envs: int = 64  # environments stepped in parallel per run
    num_steps: int = 128  # rollout length per update (steps per environment)
    bptt_length: int = 32  # truncated BPTT: training-sequence length in steps; divides num_steps
    update_epochs: int = 4  # passes over each rollout
    num_minibatches: int = 4  # minibatches per epoch; divides num_envs * num_steps / bptt_length
    learning_rate: float = 3e-4  # Adam step size (Schulman et al. 2017)
    anneal_lr: bool = True  # decay the step size linearly to 0 over training
    gamma: float = 0.99  # discount per step
    gae_lambda: float = 0.95  # GAE lambda (Schulman et al. 2016)
    clip_eps: float = 0.2  # probability-ratio clip (Schulman et al. 2017)
    ent_coef: float = 0.0  # entropy bonus weight
    vf_coef: float = 0.5  # value-loss weight
    max_grad_norm: float = 0.5  # global gradient-norm clip
    adam_eps: float = 1e-5  # Adam epsilon (Andrychowicz et al. 2021)
    clip_value_loss: bool = (
        False  # PPO2's clipped value loss (Andrychowicz et al. 2021 find it does not help)
    )
    normalize_advantages: bool = True  # per minibatch
    reward_scale: float = 1.0  # rewards are multiplied by this before GAE
    bootstrap_truncation: bool = True  # bootstrap at time limits instead of treating them as terminal

    @property
    def steps_per_update(self) -> int:
        """Environment steps per update: ``num_envs * num_steps``."""
        return self.num_envs * self.num_steps

    @property
    def num_sequences(self) -> int:
        """Training sequences per update: ``num_envs * num_steps / bptt_length``."""
        return self.num_envs * (self.num_steps // max(self.bptt_length, 1))

    def validate(self, where: str = "ppo") -> list[str]:
        problems = []
        for name in ("num_envs", "num_steps", "bptt_length", "update_epochs", "num_minibatches"):
            if getattr(self, name) < 1:
                problems.append(f"'{where}.{name}' must be >= 1, got {getattr(self, name)}")
        if problems:
            return problems
        if self.num_steps % self.bptt_length:
            problems.append(
                f"'{where}.bptt_length' ({self.bptt_length}) must divide '{where}.num_steps' "
                f"({self.num_steps})"
            )
        elif self.num_sequences % self.num_minibatches:
            problems.append(
                f"'{where}.num_minibatches' ({self.num_minibatches}) must divide the number of "
                f"training sequences num_envs * num_steps / bptt_length = {self.num_sequences}"
            )
        for name in ("learning_rate", "max_grad_norm", "adam_eps", "clip_eps", "reward_scale"):
            if not getattr(self, name) > 0:
                problems.append(f"'{where}.{name}' must be > 0, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                problems.append(f"'{where}.{name}' must be in [0, 1], got {getattr(self, name)}")
        for name in ("ent_coef", "vf_coef"):
            if getattr(self, name) < 0:
                problems.append(f"'{where}.{name}' must be >= 0, got {getattr(self, name)}")
        return problems


HYPERPARAMS = (
    "learning_rate",
    "ent_coef",
    "vf_coef",
    "clip_eps",
    "gamma",
    "gae_lambda",
    "max_grad_norm",
    "reward_scale",
)


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """The environment: a registered id and parameter overrides (checked by ``neuroethology.envs.make``)."""

    id: str = "neuroethology/OpenField-v0"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class CurriculumStage:
    """Environment parameters used early in training: overrides on top of ``env.params`` that apply while
    the fraction of updates done is below ``until``. After the last stage, ``env.params`` (the task) apply.
    Only parameters that are not static (that change no shape or code path) may differ, so the whole
    curriculum runs in one compiled function."""

    until: float = 1.0  # fraction of training (0, 1] up to which this stage applies
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """One hyperparameter axis trained side by side: ``param`` takes each of ``values`` (empty: no sweep)."""

    param: Literal[HYPERPARAMS] | None = None  # type: ignore[valid-type]
    values: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The Python loop around the jitted updates."""

    chunk_updates: int = 10  # updates per jitted call (progress, metrics and checks between calls)
    checkpoint_every: int = 5  # chunks between checkpoints (the last chunk is always checkpointed)
    keep_checkpoints: int = 3  # newest checkpoints kept on disk
    devices: int = 1  # devices to shard runs and environments over; 0 = all local devices
    # Divergence with finite numbers stops the run (training/divergence.py); 1e30 in effect switches one off.
    max_loss: float = 1e8  # |PPO loss| (a healthy run's is of the order of its returns squared)
    max_weight_norm: float = 1e6  # global L2 norm of the weights (shipped configs start at 10-100)
    max_entropy_change: float = 5.0  # nats the policy's entropy may move (down or up) in one update


@dataclasses.dataclass(frozen=True)
class PriorConfig:
    """Task plus data: stay close to a model fitted to a recorded animal (``neuroethology fit --out RUN``).

    With ``weight > 0`` every step's reward gets ``weight * log p_animal(a_t | o_1..o_t)``, the log-likelihood
    of the agent's action under the fitted network (run alongside on the same observations). With PPO's
    entropy bonus this is KL-regularised RL: maximising ``E[sum r] - weight * KL(policy || animal model)``
    when ``ppo.ent_coef`` equals ``weight`` (Jaques et al. 2017; Todorov 2009). Returns reported are the task's.
    """

    run: str | None = None  # fitted run directory (its network's observations must match the environment's)
    weight: float = 0.0  # nats of reward per nat of log-likelihood; 0: no prior
    animal: str | None = (
        None  # a run fitted to several animals: whose twin (its name in the run's model.json)
    )


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    total_steps: int = 1_000_000
    num_seeds: int = 1
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    agent: AgentConfig = dataclasses.field(default_factory=AgentConfig)
    ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    sweep: SweepConfig = dataclasses.field(default_factory=SweepConfig)
    curriculum: tuple[CurriculumStage, ...] = ()
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    prior: PriorConfig = dataclasses.field(default_factory=PriorConfig)

    @property
    def num_updates(self) -> int:
        """PPO updates per run: ``total_steps // (num_envs * num_steps)``, at least 1."""
        return max(1, int(self.total_steps) // self.ppo.steps_per_update)

    @property
    def num_runs(self) -> int:
        """Runs trained side by side: ``max(1, len(sweep.values)) * num_seeds``."""
        return max(1, len(self.sweep.values)) * self.num_seeds

    def run_labels(self) -> list[dict[str, Any]]:
        """Per run: its seed and, in a sweep, the swept value (sweep-major order)."""
        values = self.sweep.values if self.sweep.param else (None,)
        labels = []
        for value in values:
            for i in range(self.num_seeds):
                label: dict[str, Any] = {"seed": self.seed + i}
                if self.sweep.param:
                    label[self.sweep.param] = value
                labels.append(label)
        return labels

    def validate(self) -> list[str]:  # noqa: C901 (one check per field)
        problems = []
        if self.total_steps < 1:
            problems.append(f"'total_steps' must be >= 1, got {self.total_steps}")
        if self.num_seeds < 1:
            problems.append(f"'num_seeds' must be >= 1, got {self.num_seeds}")
        if self.seed < 0:
            problems.append(f"'seed' must be >= 0, got {self.seed}")
        problems += self.ppo.validate()
        if not problems and self.total_steps < self.ppo.num_envs * self.ppo.num_steps:
            per_update = self.ppo.num_envs * self.ppo.num_steps
            problems.append(
                f"'total_steps' ({self.total_steps}) is less than one update (ppo.num_envs x ppo.num_steps = "
                f"{per_update} env steps): set total_steps >= {per_update} or lower ppo.num_envs / ppo.num_steps"
            )
        if self.sweep.param is None and self.sweep.values:
            problems.append("'sweep.values' is given but 'sweep.param' is not")
        if self.sweep.param is not None:
            if not self.sweep.values:
                problems.append(f"'sweep.values' must list the values of '{self.sweep.param}'")
            probe = {"gamma": (0, 1), "gae_lambda": (0, 1)}.get(self.sweep.param)
            for v in self.sweep.values:
                if not math.isfinite(v) or (probe and not probe[0] <= v <= probe[1]) or (not probe and v < 0):
                    problems.append(f"'sweep.values' has an invalid {self.sweep.param}: {v}")
        for name in ("chunk_updates", "checkpoint_every", "keep_checkpoints"):
            if getattr(self.run, name) < 1:
                problems.append(f"'run.{name}' must be >= 1, got {getattr(self.run, name)}")
        for name in ("max_loss", "max_weight_norm", "max_entropy_change"):
            if not getattr(self.run, name) > 0:
                problems.append(f"'run.{name}' must be > 0, got {getattr(self.run, name)}")
        if self.run.devices < 0:
            problems.append(f"'run.devices' must be >= 0 (0 = all), got {self.run.devices}")
        if self.agent.init_std <= 0:
            problems.append(f"'agent.init_std' must be > 0, got {self.agent.init_std}")
        if self.agent.core.hidden_size < 1:
            problems.append(f"'agent.core.hidden_size' must be >= 1, got {self.agent.core.hidden_size}")
        if not (math.isfinite(self.prior.weight) and self.prior.weight >= 0):
            problems.append(f"'prior.weight' must be >= 0, got {self.prior.weight}")
        if self.prior.weight > 0 and not self.prior.run:
            problems.append(
                "'prior.weight' > 0 needs 'prior.run': a run directory written by `neuroethology fit`"
            )
        if self.prior.run and not (Path(self.prior.run) / "model.json").is_file():
            problems.append(f"'prior.run': {self.prior.run} is not a fitted run (no model.json)")
        try:
            resolve_env_params(self.env)
        except ProblemsError as e:
            problems.extend(f"'env' ({e.source}): {p}" for p in e.problems)
            return problems
        except ValueError as e:
            problems.append(f"'env': {e}")
            return problems
        previous = 0.0
        for i, stage in enumerate(self.curriculum):
            if not previous < stage.until <= 1.0:
                problems.append(
                    f"'curriculum[{i}].until' must be in ({previous:g}, 1] (increasing), got {stage.until}"
                )
            previous = max(previous, stage.until)
            try:
                curriculum_env_params(self.env, stage)
            except ProblemsError as e:
                problems.extend(f"'curriculum[{i}].params' ({e.source}): {p}" for p in e.problems)
            except ValueError as e:
                problems.append(f"'curriculum[{i}].params': {e}")
        return problems


def resolve_env_params(env_config: EnvConfig) -> tuple[Any, Any]:
    """``(env, params)`` for an :class:`EnvConfig` (a ``ValueError`` names unknown ids and parameters)."""
    from .. import envs as ne

    params = dict(env_config.params)
    if any(isinstance(v, list) for v in params.values()):
        # YAML has no tuples: give tuple-valued parameters (static, hashable) their type back.
        env, defaults = ne.make(env_config.id)
        for name, value in params.items():
            if isinstance(value, list) and isinstance(getattr(defaults, name, None), tuple):
                params[name] = tuple(value)
    return ne.make(env_config.id, **params)


def curriculum_env_params(env_config: EnvConfig, stage: CurriculumStage) -> Any:
    """The environment parameters of a curriculum stage (``env.params`` with the stage's overrides); a
    ``ValueError`` if they are invalid or change a static parameter."""
    import jax

    _, base = resolve_env_params(env_config)
    merged = {**env_config.params, **stage.params}
    _, params = resolve_env_params(dataclasses.replace(env_config, params=merged))
    if jax.tree.structure(params) != jax.tree.structure(base):
        static = [f.name for f in dataclasses.fields(base) if f.metadata.get("pytree_node") is False]
        changed = [n for n in static if getattr(base, n) != getattr(params, n)]
        raise ValueError(
            f"a curriculum stage may not change static parameters (shapes or code paths): {changed}"
        )
    return params


def full_env_params(env_config: EnvConfig) -> dict[str, Any]:
    """Every parameter of the environment (defaults filled in), as plain Python values, for the resolved
    ``config.yaml`` of a run (so a later change of a default cannot change a saved run)."""
    import numpy as np

    _, params = resolve_env_params(env_config)
    out = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if isinstance(value, (bool, int, float, str)):
            out[f.name] = value
        elif np.ndim(value) == 0:
            out[f.name] = np.asarray(value).item()
        else:
            out[f.name] = np.asarray(value).tolist()
    return out


def load_train_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Load a training config from YAML with ``key=value`` overrides (see :mod:`neuroethology.config`)."""
    return load_config(path, overrides, schema=TrainConfig)
