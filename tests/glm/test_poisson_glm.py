import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, gammaln

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import PoissonGLM, exp_basis


def _features(counts, phi):
    """History features by an explicit loop (the slow, obvious reference)."""
    n_trials, n_time, n_neurons = counts.shape
    h = np.zeros_like(counts, dtype=float)
    for lag in range(1, phi.size + 1):
        h[:, lag:] += phi[lag - 1] * counts[:, :-lag]
    return h.reshape(-1, n_neurons), counts.reshape(-1, n_neurons).astype(float)


def _scipy_fit(H, Y, link, alpha):
    n = Y.shape[1]

    def fun(theta):
        W = theta[: n * n].reshape(n, n)
        b = theta[n * n:]
        u = H @ W.T + b
        if link == "exp":
            rate, dlog, drate = np.exp(u), np.ones_like(u), np.exp(u)
        else:  # softplus
            rate = np.logaddexp(0.0, u)
            drate = expit(u)
            dlog = drate / rate
        ll = Y * np.log(rate) - rate
        f = -ll.sum() / len(Y) + 0.5 * alpha * (W ** 2).sum()
        g_u = -(Y * dlog - drate) / len(Y)
        gW = g_u.T @ H + alpha * W
        return f, np.concatenate([gW.ravel(), g_u.sum(0)])

    theta0 = np.concatenate([np.zeros(n * n), np.log(Y.mean(0))])
    res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10})
    return res.x[: n * n].reshape(n, n), res.x[n * n:]


@pytest.mark.parametrize("link,alpha", [("exp", 0.01), ("softplus", 0.0)])
def test_poisson_glm_matches_scipy_on_same_objective(link, alpha):
    data = hmm_glm(n_neurons=5, n_states=1, n_timepoints=800, n_trials=3, link="softplus",
                   random_state=1)
    H, Y = _features(data.counts, exp_basis()[0])
    W_ref, b_ref = _scipy_fit(H, Y, link, alpha)
    model = PoissonGLM(link=link, alpha=alpha, tol=1e-12, max_iter=2000).fit(data.counts)
    assert model.converged_
    np.testing.assert_allclose(model.coupling_, W_ref, atol=2e-5)
    np.testing.assert_allclose(model.intercept_, b_ref, atol=2e-5)
    # score is the mean Poisson log-likelihood per bin per neuron
    u = H @ model.coupling_.T + model.intercept_
    rate = np.exp(u) if link == "exp" else np.logaddexp(0.0, u)
    ll = (Y * np.log(rate) - rate - gammaln(Y + 1)).mean()
    np.testing.assert_allclose(model.score(data.counts), ll, rtol=1e-10)


def test_poisson_glm_recovers_single_state_coupling():
    data = hmm_glm(n_neurons=8, n_states=1, n_timepoints=3000, n_trials=8, random_state=3)
    model = PoissonGLM(link="sigmoid").fit(data.counts)
    err = np.mean((model.coupling_ - data.coupling[0]) ** 2)
    assert err < 0.02
    assert np.corrcoef(model.coupling_.ravel(), data.coupling[0].ravel())[0, 1] > 0.95
    rate = model.predict_rate(data.counts)
    assert rate.shape == data.counts.shape
    np.testing.assert_allclose(rate.mean(), data.counts.mean(), rtol=0.02)
    assert model.bits_per_spike(data.counts) > 0


def test_poisson_glm_does_not_modify_input_and_accepts_lists():
    data = hmm_glm(n_neurons=4, n_states=1, n_timepoints=300, n_trials=2, random_state=0)
    X = data.counts.copy()
    m1 = PoissonGLM().fit(X)
    np.testing.assert_array_equal(X, data.counts)
    m2 = PoissonGLM().fit([X[0], X[1][:200]])
    m3 = PoissonGLM().fit([X[0], X[1]])
    np.testing.assert_allclose(m1.coupling_, m3.coupling_, atol=1e-6)
    assert not np.allclose(m1.coupling_, m2.coupling_, atol=1e-6)


@pytest.mark.parametrize("X,match", [
    (-np.ones((10, 2)), "non-negative"),
    (np.full((10, 2), 0.5), "integer"),
    (np.array([[1.0, np.nan]] * 10), "finite"),
    (np.ones((3, 2)), "n_lags=5"),
    ([np.ones((10, 2)), np.ones((10, 3))], "same number of neurons"),
    (np.ones(10), "2-D or 3-D"),
])
def test_poisson_glm_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        PoissonGLM().fit(X)


def test_poisson_glm_bad_params():
    X = np.random.default_rng(0).poisson(1.0, (50, 2))
    with pytest.raises(ValueError, match="link"):
        PoissonGLM(link="probit").fit(X)
    with pytest.raises(ValueError, match="alpha"):
        PoissonGLM(alpha=-1).fit(X)
    with pytest.raises(ValueError, match="never spike"):
        PoissonGLM().fit(np.c_[X, np.zeros(50)])


def test_raised_cosine_glm_features_and_likelihood_match_a_loop():
    from neurodyn.glm import raised_cosine_basis

    data = hmm_glm(n_neurons=4, n_states=1, n_timepoints=600, n_trials=2, random_state=2)
    model = PoissonGLM(basis="raised_cosine", n_basis=3, n_lags=8, link="exp",
                       alpha=0.01).fit(data.counts)
    assert model.coupling_.shape == (4, 4, 3)
    basis = raised_cosine_basis(n_basis=3, window_size=8)
    np.testing.assert_allclose(model.basis_, basis)
    ll = 0.0
    for x in data.counts:
        h = np.zeros((600, 4, 3))
        for lag in range(1, 9):
            h[lag:] += x[:-lag, :, None] * basis[:, lag - 1]
        u = np.einsum("tjk,ijk->ti", h, model.coupling_) + model.intercept_
        ll += (x * u - np.exp(u) - gammaln(x + 1)).sum()
    np.testing.assert_allclose(model.log_likelihood(data.counts), ll, rtol=1e-10)


# ----------------------------------------------------------------------------- input checks

@pytest.mark.parametrize("kwargs,exc,match", [
    ({"alpha": np.nan}, ValueError, "alpha must be a number; got NaN"),
    ({"alpha": np.inf}, ValueError, r"alpha must be in \[0, inf\)"),
    ({"tol": -1e-3}, ValueError, r"tol must be in \[0, inf\); got -0.001"),
    ({"tol": np.nan}, ValueError, "tol must be a number"),
    ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
    ({"max_iter": 2.5}, TypeError, "max_iter must be an integer"),
    ({"n_lags": 0}, ValueError, "n_lags must be >= 1"),
    ({"n_lags": "5"}, TypeError, "n_lags must be an integer"),
    ({"n_basis": 0, "basis": "raised_cosine"}, ValueError, "n_basis must be >= 1"),
    ({"basis": "gauss"}, ValueError, "basis must be one of"),
    ({"decay": -0.5}, ValueError, r"decay must be in \[0, inf\)"),
    ({"decay": "fast"}, TypeError, "decay must be a real number"),
    ({"time_span": 0.0}, ValueError, r"time_span must be in \(0, inf\)"),
    ({"time_span": np.nan}, ValueError, "time_span must be a number"),
    ({"dtype": "float16"}, ValueError, "dtype must be float32 or float64"),
])
def test_poisson_glm_parameters_are_validated(kwargs, exc, match):
    X = np.random.default_rng(0).poisson(1.0, (50, 2))
    with pytest.raises(exc, match=match):
        PoissonGLM(device="cpu", **kwargs).fit(X)


def test_poisson_glm_large_decay_is_a_kernel_on_the_last_bin():
    # exp_basis(decay=1000) used to be NaN and the fit blamed the link
    data = hmm_glm(n_neurons=3, n_states=1, n_timepoints=400, n_trials=2, random_state=4)
    model = PoissonGLM(decay=1000.0, link="exp", alpha=0.01, device="cpu").fit(data.counts)
    np.testing.assert_allclose(model.basis_[0], [1.0, 0, 0, 0, 0])
    H = np.zeros_like(data.counts, dtype=float)
    H[:, 1:] = data.counts[:, :-1]
    W_ref, b_ref = _scipy_fit(H.reshape(-1, 3), data.counts.reshape(-1, 3).astype(float), "exp", 0.01)
    np.testing.assert_allclose(model.coupling_, W_ref, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, b_ref, atol=1e-4)


@pytest.mark.parametrize("X,exc,match", [
    (np.ones((10, 2), dtype=complex), TypeError, "X must be real-valued"),
    (np.array([["1", "2"]] * 10), TypeError, "X must be a numeric array"),
    (np.ones((0, 2)), ValueError, "X is empty"),
    (np.ones((2, 3, 4, 5)), ValueError, "X must be 2-D or 3-D"),
    (np.full((10, 2), np.inf), ValueError, "X must be finite"),
    ([np.ones((10, 2)), np.ones(10)], ValueError, r"X\[1\] must be 2-D"),
    (None, TypeError, "X must be an array; got None"),
])
def test_poisson_glm_bad_counts_are_named(X, exc, match):
    with pytest.raises(exc, match=match):
        PoissonGLM(device="cpu").fit(X)


def test_transposed_counts_warn_with_layout_warning():
    from neurodyn._validation import LayoutWarning

    X = np.random.default_rng(1).poisson(2.0, (3, 40, 6))  # (trials, neurons, time) by mistake
    with pytest.warns(LayoutWarning, match="6 time bins and 40 neurons"):
        PoissonGLM(n_lags=2, alpha=1.0, max_iter=5, device="cpu").fit(X.transpose(0, 2, 1) + 1)


def test_poisson_glm_float32_gives_the_float64_fit():
    # stated tolerance: couplings and intercepts within 1e-4 of the float64 fit
    data = hmm_glm(n_neurons=5, n_states=1, n_timepoints=600, n_trials=3, random_state=0)
    for link in ("softplus", "sigmoid", "exp"):
        m64 = PoissonGLM(link=link, alpha=0.01, device="cpu", dtype="float64").fit(data.counts)
        m32 = PoissonGLM(link=link, alpha=0.01, device="cpu", dtype="float32").fit(data.counts)
        assert m32.coupling_.dtype == np.float32
        np.testing.assert_allclose(m32.coupling_, m64.coupling_, atol=1e-4)
        np.testing.assert_allclose(m32.intercept_, m64.intercept_, atol=1e-4)
        np.testing.assert_allclose(m32.score(data.counts), m64.score(data.counts), rtol=1e-6)


def test_counts_beyond_float32_exactness_are_refused():
    X = np.random.default_rng(2).poisson(1.0, (50, 2)).astype(np.int64)
    X[3, 1] = 2 ** 24 + 1
    with pytest.raises(ValueError, match=r"X has counts up to 1\.67772e\+07, more than float32"):
        PoissonGLM(device="cpu", dtype="float32").fit(X)
    X[3, 1] = 2 ** 60
    with pytest.raises(ValueError, match="more than float64 represents exactly"):
        PoissonGLM(device="cpu", dtype="float64").fit(X)


def test_sklearn_contract_fit_x_none_and_n_features_in():
    from sklearn.base import clone

    data = hmm_glm(n_neurons=4, n_states=1, n_timepoints=300, n_trials=2, random_state=0)
    model = clone(PoissonGLM(device="cpu")).fit(data.counts, None)
    assert model.n_features_in_ == 4
    # refitting on another width replaces n_features_in_; scoring the old width is refused
    X3 = data.counts[..., :3]
    assert model.fit(X3).n_features_in_ == 3
    with pytest.raises(ValueError, match="fitted on 3"):
        model.score(data.counts)


def test_bits_per_spike_refuses_data_without_spikes():
    data = hmm_glm(n_neurons=3, n_states=1, n_timepoints=300, n_trials=2, random_state=0)
    model = PoissonGLM(device="cpu").fit(data.counts)
    with pytest.raises(ValueError, match="X has no spikes"):
        model.bits_per_spike(np.zeros((50, 3)))


@pytest.mark.parametrize("rate", [0.5, 1e2, 1e6])
def test_exp_link_fit_solves_the_score_equations_at_any_count_scale(rate):
    # canonical link, no penalty: at the MLE sum_t (x - rate) = 0 and sum_t (x - rate) h = 0.
    # At 1e6 spikes per bin the fit used to overflow exp() in the line search.
    rng = np.random.default_rng(3)
    X = rng.poisson(rate, size=(2, 400, 3))
    X[:, 0] = np.maximum(X[:, 0], 1)
    model = PoissonGLM(link="exp", device="cpu").fit(X)
    H, Y = _features(X, exp_basis()[0])
    R = model.predict_rate(X).reshape(-1, 3)
    resid = Y - R
    np.testing.assert_allclose(R.sum(0), Y.sum(0), rtol=1e-7)
    assert np.all(np.abs(resid.T @ H) <= 1e-6 * (np.abs(Y).T @ np.abs(H)))
