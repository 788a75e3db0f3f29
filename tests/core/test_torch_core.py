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
