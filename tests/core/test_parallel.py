"""The parallel seam (neurodyn._parallel) and the APIs on it, on joblib's local backends.

The dask.distributed cluster tests are in tests/distributed/test_dask_cluster.py.
"""

import os
import sys
import uuid

import numpy as np
import pytest
import torch
from joblib import Memory, parallel_config
from threadpoolctl import threadpool_info

from neurodyn._parallel import (
    check_memory,
    check_n_jobs,
    item_seeds,
    limit_threads,
    parallel_map,
    threads_per_worker,
)
from neurodyn.connectome import DynamicConnectome
from neurodyn.connectome.affinity import affinity_tensor
from neurodyn.rsa.inference import evaluate_models
from neurodyn.rsa.trsa import TopologicalRSA

try:  # joblib's loky pickles with the installed cloudpickle, or with its vendored copy
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle

# the helpers below travel to loky's worker processes by value (this file is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

BACKENDS = [("sequential", None), ("loky", 2), ("threading", 2)]


def _noisy(x, scale=1.0, random_state=None):
    return x * scale + np.random.default_rng(random_state).normal(size=3)


def _fails_at_three(x):
    if x == 3:
        raise ValueError(f"X[{x}] has NaN at row 7")
    return x


class _TwoArgError(Exception):
    def __init__(self, code, detail):
        super().__init__(code, detail)


def _odd_error(x):
    if x == 1:
        raise _TwoArgError(7, "custom")
    return x


def _threads(_):
    blas = [p["num_threads"] for p in threadpool_info()]
    return torch.get_num_threads(), max(blas) if blas else None


def _logged(x, log_dir, crash_at=None, random_state=None):
    """Squares ``x`` plus noise; logs each completed computation; fails once at ``crash_at``."""
    if x == crash_at and not os.path.exists(os.path.join(log_dir, "crashed")):
        open(os.path.join(log_dir, "crashed"), "w").close()
        raise RuntimeError("simulated crash")
    value = x * x + np.random.default_rng(random_state).random()
    open(os.path.join(log_dir, f"done-{x}-{uuid.uuid4().hex}"), "w").close()
    return value


def _run(backend, n_jobs, fn, items, **kw):
    if backend == "sequential":
        return parallel_map(fn, items, n_jobs=n_jobs, **kw)
    with parallel_config(backend=backend):
        return parallel_map(fn, items, n_jobs=n_jobs, **kw)


# ----------------------------------------------------------------- the seam itself

def test_item_seeds_are_seedsequence_children():
    ref = [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1))
           for c in np.random.SeedSequence(11).spawn(5)]
    assert item_seeds(11, 5) == ref
    assert len(set(ref)) == 5
    # a Generator is advanced by exactly one draw, in the caller
    g1, g2 = np.random.default_rng(4), np.random.default_rng(4)
    seeds = item_seeds(g1, 3)
    entropy = int(g2.integers(0, 2**63 - 1))
    assert seeds == item_seeds(entropy, 3)
    assert g1.integers(10**9) == g2.integers(10**9)
    with pytest.raises(ValueError, match="random_state must be a non-negative"):
        item_seeds(-1, 2)
    with pytest.raises(TypeError, match="random_state must be None, an int"):
        item_seeds("seed", 2)


@pytest.mark.parametrize("backend,n_jobs", BACKENDS)
def test_parallel_map_equals_serial_loop_with_item_seeds(backend, n_jobs):
    items = list(range(7))
    seeds = item_seeds(5, len(items))
    ref = [_noisy(x, 2.0, random_state=s) for x, s in zip(items, seeds, strict=True)]
    got = _run(backend, n_jobs, _noisy, items, kwargs={"scale": 2.0}, random_state=5)
    assert len(got) == len(ref)
    for a, b in zip(got, ref, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("backend,n_jobs", BACKENDS)
def test_error_names_the_item_and_keeps_its_type(backend, n_jobs):
    with pytest.raises(ValueError, match=r"^subject 3: X\[3\] has NaN at row 7$"):
        _run(backend, n_jobs, _fails_at_three, range(6), desc="subject")
    # an exception that cannot be rebuilt from one message becomes a RuntimeError naming it
    with pytest.raises(RuntimeError, match=r"^subject 1: _TwoArgError: \(7, 'custom'\)"):
        _run(backend, n_jobs, _odd_error, range(3), desc="subject")
    # and the pool is usable afterwards
    assert _run(backend, n_jobs, _fails_at_three, [0, 1, 2]) == [0, 1, 2]


def test_loky_workers_get_their_share_of_threads():
    share = threads_per_worker(2)
    assert share == max(1, len(os.sched_getaffinity(0)) // 2)
    with parallel_config(backend="loky"):
        got = parallel_map(_threads, range(4), n_jobs=2)
    assert all(t == share for t, _ in got)
    assert all(b is None or b <= share for _, b in got)


def test_limit_threads_restores_the_callers_threads():
    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert torch.get_num_threads() == before
    with parallel_config(backend="threading"):
        parallel_map(_threads, range(3), n_jobs=2)
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("backend,n_jobs", [("sequential", None), ("loky", 2)])
def test_memory_resume_recomputes_only_missing_items(tmp_path, backend, n_jobs):
    log = tmp_path / "log"
    log.mkdir()
    items = list(range(8))
    kwargs = {"log_dir": str(log), "crash_at": 5}
    memory = Memory(str(tmp_path / "cache"), verbose=0)
    with pytest.raises(RuntimeError, match="^item 5: simulated crash"):
        _run(backend, n_jobs, _logged, items, kwargs=kwargs, memory=memory, random_state=0)
    first = {int(f.split("-")[1]) for f in os.listdir(log) if f.startswith("done-")}
    assert 5 not in first
    got = _run(backend, n_jobs, _logged, items, kwargs=kwargs, memory=str(tmp_path / "cache"),
               random_state=0)
    done = [int(f.split("-")[1]) for f in os.listdir(log) if f.startswith("done-")]
    # every item was computed exactly once over the two runs
    assert sorted(done) == items
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    ref = parallel_map(_logged, items, kwargs={"log_dir": str(fresh)}, random_state=0)
    assert np.array_equal(got, ref)


def test_check_n_jobs_and_memory_name_the_argument(tmp_path):
    assert check_n_jobs(None) is None and check_n_jobs(np.int64(-1)) == -1
    with pytest.raises(TypeError, match=r"n_jobs must be None or an integer .*got 1.5"):
        check_n_jobs(1.5)
    with pytest.raises(TypeError, match=r"n_jobs must be None or an integer .*got True"):
        check_n_jobs(True)
    with pytest.raises(ValueError, match="n_jobs must be None, a positive integer .*got 0"):
        check_n_jobs(0)
    with pytest.raises(TypeError, match="memory must be None, a folder path or a joblib.Memory"):
        check_memory(3)
    assert isinstance(check_memory(tmp_path), Memory)
    with pytest.raises(ValueError, match="n_jobs must be None, a positive integer"):
        parallel_map(_noisy, [1], n_jobs=0)


# ----------------------------------------------------------------- the APIs on the seam

def _traces(n_animals=4, n_time=160, n_units=7, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_animals, n_time, n_units)).cumsum(1)
    x[1, :, 2] = np.nan  # a neuron missing in one animal
    return x


@pytest.mark.parametrize("affinity", ["derivative_corr", "derivative_product", "corr"])
@pytest.mark.parametrize("backend,n_jobs", BACKENDS)
def test_affinity_tensor_n_jobs_equals_serial(affinity, backend, n_jobs):
    x = _traces()
    ref, ref_mask = affinity_tensor(x, affinity, window=30, step=15, return_mask=True, device="cpu")
    with parallel_config(backend="loky" if backend == "sequential" else backend):
        got, mask = affinity_tensor(x, affinity, window=30, step=15, return_mask=True,
                                    device="cpu", n_jobs=n_jobs or 1)
    assert np.array_equal(got, ref) and np.array_equal(mask, ref_mask)
    # an animal's affinities are those of the animal alone, bit for bit (animal 1 lacks a neuron)
    for w in (0, 2, 3):
        alone = affinity_tensor(x[w], affinity, window=30, step=15, device="cpu")
        assert np.array_equal(ref[:, :, w], alone[:, :, 0])
    assert (ref[[1, 6, 11, 12, 13, 14], :, 1] == 0).all()  # pairs of the missing neuron 2


def _negative_for_large(win):
    """An affinity callable that fails on recognisably scaled traces (one animal's)."""
    if np.abs(win).max() > 1e3:
        return -np.ones((win.shape[1], win.shape[1]))
    return np.abs(np.corrcoef(win.T))


def test_affinity_callable_error_names_the_animal():
    x = _traces(seed=1)
    x[1, :, 2] = x[0, :, 2]  # no missing neuron here
    x[2] *= 1e5
    for n_jobs in (None, 2):
        with pytest.raises(ValueError, match=r"^animal 2: the affinity callable must return finite, "
                                             r"non-negative values; got 0 NaN/Inf and 49 negative "
                                             r"values \(window 0\)$"):
            affinity_tensor(x, _negative_for_large, window=30, step=15, smooth_sigma=0,
                            device="cpu", n_jobs=n_jobs)


def test_dynamic_connectome_n_jobs_and_memory_equal_serial(tmp_path):
    x = _traces()
    kw = dict(n_components=2, window=30, step=15, n_restarts=2, max_iter=40, random_state=0,
              device="cpu", dtype="float64")
    ref = DynamicConnectome(**kw).fit(x)
    got = DynamicConnectome(**kw, n_jobs=2, memory=tmp_path).fit(x)
    again = DynamicConnectome(**kw, memory=tmp_path).fit(x)  # from the cache
    for est in (got, again):
        assert np.array_equal(est.affinity_tensor_, ref.affinity_tensor_)
        assert np.array_equal(est.pair_factors_, ref.pair_factors_)
        assert np.array_equal(est.mask_, ref.mask_)
    with pytest.raises(TypeError, match="n_jobs must be None or an integer"):
        DynamicConnectome(**kw, n_jobs="2").fit(x)


def _rsa_cohort(n_sub=5, k=7, seed=0):
    rng = np.random.default_rng(seed)
    rdms, regions, subjects = [], [], []
    for s in range(n_sub):
        for r in range(3):
            base = np.random.default_rng(100 + r).random(k * (k - 1) // 2)
            rdms.append(base + 0.4 * rng.random(base.size))
            regions.append(r)
            subjects.append(s)
    return np.array(rdms), np.array(regions), np.array(subjects)


@pytest.mark.parametrize("bootstrap", ["subjects_stimuli", "rows"])
@pytest.mark.parametrize("backend,n_jobs", BACKENDS[1:])
def test_topological_rsa_bootstrap_n_jobs_equals_serial(bootstrap, backend, n_jobs):
    rdms, regions, subjects = _rsa_cohort()
    kw = dict(n_draws=3, n_bootstrap=25, bootstrap=bootstrap, random_state=2)
    ref = TopologicalRSA(**kw).fit(rdms, regions, subjects)
    with parallel_config(backend=backend):
        got = TopologicalRSA(**kw, n_jobs=n_jobs).fit(rdms, regions, subjects)
    assert np.isfinite(ref.bootstrap_accuracies_).sum() > 20
    assert np.array_equal(got.bootstrap_accuracies_, ref.bootstrap_accuracies_, equal_nan=True)
    assert got.accuracy_se_ == ref.accuracy_se_


@pytest.mark.parametrize("method", ["corr", "spearman", "tau-a"])
def test_evaluate_models_n_jobs_equals_serial(method):
    rng = np.random.default_rng(3)
    models = rng.random((3, 21))
    data = models[[0]] + 0.5 * rng.random((6, 21))
    ref = evaluate_models(models, data, method, n_bootstrap=40, random_state=1)
    with parallel_config(backend="loky"):
        got = evaluate_models(models, data, method, n_bootstrap=40, random_state=1, n_jobs=2)
    assert np.array_equal(got.evaluations, ref.evaluations, equal_nan=True)
    assert np.array_equal(got.noise_ceiling_samples, ref.noise_ceiling_samples, equal_nan=True)
    # the reference of the bootstrap: model 0 generated the data, so it wins on average
    assert ref.mean[0] > ref.mean[1:].max()
    with pytest.raises(TypeError, match="n_jobs must be None or an integer"):
        evaluate_models(models, data, method, n_bootstrap=5, n_jobs=[2])
