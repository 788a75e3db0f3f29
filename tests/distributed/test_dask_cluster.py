"""Every parallel API on a real dask.distributed cluster (2 worker processes) through joblib.

``dask[distributed]`` is part of the ``dev`` extra: these tests run in CI, they do not skip.
One module-scoped ``LocalCluster`` (2 processes, 1 thread each) serves all tests; a worker
killed by a test is restarted by its nanny.
"""

import _thread
import logging
import os
import sys
import threading
import time
import uuid
import warnings

import cloudpickle
import dask
import distributed
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from neurodyn._parallel import item_seeds, parallel_map
from neurodyn.compare import bootstrap_metric
from neurodyn.connectome import DynamicConnectome
from neurodyn.connectome.affinity import affinity_tensor
from neurodyn.datasets.simulate import fmri_cohort, hmm_glm
from neurodyn.glm import PoissonGLM, fit_sessions
from neurodyn.graph import GraphFeatures
from neurodyn.rnn import LeakyRNN, NParity, train_seeds, train_task
from neurodyn.rsa.inference import evaluate_models
from neurodyn.rsa.rdm import compute_rdm, noise_precision
from neurodyn.rsa.trsa import TopologicalRSA

# this file is not importable in the workers: its helpers travel by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


# Workers start from a forkserver that has imported neurodyn (and torch) once: a worker killed
# by a test comes back in about a second instead of re-importing torch (seconds on 2 busy cores).
_PRELOAD = ["distributed", "numpy", "torch", "neurodyn", "neurodyn.compare", "neurodyn.connectome", "neurodyn.glm", "neurodyn.graph",
            "neurodyn.rnn", "neurodyn.rsa"]


@pytest.fixture(scope="module")
def client():
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        # after distributed has set its own list (this one replaces it)
        distributed.utils.get_mp_context().set_forkserver_preload(_PRELOAD)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                distributed.Client(cluster) as c:
            yield c


def _on_dask(fn, *args, **kwargs):
    with parallel_config(backend="dask"):
        return fn(*args, **kwargs)


def _n_executing(dask_worker):
    return len(dask_worker.state.executing)


def _idle(client, timeout=20.0):
    """True once no task is processing on the cluster and no worker is still executing one
    (a task cancelled while it ran keeps running on its worker, outside the scheduler's view)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not any(client.processing().values()) and not any(client.run(_n_executing).values()):
            return True
        time.sleep(0.05)
    return False


class _KillFirstExecution(distributed.WorkerPlugin):
    """Kills its worker process when a task starts executing there, once per marker file."""

    def __init__(self, marker):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing":
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.close(fd)
            os._exit(1)


def _noisy(x, scale=1.0, random_state=None):
    time.sleep(0.05)
    return x * scale + np.random.default_rng(random_state).normal(size=3)


def _fails_at_three(x):
    if x == 3:
        raise ValueError(f"X[{x}] has NaN at row 7")
    return 10 * x


def _logged(x, log_dir, crash_at=None, random_state=None):
    if x == crash_at and not os.path.exists(os.path.join(log_dir, "crashed")):
        open(os.path.join(log_dir, "crashed"), "w").close()
        raise RuntimeError("simulated crash")
    time.sleep(0.05)
    value = x * x + np.random.default_rng(random_state).random()
    open(os.path.join(log_dir, f"done-{x}-{uuid.uuid4().hex}"), "w").close()
    return value


def _negative_for_large(win):
    if np.abs(win).max() > 1e3:
        return -np.ones((win.shape[1], win.shape[1]))
    return np.abs(np.corrcoef(win.T))


def _cohort(n_subjects=8, n_time=60, n_nodes=40):
    return fmri_cohort(n_subjects, n_nodes, n_time, n_signal_nodes=8, random_state=1)["timeseries"]


def _rsa_cohort(n_sub=5, k=7):
    rng = np.random.default_rng(0)
    rdms, regions, subjects = [], [], []
    for s in range(n_sub):
        for r in range(3):
            base = np.random.default_rng(100 + r).random(k * (k - 1) // 2)
            rdms.append(base + 0.4 * rng.random(base.size))
            regions.append(r)
            subjects.append(s)
    return np.array(rdms), np.array(regions), np.array(subjects)


def _traces():
    x = np.random.default_rng(0).normal(size=(4, 160, 7)).cumsum(1)
    x[1, :, 2] = np.nan
    return x


# ------------------------------------------------------------------ equal to serial

def test_every_parallel_api_equals_serial_on_the_cluster(client):
    subjects = _cohort()
    gf = dict(density=0.1, features=("degree", "triangles", "clustering"))
    ref = GraphFeatures(**gf).fit_transform(subjects)
    assert np.array_equal(_on_dask(GraphFeatures(**gf, n_jobs=-1).fit_transform, subjects), ref)

    x = _traces()
    ref = affinity_tensor(x, window=30, step=15, device="cpu")
    assert np.array_equal(_on_dask(affinity_tensor, x, window=30, step=15, device="cpu", n_jobs=-1), ref)
    kw = dict(n_components=2, window=30, step=15, n_restarts=2, max_iter=30, random_state=0,
              device="cpu", dtype="float64")
    ref = DynamicConnectome(**kw).fit(x)
    got = _on_dask(DynamicConnectome(**kw, n_jobs=-1).fit, x)
    assert np.array_equal(got.affinity_tensor_, ref.affinity_tensor_)
    assert np.array_equal(got.pair_factors_, ref.pair_factors_)

    rdms, regions, subj = _rsa_cohort()
    kw = dict(n_draws=3, n_bootstrap=20, random_state=2)
    ref = TopologicalRSA(**kw).fit(rdms, regions, subj)
    got = _on_dask(TopologicalRSA(**kw, n_jobs=-1).fit, rdms, regions, subj)
    assert np.array_equal(got.bootstrap_accuracies_, ref.bootstrap_accuracies_, equal_nan=True)

    rng = np.random.default_rng(3)
    models = rng.random((3, 21))
    data = models[[0]] + 0.5 * rng.random((6, 21))
    ref = evaluate_models(models, data, "spearman", n_bootstrap=30, random_state=1)
    got = _on_dask(evaluate_models, models, data, "spearman", n_bootstrap=30, random_state=1,
                   n_jobs=-1)
    assert np.array_equal(got.evaluations, ref.evaluations, equal_nan=True)
    assert np.array_equal(got.noise_ceiling_samples, ref.noise_ceiling_samples, equal_nan=True)

    seeds = item_seeds(7, 6)
    ref = [_noisy(i, 2.0, random_state=s) for i, s in enumerate(seeds)]
    got = _on_dask(parallel_map, _noisy, range(6), kwargs={"scale": 2.0}, n_jobs=-1, random_state=7)
    assert all(np.array_equal(a, b) for a, b in zip(got, ref, strict=True))


# ------------------------------------------------------------------ a worker dies

def _run_killing_a_worker(client, tmp_path, run):
    """``run()`` under the dask backend while the worker that starts its first task is killed."""
    client.wait_for_workers(2, timeout=60)  # the last victim's replacement is up
    marker = str(tmp_path / f"killed-{uuid.uuid4().hex}")
    name = f"kill-{uuid.uuid4().hex}"
    client.register_plugin(_KillFirstExecution(marker), name=name)
    try:
        got = _on_dask(run)
    finally:
        client.unregister_worker_plugin(name)
    assert os.path.exists(marker), "no worker was killed"
    return got


def test_worker_killed_mid_run_completes_equal_to_serial(client, tmp_path):
    pids_before = set(client.run(os.getpid).values())
    subjects = _cohort(n_subjects=10)
    gf = dict(density=0.1, features=("degree", "triangles"))
    ref = GraphFeatures(**gf).fit_transform(subjects)
    x = _traces()
    ref_aff = affinity_tensor(x, window=30, step=15, device="cpu")

    for run, expected in [
        (lambda: GraphFeatures(**gf, n_jobs=-1).fit_transform(subjects), ref),
        (lambda: affinity_tensor(x, window=30, step=15, device="cpu", n_jobs=-1), ref_aff),
    ]:
        assert np.array_equal(_run_killing_a_worker(client, tmp_path, run), expected)
    client.wait_for_workers(2, timeout=60)
    pids_after = set(client.run(os.getpid).values())
    assert len(pids_before - pids_after) >= 1  # the killed workers were replaced


def _make_net(seed):
    return LeakyRNN(n_units=6, n_inputs=1, n_outputs=2, n_heads=2, random_state=seed, device="cpu")


def _corr(X, Y):
    return float(np.corrcoef(X.mean(1), Y.mean(1))[0, 1])


def test_worker_killed_mid_run_rdm_compare_rnn_glm_equal_to_serial(client, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 24, 6)) * np.array([1.0, 1e3, 1e-4, 2.0, 1.0, 3.0])[:, None, None]
    kw = dict(conditions=np.tile(np.arange(6), 4), folds=np.repeat(np.arange(4), 6),
              noise=noise_precision(rng.standard_normal((6, 30, 6))), method="crossnobis", device="cpu")
    got = _run_killing_a_worker(client, tmp_path, lambda: compute_rdm(x, n_jobs=-1, **kw))
    assert np.array_equal(got, compute_rdm(x, **kw))

    latent = rng.standard_normal((12, 3))
    X = latent @ rng.standard_normal((3, 6))
    Ys = (latent @ rng.standard_normal((3, 5)))[None] + 0.5 * rng.standard_normal((4, 12, 5))
    kw = dict(n_bootstrap=40, resample="both", random_state=3)
    got = _run_killing_a_worker(client, tmp_path, lambda: bootstrap_metric(_corr, X, Ys, n_jobs=-1, **kw))
    ref = bootstrap_metric(_corr, X, Ys, **kw)
    assert np.isfinite(ref["samples"]).all()
    for key in ("samples", "estimate", "ci_low", "ci_high"):
        assert np.array_equal(got[key], ref[key])

    kw = dict(n_steps=5, batch_size=8, optimizer="adam", lr=0.02)
    seeds = [3, 0, 11, 4]
    got = _run_killing_a_worker(client, tmp_path, lambda: train_seeds(_make_net, NParity(n=2, random_state=0),
                                                                      seeds, n_jobs=-1, **kw))
    for (net_g, hist_g), s in zip(got, seeds, strict=True):
        net_r = _make_net(s)
        hist_r = train_task(net_r, NParity(n=2, random_state=0), random_state=s, **kw)
        assert np.array_equal(hist_g.loss_curve_, hist_r.loss_curve_)
        for (k, a), b in zip(net_g.state_dict().items(), net_r.state_dict().values(), strict=True):
            assert np.array_equal(a.numpy(), b.numpy()), k

    sessions = [hmm_glm(n_neurons=4, n_states=1, n_timepoints=200, n_trials=2, random_state=s).counts
                for s in range(4)]
    template = PoissonGLM(n_lags=2, max_iter=60, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        got = _run_killing_a_worker(client, tmp_path, lambda: fit_sessions(template, sessions, n_jobs=-1))
        ref = [clone(template).fit(s) for s in sessions]
    for g, r in zip(got, ref, strict=True):
        assert np.array_equal(g.coupling_, r.coupling_) and np.array_equal(g.intercept_, r.intercept_)
        assert g.loss_curve_ == r.loss_curve_


# ------------------------------------------------------------------ crash and resume

def test_cached_cohort_interrupted_and_resumed_equals_uninterrupted(client, tmp_path):
    # an error halfway through a cached run; the rerun computes only the missing items
    log = tmp_path / "log"
    log.mkdir()
    kwargs = {"log_dir": str(log), "crash_at": 6}
    with pytest.raises(RuntimeError, match="^subject 6: simulated crash"):
        _on_dask(parallel_map, _logged, range(12), kwargs=kwargs, n_jobs=-1,
                 memory=tmp_path / "cache", desc="subject", random_state=0)
    # subjects in flight at the crash finish (and are cached) before the rerun, as a real
    # resume would find them; otherwise the rerun races their cache writes
    assert _idle(client)
    got = _on_dask(parallel_map, _logged, range(12), kwargs=kwargs, n_jobs=-1,
                   memory=tmp_path / "cache", desc="subject", random_state=0)
    done = [int(f.split("-")[1]) for f in os.listdir(log) if f.startswith("done-")]
    assert sorted(done) == list(range(12))  # each subject computed exactly once over both runs
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert got == parallel_map(_logged, range(12), kwargs={"log_dir": str(fresh)}, random_state=0)

    # GraphFeatures interrupted from the caller (Ctrl-C) once some subjects are cached
    subjects = _cohort(n_subjects=24, n_time=80, n_nodes=150)
    gf = dict(density=0.1, features=("degree", "triangles", "clustering"), warn_transposed=False)
    ref = GraphFeatures(**gf).fit_transform(subjects)
    cache = tmp_path / "graph-cache"

    def outputs():
        return sorted(str(p) for p in cache.rglob("output.pkl")) if cache.exists() else []

    def interrupt_after_two():
        end = time.monotonic() + 60
        while len(outputs()) < 2 and time.monotonic() < end:
            time.sleep(0.002)
        _thread.interrupt_main()

    watcher = threading.Thread(target=interrupt_after_two, daemon=True)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        _on_dask(GraphFeatures(**gf, n_jobs=-1, memory=cache).fit_transform, subjects)
    watcher.join()
    assert _idle(client)
    cached = {p: os.stat(p).st_mtime_ns for p in outputs()}
    assert 2 <= len(cached) < len(subjects)
    got = _on_dask(GraphFeatures(**gf, n_jobs=-1, memory=cache).fit_transform, subjects)
    assert np.array_equal(got, ref)
    assert len(outputs()) == len(subjects)
    assert all(os.stat(p).st_mtime_ns == t for p, t in cached.items())  # not recomputed


# ------------------------------------------------------------------ bad input in one subject

def test_bad_subject_raises_in_caller_naming_it_and_cluster_stays_usable(client):
    with pytest.raises(ValueError, match=r"^subject 3: X\[3\] has NaN at row 7$"):
        _on_dask(parallel_map, _fails_at_three, range(8), n_jobs=-1, desc="subject")
    x = _traces()
    x[1, :, 2] = x[0, :, 2]
    x[2] *= 1e5
    with pytest.raises(ValueError, match=r"^animal 2: the affinity callable must return finite, "
                                         r"non-negative values; got 0 NaN/Inf and 49 negative"):
        _on_dask(affinity_tensor, x, _negative_for_large, window=30, step=15, smooth_sigma=0,
                 device="cpu", n_jobs=-1)
    subjects = np.array(_cohort(n_subjects=5))
    subjects[3, 4, 2] = np.nan
    with pytest.raises(ValueError, match=r"X\[3\] must be finite"):
        _on_dask(GraphFeatures(density=0.1, n_jobs=-1).fit_transform, subjects)
    assert _idle(client)
    # the cluster still answers, with the right values
    assert _on_dask(parallel_map, _fails_at_three, [0, 1, 2, 4], n_jobs=-1) == [0, 10, 20, 40]


def test_compute_rdm_n_jobs_on_the_cluster_equals_serial(client):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 24, 6)) * np.array([1.0, 1e3, 1e-4, 2.0])[:, None, None]
    kw = dict(conditions=np.tile(np.arange(6), 4), folds=np.repeat(np.arange(4), 6),
              noise=noise_precision(rng.standard_normal((4, 30, 6))), method="crossnobis", device="cpu")
    assert np.array_equal(_on_dask(compute_rdm, x, n_jobs=-1, **kw), compute_rdm(x, **kw))
    rates = rng.poisson(3.0, (4, 24, 6)).astype(float)
    assert np.array_equal(_on_dask(compute_rdm, rates, "poisson", conditions=kw["conditions"], device="cpu",
                                   dtype="float32", n_jobs=-1),
                          compute_rdm(rates, "poisson", conditions=kw["conditions"], device="cpu", dtype="float32"))
