"""map_blas_workers: one BLAS thread for mid-sized items on a single worker (no two-library spin)."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from neurodyn._torch import SMALL_WORK, map_blas_workers


def _blas_threads(_item):
    return max(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas")


@pytest.mark.parametrize("work, expect_one", [(None, False), (SMALL_WORK / 10, False),
                                               (SMALL_WORK * 2, True), (1e9, False)])
def test_single_worker_blas_threads_follow_the_work(work, expect_one):
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads(None)
        if before < 2:
            pytest.skip("BLAS cannot run two threads here")
        seen = map_blas_workers(_blas_threads, [0, 1], n_workers=1, work=work)
        assert seen == ([1, 1] if expect_one else [before, before])
        assert _blas_threads(None) == before  # restored afterwards
