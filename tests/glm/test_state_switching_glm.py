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
    d = _data()
    for prior in ("none", "gaussian"):
        # one start (n_init=1): the default screens starts first, so its final run is short
        model = StateSwitchingGLM(n_states=2, prior=prior, link="sigmoid", random_state=0,
                                  n_init=1, device="cpu").fit(d.counts[:4])
        losses = np.array(model.loss_curve_)
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
    # alpha: 300 bins of 5 neurons are separable, and diverging ML weights compare poorly
    kw = dict(n_states=2, link="sigmoid", random_state=0, max_iter=2, alpha=1e-3, device="cpu")
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
    # state labels are arbitrary: match them to the generator's before comparing adjacencies
    model.reorder_states(align_states(d.states[:4], model.predict(d.counts[:4]), 2))
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


# ----------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("kwargs,exc,match", [
    ({"n_states": 2, "min_transition": 0.6}, ValueError,
     r"min_transition must be < 1/n_states = 0\.5 for n_states=2 .*flat transition"),
    ({"n_states": 4, "min_transition": 0.25}, ValueError, r"min_transition must be < 1/n_states = 0\.25"),
    ({"n_states": 1, "min_transition": 1.0}, ValueError, r"min_transition must be in \[0, 1\)"),
    ({"min_transition": -0.1}, ValueError, r"min_transition must be in \[0, inf\)"),
    ({"min_transition": np.nan}, ValueError, "min_transition must be a number"),
    ({"n_states": 2.0}, TypeError, "n_states must be an integer"),
    ({"n_init": 0}, ValueError, "n_init must be >= 1"),
    ({"max_iter": -1}, ValueError, "max_iter must be >= 1"),
    ({"m_step_max_iter": 0}, ValueError, "m_step_max_iter must be >= 1"),
    ({"adam_steps": 1.5}, TypeError, "adam_steps must be an integer"),
    ({"tol": -1.0}, ValueError, r"tol must be in \[0, inf\)"),
    ({"tol": np.nan}, ValueError, "tol must be a number"),
    ({"alpha": -0.1}, ValueError, r"alpha must be in \[0, inf\)"),
    ({"n_lags": 0}, ValueError, "n_lags must be >= 1"),
    ({"decay": np.nan}, ValueError, "decay must be a number"),
    ({"time_span": -1.0}, ValueError, r"time_span must be in \(0, inf\)"),
    ({"temperature": 0.0}, ValueError, r"temperature must be in \(0, inf\)"),
    ({"learning_rate": np.inf}, ValueError, r"learning_rate must be in \(0, inf\)"),
    ({"slab_scale": "big"}, TypeError, "slab_scale must be a real number"),
    ({"prior_concentration": 0.0}, ValueError, r"prior_concentration must be in \(0, inf\)"),
    ({"init_noise": -1.0}, ValueError, r"init_noise must be in \[0, inf\)"),
    ({"sticky": np.nan}, ValueError, "sticky must be a number"),
    ({"adjacency_threshold": -0.2}, ValueError, r"adjacency_threshold must be in \[0, inf\)"),
    ({"shared_bias": "yes"}, TypeError, "shared_bias must be True or False"),
    ({"scan": 1}, TypeError, "scan must be True or False"),
    ({"dtype": "bfloat16"}, ValueError, "dtype must be float32 or float64"),
])
def test_every_numeric_parameter_is_validated(kwargs, exc, match):
    X = np.random.default_rng(0).poisson(1.0, (30, 3))
    with pytest.raises(exc, match=match):
        StateSwitchingGLM(device="cpu", **kwargs).fit(X)


def test_too_many_states_for_the_data_are_refused_before_any_work(monkeypatch):
    import neurodyn.glm._switching as switching

    def no_work(*args, **kwargs):
        raise AssertionError("the design was built before n_states was checked")

    monkeypatch.setattr(switching, "make_batch", no_work)  # it used to run EM for minutes
    X = np.random.default_rng(0).poisson(1.0, (600, 4))
    with pytest.raises(ValueError, match=r"n_states=700 is more than X can support.*489300 free "
                                         r"probabilities but X has only 599 transitions"):
        StateSwitchingGLM(n_states=700, device="cpu").fit(X)
    with pytest.raises(ValueError, match=r"n_states=6 is more than X can support.*only 27 trans"):
        StateSwitchingGLM(n_states=6, device="cpu").fit([X[:10], X[10:20], X[20:30]])


def test_stacked_trials_with_neurons_and_time_swapped_warn():
    from neurodyn._validation import LayoutWarning

    X = np.random.default_rng(1).poisson(1.0, (3, 8, 60)) + 1  # (trials, neurons, time): wrong
    with pytest.warns(LayoutWarning, match=r"X has 8 time bins and 60 neurons \(trial 0, 3 trial"):
        # and three 8-bin trials are too short for 6 states
        with pytest.raises(ValueError, match="n_states=6 is more than X can support"):
            StateSwitchingGLM(n_states=6, device="cpu").fit(X)


def _truth(d, **kw):
    return StateSwitchingGLM(n_states=d.transition_matrix.shape[0], link="sigmoid", device="cpu",
                             **kw)


@pytest.mark.parametrize("arg,value,exc,match", [
    ("coupling", "nan", ValueError, r"coupling must be finite; got \d+ NaN"),
    ("coupling", "shape", ValueError, r"coupling must have shape \(n_states=3"),
    ("coupling", "complex", TypeError, "coupling must be real-valued"),
    ("intercept", "inf", ValueError, r"intercept must be finite; got 0 NaN and \d+ Inf"),
    ("intercept", "shape", ValueError, r"intercept must have shape \(6,\) or \(3, 6\)"),
    ("transition_matrix", "negative", ValueError, "transition_matrix must be non-negative"),
    ("transition_matrix", "unnormalised", ValueError,
     r"transition_matrix must sum to one along each row .*1\.1.*\(row 0\)"),
    ("transition_matrix", "nan", ValueError, "transition_matrix must be finite"),
    ("transition_matrix", "shape", ValueError, r"transition_matrix must have shape \(3, 3\)"),
    ("initial_prob", [-0.5, 1.0, 0.5], ValueError, "initial_prob must be non-negative"),
    ("initial_prob", [0.5, 0.5, 0.5], ValueError, r"initial_prob must sum to one .*1\.5"),
    ("initial_prob", [np.nan, 0.5, 0.5], ValueError, "initial_prob must be finite"),
    ("mean_rate", np.zeros(6), ValueError, "mean_rate must hold 6 positive rates"),
    ("mean_rate", np.full(6, np.inf), ValueError, "mean_rate must be finite"),
])
def test_set_parameters_validates_every_array(arg, value, exc, match):
    d = hmm_glm(n_neurons=6, n_states=3, n_timepoints=100, n_trials=1, random_state=2)
    args = {"coupling": d.coupling, "intercept": d.bias, "transition_matrix": d.transition_matrix}
    if not isinstance(value, str):
        pass
    elif value == "nan":
        bad = np.array(args[arg], dtype=float)
        bad.flat[0] = np.nan
        value = bad
    elif value == "inf":
        value = np.full_like(args[arg], np.inf)
    elif value == "shape":
        value = np.asarray(args[arg])[..., :-1]
    elif value == "complex":
        value = np.asarray(args[arg]) + 0j
    elif value == "negative":
        value = np.array([[1.2, -0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    elif value == "unnormalised":
        value = np.array([[0.6, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    args[arg] = value
    with pytest.raises(exc, match=match):
        _truth(d).set_parameters(**args)


def test_set_parameters_without_mean_rate_refuses_bits_per_spike():
    d = hmm_glm(n_neurons=6, n_states=3, n_timepoints=200, n_trials=1, random_state=2)
    model = _truth(d).set_parameters(d.coupling, d.bias, d.transition_matrix)
    assert np.isfinite(model.log_likelihood(d.counts))
    with pytest.raises(ValueError, match="bits_per_spike needs the baseline rates"):
        model.bits_per_spike(d.counts)


def test_set_parameters_in_float32_refuses_values_beyond_its_range():
    d = hmm_glm(n_neurons=6, n_states=3, n_timepoints=100, n_trials=1, random_state=2)
    with pytest.raises(ValueError, match="intercept has values up to 1e.40, beyond the range of float32"):
        _truth(d, dtype="float32").set_parameters(d.coupling, np.full(6, 1e40), d.transition_matrix)


def test_overflowing_rates_are_refused_instead_of_nan_likelihoods():
    d = hmm_glm(n_neurons=6, n_states=3, n_timepoints=100, n_trials=1, random_state=2)
    model = StateSwitchingGLM(n_states=3, link="exp", device="cpu").set_parameters(
        d.coupling, np.full(6, 800.0), d.transition_matrix)
    with pytest.raises(ValueError, match="firing rates overflow on X"):
        model.log_likelihood(d.counts)


@pytest.mark.parametrize("order,exc,match", [
    ([0.5, 1.2], ValueError, "order must hold integer state indices"),
    (["a", "b"], TypeError, "order must be a numeric array"),
    ([0, 0], ValueError, r"order must be a permutation of range\(2\)"),
    ([[0, 1]], ValueError, "order must be 1-D"),
])
def test_reorder_states_refuses_non_permutations(order, exc, match):
    model = _fitted("none")
    with pytest.raises(exc, match=match):
        model.reorder_states(order)


@pytest.mark.parametrize("prior", ["none", "gaussian", "onehot"])
def test_float32_fit_gives_the_float64_fit(prior):
    # stated tolerance: couplings within 1e-3, transitions within 1e-5, training
    # log-likelihood within 1e-6 (relative), identical Viterbi paths
    d = hmm_glm(n_neurons=5, n_states=2, n_timepoints=600, n_trials=3, random_state=0, sparsity=0.5)
    kw = dict(n_states=2, link="sigmoid", random_state=0, device="cpu", max_iter=30, alpha=0.01,
              prior=prior)
    s64 = StateSwitchingGLM(dtype="float64", **kw).fit(d.counts)
    s32 = StateSwitchingGLM(dtype="float32", **kw).fit(d.counts)
    assert s32.coupling_.dtype == np.float32
    np.testing.assert_allclose(s32.coupling_, s64.coupling_, atol=1e-3)
    np.testing.assert_allclose(s32.transition_matrix_, s64.transition_matrix_, atol=1e-5)
    np.testing.assert_allclose(s32.log_likelihood_, s64.log_likelihood_, rtol=1e-6)
    np.testing.assert_array_equal(s32.predict(d.counts), s64.predict(d.counts))


def test_counts_too_large_for_float32_are_refused():
    X = np.random.default_rng(0).poisson(1.0, (40, 3))
    X[0, 0] = 2 ** 25
    with pytest.raises(ValueError, match="more than float32 represents exactly"):
        StateSwitchingGLM(n_states=2, device="cpu", dtype="float32").fit(X)


def test_sklearn_contract_fit_x_none_and_n_features_in():
    X = np.random.default_rng(0).poisson(1.0, (60, 3))
    model = clone(StateSwitchingGLM(n_states=2, max_iter=2, random_state=0, device="cpu"))
    assert model.fit(X, None) is model
    assert model.n_features_in_ == 3
    assert model.fit(X[:, :2]).n_features_in_ == 2


def test_laplace_m_step_beyond_the_free_memory_is_refused_before_fitting():
    # 2000 neurons: the (S, N, N, N) Fisher information of the one-hot M-step is 256 GB
    X = np.ones((2001, 2000), dtype=np.int8)
    with pytest.raises(MemoryError, match="n_states and the number of neurons would need"):
        StateSwitchingGLM(n_states=2, prior="onehot", device="cpu").fit(X)


@pytest.mark.parametrize("estimator", [PoissonGLM, StateSwitchingGLM])
def test_capped_sigmoid_link_refuses_more_than_one_spike_per_bin_on_average(estimator):
    X = np.random.default_rng(0).poisson([0.5, 3.0], size=(300, 2))
    with pytest.raises(ValueError, match=r"link='sigmoid' caps the firing rate .*index \[1\]"):
        estimator(link="sigmoid", device="cpu").fit(X)
