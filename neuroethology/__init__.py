"""neuroethology: lab paradigms as JAX environments, agents fitted to animals, and one analysis for both.

Subpackages:

* :mod:`neuroethology.envs` - pure-JAX Gymnasium environments of foraging and navigation paradigms;
* :mod:`neuroethology.analysis` - behavioural metrics and figures, identical on animals and agents.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("neuroethology")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from . import analysis, envs  # noqa: E402  (registers the environments with Gymnasium)

__all__ = ["__version__", "analysis", "envs"]
