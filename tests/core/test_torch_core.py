"""Tests for neurodyn._torch: devices, dtypes, conversion, seeding."""

import numpy as np
import pytest
import torch

from neurodyn._torch import (
    TorchEstimatorMixin,
    check_random_state,
    make_generator,
    resolve_device,
    resolve_dtype,
    seed_from_random_state,
    to_numpy,
    to_tensor,
)


def test_resolve_device_auto_matches_cuda_availability():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected


def test_resolve_device_explicit_cpu_and_torch_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_resolve_device_cuda_without_gpu_raises():
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def test_resolve_device_bad_values():
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("gpu-please")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(3)


def test_resolve_dtype_defaults_and_aliases():
    assert resolve_dtype(None, torch.device("cpu")) is torch.float64
    assert resolve_dtype(None, torch.device("cuda")) is torch.float32
    assert resolve_dtype("float32") is torch.float32
    assert resolve_dtype(np.float64) is torch.float64
    assert resolve_dtype(torch.float16) is torch.float16
    with pytest.raises(ValueError, match="dtype must be one of"):
        resolve_dtype("complex7")
    with pytest.raises(ValueError, match="floating type"):
        resolve_dtype(np.int32)


def test_to_tensor_shares_memory_when_possible():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = to_tensor(a, dtype=torch.float64)
    assert np.shares_memory(t.numpy(), a)
    # a copy is made on request, so in-place work never reaches the caller's array
    t2 = to_tensor(a, dtype=torch.float64, copy=True)
    t2 += 1
    assert a[0, 0] == 0.0


def test_to_tensor_casts_and_handles_readonly():
    a = np.arange(4, dtype=np.int32)
    a.flags.writeable = False
    t = to_tensor(a, dtype=torch.float32)
    assert t.dtype is torch.float32
    np.testing.assert_array_equal(t.numpy(), np.arange(4, dtype=np.float32))
    with pytest.raises(TypeError, match="object array"):
        to_tensor(np.array([object()]))


def test_to_numpy_round_trip():
    a = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_array_equal(to_numpy(to_tensor(a)), a)
    t = torch.ones(2, requires_grad=True) * 2
    np.testing.assert_array_equal(to_numpy(t), [2.0, 2.0])


def test_generator_reproducible_from_int_and_numpy_generator():
    g1, g2 = make_generator(7), make_generator(7)
    assert torch.equal(torch.rand(5, generator=g1), torch.rand(5, generator=g2))
    g3 = make_generator(np.random.default_rng(3))
    g4 = make_generator(np.random.default_rng(3))
    assert torch.equal(torch.rand(5, generator=g3), torch.rand(5, generator=g4))
    g5 = make_generator(8)
    assert not torch.equal(torch.rand(5, generator=make_generator(7)), torch.rand(5, generator=g5))


def test_random_draws_come_from_the_cpu_stream_and_move_to_the_target():
    from neurodyn._torch import random_integers, random_normal, random_uniform

    assert make_generator(7).device.type == "cpu"
    ref = torch.Generator().manual_seed(7)
    expected = [torch.rand((3, 4), generator=ref, dtype=torch.float64),
                torch.randn((5,), generator=ref), torch.randint(2, 9, (6,), generator=ref)]
    g = make_generator(7)
    got = [random_uniform((3, 4), g, "cpu", torch.float64), random_normal((5,), g),
           random_integers(2, 9, (6,), g, torch.device("cpu"))]
    for e, o in zip(expected, got, strict=True):
        assert o.dtype == e.dtype and o.device.type == "cpu"
        assert torch.equal(o, e)
    # a model moved to "meta" gets the same draws' shape and dtype without a meta generator
    assert random_uniform((2,), make_generator(0), "meta", torch.float32).device.type == "meta"


def test_random_state_validation():
    assert isinstance(check_random_state(None), np.random.Generator)
    assert seed_from_random_state(11) == 11
    with pytest.raises(TypeError, match="random_state must be"):
        check_random_state("seed")
    with pytest.raises(ValueError, match="non-negative"):
        seed_from_random_state(-1)
    a = check_random_state(np.random.RandomState(0)).integers(0, 100, 3)
    b = check_random_state(np.random.RandomState(0)).integers(0, 100, 3)
    np.testing.assert_array_equal(a, b)


def test_mixin_resolves_parameters():
    class Est(TorchEstimatorMixin):
        def __init__(self, device="cpu", dtype=None, random_state=0):
            self.device, self.dtype, self.random_state = device, dtype, random_state

    e = Est()
    e._setup_torch()
    assert e.device_ == torch.device("cpu") and e.dtype_ is torch.float64
    x = e._tensor(np.ones(3, dtype=np.float32))
    assert x.dtype is torch.float64
    r1 = torch.rand(3, generator=e._generator)
    e._setup_torch()
    assert torch.equal(r1, torch.rand(3, generator=e._generator))


def test_numpy_blas_single_thread_limits_only_small_products():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from neurodyn._torch import numpy_blas_single_thread

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    if not before:
        pytest.skip("no BLAS library found by threadpoolctl")
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        outer = blas_threads()
        if max(outer) < 2:
            pytest.skip("the BLAS library cannot run on 2 threads here")
        with numpy_blas_single_thread(1e6):
            assert blas_threads() == [1] * len(outer)
        assert blas_threads() == outer  # restored on exit
        with numpy_blas_single_thread(1e10):
            assert blas_threads() == outer  # large products keep their threads


def test_map_blas_workers_keeps_the_order_and_computes_each_item():
    from neurodyn._torch import map_blas_workers

    mats = [np.random.default_rng(i).normal(size=(30, 40)) for i in range(7)]
    got = map_blas_workers(lambda m: m @ m.T, mats, n_workers=3)
    assert len(got) == 7
    for m, g in zip(mats, got, strict=True):
        np.testing.assert_allclose(g, m @ m.T, rtol=1e-12)
    assert map_blas_workers(lambda i: i + 1, [], n_workers=2) == []


# --------------------------------------------------------------------------- thread policy
@pytest.fixture
def four_cores(monkeypatch):
    """A process with 4 cores and 4 torch threads (restored afterwards), no thread env vars."""
    import neurodyn._torch as nt

    monkeypatch.setattr(nt, "_cpu_count", lambda: 4)
    for var in ("OMP_NUM_THREADS", "NEURODYN_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    yield
    torch.set_num_threads(before)


def _blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_thread_budget_respects_env_torch_threads_and_job_share(four_cores, monkeypatch):
    from neurodyn._torch import thread_budget

    assert thread_budget() == 4
    assert thread_budget(n_jobs=2) == 2
    assert thread_budget(n_jobs=3) == 1
    assert thread_budget(n_jobs=8) == 1  # never below one thread
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_budget() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2,1")  # nested-level list: the outer level counts
    assert thread_budget() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "not-a-number")  # ignored, as OpenMP does
    assert thread_budget() == 4
    monkeypatch.setenv("NEURODYN_NUM_THREADS", "1")
    assert thread_budget() == 1
    monkeypatch.delenv("NEURODYN_NUM_THREADS")
    torch.set_num_threads(2)  # a user's lower torch setting is kept
    assert thread_budget() == 2
    with pytest.raises(ValueError, match="n_jobs must be a positive integer"):
        thread_budget(n_jobs=0)


def test_thread_policy_sets_and_restores_torch_and_blas_threads(four_cores):
    from neurodyn._torch import SMALL_WORK, thread_policy

    blas_before = _blas_threads()
    with thread_policy(work=SMALL_WORK / 10) as n:
        assert n == 1
        assert torch.get_num_threads() == 1
        assert _blas_threads() == [1] * len(blas_before)
    assert torch.get_num_threads() == 4
    assert _blas_threads() == blas_before
    with thread_policy(work=SMALL_WORK * 10) as n:
        assert n == 4 and torch.get_num_threads() == 4
    with thread_policy(n_jobs=2) as n:
        assert n == 2 and torch.get_num_threads() == 2
        with thread_policy(work=1.0):  # nested: one thread, then back to the outer 2
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with thread_policy(n_threads=3):  # never more than the enclosing policy gave
            assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 4


def test_thread_policy_restores_after_an_exception_and_as_a_decorator(four_cores):
    from neurodyn._torch import thread_policy

    with pytest.raises(RuntimeError, match="boom"):
        with thread_policy(n_threads=1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 4

    @thread_policy(work=10.0)
    def inner(depth):
        seen = torch.get_num_threads()
        return [seen] + (inner(depth - 1) if depth else [])

    assert inner(2) == [1, 1, 1]  # re-entered recursively: each call gets its own context
    assert torch.get_num_threads() == 4
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        thread_policy(n_threads=0)
    with pytest.raises(ValueError, match="work must be a non-negative number"):
        thread_policy(work=-1)
    with pytest.raises(ValueError, match="n_jobs must be a positive integer"):
        thread_policy(n_jobs=-2)


def test_thread_policy_follows_a_threadpoolctl_limit(four_cores):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from neurodyn._torch import thread_budget, thread_policy

    # threadpoolctl limits torch's OpenMP runtime; the policy must not raise it again
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        if torch.get_num_threads() != 1:
            pytest.skip("torch's OpenMP runtime is not the one threadpoolctl controls")
        assert thread_budget() == 1
        with thread_policy() as n:
            assert n == 1 and torch.get_num_threads() == 1


def _budget_in_worker(_):
    import os

    from neurodyn._torch import thread_budget

    return thread_budget(), os.environ.get("OMP_NUM_THREADS")


def test_thread_budget_in_a_joblib_worker_is_the_workers_share():
    joblib = pytest.importorskip("joblib")
    import os

    # loky gives each worker its share of the cores unless the user set OMP_NUM_THREADS
    share = os.environ.get("OMP_NUM_THREADS") or str(max(1, joblib.cpu_count() // 2))
    got = joblib.Parallel(n_jobs=2, backend="loky")(joblib.delayed(_budget_in_worker)(i) for i in range(2))
    for budget, env in got:
        assert env == share
        assert budget == min(int(share), joblib.cpu_count())


def test_map_blas_workers_runs_single_threaded_blas_in_workers(four_cores):
    from neurodyn._torch import map_blas_workers

    seen = map_blas_workers(lambda _: (torch.get_num_threads(), _blas_threads()), range(4), n_workers=2)
    assert all(t == 1 and all(b == 1 for b in blas) for t, blas in seen)
    assert torch.get_num_threads() == 4


@pytest.mark.parametrize("env, torch_first, expected", [
    ({}, False, "PASSIVE"),
    ({"OMP_WAIT_POLICY": "ACTIVE"}, False, "ACTIVE"),  # the user's choice wins
    ({"GOMP_SPINCOUNT": "1000"}, False, None),
    ({}, True, None),  # torch loaded first: too late for the OpenMP runtime, left alone
])
def test_openmp_wait_policy_is_passive_only_when_the_user_did_not_choose(env, torch_first, expected):
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    code = ("import os\n" + ("import torch\n" if torch_first else "")
            + "import neurodyn._torch as nt\nprint(os.environ.get('OMP_WAIT_POLICY'), nt.OPENMP_WAIT_POLICY_SET)")
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(expected), str(expected == "PASSIVE" and not env)]


def test_map_blas_workers_runs_small_items_in_a_loop_on_one_thread(four_cores):
    import threading

    from neurodyn._torch import SMALL_WORK, map_blas_workers

    main = threading.get_ident()
    seen = map_blas_workers(lambda i: (i * i, threading.get_ident(), torch.get_num_threads()), range(5),
                            n_workers=2, work=SMALL_WORK / 100)
    assert [v for v, _, _ in seen] == [0, 1, 4, 9, 16]
    assert all(tid == main and t == 1 for _, tid, t in seen)  # no pool, one thread
    assert torch.get_num_threads() == 4
    big = map_blas_workers(lambda i: threading.get_ident(), range(4), n_workers=2, work=SMALL_WORK * 100)
    assert main not in big  # large items still go to the pool


def test_any_neurodyn_import_sets_the_wait_policy_before_torch_loads():
    """``import neurodyn.rnn`` loads torch through rnn.models; the policy must already be set."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items()
            if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    code = ("import os, sys\nimport neurodyn.rnn\nimport neurodyn._torch as nt\n"
            "print(os.environ.get('OMP_WAIT_POLICY'), nt.OPENMP_WAIT_POLICY_SET, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["PASSIVE", "True", "True"]
