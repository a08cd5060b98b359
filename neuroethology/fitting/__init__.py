"""Models fitted to recorded animals: teacher-forcing data from a Recording, the random-motion baseline fitted
by maximum likelihood, recurrent agents fitted by maximum likelihood of the animal's actions, and their free
simulation in the environment, and the report of every compare metric against held-out data with the animal's
own train-vs-held-out distance as the yardstick; several animals fitted at once, each with its own identity
(:mod:`~neuroethology.fitting.population`)."""

from .behaviour import CloningConfig, FittedAgents, agent_log_likelihood, fit_agent
from .pipeline import (
    FitConfig,
    FitResult,
    FittedModel,
    fit_recording,
    load_fitted,
    prepare_recording,
    simulate,
)
from .population import PopulationResult, fit_animals
from .random_motion_fit import (
    RandomMotionFit,
    action_log_likelihood,
    fit_random_motion,
    random_motion_log_likelihood,
)
from .reconstruct import (
    Demonstration,
    open_field_params_for,
    path_segments,
    path_windows,
    reconstruct,
    reconstruct_path,
)
from .report import BehaviourReport, MetricDistances, behaviour_report
from .run_dir import load_population
from .targets import TargetSpeedPolicy, Warp, target_space, to_targets

__all__ = [
    "BehaviourReport",
    "CloningConfig",
    "Demonstration",
    "FitConfig",
    "FitResult",
    "FittedAgents",
    "FittedModel",
    "MetricDistances",
    "PopulationResult",
    "RandomMotionFit",
    "TargetSpeedPolicy",
    "Warp",
    "action_log_likelihood",
    "agent_log_likelihood",
    "behaviour_report",
    "fit_agent",
    "fit_animals",
    "fit_random_motion",
    "fit_recording",
    "load_fitted",
    "load_population",
    "open_field_params_for",
    "path_segments",
    "path_windows",
    "prepare_recording",
    "random_motion_log_likelihood",
    "reconstruct",
    "reconstruct_path",
    "simulate",
    "target_space",
    "to_targets",
]
