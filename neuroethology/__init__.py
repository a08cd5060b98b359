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

from . import envs  # noqa: E402  (importing envs registers them with Gymnasium)

# The other subpackages load on first use (``neuroethology.analysis`` works as before): a command that needs
# none of them (``neuroethology train``) starts without loading pynwb, movement, scipy.stats or matplotlib.
_LAZY = ("analysis", "data", "datasets")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", "analysis", "data", "datasets", "envs"]
