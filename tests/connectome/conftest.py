"""Run the connectome tests single-threaded.

These problems are small: with several test workers sharing two cores, extra
OpenMP/BLAS threads only wait for each other (measured 6x slower), so each test
runs with one torch thread and one BLAS thread, restored afterwards.
"""

import pytest
import torch
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(before)
