"""Behavioural analysis that runs unchanged on recorded animals and simulated agents
(imported as ``neuroethology.analysis``).

Every metric is a pure function of a Recording (the movement-style ``xarray.Dataset`` of
``neuroethology.data``): it validates the input, picks one track (``individual=``, ``keypoint=``; by
default the only individual and the ``centroid``), never differences across tracking gaps, segments or
episodes, and returns a named ``xarray`` object (or a ``NamedTuple`` of named numbers for fits).
:func:`compare_groups` holds two groups of Recordings against each other, metric by metric.

Each module lists its public names once, in its ``__all__``; the package re-exports those lists.
"""

from . import (
    choice,
    compare,
    ddm,
    fixes,
    foraging,
    hmm,
    hmm_comparison,
    kinematics,
    occupancy,
    paths,
    plots,
    plume,
    regions,
    space,
    steps,
    trials,
    water_maze,
)
from ._recording import split_individuals
from .choice import *  # noqa: F403
from .compare import *  # noqa: F403
from .ddm import *  # noqa: F403
from .fixes import *  # noqa: F403
from .foraging import *  # noqa: F403
from .hmm import *  # noqa: F403
from .hmm_comparison import *  # noqa: F403
from .kinematics import *  # noqa: F403
from .occupancy import *  # noqa: F403
from .paths import *  # noqa: F403
from .plume import *  # noqa: F403
from .regions import *  # noqa: F403
from .space import *  # noqa: F403
from .steps import *  # noqa: F403
from .trials import *  # noqa: F403
from .water_maze import *  # noqa: F403

__all__ = [
    "split_individuals",  # recordings
    *kinematics.__all__,
    *paths.__all__,
    *occupancy.__all__,
    *space.__all__,
    *regions.__all__,  # regions of the arena (plus-maze arms, quadrants)
    *steps.__all__,
    *fixes.__all__,  # per-fix movement and its states
    *hmm.__all__,
    *hmm_comparison.__all__,
    *water_maze.__all__,  # tasks
    *plume.__all__,
    *foraging.__all__,
    *choice.__all__,
    *trials.__all__,
    *ddm.__all__,
    *compare.__all__,  # comparison
    "plots",  # figures
]
