"""Recording-scale machinery of the GLMs: Newton M-step, chunking, convergence warnings."""

import functools
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import PoissonGLM, StateSwitchingGLM, _switching
from neurodyn.glm._emission import state_subsets, subset_glm_fisher, subset_glm_value_and_grad
from neurodyn.glm._hmm import _forward_backward
from neurodyn.glm._newton import NewtonMStep, glm_statistics


@functools.lru_cache(maxsize=None)
def _data():
    return hmm_glm(n_neurons=6, n_states=2, n_timepoints=1000, n_trials=3, sparsity=0.5,
                   random_state=1)


def _subsets(link, seed=3, n=80, n_neurons=4, dim=4, n_states=2):
    g = torch.Generator().manual_seed(seed)
    counts = torch.poisson(torch.rand(n, n_neurons, generator=g, dtype=torch.float64))
    feats = torch.rand(n, dim, generator=g, dtype=torch.float64)
    gamma = torch.rand(n, n_states, generator=g, dtype=torch.float64)
    gamma[: n // 4, 0] = 0.0
    W = 0.5 * torch.randn(n_states, n_neurons, dim, generator=g, dtype=torch.float64)
    return counts, feats, gamma, W


@pytest.mark.parametrize("link", ["softplus", "exp", "sigmoid"])
@pytest.mark.parametrize("chunk", [10, 10_000])
def test_newton_statistics_match_the_reference_gradient_and_fisher(link, chunk):
    counts, feats, gamma, W = _subsets(link)
    subsets = state_subsets(counts, feats, gamma)
    for b in (torch.full((1, 4), 0.2, dtype=torch.float64),
              torch.linspace(-0.3, 0.3, 8, dtype=torch.float64).reshape(2, 4)):
        value, g_w, g_b, h_ww, h_wb, h_bb = glm_statistics(subsets, W, b, link, chunk=chunk)
        ref_v, ref_gw, ref_gb = subset_glm_value_and_grad(subsets, W, b, link)
        np.testing.assert_allclose(float(value), float(ref_v), rtol=1e-12)
        np.testing.assert_allclose(g_w.numpy(), ref_gw.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g_b.sum(0, keepdim=b.shape[0] == 1).numpy()
                                   if b.shape[0] == 1 else g_b.numpy(), ref_gb.numpy(),
                                   rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h_ww.numpy(), subset_glm_fisher(subsets, W, b, link).numpy(),
                                   rtol=1e-10, atol=1e-12)
        # the bias blocks are the Fisher blocks of a constant feature
        ones = [(c, torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype)], 1), w) for c, f, w in subsets]
        W1 = torch.cat([W, (b if b.shape[0] > 1 else b.expand(2, 4))[..., None]], -1)
        full = subset_glm_fisher(ones, W1, torch.zeros_like(b), link)
        np.testing.assert_allclose(h_wb.numpy(), full[..., :-1, -1].numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(h_bb.numpy(), full[..., -1, -1].numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("link", ["softplus", "exp"])
def test_newton_single_glm_equals_the_lbfgs_poisson_glm(link):
    d = _data()
    glm = PoissonGLM(link=link, alpha=0.01, tol=1e-14, max_iter=3000, device="cpu").fit(d.counts)
    model = StateSwitchingGLM(n_states=1, link=link, device="cpu")
    batch = model.set_parameters(np.zeros((1, 6, 6)), np.zeros(6), np.ones((1, 1)))._batch(d.counts)
    counts, feats, _ = batch.flat()
    n_bins = counts.shape[0]
    solver = NewtonMStep(link, ridge=0.01 * n_bins)
    W, b, steps, ok = solver.run([(counts, feats, None)], torch.zeros(1, 6, 6, dtype=torch.float64),
                                 torch.zeros(1, 6, dtype=torch.float64), 100, tol=1e-12)
    assert ok and steps < 30

    def objective_and_gradient(W, b):
        value, g_w, g_b, *_ = glm_statistics([(counts, feats, None)], W, b, link)
        g = torch.cat([(g_w - 0.01 * n_bins * W).flatten(), g_b.flatten()])
        return float(value - solver.penalty(W)), float(g.abs().max()) / n_bins

    value, grad = objective_and_gradient(W, b)
    ref_value, ref_grad = objective_and_gradient(torch.as_tensor(glm.coupling_)[None],
                                                 torch.as_tensor(glm.intercept_)[None])
    # the same optimum: Newton's is at least as good (its gradient is 1e-8 per bin or less)
    assert grad < 1e-8 and grad <= ref_grad
    assert value >= ref_value - 1e-9 * abs(ref_value)
    np.testing.assert_allclose(W[0].numpy(), glm.coupling_, atol=2e-5)
    np.testing.assert_allclose(b[0].numpy(), glm.intercept_, atol=2e-5)


@pytest.mark.parametrize("prior", ["none", "gaussian"])
def test_inexact_newton_m_step_reaches_the_exact_em_fixed_point(prior, monkeypatch):
    # generalised EM (Newton steps stopped once the predicted gain is small) against EM
    # whose M-step is L-BFGS run to tol=1e-12 (the previous implementation)
    d = _data()
    kw = dict(n_states=2, prior=prior, link="sigmoid", random_state=0, device="cpu",
              max_iter=300, tol=1e-10, alpha=1e-3, n_init=1)  # one start: the same path
    newton = StateSwitchingGLM(**kw).fit(d.counts)
    monkeypatch.setattr(_switching, "_NEWTON_MAX_DIM", 0)
    exact = StateSwitchingGLM(**kw).fit(d.counts)
    assert newton.converged_ and exact.converged_
    assert len(newton._m_steps_) > 0 and not exact._m_steps_  # both paths were taken
    # the criterion is 1e-4 nats per bin and neuron; here 100 times stricter
    n_values = d.counts.shape[0] * d.counts.shape[1] * d.counts.shape[2]
    assert abs(newton.log_likelihood_ - exact.log_likelihood_) / n_values < 1e-6
    np.testing.assert_allclose(newton.coupling_, exact.coupling_, atol=2e-4)
    np.testing.assert_allclose(newton.transition_matrix_, exact.transition_matrix_, atol=1e-5)


def test_chunked_e_step_and_m_step_equal_unchunked(monkeypatch):
    d = _data()
    big = StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, max_iter=3,
                            device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        big.fit(d.counts)
        small = StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, max_iter=3,
                                  device="cpu")
        small._chunk = 97  # a few bins per block, not a divisor of the length
        small.fit(d.counts)
    batch = big._batch(d.counts)
    ref = big._log_emission(batch, big._params)
    small._params = big._params
    chunked = small._log_emission(batch, big._params)
    np.testing.assert_allclose(chunked.numpy(), ref.numpy(), rtol=0, atol=1e-10)
    for x, y in zip(_forward_backward(chunked, big._params["logA"], big._params["logpi"], batch.mask),
                    _forward_backward(ref, big._params["logA"], big._params["logpi"], batch.mask),
                    strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-10)
    # the whole fit (E- and M-steps in chunks) follows the unchunked one
    np.testing.assert_allclose(small.log_likelihood_, big.log_likelihood_, rtol=1e-10)
    np.testing.assert_allclose(small.coupling_, big.coupling_, atol=1e-8)


def test_em_stopped_at_max_iter_warns_and_converged_fit_does_not():
    d = _data()
    with pytest.warns(ConvergenceWarning, match=r"EM stopped at max_iter=2"):
        StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, max_iter=2,
                          device="cpu").fit(d.counts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, max_iter=200,
                              device="cpu").fit(d.counts)
    assert m.converged_


def test_poisson_glm_stopped_at_max_iter_warns():
    d = _data()
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2"):
        PoissonGLM(max_iter=2, device="cpu").fit(d.counts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert PoissonGLM(device="cpu").fit(d.counts).converged_


def test_verbose_shows_a_progress_bar_with_the_objective(capsys):
    d = _data()
    m = StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, verbose=True,
                          device="cpu").fit(d.counts)
    err = capsys.readouterr().err
    assert "StateSwitchingGLM EM" in err and f"objective={-m.loss_curve_[-1]:.6f}" in err
    g = PoissonGLM(verbose=True, device="cpu").fit(d.counts)
    err = capsys.readouterr().err
    assert "PoissonGLM L-BFGS" in err and f"objective={g.loss_curve_[-1]:.8f}" in err


@pytest.mark.parametrize("generator", [
    # the paper's generator (capped sigmoid), the softplus case, an inhibitory exp network
    dict(n_neurons=10, n_states=3, link="sigmoid", random_state=0),
    dict(n_neurons=12, n_states=3, link="softplus", random_state=0),
    dict(n_neurons=8, n_states=2, link="exp", sparsity=0.5, p_excitatory=0.0, bias_scale=1.0,
         random_state=1),
])
def test_default_initialisation_recovers_the_states(generator):
    d = hmm_glm(n_timepoints=1500, n_trials=6, initial_state="uniform", **generator)
    S, link = generator["n_states"], generator["link"]
    truth = StateSwitchingGLM(n_states=S, link=link, device="cpu").set_parameters(
        d.coupling, d.bias, d.transition_matrix)
    from neurodyn.glm import state_accuracy
    reference = state_accuracy(d.states[4:], truth.predict(d.counts[4:]))
    model = StateSwitchingGLM(n_states=S, link=link, random_state=0, device="cpu").fit(d.counts[:4])
    assert model.n_init == "auto"
    accuracy = state_accuracy(d.states[4:], model.predict(d.counts[4:]))
    assert reference > 0.9
    assert accuracy >= reference - 0.02, (accuracy, reference)


@pytest.mark.parametrize("link", ["softplus", "sigmoid"])
def test_index_subsets_give_the_copied_subsets_statistics(link):
    from neurodyn.glm._newton import index_subsets

    counts, feats, gamma, W = _subsets(link)
    b = torch.full((1, 4), -0.1, dtype=torch.float64)
    copied = glm_statistics(state_subsets(counts, feats, gamma), W, b, link, chunk=50)
    indexed = glm_statistics(index_subsets(counts, feats, gamma), W, b, link, chunk=50)
    for x, y in zip(copied, indexed, strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("link", ["softplus", "exp"])
def test_observed_curvature_is_the_autograd_hessian_for_log_concave_links(link):
    counts, feats, gamma, W = _subsets(link, n=40, n_neurons=2, dim=3)
    subsets = state_subsets(counts, feats, gamma)
    b = torch.full((1, 2), 0.3, dtype=torch.float64)
    h_ww = glm_statistics(subsets, W, b, link, observed=True)[3]
    for s, (c, f, w) in enumerate(subsets):
        for n in range(2):
            def value(row, s=s, n=n, c=c, f=f, w=w):
                u = f @ row + b[0, n]
                from neurodyn.glm._emission import poisson_log_prob
                return -(w * poisson_log_prob(c[:, n], u, link, log_factorial=0.0)).sum()
            ref = torch.autograd.functional.hessian(value, W[s, n].clone())
            np.testing.assert_allclose(h_ww[s, n].numpy(), ref.numpy(), rtol=1e-9, atol=1e-12)
