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
