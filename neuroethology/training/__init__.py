"""Training agents: recurrent PPO (fully jitted), the run loop (checkpoints, resume, metrics) and configs.

>>> from neuroethology import training
>>> config = training.load_train_config("configs/open_field.yaml", ["total_steps=200000"])
>>> train = training.make_train(config)                 # pure: train(key) -> (RunnerState, metrics)
>>> result = training.train_run(config, "runs/open_field")   # the run loop behind `neuroethology train`
"""

from .config import (
    HYPERPARAMS,
    CurriculumStage,
    EnvConfig,
    PPOConfig,
    PriorConfig,
    RunConfig,
    SweepConfig,
    TrainConfig,
    load_train_config,
    resolve_env_params,
)
from .ppo import PPO, Hyperparams, PPOSetup, RunnerState, make_ppo, make_train
from .ppo_math import PPOLossInfo, compute_gae, ppo_loss
from .ppo_rollout import AnimalPrior, Transition
from .run import LoadedRun, RunResult, load_run, train_run

__all__ = [
    "HYPERPARAMS",
    "PPO",
    "AnimalPrior",
    "CurriculumStage",
    "EnvConfig",
    "Hyperparams",
    "LoadedRun",
    "PPOConfig",
    "PPOLossInfo",
    "PPOSetup",
    "PriorConfig",
    "RunConfig",
    "RunResult",
    "RunnerState",
    "SweepConfig",
    "TrainConfig",
    "Transition",
    "compute_gae",
    "load_run",
    "load_train_config",
    "make_ppo",
    "make_train",
    "ppo_loss",
    "resolve_env_params",
    "train_run",
]
