"""CUDA paths give the CPU results (run on a machine with a GPU; skipped elsewhere).

Each check runs the same small problem with ``device="cpu"`` and ``device="cuda"``
(float64 on both, so the comparison is about the algorithm, not the precision)
and compares the numbers. ``benchmarks/gpu_check.sh`` runs this file first.
"""

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

rng = np.random.default_rng(0)


def test_connectome_affinity_tensor_cuda_equals_cpu():
    from neurodyn.connectome import affinity_tensor

    traces = rng.normal(size=(2, 300, 12)).cumsum(1)  # (animals, timepoints, neurons)
    cpu = affinity_tensor(traces, window=40, step=20, device="cpu", dtype="float64")
    gpu = affinity_tensor(traces, window=40, step=20, device="cuda", dtype="float64")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-12)


def test_ntf_cuda_reaches_the_cpu_error():
    from neurodyn.connectome import NonnegativeCP

    A, B, C = (rng.random((n, 3)) for n in (40, 30, 5))
    T = np.einsum("ir,jr,kr->ijk", A, B, C)
    err = []
    for dev in ("cpu", "cuda"):
        m = NonnegativeCP(n_components=3, n_restarts=3, max_iter=300, random_state=0,
                          device=dev, dtype="float64").fit(T)
        err.append(m.reconstruction_error_ if hasattr(m, "reconstruction_error_") else m.errors_[-1])
    assert err[1] == pytest.approx(err[0], abs=1e-4)
    assert err[1] < 1e-3


def test_hmm_forward_backward_cuda_equals_cpu():
    from neurodyn.glm import forward_backward

    S, T = 3, 500
    log_e = torch.as_tensor(rng.normal(size=(4, T, S)))
    log_a = torch.log(torch.as_tensor(rng.dirichlet(np.ones(S) * 5, size=S)))
    log_pi = torch.log(torch.full((S,), 1.0 / S, dtype=torch.float64))
    cpu = forward_backward(log_e, log_a, log_pi)
    gpu = forward_backward(log_e.cuda(), log_a.cuda(), log_pi.cuda())
    assert len(cpu) == len(gpu) == 3  # log-likelihood, posterior, transition counts
    for c, g in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(g.cpu().numpy(), c.numpy(), rtol=1e-8, atol=1e-10)


def test_crossnobis_cuda_equals_cpu():
    from neurodyn.rsa import compute_rdm

    patterns = rng.normal(size=(2, 40, 60))
    cond = np.tile(np.arange(10), 4)
    runs = np.repeat(np.arange(4), 10)
    cpu = compute_rdm(patterns, "crossnobis", conditions=cond, folds=runs, device="cpu", dtype="float64")
    gpu = compute_rdm(patterns, "crossnobis", conditions=cond, folds=runs, device="cuda", dtype="float64")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-12)


def test_graph_features_cuda_equal_cpu_exactly():
    from neurodyn.graph import correlation_graph, node_features

    X = rng.normal(size=(200, 300)) + rng.normal(size=(200, 1))
    g_cpu = correlation_graph(X, threshold=0.2, device="cpu")
    g_gpu = correlation_graph(X, threshold=0.2, device="cuda")
    assert (g_cpu.adjacency != g_gpu.adjacency).nnz == 0
    f_cpu = node_features(g_cpu.adjacency, engine="sparse")
    f_gpu = node_features(g_cpu.adjacency, engine="torch", device="cuda")
    for key in ("degree", "triangles", "squares"):
        np.testing.assert_array_equal(np.asarray(f_gpu[key]), np.asarray(f_cpu[key]))
    np.testing.assert_allclose(np.asarray(f_gpu["clustering"]), np.asarray(f_cpu["clustering"]), rtol=1e-12)


def test_leaky_rnn_cuda_forward_equals_cpu():
    from neurodyn.rnn import LeakyRNN

    net = LeakyRNN(n_units=32, n_inputs=1, random_state=0, device="cpu", dtype="float64")
    net_gpu = LeakyRNN(n_units=32, n_inputs=1, random_state=0, device="cuda", dtype="float64")
    net_gpu.load_state_dict(net.state_dict())
    x = torch.as_tensor(rng.integers(0, 2, size=(50, 8, 1)).astype(np.float64))
    states_cpu, _ = net(x)
    states_gpu, _ = net_gpu(x.cuda())
    np.testing.assert_allclose(states_gpu.detach().cpu().numpy(), states_cpu.detach().numpy(),
                               rtol=1e-8, atol=1e-10)


def test_linear_cka_cuda_equals_cpu():
    from neurodyn.compare import linear_cka

    X, Y = rng.normal(size=(100, 30)), rng.normal(size=(100, 20))
    assert linear_cka(X, Y, device="cuda", dtype="float64") == pytest.approx(
        linear_cka(X, Y, device="cpu", dtype="float64"), rel=1e-10)


def test_compare_rdms_cuda_equals_cpu():
    from neurodyn.rsa import compare_rdms

    a, b = rng.random((4, 190)), rng.random((3, 190))
    a[0] = np.round(a[0] * 3)  # ties
    for method in ("cosine", "corr", "spearman", "rho-a", "tau-a", "tau-b"):
        cpu = compare_rdms(a, b, method=method, device="cpu", dtype="float64")
        gpu = compare_rdms(a, b, method=method, device="cuda", dtype="float64")
        np.testing.assert_allclose(gpu, cpu, rtol=1e-9, atol=1e-12, err_msg=method)


def test_ridge_and_shape_metric_cuda_equal_cpu():
    from neurodyn.compare import ShapeMetric, ridge_cv

    X = rng.normal(size=(80, 30))
    Y = X[:, :10] @ rng.normal(size=(10, 40)) + rng.normal(size=(80, 40))
    cpu = ridge_cv(X, Y, alphas=np.logspace(-2, 3, 6), device="cpu", dtype="float64")
    gpu = ridge_cv(X, Y, alphas=np.logspace(-2, 3, 6), device="cuda", dtype="float64")
    np.testing.assert_array_equal(gpu["alpha"], cpu["alpha"])
    np.testing.assert_allclose(gpu["coef"], cpu["coef"], rtol=1e-8, atol=1e-10)
    for alpha in (1.0, 0.5):
        d_cpu = ShapeMetric(alpha=alpha, device="cpu", dtype="float64").fit(X, Y).distance_
        d_gpu = ShapeMetric(alpha=alpha, device="cuda", dtype="float64").fit(X, Y).distance_
        assert d_gpu == pytest.approx(d_cpu, rel=1e-8)


def test_state_switching_glm_cuda_equals_cpu():
    from neurodyn.datasets.simulate import hmm_glm
    from neurodyn.glm import StateSwitchingGLM

    data = hmm_glm(n_neurons=6, n_states=2, n_timepoints=400, n_trials=3, random_state=0)
    fits = [StateSwitchingGLM(n_states=2, link="sigmoid", max_iter=4, tol=0.0, random_state=0,
                              device=dev, dtype="float64").fit(data.counts) for dev in ("cpu", "cuda")]
    assert fits[1].log_likelihood_ == pytest.approx(fits[0].log_likelihood_, rel=1e-6)
    np.testing.assert_allclose(fits[1].coupling_, fits[0].coupling_, rtol=1e-4, atol=1e-6)


def test_seeded_initialisation_is_the_same_on_cuda_and_cpu():
    from neurodyn.connectome import NonnegativeCP
    from neurodyn.rnn import LeakyRNN

    cpu = LeakyRNN(n_units=16, n_inputs=2, random_state=3, tau_init="paper", device="cpu", dtype="float64")
    gpu = LeakyRNN(n_units=16, n_inputs=2, random_state=3, tau_init="paper", device="cuda", dtype="float64")
    for (name, a), (_, b) in zip(cpu.state_dict().items(), gpu.state_dict().items(), strict=True):
        np.testing.assert_array_equal(b.cpu().numpy(), a.numpy(), err_msg=name)
    T = np.einsum("ir,jr,kr->ijk", *(rng.random((n, 2)) for n in (12, 9, 4)))
    fits = [NonnegativeCP(n_components=2, max_iter=15, tol=0, random_state=1, device=dev,
                          dtype="float64").fit(T) for dev in ("cpu", "cuda")]
    for fa, fb in zip(fits[0].factors_, fits[1].factors_, strict=True):
        np.testing.assert_allclose(fb, fa, rtol=1e-8, atol=1e-12)


def test_fused_float32_rnn_on_cuda_matches_the_time_loop():
    from neurodyn.rnn import LeakyRNN

    net = LeakyRNN(n_units=500, n_inputs=1, nonlinearity="relu", random_state=0, device="cuda")
    x = torch.as_tensor(rng.integers(0, 2, size=(100, 64, 1)), dtype=torch.float32, device="cuda")
    with torch.no_grad():
        fused, _ = net(x)
        loop, _ = net.forward_loop(x)
    scale = float(loop.abs().max())
    assert float((fused - loop).abs().max()) <= 1e-5 * max(scale, 1.0)
