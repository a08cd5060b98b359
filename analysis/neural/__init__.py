"""The brain side: measures neuroscientists use on neurons, run alike on recorded units and agents' units
(imported as ``neuroethology.analysis.neural``).

Single-unit tuning (rate maps, spatial information, grid, border, head-direction and speed scores), population
geometry and decoding, model-vs-brain representational comparisons and the dynamics of trained recurrent
cores. Every function takes arrays (or a Recording's ``activity``) with the samples' own durations, so
irregularly sampled recordings are measured as recorded.

Modules: :mod:`.tuning` (rate maps, spatial information, sparsity, coherence, border score),
:mod:`.tuning_time` (head direction, speed), :mod:`.grid` (autocorrelograms, grid score, spacing),
:mod:`.shuffles` (circular time-shift nulls), :mod:`.cell_types` (``classify_units``: scores, nulls and
types of a Recording's units), :mod:`.population` (PCA, decoding, encoding models), :mod:`.representation`
(CKA, Procrustes, CCA, RSA and their nulls), :mod:`.unit_comparison` (two populations' spatial codes) and
:mod:`.dynamics` (fixed and slow points of a recurrent core).
"""

from . import (
    cell_types,
    dynamics,
    grid,
    population,
    representation,
    shuffles,
    tuning,
    tuning_time,
    unit_comparison,
)
from .cell_types import *  # noqa: F403
from .dynamics import *  # noqa: F403
from .grid import *  # noqa: F403
from .population import *  # noqa: F403
from .representation import *  # noqa: F403
from .shuffles import *  # noqa: F403
from .tuning import *  # noqa: F403
from .tuning_time import *  # noqa: F403
from .unit_comparison import *  # noqa: F403

__all__ = [
    *tuning.__all__,  # single units
    *tuning_time.__all__,
    *grid.__all__,
    *shuffles.__all__,
    *cell_types.__all__,
    *population.__all__,  # populations
    *representation.__all__,  # model vs brain
    *unit_comparison.__all__,
    *dynamics.__all__,  # recurrent dynamics
]
