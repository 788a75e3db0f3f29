import functools

import numpy as np
import pytest
import torch
from scipy.special import gammaln
from sklearn.base import clone

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import PoissonGLM, StateSwitchingGLM, align_states, state_accuracy
from neurodyn.glm._emission import poisson_log_prob, weighted_glm_value_and_grad


@functools.lru_cache(maxsize=None)
def _data():
    # two states, dense coupling (half the edges present): recoverable from 6000 bins
    return hmm_glm(n_neurons=8, n_states=2, n_timepoints=1500, n_trials=6, sparsity=0.5,
                   random_state=0)


@functools.lru_cache(maxsize=None)
def _fitted(prior):
    d = _data()
    model = StateSwitchingGLM(n_states=2, prior=prior, link="sigmoid", random_state=0,
                              adam_steps=50, device="cpu").fit(d.counts[:4])
    model.reorder_states(align_states(d.states[:4], model.predict(d.counts[:4]), 2))
    return model


def _numpy_log_likelihood(counts, coupling, bias, A, phi):
    """Paper's emission model and a scaled forward recursion, written out in numpy."""
    total = 0.0
    S = A.shape[0]
    for x in counts:
        T, N = x.shape
        h = np.zeros((T, N))
        for lag in range(1, phi.size + 1):
            h[lag:] += phi[lag - 1] * x[:-lag]
        log_em = np.zeros((T, S))
        for s in range(S):
            u = bias + h @ coupling[s].T
            f = (1 - 1e-8) / (1 + np.exp(-u)) + 1e-8
            log_em[:, s] = (x * np.log(f + 1e-8) - f - gammaln(x + 1)).sum(1)
        alpha = np.full(S, 1.0 / S) * np.exp(log_em[0] - log_em[0].max())
        ll = np.log(alpha.sum()) + log_em[0].max()
        alpha /= alpha.sum()
        for t in range(1, T):
            a = (alpha @ A) * np.exp(log_em[t] - log_em[t].max())
            ll += np.log(a.sum()) + log_em[t].max()
            alpha = a / a.sum()
        total += ll
    return total


def test_oracle_likelihood_matches_numpy_reference():
    d = hmm_glm(n_neurons=6, n_states=3, n_timepoints=300, n_trials=3, random_state=2)
    model = StateSwitchingGLM(n_states=3, link="sigmoid", device="cpu").set_parameters(
        d.coupling, d.bias, d.transition_matrix)
    ref = _numpy_log_likelihood(d.counts, d.coupling, d.bias, d.transition_matrix, d.basis[0])
    np.testing.assert_allclose(model.log_likelihood(d.counts), ref, rtol=1e-10)


def test_oracle_decodes_states_of_the_paper_generator():
    # spec setting (N = 20, S = 5, 2000 bins), true parameters: state accuracy >= 0.975
    d = hmm_glm(random_state=0, n_trials=4)
    model = StateSwitchingGLM(n_states=5, link="sigmoid", device="cpu").set_parameters(
        d.coupling, d.bias, d.transition_matrix)
    assert np.mean(model.predict(d.counts) == d.states) >= 0.975
    post = model.predict_proba(d.counts)
    np.testing.assert_allclose(post.sum(-1), 1.0, atol=1e-12)
    assert np.mean(post.argmax(-1) == d.states) >= 0.975


def test_plain_model_recovers_states_coupling_and_beats_single_glm():
    d = _data()
    model = _fitted("none")
    X_test = d.counts[4:]
    assert np.mean(model.predict(X_test) == d.states[4:]) >= 0.92
    assert np.mean(model.adjacency_ == d.adjacency) >= 0.85
    assert np.corrcoef(model.coupling_.ravel(), d.coupling.ravel())[0, 1] > 0.85
    glm = PoissonGLM(link="sigmoid", device="cpu").fit(d.counts[:4])
    assert model.bits_per_spike(X_test) >= glm.bits_per_spike(X_test) + 0.02


def test_em_objective_never_decreases_with_exact_m_step():
    for prior in ("none", "gaussian"):
        losses = np.array(_fitted(prior).loss_curve_)
        assert len(losses) >= 3
        assert np.all(np.diff(losses) <= 1e-6 * np.abs(losses[1:])), prior


def test_default_fit_breaks_state_symmetry():
    W = _fitted("none").coupling_
    for i in range(W.shape[0]):
        for j in range(i + 1, W.shape[0]):
            assert np.abs(W[i] - W[j]).max() > 1e-3


def test_gaussian_prior_shrinks_towards_shared_mean():
    d = _data()
    plain, ghg = _fitted("none"), _fitted("gaussian")
    np.testing.assert_allclose(ghg.global_coupling_, ghg.coupling_.mean(0))
    spread = lambda m: np.abs(m.coupling_ - m.coupling_.mean(0)).mean()  # noqa: E731
    assert spread(ghg) < spread(plain)
    assert np.mean((ghg.coupling_ - d.coupling) ** 2) < np.mean((plain.coupling_ - d.coupling) ** 2)
    # a tiny prior scale ties the states together
    tied = StateSwitchingGLM(n_states=2, prior="gaussian", prior_scale=1e-3, link="sigmoid",
                             random_state=0, max_iter=3, device="cpu").fit(d.counts[:2])
    assert np.abs(tied.coupling_[0] - tied.coupling_[1]).max() < 1e-3


def test_onehot_prior_gives_hard_classes_and_a_global_prior():
    d = _data()
    model = _fitted("onehot")
    assert set(np.unique(model.adjacency_)) <= {-1, 0, 1}
    np.testing.assert_array_equal(np.sign(model.coupling_), model.adjacency_)
    np.testing.assert_allclose(model.global_adjacency_prior_.sum(-1), 1.0)
    assert np.mean(model.adjacency_ == d.adjacency) >= 0.85
    assert np.mean(model.predict(d.counts[4:]) == d.states[4:]) >= 0.92
    # the learnt connectome agrees with the class shared by both states where they agree
    agree = d.adjacency[0] == d.adjacency[1]
    mode = model.global_adjacency_prior_.argmax(-1) - 1
    assert np.mean(mode[agree] == d.adjacency[0][agree]) >= 0.8


def test_one_state_reduces_to_the_glm():
    d = _data()
    X = d.counts[:2]
    glm = PoissonGLM(link="softplus", device="cpu").fit(X)
    one = StateSwitchingGLM(n_states=1, link="softplus", random_state=0, device="cpu").fit(X)
    # same optimum; L-BFGS stops at |grad| < 1e-9, which leaves ~1e-6 in the weights here
    np.testing.assert_allclose(one.coupling_[0], glm.coupling_, atol=1e-5)
    np.testing.assert_allclose(one.intercept_[0], glm.intercept_, atol=1e-5)
    np.testing.assert_allclose(one.log_likelihood_, glm.log_likelihood(X), rtol=1e-10)
    np.testing.assert_allclose(one.score(d.counts[4:]), glm.score(d.counts[4:]), rtol=1e-8)


def test_relabelling_states_leaves_likelihood_unchanged():
    d = hmm_glm(n_neurons=5, n_states=3, n_timepoints=200, n_trials=2, random_state=4)
    model = StateSwitchingGLM(n_states=3, link="softplus", shared_bias=False, random_state=0,
                              max_iter=2, device="cpu").fit(d.counts)
    before_ll = model.log_likelihood(d.counts)
    before_states = model.predict(d.counts)
    before_W = model.coupling_.copy()
    order = np.array([2, 0, 1])
    model.reorder_states(order)
    np.testing.assert_allclose(model.log_likelihood(d.counts), before_ll, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(d.counts), np.argsort(order)[before_states])
    np.testing.assert_array_equal(model.coupling_, before_W[order])
    assert state_accuracy(before_states, model.predict(d.counts)) == 1.0


def test_fit_is_deterministic_for_a_seed_and_clonable():
    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=200, n_trials=2, random_state=5)
    params = dict(n_states=2, link="exp", random_state=3, max_iter=2, device="cpu")
    a = StateSwitchingGLM(**params).fit(d.counts)
    b = clone(a).fit(d.counts)
    np.testing.assert_array_equal(a.coupling_, b.coupling_)
    c = StateSwitchingGLM(**{**params, "random_state": 4}).fit(d.counts)
    assert not np.allclose(a.coupling_, c.coupling_)
    assert clone(a).get_params() == a.get_params()


def test_unequal_trial_lengths_are_masked():
    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=300, n_trials=3, random_state=6)
    trials = [d.counts[0], d.counts[1][:120], d.counts[2][:57]]
    model = StateSwitchingGLM(n_states=2, link="sigmoid", random_state=0, max_iter=3,
                              device="cpu").fit(trials)
    paths = model.predict(trials)
    assert [len(p) for p in paths] == [300, 120, 57]
    total = sum(model.log_likelihood(t) for t in trials)
    np.testing.assert_allclose(model.log_likelihood(trials), total, rtol=1e-12)
    for t, p in zip(trials, paths, strict=True):
        np.testing.assert_array_equal(model.predict(t), p)


def test_scan_e_step_gives_the_same_fit():
    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=150, n_trials=2, random_state=7)
    kw = dict(n_states=2, link="sigmoid", random_state=0, max_iter=2, device="cpu")
    a = StateSwitchingGLM(**kw).fit(d.counts)
    b = StateSwitchingGLM(scan=True, **kw).fit(d.counts)
    # identical first E-step; afterwards the L-BFGS stopping rule can turn 1e-13
    # differences in the posteriors into ~1e-6 differences in the weights
    np.testing.assert_allclose(a.loss_curve_[0], b.loss_curve_[0], rtol=1e-12)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(a.coupling_, b.coupling_, atol=1e-5)


@pytest.mark.parametrize("link", ["softplus", "exp", "sigmoid"])
def test_hand_written_gradients_match_autograd(link):
    rng = np.random.default_rng(0)
    counts = torch.as_tensor(rng.poisson(0.7, (40, 3)).astype(float))
    feats = torch.as_tensor(rng.random((40, 3)))
    W = torch.as_tensor(rng.normal(size=(2, 3, 3)) * 0.5, dtype=torch.float64).requires_grad_(True)
    b = torch.as_tensor(rng.normal(size=(1, 3)) * 0.3, dtype=torch.float64).requires_grad_(True)
    gamma = torch.as_tensor(rng.dirichlet([1, 1], size=40))
    value, gW, gb = weighted_glm_value_and_grad(counts, feats, W.detach(), b.detach(), gamma, link)
    u = torch.einsum("md,snd->msn", feats, W) + b[None]
    ref = (gamma[:, :, None] * poisson_log_prob(counts[:, None], u, link, 0.0)).sum()
    ref.backward()
    np.testing.assert_allclose(value.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(gW.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs,X,exc,match", [
    ({"n_states": 0}, None, ValueError, "n_states must be >= 1"),
    ({"prior": "laplace"}, None, ValueError, "prior must be one of"),
    ({"prior": "onehot", "basis": "raised_cosine"}, None, ValueError, "one basis function"),
    ({"prior_scale": 0.0}, None, ValueError, "prior_scale"),
    ({"onehot_update": "adam"}, None, ValueError, "onehot_update must be one of"),
    ({"slab_scale": -1.0}, None, ValueError, "slab_scale"),
    ({"prior_concentration": np.inf}, None, ValueError, "prior_concentration"),
    ({}, -np.ones((20, 3)), ValueError, "non-negative"),
    ({}, np.full((20, 3), 1.5), ValueError, "integer"),
    ({}, np.array([[np.nan, 1.0, 1.0]] * 20), ValueError, "finite"),
    ({}, np.ones((4, 3)), ValueError, "more time bins than n_lags=5"),
    ({}, [np.ones((20, 3)), np.ones((20, 4))], ValueError, "same number of neurons"),
    ({}, [], ValueError, "empty"),
])
def test_bad_input_and_parameters(kwargs, X, exc, match):
    if X is None:
        X = np.random.default_rng(0).poisson(1.0, (30, 3))
    with pytest.raises(exc, match=match):
        StateSwitchingGLM(device="cpu", **kwargs).fit(X)


def test_predict_before_fit_and_wrong_width():
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(0).poisson(1.0, (30, 3))
    with pytest.raises(NotFittedError):
        StateSwitchingGLM().predict(X)
    model = StateSwitchingGLM(n_states=2, max_iter=1, random_state=0, device="cpu").fit(X)
    with pytest.raises(ValueError, match="fitted on 3"):
        model.score(np.ones((30, 4)))


def test_state_subset_gradients_match_dense_ones():
    from neurodyn.glm._emission import state_subsets, subset_glm_value_and_grad

    rng = np.random.default_rng(1)
    counts = torch.as_tensor(rng.poisson(0.7, (60, 3)).astype(float))
    feats = torch.as_tensor(rng.random((60, 3)))
    W = torch.as_tensor(rng.normal(size=(3, 3, 3)) * 0.5)
    gamma = torch.as_tensor(rng.dirichlet([1, 1, 1], size=60))
    gamma[:20, 0] = 0.0  # bins skipped for state 0
    for b in (torch.as_tensor(rng.normal(size=(1, 3))), torch.as_tensor(rng.normal(size=(3, 3)))):
        dense = weighted_glm_value_and_grad(counts, feats, W, b, gamma, "softplus")
        sparse = subset_glm_value_and_grad(state_subsets(counts, feats, gamma), W, b, "softplus")
        for x, y in zip(dense, sparse, strict=True):
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12, atol=1e-12)


def test_data_limited_onehot_recovers_the_adjacency_better_than_plain():
    # spec acceptance 5 at a reduced size (10 neurons, 3 states, 4000 training bins):
    # the one-hot classes beat thresholding the maximum-likelihood weights by >= 0.10
    d = hmm_glm(n_neurons=10, n_states=3, n_timepoints=2000, n_trials=5, random_state=0)
    fits = {}
    for prior in ("none", "onehot"):
        m = StateSwitchingGLM(n_states=3, prior=prior, link="sigmoid", random_state=0,
                              device="cpu").fit(d.counts[:2])
        m.reorder_states(align_states(d.states[2:], m.predict(d.counts[2:]), 3))
        fits[prior] = m
    acc = {k: np.mean(m.adjacency_ == d.adjacency) for k, m in fits.items()}
    mse = {k: np.mean((m.coupling_ - d.coupling) ** 2) for k, m in fits.items()}
    assert acc["onehot"] >= 0.85, acc
    assert acc["onehot"] >= acc["none"] + 0.10, acc
    assert mse["onehot"] < mse["none"], mse
    assert fits["onehot"].score(d.counts[2:]) >= fits["none"].score(d.counts[2:])


def test_gumbel_softmax_update_of_the_paper_still_gives_hard_classes():
    d = _data()
    model = StateSwitchingGLM(n_states=2, prior="onehot", onehot_update="gumbel", link="sigmoid",
                              random_state=0, adam_steps=50, max_iter=5, device="cpu").fit(d.counts[:4])
    assert set(np.unique(model.adjacency_)) <= {-1, 0, 1}
    np.testing.assert_array_equal(np.sign(model.coupling_), model.adjacency_)
    assert np.mean(model.adjacency_ == d.adjacency) >= 0.7


def test_one_state_with_l2_equals_the_penalised_glm():
    d = _data()
    X = d.counts[:2]
    glm = PoissonGLM(link="softplus", alpha=0.05, device="cpu").fit(X)
    one = StateSwitchingGLM(n_states=1, link="softplus", alpha=0.05, random_state=0, device="cpu").fit(X)
    np.testing.assert_allclose(one.coupling_[0], glm.coupling_, atol=1e-5)
    plain = StateSwitchingGLM(n_states=1, link="softplus", random_state=0, device="cpu").fit(X)
    assert np.linalg.norm(one.coupling_) < np.linalg.norm(plain.coupling_)


@pytest.mark.parametrize("link", ["softplus", "exp", "sigmoid"])
def test_gradient_only_path_equals_value_and_gradient(link):
    from neurodyn.glm._emission import subset_glm_grad, subset_glm_value_and_grad

    g = torch.Generator().manual_seed(3)
    subsets = [(torch.poisson(torch.rand(50, 4, generator=g, dtype=torch.float64)),
                torch.rand(50, 4, generator=g, dtype=torch.float64),
                torch.rand(50, generator=g, dtype=torch.float64)) for _ in range(2)]
    W = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    b = torch.randn(1, 4, generator=g, dtype=torch.float64)
    value, gW, gb = subset_glm_value_and_grad(subsets, W, b, link)
    gW2, gb2 = subset_glm_grad(subsets, W, b, link)
    np.testing.assert_allclose(gW2.numpy(), gW.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb2.numpy(), gb.numpy(), rtol=1e-12, atol=1e-12)
    # the value against the elementwise log-likelihood, written out
    ref = sum(float((w[:, None] * poisson_log_prob(c, f @ W[s].T + b[0], link, log_factorial=0.0)).sum())
              for s, (c, f, w) in enumerate(subsets))
    np.testing.assert_allclose(float(value), ref, rtol=1e-12)
