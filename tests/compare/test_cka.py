"""CKA against direct HSIC formulas, invariances and input errors."""

import itertools

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist, squareform

from neurodyn.compare import RBFCKA, LinearCKA, cka_matrix, hsic, linear_cka, rbf_cka


def _hsic_biased(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def _cka_ref(K, L):
    return _hsic_biased(K, L) / np.sqrt(_hsic_biased(K, K) * _hsic_biased(L, L))


def _hsic_unbiased_song(K, L):
    """Closed form of Song et al. (2012), eq. 5."""
    n = K.shape[0]
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    one = np.ones(n)
    term1 = np.trace(Kt @ Lt)
    term2 = (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (one @ Kt @ Lt @ one)
    return (term1 + term2 - term3) / (n * (n - 3))


def _hsic_unbiased_bruteforce(K, L):
    """The U-statistic written as averages over distinct index tuples."""
    n = K.shape[0]
    pairs = [(i, j) for i, j in itertools.permutations(range(n), 2)]
    a = np.mean([K[i, j] * L[i, j] for i, j in pairs])
    triples = list(itertools.permutations(range(n), 3))
    c = np.mean([K[i, j] * L[i, q] for i, j, q in triples])
    quads = list(itertools.permutations(range(n), 4))
    b = np.mean([K[i, j] * L[q, r] for i, j, q, r in quads])
    return a + b - 2 * c


def _rand(rng, n, p):
    return rng.standard_normal((n, p))


def test_linear_cka_matches_direct_hsic_formula():
    rng = np.random.default_rng(0)
    X = _rand(rng, 15, 6)
    Y = X[:, :4] @ rng.standard_normal((4, 9)) + 0.5 * _rand(rng, 15, 9)
    ref = _cka_ref(X @ X.T, Y @ Y.T)
    assert linear_cka(X, Y) == pytest.approx(ref, rel=1e-12, abs=1e-14)
    # the Gram path (n small vs features) and the feature path (n large) agree with the formula
    Xw = _rand(rng, 6, 40)
    Yw = _rand(rng, 6, 30)
    assert linear_cka(Xw, Yw) == pytest.approx(_cka_ref(Xw @ Xw.T, Yw @ Yw.T), rel=1e-12)
    Xl = _rand(rng, 300, 3)
    Yl = Xl @ rng.standard_normal((3, 2)) + _rand(rng, 300, 2)
    assert linear_cka(Xl, Yl) == pytest.approx(_cka_ref(Xl @ Xl.T, Yl @ Yl.T), rel=1e-10)


def test_hsic_function_matches_references():
    rng = np.random.default_rng(1)
    X, Y = _rand(rng, 7, 3), _rand(rng, 7, 5)
    K, L = X @ X.T, np.exp(-squareform(pdist(Y, "sqeuclidean")) / 4.0)
    assert hsic(K, L) == pytest.approx(_hsic_biased(K, L), rel=1e-12)
    brute = _hsic_unbiased_bruteforce(K, L)
    assert hsic(K, L, unbiased=True) == pytest.approx(brute, rel=1e-10, abs=1e-12)
    assert _hsic_unbiased_song(K, L) == pytest.approx(brute, rel=1e-10, abs=1e-12)


def test_debiased_cka_matches_unbiased_hsic_formula():
    rng = np.random.default_rng(2)
    X, Y = _rand(rng, 12, 30), _rand(rng, 12, 20)
    K, L = X @ X.T, Y @ Y.T
    ref = _hsic_unbiased_song(K, L) / np.sqrt(_hsic_unbiased_song(K, K) * _hsic_unbiased_song(L, L))
    assert linear_cka(X, Y, debiased=True) == pytest.approx(ref, rel=1e-10, abs=1e-12)
    # independent random data with many more features than conditions: the biased
    # estimator is strongly inflated, the debiased one is near zero
    biased = linear_cka(X, Y)
    assert biased > 0.5
    assert abs(linear_cka(X, Y, debiased=True)) < 0.2


def test_rbf_cka_matches_direct_formula():
    rng = np.random.default_rng(3)
    X = _rand(rng, 20, 5)
    Y = np.tanh(X @ rng.standard_normal((5, 8))) + 0.3 * _rand(rng, 20, 8)

    def rbf(Z, scale=1.0):
        d2 = pdist(Z, "sqeuclidean")
        return np.exp(-squareform(d2) / (2 * scale**2 * np.median(d2)))

    assert rbf_cka(X, Y) == pytest.approx(_cka_ref(rbf(X), rbf(Y)), rel=1e-10)
    assert rbf_cka(X, Y, sigma_scale=0.5) == pytest.approx(_cka_ref(rbf(X, .5), rbf(Y, .5)), rel=1e-10)
    Kf = np.exp(-squareform(pdist(X, "sqeuclidean")) / (2 * 2.0**2))
    Lf = np.exp(-squareform(pdist(Y, "sqeuclidean")) / (2 * 2.0**2))
    assert rbf_cka(X, Y, sigma=2.0) == pytest.approx(_cka_ref(Kf, Lf), rel=1e-10)
    ref_u = _hsic_unbiased_song(rbf(X), rbf(Y)) / np.sqrt(
        _hsic_unbiased_song(rbf(X), rbf(X)) * _hsic_unbiased_song(rbf(Y), rbf(Y)))
    assert rbf_cka(X, Y, debiased=True) == pytest.approx(ref_u, rel=1e-10)


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_invariant_to_orthogonal_transforms_and_isotropic_scaling(debiased):
    rng = np.random.default_rng(4)
    X = _rand(rng, 25, 10)
    Y = X @ rng.standard_normal((10, 7)) + _rand(rng, 25, 7)
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    R, _ = np.linalg.qr(rng.standard_normal((7, 7)))
    base_lin = linear_cka(X, Y, debiased=debiased)
    base_rbf = rbf_cka(X, Y, debiased=debiased)
    Xt, Yt = 3.7 * X @ Q + 5.0, 0.02 * Y @ R - 1.0  # rotation, scaling, translation
    assert linear_cka(Xt, Yt, debiased=debiased) == pytest.approx(base_lin, rel=1e-10)
    assert rbf_cka(Xt, Yt, debiased=debiased) == pytest.approx(base_rbf, rel=1e-9)
    # not invariant to a non-isotropic scaling of the features (the property is not vacuous)
    D = np.diag(np.linspace(0.1, 5.0, 10))
    assert abs(linear_cka(X @ D, Y, debiased=debiased) - base_lin) > 1e-3
    assert linear_cka(X, X, debiased=debiased) == pytest.approx(1.0, rel=1e-12)


def test_time_resolved_pairwise_and_matrix_equal_loops():
    rng = np.random.default_rng(5)
    n, T = 12, 4
    X = rng.standard_normal((n, T, 6))
    Y = rng.standard_normal((n, T, 9)) + X[:, :, :1]
    per_time = linear_cka(X, Y, debiased=True)
    assert per_time.shape == (T,)
    for t in range(T):
        assert per_time[t] == pytest.approx(linear_cka(X[:, t], Y[:, t], debiased=True), rel=1e-10)
    gen = rbf_cka(X, Y, pairwise=True)
    assert gen.shape == (T, T)
    for s in range(T):
        for t in range(T):
            assert gen[s, t] == pytest.approx(rbf_cka(X[:, s], Y[:, t]), rel=1e-10)
    vs_static = linear_cka(X, Y[:, 0])
    assert vs_static.shape == (T,)
    assert vs_static[2] == pytest.approx(linear_cka(X[:, 2], Y[:, 0]), rel=1e-10)
    layers = {"a": X[:, 0], "b": X[:, 1, :3]}
    regions = [Y[:, 0], Y[:, 1], Y[:, 2, :2]]
    M = cka_matrix(layers, regions)
    assert M.shape == (2, 3)
    assert M[1, 2] == pytest.approx(linear_cka(X[:, 1, :3], Y[:, 2, :2]), rel=1e-10)
    Mr = cka_matrix(layers, kernel="rbf", debiased=True)
    assert Mr[0, 1] == pytest.approx(rbf_cka(X[:, 0], X[:, 1, :3], debiased=True), rel=1e-10)


def test_torch_input_and_float32():
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((30, 5)), rng.standard_normal((30, 4))
    ref = linear_cka(X, Y)
    assert linear_cka(torch.from_numpy(X), torch.from_numpy(Y)) == pytest.approx(ref, rel=1e-12)
    assert linear_cka(X, Y, dtype="float32") == pytest.approx(ref, rel=1e-5)
    X_copy = X.copy()
    est = LinearCKA(debiased=True).fit(X, Y)
    np.testing.assert_array_equal(X, X_copy)
    assert est.similarity_ == pytest.approx(linear_cka(X, Y, debiased=True), rel=1e-12)
    assert est.distance_ == pytest.approx(np.arccos(est.similarity_), rel=1e-12)
    assert RBFCKA().fit(X, Y).score(X, X) == pytest.approx(1.0, rel=1e-12)


def test_cka_input_errors():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match="same number of conditions"):
        linear_cka(X, rng.standard_normal((9, 3)))
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        linear_cka(Xn, X)
    with pytest.raises(ValueError, match="Y must be finite"):
        rbf_cka(X, torch.from_numpy(Xn))
    with pytest.raises(ValueError, match="at least 4 conditions"):
        linear_cka(X[:3], X[:3], debiased=True)
    with pytest.raises(ValueError, match="Y has no variance across conditions"):
        linear_cka(X, np.ones((10, 4)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        linear_cka(X[:, 0], X)
    with pytest.raises(ValueError, match="same number of time points"):
        linear_cka(rng.standard_normal((10, 3, 2)), rng.standard_normal((10, 4, 2)))
    with pytest.raises(ValueError, match=r"Ys\[1\] has 9 conditions"):
        cka_matrix([X], [X, X[:9]])
    with pytest.raises(ValueError, match="kernel must be one of"):
        cka_matrix([X], kernel="poly")
