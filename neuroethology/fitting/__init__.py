"""Models fitted to recorded animals: teacher-forcing data from a Recording, the random-motion baseline fitted
by maximum likelihood, and recurrent agents fitted by maximum likelihood of the animal's actions."""

from .random_motion_fit import RandomMotionFit, fit_random_motion, random_motion_log_likelihood
from .reconstruct import Demonstration, open_field_params_for, path_segments, reconstruct, reconstruct_path

__all__ = [
    "Demonstration",
    "RandomMotionFit",
    "fit_random_motion",
    "open_field_params_for",
    "path_segments",
    "random_motion_log_likelihood",
    "reconstruct",
    "reconstruct_path",
]
