"""Shared fixtures: where the real datasets live, and deterministic RNGs."""

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """`../shared` beside the repository, or $ESGAN_SHARED."""
    return Path(os.environ.get("ESGAN_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """Root of the real datasets in canonical layout (tnbc, cpm15, monuseg).

    CI always has them, so a missing folder fails there; on a user's machine
    without `../shared` the tests that need real data are skipped with the reason.
    """
    root = shared_dir() / "datasets"
    if not (root / "tnbc" / "masks").is_dir():
        msg = f"real datasets not found at {root} (set ESGAN_SHARED to the folder holding datasets/)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
