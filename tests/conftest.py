import numpy as np
import pytest

from sktransfer.datasets import shared_data_dir


@pytest.fixture(scope="session")
def shared_data():
    """The shared real-data folder; skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared real data not found (set SKTRANSFER_DATA)")
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(0)
