"""Correlation graphs: blocked float32 products with float64 decisions vs numpy.corrcoef."""

import numpy as np
import pytest

from neurodyn.graph import (
    correlation_graph,
    correlation_matrix,
    density_to_n_edges,
    threshold_matrix,
)


def _series(seed, n_time=80, n_nodes=60, rank=4):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n_time, rank))
    return latent @ rng.standard_normal((rank, n_nodes)) + rng.standard_normal((n_time, n_nodes))


def _reference_adjacency(X, tau, absolute=False):
    R = np.corrcoef(X.T)
    if absolute:
        R = np.abs(R)
    A = np.triu(R > tau, 1)  # corrcoef is symmetric only up to the last bit: use one triangle
    return A | A.T


def test_correlation_matrix_matches_corrcoef():
    X = _series(0)
    np.testing.assert_allclose(correlation_matrix(X), np.corrcoef(X.T), rtol=0, atol=1e-13)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("tau", "absolute"), [(-0.2, False), (0.0, False), (0.3, False),
                                               (0.6, False), (0.0, True), (0.3, True), (0.6, True)])
def test_threshold_graph_equals_corrcoef(seed, tau, absolute):
    X = _series(seed)
    g = correlation_graph(X, tau, absolute=absolute, block_size=17)
    A = g.adjacency.toarray()
    ref = _reference_adjacency(X, tau, absolute)
    assert A.dtype == bool
    assert np.array_equal(A, ref)
    assert g.n_edges == ref.sum() // 2
    assert np.array_equal(A, A.T) and not A.diagonal().any()


def test_decisions_at_threshold_are_float64():
    # Put the threshold between two correlations that differ by far less than the
    # float32 rounding error of the products: only float64 refinement gets this right.
    X = _series(5, n_time=300, n_nodes=80)
    R = np.corrcoef(X.T)
    vals = np.sort(R[np.triu_indices_from(R, 1)])
    gaps = np.diff(vals)
    k = int(np.argmin(np.where(np.abs(vals[:-1] - 0.4) < 0.2, gaps, np.inf)))
    assert gaps[k] < 1e-5  # the pair really sits inside the float32 margin
    tau = float((vals[k] + vals[k + 1]) / 2)
    g = correlation_graph(X, tau)
    assert g.n_refined > 0
    assert np.array_equal(g.adjacency.toarray(), _reference_adjacency(X, tau))


@pytest.mark.parametrize("density", [0.02, 0.1, 0.5])
@pytest.mark.parametrize("absolute", [False, True])
def test_density_keeps_top_pairs(density, absolute):
    X = _series(3, n_nodes=70)
    g = correlation_graph(X, density=density, absolute=absolute, block_size=9)
    R = np.corrcoef(X.T)
    if absolute:
        R = np.abs(R)
    upper = np.sort(R[np.triu_indices_from(R, 1)])[::-1]
    m = density_to_n_edges(density, 70)
    assert g.n_edges == m
    assert abs(g.threshold - upper[m]) < 1e-12
    assert np.array_equal(g.adjacency.toarray(), _reference_adjacency(X, upper[m], absolute))


def test_full_density_is_complete_graph():
    g = correlation_graph(_series(1, n_nodes=12), density=1.0)
    assert g.n_edges == 12 * 11 // 2


def test_block_size_does_not_change_graph():
    X = _series(4, n_nodes=50)
    a = correlation_graph(X, 0.3, block_size=1).adjacency
    b = correlation_graph(X, 0.3, block_size=1000).adjacency
    assert (a != b).nnz == 0


def test_zero_variance_rules():
    X = _series(2, n_nodes=20)
    X[:, [3, 11]] = 7.0
    ref = _reference_adjacency(np.delete(X, [3, 11], axis=1), 0.3)
    dropped = correlation_graph(X, 0.3, zero_variance="drop")
    assert np.array_equal(dropped.nodes, np.delete(np.arange(20), [3, 11]))
    assert np.array_equal(dropped.constant_nodes, [3, 11])
    assert np.array_equal(dropped.adjacency.toarray(), ref)
    isolated = correlation_graph(X, 0.3, zero_variance="isolate")
    A = isolated.adjacency.toarray()
    assert A.shape == (20, 20)
    assert not A[[3, 11]].any() and not A[:, [3, 11]].any()
    assert np.array_equal(np.delete(np.delete(A, [3, 11], 0), [3, 11], 1), ref)
    with pytest.raises(ValueError, match=r"X has 2 constant \(zero-variance\) channel"):
        correlation_graph(X, 0.3, zero_variance="raise")
    with pytest.raises(ValueError, match="zero_variance must be one of"):
        correlation_graph(X, 0.3, zero_variance="keep")


def test_input_not_modified():
    X = _series(6)
    before = X.copy()
    correlation_graph(X, 0.2)
    correlation_graph(X, density=0.1)
    assert np.array_equal(X, before)


def test_bad_inputs_are_named():
    X = _series(0, n_nodes=10)
    bad = X.copy()
    bad[4, 2] = np.nan
    with pytest.raises(ValueError, match="X must be finite; got 1 NaN"):
        correlation_graph(bad, 0.5)
    bad[4, 2] = np.inf
    with pytest.raises(ValueError, match="X must be finite; got 0 NaN and 1 Inf"):
        correlation_graph(bad, 0.5)
    with pytest.raises(ValueError, match=r"threshold must be in \[-1, 1\]"):
        correlation_graph(X, 1.5)
    with pytest.raises(ValueError, match=r"threshold must be in \[-1, 1\]"):
        correlation_graph(X, -1.01)
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\] when absolute=True"):
        correlation_graph(X, -0.2, absolute=True)
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]"):
        correlation_graph(X, density=0.0)
    with pytest.raises(ValueError, match="exactly one of threshold"):
        correlation_graph(X, 0.5, density=0.1)
    with pytest.raises(ValueError, match="exactly one of threshold"):
        correlation_graph(X)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        correlation_graph(X[:, 0], 0.5)
    with pytest.raises(ValueError, match="X is too short"):
        correlation_graph(X[:2], 0.5)
    with pytest.raises(ValueError, match="X is empty"):
        correlation_graph(np.empty((10, 0)), 0.5)
    with pytest.raises(ValueError, match="X has no non-constant column"):
        correlation_graph(np.ones((10, 4)), 0.5)


def test_threshold_matrix_against_numpy():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((40, 40))
    M = (M + M.T) / 2
    g = threshold_matrix(M, 0.5)
    ref = np.triu(M > 0.5, 1)
    assert np.array_equal(g.adjacency.toarray(), ref | ref.T)
    g = threshold_matrix(M, density=0.1, absolute=True)
    upper = np.sort(np.abs(M[np.triu_indices(40, 1)]))[::-1]
    m = density_to_n_edges(0.1, 40)
    assert g.n_edges == m and g.threshold == upper[m]
    ref = np.triu(np.abs(M) > upper[m], 1)
    assert np.array_equal(g.adjacency.toarray(), ref | ref.T)
    assert threshold_matrix(M, 2.5).n_edges == int((np.triu(M, 1) > 2.5).sum())  # any real threshold
    with pytest.raises(ValueError, match="matrix must be symmetric"):
        threshold_matrix(np.triu(M), 0.1)
    with pytest.raises(ValueError, match="exactly one of threshold"):
        threshold_matrix(M)
    with pytest.raises(ValueError, match="threshold must be a finite real number"):
        threshold_matrix(M, np.nan)
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]"):
        threshold_matrix(M, density=1.5)


def test_threshold_matrix_accepts_corrcoef_rounding_asymmetry():
    rng = np.random.default_rng(5)
    R = np.corrcoef(rng.normal(size=(40, 30)), rowvar=False)
    R[3, 7] += 1e-15  # last-bit asymmetry as np.corrcoef can produce
    g = threshold_matrix(R, threshold=0.1)
    A = g.adjacency.toarray()
    expected = np.triu(R > 0.1, 1)
    np.testing.assert_array_equal(A, expected | expected.T)
