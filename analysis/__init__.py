"""Behavioural analysis that runs unchanged on recorded animals and simulated agents
(imported as ``neuroethology.analysis``)."""

from . import plots
from .occupancy import compute_occupancy

__all__ = ["compute_occupancy", "plots"]
