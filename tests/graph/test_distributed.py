"""GraphFeatures on a dask.distributed cluster through joblib (optional 'distributed' extra)."""

import numpy as np
import pytest
from joblib import parallel_config

from neurodyn.datasets.simulate import fmri_cohort
from neurodyn.graph import GraphFeatures

distributed = pytest.importorskip("distributed", reason="dask.distributed is an optional extra")


def test_graph_features_under_dask_local_cluster():
    subjects = fmri_cohort(4, 25, 50, n_signal_nodes=5, random_state=1)["timeseries"]
    ref = GraphFeatures(threshold=0.2, features=("degree", "triangles")).fit_transform(subjects)
    # In-process cluster: the scheduling path of a real cluster without spawning workers.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with parallel_config(backend="dask"):
            got = GraphFeatures(threshold=0.2, features=("degree", "triangles"),
                                n_jobs=-1).fit_transform(subjects)
    assert np.array_equal(got, ref)
