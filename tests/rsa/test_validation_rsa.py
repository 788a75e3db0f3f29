"""neurodyn.rsa refuses bad input with a message naming the argument (issue 13)."""

import numpy as np
import pytest

from neurodyn.rsa import (
    LowRankPrecision,
    compute_rdm,
    noise_covariance,
    noise_precision,
)


def _res(n, p, seed=0):
    return np.random.default_rng(seed).normal(size=(n, p))


# ---------------------------------------------------------------- noise precision / covariance
@pytest.mark.parametrize("structured", [False, True])
def test_full_precision_with_fewer_rows_than_channels_refused(structured):
    # was: an asymmetric matrix with entries ~6e16 and eigenvalues ~ -2e17
    with pytest.raises(ValueError, match=r"method='full' needs more residual rows than channels.*"
                                         r"shrinkage_diag"):
        noise_precision(_res(8, 20), "full", structured=structured)


@pytest.mark.parametrize("method, n, p", [(m, n, p) for m in ("diag", "shrinkage_diag", "shrinkage_eye")
                                          for n, p in ((8, 20), (60, 10))] + [("full", 60, 10)])
def test_noise_precision_is_symmetric_positive_definite_inverse(method, n, p):
    r = _res(n, p, 1)
    prec = noise_precision(r, method)
    assert np.array_equal(prec, prec.T)
    assert np.linalg.eigvalsh(prec).min() > 0
    np.testing.assert_allclose(prec @ noise_covariance(r, method), np.eye(p), atol=1e-8)


def test_full_precision_matches_numpy_inverse():
    r = _res(50, 6, 2)
    np.testing.assert_allclose(noise_precision(r, "full"), np.linalg.inv(np.cov(r.T)), rtol=1e-10)


@pytest.mark.parametrize("structured", [False, True])
@pytest.mark.parametrize("method", ["diag", "full"])
def test_constant_channel_named(method, structured):
    r = _res(40, 6, 3)
    r[:, 4] = 2.5
    with pytest.raises(ValueError, match=r"residuals has 1 constant .* channel\(s\) at index \[4\]"):
        noise_precision(r, method, structured=structured)


def test_noise_precision_scale_equivariant():
    # a precision scales by 1 / s^2: normalising first keeps every scale exact
    r = _res(30, 8, 4)
    base = noise_precision(r, "shrinkage_diag")
    for s in (1e-150, 1e-15, 1e15, 1e150):
        np.testing.assert_allclose(noise_precision(r * s, "shrinkage_diag") * s * s, base, rtol=1e-10)
        np.testing.assert_allclose(noise_covariance(r * s, "shrinkage_eye") / (s * s),
                                   noise_covariance(r, "shrinkage_eye"), rtol=1e-10)
        lr = noise_precision(r * s, "shrinkage_eye", structured=True)
        np.testing.assert_allclose(lr.toarray() * s * s, noise_precision(r, "shrinkage_eye"), rtol=1e-8)


@pytest.mark.parametrize("dof", [0, -3, 2.5, np.nan, "3"])
def test_dof_range(dof):
    with pytest.raises((ValueError, TypeError), match="dof"):
        noise_covariance(_res(10, 3), dof=dof)


def test_residuals_checks():
    with pytest.raises(ValueError, match="residuals must be finite"):
        noise_precision(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="residuals needs at least 2 rows"):
        noise_precision(np.ones((1, 3)))
    with pytest.raises(TypeError, match="residuals must be real-valued"):
        noise_precision(_res(5, 3) + 1j)
    with pytest.raises(ValueError, match="method must be one of"):
        noise_precision(_res(5, 3), "ledoit")
    with pytest.raises(TypeError, match="structured must be True or False"):
        noise_precision(_res(5, 3), structured="yes")


def test_low_rank_precision_must_be_positive_definite():
    with pytest.raises(ValueError, match="diag must be > 0"):
        LowRankPrecision(-np.ones(3), np.zeros((3, 0)))
    with pytest.raises(ValueError, match="must be positive definite"):
        LowRankPrecision(np.ones(3), np.ones((3, 1)))  # 1 - 3 < 0 along (1, 1, 1)
    with pytest.raises(ValueError, match="precision must be positive definite"):
        LowRankPrecision.from_dense(-np.eye(3))


# ---------------------------------------------------------------- noise in compute_rdm
def _patterns(seed=0, n_rep=2, k=5, p=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rep * k, p))
    return x, np.tile(np.arange(k), n_rep)


@pytest.mark.parametrize("method", ["mahalanobis", "crossnobis"])
def test_negative_definite_noise_refused(method):
    # was: accepted, giving negative "distances"
    x, cond = _patterns()
    with pytest.raises(ValueError, match="noise must be positive definite; smallest eigenvalue -1"):
        compute_rdm(x, method, conditions=cond, noise=-np.eye(6))


def test_fold_noise_positive_definite():
    x, cond = _patterns()
    with pytest.raises(ValueError, match=r"fold_noise\[1\] must be positive definite"):
        compute_rdm(x, "crossnobis", conditions=cond, fold_noise=[np.eye(6), -np.eye(6)])


@pytest.mark.parametrize("method", ["sqeuclidean", "correlation", "poisson", "poisson_cv"])
def test_noise_for_a_method_without_noise_refused(method):
    # was: silently ignored
    x, cond = _patterns()
    with pytest.raises(ValueError, match=r"noise is only used by method in \['mahalanobis', 'crossnobis'\]"):
        compute_rdm(np.abs(x), method, conditions=cond, noise=np.eye(6))


@pytest.mark.parametrize("kwargs, arg", [({"prior_weight": 0.5}, "prior_weight"),
                                         ({"prior_lambda": 2.0}, "prior_lambda"),
                                         ({"folds": np.repeat([0, 1], 5)}, "folds"),
                                         ({"fold_noise": [np.eye(6)] * 2}, "fold_noise")])
def test_method_specific_arguments_refused_elsewhere(kwargs, arg):
    x, cond = _patterns()
    with pytest.raises(ValueError, match=f"{arg} is only used by method in"):
        compute_rdm(x, "mahalanobis", conditions=cond, **kwargs)


def test_remove_mean_refused_for_poisson():
    x, cond = _patterns()
    with pytest.raises(ValueError, match="remove_mean is only used by method in"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, remove_mean=True)


# ---------------------------------------------------------------- Poisson
@pytest.mark.parametrize("method", ["poisson", "poisson_cv"])
def test_poisson_negative_rates_refused(method):
    # was: slightly negative rates passed once shrunk by the prior
    x, cond = _patterns()
    x = np.abs(x)
    x[3, 2] = -0.001
    with pytest.raises(ValueError, match=r"needs non-negative rates: patterns must be >= 0; got 1 negative"):
        compute_rdm(x, method, conditions=cond)


@pytest.mark.parametrize("value", [-1.0, np.inf, np.nan])
def test_poisson_prior_weight_range(value):
    # was: an all-NaN RDM for inf
    x, cond = _patterns()
    with pytest.raises(ValueError, match="prior_weight must be"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, prior_weight=value)


@pytest.mark.parametrize("value", [0.0, -2.0, np.inf])
def test_poisson_prior_lambda_range(value):
    x, cond = _patterns()
    with pytest.raises(ValueError, match="prior_lambda must be"):
        compute_rdm(np.abs(x), "poisson", conditions=cond, prior_lambda=value)


def test_poisson_zero_rate_without_prior_refused():
    x, cond = _patterns()
    x = np.abs(x)
    x[cond == 2, 0] = 0.0
    with pytest.raises(ValueError, match="prior_weight=0 leaves a condition with a zero mean rate"):
        compute_rdm(x, "poisson", conditions=cond, prior_weight=0.0)


def test_poisson_matches_direct_formula():
    x, cond = _patterns(3)
    x = np.abs(x)
    means = np.stack([x[cond == c].mean(0) for c in range(5)])
    m = (means + 1.0 * 0.1) / 1.1
    iu = np.triu_indices(5, 1)
    ref = np.array([np.sum((m[i] - m[j]) * (np.log(m[i]) - np.log(m[j]))) / 6 for i, j in zip(*iu, strict=True)])
    np.testing.assert_allclose(compute_rdm(x, "poisson", conditions=cond), ref, rtol=1e-12)
    np.testing.assert_allclose(compute_rdm(x, "poisson", conditions=cond, dtype="float32"), ref, rtol=1e-5)
