import numpy as np
import pytest

from sktransfer.datasets import shared_data_dir


def pytest_collection_modifyitems(config, items):
    """Tests in test_docs.py build the whole site: marked ``docs``, run on their own."""
    for item in items:
        if item.path.name == "test_docs.py":
            item.add_marker(pytest.mark.docs)


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
