"""Shared fixtures. Real recordings live in ../shared/data beside the checkout and are never copied here."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEUROETHOLOGY_SHARED_DATA", REPO.parent / "shared" / "data"))


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
