"""Behavioural analysis that runs unchanged on recorded animals and simulated agents
(imported as ``neuroethology.analysis``).

Every metric is a pure function of a Recording (the movement-style ``xarray.Dataset`` of
``neuroethology.data``): it validates the input, picks one track (``individual=``, ``keypoint=``; by
default the only individual and the ``centroid``), never differences across tracking gaps, segments or
episodes, and returns a named ``xarray`` object (or a ``NamedTuple`` of named numbers for fits).
:func:`compare_groups` holds two groups of Recordings against each other, metric by metric.
"""

from . import plots
from ._recording import split_individuals
from .choice import compute_choice_accuracy, compute_trials, compute_win_stay_lose_shift, fit_choice_history
from .compare import METRICS, ComparisonReport, MetricComparison, compare_groups
from .foraging import compare_residence_to_mvt, compute_patch_visits
from .kinematics import (
    compute_acceleration,
    compute_angular_velocity,
    compute_curvature,
    compute_heading,
    compute_speed,
    compute_velocity,
)
from .occupancy import compute_coverage, compute_occupancy, compute_spatial_entropy
from .paths import (
    MSDExponent,
    compute_msd,
    compute_msd_exponent,
    compute_path_length,
    compute_sinuosity,
    compute_straightness,
    compute_turning_angles,
    fit_msd_exponent,
    rediscretize_path,
)
from .plume import classify_casting_surging, compute_course_direction, compute_source_arrival
from .space import compute_thigmotaxis, compute_wall_distance
from .steps import (
    ExponentialFit,
    LikelihoodRatio,
    LognormalFit,
    PowerLawFit,
    TailComparison,
    compare_tail_models,
    compute_step_lengths,
    fit_exponential,
    fit_lognormal,
    fit_power_law,
)
from .water_maze import (
    compute_escape_latency,
    compute_escape_path_length,
    compute_gallagher_proximity,
    compute_platform_crossings,
    compute_quadrant_occupancy,
)

__all__ = [
    # recordings
    "split_individuals",
    # kinematics
    "compute_velocity",
    "compute_speed",
    "compute_acceleration",
    "compute_heading",
    "compute_angular_velocity",
    "compute_curvature",
    # paths
    "rediscretize_path",
    "compute_path_length",
    "compute_straightness",
    "compute_turning_angles",
    "compute_sinuosity",
    "compute_msd",
    "fit_msd_exponent",
    "compute_msd_exponent",
    "MSDExponent",
    # space
    "compute_occupancy",
    "compute_coverage",
    "compute_spatial_entropy",
    "compute_wall_distance",
    "compute_thigmotaxis",
    # steps
    "compute_step_lengths",
    "fit_power_law",
    "fit_exponential",
    "fit_lognormal",
    "compare_tail_models",
    "PowerLawFit",
    "ExponentialFit",
    "LognormalFit",
    "LikelihoodRatio",
    "TailComparison",
    # tasks
    "compute_escape_latency",
    "compute_escape_path_length",
    "compute_gallagher_proximity",
    "compute_quadrant_occupancy",
    "compute_platform_crossings",
    "compute_source_arrival",
    "compute_course_direction",
    "classify_casting_surging",
    "compute_patch_visits",
    "compare_residence_to_mvt",
    "compute_trials",
    "compute_choice_accuracy",
    "compute_win_stay_lose_shift",
    "fit_choice_history",
    # comparison
    "compare_groups",
    "ComparisonReport",
    "MetricComparison",
    "METRICS",
    # figures
    "plots",
]
