"""Closed-form spike-and-slab class evidence and the Fisher information, against numerical references."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from neurodyn.glm._emission import poisson_log_prob, subset_glm_fisher
from neurodyn.glm._spike_slab import (
    class_log_evidence,
    class_posteriors,
    conditional_magnitude,
    likelihood_from_posterior,
)

CASES = [(0.7, 0.04, 1.0), (-0.3, 0.09, 0.5), (0.0, 0.01, 2.0), (2.5, 0.5, 1.0), (-1.2, 0.02, 0.8)]


def _t(x):
    return torch.as_tensor(np.asarray(x, dtype=float))


@pytest.mark.parametrize(("mean", "var", "slab_var"), CASES)
def test_class_evidence_equals_numerical_integral(mean, var, slab_var):
    lik = stats.norm(mean, np.sqrt(var))
    slab = stats.norm(0.0, np.sqrt(slab_var))
    exc, _ = integrate.quad(lambda w: lik.pdf(w) * 2 * slab.pdf(w), 0, np.inf, epsabs=1e-14)
    inh, _ = integrate.quad(lambda w: lik.pdf(w) * 2 * slab.pdf(w), -np.inf, 0, epsabs=1e-14)
    got = class_log_evidence(_t(mean), _t(var), slab_var).numpy()
    np.testing.assert_allclose(got, np.log([inh, lik.pdf(0.0), exc]), rtol=1e-7)


@pytest.mark.parametrize(("mean", "var", "slab_var"), CASES)
def test_conditional_magnitudes_equal_numerical_means(mean, var, slab_var):
    lik = stats.norm(mean, np.sqrt(var))
    slab = stats.norm(0.0, np.sqrt(slab_var))

    def dens(w):
        return lik.pdf(w) * slab.pdf(w)

    exc = integrate.quad(lambda w: w * dens(w), 0, np.inf)[0] / integrate.quad(dens, 0, np.inf)[0]
    inh = integrate.quad(lambda w: -w * dens(w), -np.inf, 0)[0] / integrate.quad(dens, -np.inf, 0)[0]
    got = conditional_magnitude(_t(mean), _t(var), slab_var)
    np.testing.assert_allclose([float(got[0]), float(got[1])], [exc, inh], rtol=1e-6)


def test_likelihood_from_posterior_inverts_a_ridge():
    # posterior of N(m, v) likelihood times N(0, s) prior, then undone
    m, v, s = _t([0.4, -1.0]), _t([0.05, 0.3]), 0.8
    var_post = 1.0 / (1.0 / v + 1.0 / s)
    mean_post = var_post * m / v
    got_m, got_v = likelihood_from_posterior(mean_post, var_post, s)
    np.testing.assert_allclose(got_m.numpy(), m.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got_v.numpy(), v.numpy(), rtol=1e-12)


def test_strong_evidence_wins_and_no_evidence_follows_the_prior():
    # a clearly excitatory weight, a clearly absent one, and an uninformed one
    ev = class_log_evidence(_t([1.0, 0.0, 0.0]), _t([1e-3, 1e-3, 1e6]), 1.0)
    q = torch.softmax(ev, -1).numpy()
    assert q[0].argmax() == 2 and q[0, 2] > 0.999
    # a zero estimate: each sign's evidence is sqrt(var / (var + slab_var)) of "none" (Occam factor)
    ratio = np.sqrt(1e-3 / (1e-3 + 1.0))
    np.testing.assert_allclose(q[1], np.array([ratio, 1.0, ratio]) / (1 + 2 * ratio), rtol=1e-9)
    np.testing.assert_allclose(q[2], [1 / 3, 1 / 3, 1 / 3], atol=1e-6)  # the (uniform) prior


def test_class_posteriors_reach_the_joint_fixed_point():
    rng = np.random.default_rng(0)
    log_ev = _t(rng.normal(size=(5, 4, 4, 3)) * 3)
    start = torch.full((4, 4, 3), -np.log(3.0), dtype=torch.float64)
    log_q, log_p = class_posteriors(log_ev, start, concentration=1.0, n_iter=1000, tol=1e-14)
    q = log_q.exp().numpy()
    p = log_p.exp().numpy()
    np.testing.assert_allclose(q.sum(-1), 1.0, rtol=1e-12)
    # p_bar is the Dirichlet-MAP of the posteriors, and q is Bayes' rule with that p_bar
    np.testing.assert_allclose(p, (q.sum(0) + 1.0) / (5 + 3.0), rtol=1e-9)
    post = np.exp(log_ev.numpy()) * p[None]
    np.testing.assert_allclose(q, post / post.sum(-1, keepdims=True), rtol=1e-9)


@pytest.mark.parametrize("link", ["exp", "softplus", "sigmoid"])
def test_fisher_information_equals_expected_negative_hessian(link):
    rng = np.random.default_rng(1)
    n_bins, n_neurons = 200, 3
    feats = _t(rng.random((n_bins, n_neurons)))
    W = _t(rng.normal(scale=0.5, size=(2, n_neurons, n_neurons)))
    b = _t(rng.normal(scale=0.3, size=(1, n_neurons)))
    w = _t(rng.random(n_bins))
    info = subset_glm_fisher([(feats[:, :n_neurons], feats, w), (feats, feats, w * 0.5)], W, b, link)
    # expected information: average the Hessian of -log p over counts drawn at the model's rate
    for s, scale in ((0, 1.0), (1, 0.5)):
        for n in range(n_neurons):
            def neg_ll(row, n=n, counts=None, scale=scale):
                u = feats @ row + b[0, n]
                return -(scale * w * poisson_log_prob(counts, u, link, log_factorial=0.0)).sum()

            u0 = feats @ W[s, n] + b[0, n]
            rate = {"exp": torch.exp, "softplus": torch.nn.functional.softplus,
                    "sigmoid": torch.sigmoid}[link](u0)
            # the Hessian is linear in the counts, so E[H] = H at counts = E[counts] = rate
            hess = torch.autograd.functional.hessian(lambda r, rate=rate: neg_ll(r, counts=rate),
                                                     W[s, n].clone())
            np.testing.assert_allclose(info[s, n].numpy(), hess.numpy(), rtol=1e-5, atol=1e-10)
