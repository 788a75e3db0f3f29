"""Suite-wide settings.

The suite runs on two pytest-xdist workers (``make test``); every test process
uses one torch/BLAS thread (``NEURODYN_TEST_THREADS`` overrides) so that the
workers do not oversubscribe a 2-core machine (small torch operations ran
6-10x slower with more threads than free cores). ``neurodyn._torch`` is imported
before torch so that idle OpenMP threads sleep instead of spinning
(``OMP_WAIT_POLICY=PASSIVE`` unless set; see ``neurodyn._torch.thread_policy``).
Figures are drawn with the non-interactive Agg backend.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import neurodyn._torch  # noqa: E402, F401, I001 - sets the OpenMP wait policy before torch loads
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

_n = int(os.environ.get("NEURODYN_TEST_THREADS", "1"))
torch.set_num_threads(_n)
threadpool_limits(limits=_n)
