"""Shared test fixtures. Area-specific fixtures live in the area's own test files."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported; see vidsr/__init__.py

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

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


@pytest.fixture(scope="module")
def tiny_tensors():
    """One torch thread and no oneDNN for modules that run tiny tensors: on a 2-core machine,
    per-shape kernel set-up and thread hand-offs cost far more than the convolutions
    themselves. Use with ``pytestmark = pytest.mark.usefixtures("tiny_tensors")``."""
    import torch

    enabled, threads = torch.backends.mkldnn.enabled, torch.get_num_threads()
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    yield
    torch.backends.mkldnn.enabled = enabled
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def weights_cache(tmp_path_factory):
    """Blended weights (``--denoise``, and `vidsr upscale`'s default for video files) go to a
    folder of the test session, not the user's ``~/.cache/vidsr-weights``."""
    previous = os.environ.get("VIDSR_WEIGHTS_CACHE")
    os.environ["VIDSR_WEIGHTS_CACHE"] = str(tmp_path_factory.mktemp("weights-cache"))
    yield
    if previous is None:
        os.environ.pop("VIDSR_WEIGHTS_CACHE", None)
    else:
        os.environ["VIDSR_WEIGHTS_CACHE"] = previous
