"""Shared test fixtures. Area-specific fixtures live in the area's own test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (only on the project's machines)")
    return SHARED_DATA


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator for tests that make their own frames."""
    return np.random.default_rng(1234)
