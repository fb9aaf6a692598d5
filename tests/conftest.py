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


@pytest.fixture
def one_torch_thread():
    """Run the test with one torch thread, then restore the previous count.

    Fine-tuning tests train tiny networks (thread synchronisation costs more
    than it saves) on 2 shared CI cores, where two OpenMP threads can stall.
    """
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
