"""A 200-subject cohort: serial, joblib loky with ``n_jobs=2``, and a 2-worker dask LocalCluster.

Workload: :class:`neurodyn.graph.GraphFeatures` (degree, triangles, clustering at a fixed
edge density) of 200 simulated resting-state subjects (``fmri_cohort``), each a
``(n_timepoints, n_nodes)`` series. Every run must give the serial feature matrix bit for
bit before any time is printed.

Then the cost of one task on each backend, measured with a no-op function mapped over
many items through :func:`neurodyn._parallel.parallel_map` (the path every neurodyn
cohort loop takes): that per-task overhead sets the size of work at which a backend pays
off. With ``w`` workers, ``N`` tasks of ``t`` seconds take about ``N t`` serially and
``N t / w + N c`` in parallel (``c``: overhead per task, paid where the scheduler and the
client work), so the parallel run wins once ``t > c w / (w - 1)``.

Usage::

    python benchmarks/cohort.py                       # 200 subjects, 400 nodes, 300 timepoints
    python benchmarks/cohort.py --subjects 400 --nodes 300

Requires ``dask[distributed]`` (in the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform

import numpy as np
from _common import timed


def _noop(x):
    return x




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subjects", type=int, default=200)
    ap.add_argument("--nodes", type=int, default=400)
    ap.add_argument("--timepoints", type=int, default=300)
    ap.add_argument("--overhead-tasks", type=int, default=400)
    args = ap.parse_args()

    import distributed
    import torch
    from joblib import parallel_config

    from neurodyn._parallel import parallel_map
    from neurodyn.datasets.simulate import fmri_cohort
    from neurodyn.graph import GraphFeatures

    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"(shared with other users while measured); torch {torch.__version__}, "
          f"dask.distributed {distributed.__version__}")
    subjects = fmri_cohort(args.subjects, args.nodes, args.timepoints, n_signal_nodes=20,
                           random_state=0)["timeseries"]
    params = dict(density=0.1, features=("degree", "triangles", "clustering"),
                  warn_transposed=False)
    print(f"cohort: {args.subjects} subjects x ({args.timepoints} timepoints, {args.nodes} nodes), "
          f"GraphFeatures {params['features']} at density {params['density']}")

    ref, t_serial = timed(lambda: GraphFeatures(**params).fit_transform(subjects))
    per_subject = t_serial / args.subjects
    with parallel_config(backend="loky"):
        GraphFeatures(**params, n_jobs=2).fit_transform(subjects[:4])  # start the workers
        got, t_loky = timed(lambda: GraphFeatures(**params, n_jobs=2).fit_transform(subjects))
    assert np.array_equal(got, ref), "loky result differs from serial"

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster):
        with parallel_config(backend="dask"):
            GraphFeatures(**params, n_jobs=-1).fit_transform(subjects[:4])  # import in workers
            got, t_dask = timed(lambda: GraphFeatures(**params, n_jobs=-1).fit_transform(subjects))
            assert np.array_equal(got, ref), "dask result differs from serial"
            items = list(range(args.overhead_tasks))
            parallel_map(_noop, items[:10], n_jobs=-1)
            _, t_dask_noop = timed(lambda: parallel_map(_noop, items, n_jobs=-1), repeat=3)
            _, t_dask_data = timed(lambda: parallel_map(_noop, subjects, n_jobs=-1), repeat=3)
    with parallel_config(backend="loky"):
        parallel_map(_noop, [0, 1], n_jobs=2)
        _, t_loky_noop = timed(lambda: parallel_map(_noop, items, n_jobs=2), repeat=3)
        _, t_loky_data = timed(lambda: parallel_map(_noop, subjects, n_jobs=2), repeat=3)
    _, t_serial_noop = timed(lambda: parallel_map(_noop, items), repeat=3)

    print("\n| run | wall time (s) | speed-up vs serial | per subject (ms) |")
    print("|---|---|---|---|")
    for name, t in [("serial", t_serial), ("joblib loky, n_jobs=2", t_loky),
                    ("dask LocalCluster, 2 processes x 1 thread", t_dask)]:
        print(f"| {name} | {t:.2f} | {t_serial / t:.2f}x | {1e3 * t / args.subjects:.1f} |")
    print("(all three feature matrices identical bit for bit)")

    print(f"\noverhead per task (no-op over {args.overhead_tasks} items, best of 3):")
    w = 2
    for name, t in [("serial (in process)", t_serial_noop), ("joblib loky, 2 workers", t_loky_noop),
                    ("dask LocalCluster, 2 workers", t_dask_noop)]:
        c = t / args.overhead_tasks
        pays = "" if name.startswith("serial") else \
            f"; pays off for tasks longer than about {1e3 * c * w / (w - 1):.2f} ms"
        print(f"  {name}: {1e6 * c:.0f} us per task{pays}")
    mb = subjects[0].nbytes / 2**20
    print(f"overhead per task carrying one subject's series ({mb:.2f} MB there and back):")
    for name, t in [("joblib loky, 2 workers", t_loky_data), ("dask LocalCluster, 2 workers", t_dask_data)]:
        c = t / args.subjects
        print(f"  {name}: {1e3 * c:.2f} ms per task; pays off for tasks longer than about "
              f"{1e3 * c * w / (w - 1):.1f} ms")
    print(f"this cohort: {1e3 * per_subject:.1f} ms of work per subject")


if __name__ == "__main__":
    main()
