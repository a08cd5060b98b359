"""neuroethology: lab paradigms as JAX environments, agents fitted to animals, and one analysis for both.

Subpackages:

* :mod:`neuroethology.envs` - pure-JAX Gymnasium environments of foraging and navigation paradigms;
* :mod:`neuroethology.data` - recordings (SLEAP, DeepLabCut, NWB, idtracker.ai, tables) as one xarray data model;
* :mod:`neuroethology.datasets` - the bundled rat trajectory (Sargolini et al. 2006);
* :mod:`neuroethology.analysis` - behavioural metrics and figures, identical on animals and agents;
* :mod:`neuroethology.fitting` - models fitted to recorded animals.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuroethology")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from . import analysis, data, datasets, envs  # noqa: E402  (importing envs registers them with Gymnasium)

__all__ = ["__version__", "analysis", "data", "datasets", "envs"]
