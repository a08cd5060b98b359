"""Shared fixtures. Real recordings live in ../shared/data beside the checkout and are never copied here."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEUROETHOLOGY_SHARED_DATA", REPO.parent / "shared" / "data"))


# One persistent XLA compilation cache for the whole run: the pytest workers and every CLI subprocess they start
# (which inherits the environment) load a program another test already compiled instead of compiling it again.
# A fresh directory per run, removed at the end, so a run's time is what a clean clone (CI) sees; set
# JAX_COMPILATION_CACHE_DIR yourself to keep one between runs.
_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        path = workerinput.get("jax_compilation_cache")
    elif _CACHE_ENV in os.environ:
        path = None
    else:
        path = config._neuroethology_jax_cache = tempfile.mkdtemp(prefix="neuroethology-jax-cache-")
    if not path:
        return
    os.environ[_CACHE_ENV] = path
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    import jax  # read its flags from the environment at import; set them too in case it was imported already

    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: every worker uses the controller's cache directory."""
    path = getattr(node.config, "_neuroethology_jax_cache", None)
    if path:
        node.workerinput["jax_compilation_cache"] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    path = getattr(config, "_neuroethology_jax_cache", None)
    if path:
        shutil.rmtree(path, ignore_errors=True)


def shared_file(*parts: str) -> Path:
    """Path of a real recording in ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real recording {path} is not available (../shared/data is absent on this machine)")
    return path


@pytest.fixture(scope="session")
def sargolini_npz() -> Path:
    """The Sargolini et al. 2006 rat trajectory bundled with ratinabox."""
    import ratinabox

    path = Path(ratinabox.__file__).parent / "data" / "sargolini.npz"
    assert path.exists(), f"ratinabox no longer ships {path}"
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
